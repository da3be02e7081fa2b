// server/src/sync_service.h: what the endpoints of docs/protocol.md do, without HTTP.
//
//   Login         checks a password (scrypt), registers the device, mints a bearer token.
//   Authenticate  turns a bearer token into a Principal (tenant, user, role, teams, device).
//   ApplyPush     judges and merges a batch of changes in ONE backend transaction (§3.4, §6).
//   Pull          the principal's visible feed entries after a cursor, one page (§3.5, §7).
//
// PARTIAL REPLICATION (§10). A customer's `owner_rep` is a user id (the creator's, until a change
// sets it). Its *scope keys* are  u:<owner>,  m:<team> for each team of the owner, and
// s:<team> for each team the customer is shared with (customer_shares, set by an admin).
// Contacts, visits and orders carry the keys of the customer named by their `customer` field.
// A principal sees (and may write) what has one of its keys:
//   rep      u:<self>, s:<each of its teams>       (its own customers and those shared with it)
//   manager  u:<self>, m:<each team>, s:<each team> (everything its teams own, and shares)
//   admin    everything.
// A push that writes outside these keys, or moves a record out of them (an owner_rep or customer
// that is not the principal's), is refused `forbidden` per change with a reason. Every feed entry
// stores the keys its record had when it was written, and a pull filters on them.
//
// ORDER OF A PUSH TRANSACTION. BEGIN (write) → per change: idempotency, Authorize, scope, Merge,
// store record, conflicts and digest → AppendFeed (the feed lock, backend.h) → COMMIT. Taking the
// feed lock last keeps it held for as short a time as possible while still making sequences
// visible in sequence order; the pull's watermark logic depends on that (§7.3).
//
// Thread safety: SyncService is safe for concurrent use; it holds no mutable state (everything is
// in the Backend), which is what lets several server processes share one database.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "backend.h"
#include "credentials.h"
#include "fieldsync/schema.h"
#include "fieldsync/sync/wire_format.h"

namespace fieldsync::server {

// An error that ends a whole request: the HTTP status and the protocol's code (§4).
struct ApiError {
  int http_status = 500;
  std::string code = sync::kErrorInternal;
  std::string message;
};

template <typename T>
class ApiResult {
 public:
  ApiResult(T value) : value_(std::move(value)) {}         // NOLINT: implicit, like Result
  ApiResult(ApiError error) : error_(std::move(error)) {}  // NOLINT
  bool ok() const { return value_.has_value(); }
  const T& value() const { return *value_; }
  T& value() { return *value_; }
  const ApiError& error() const { return error_; }

 private:
  std::optional<T> value_;
  ApiError error_;
};

struct Principal {
  std::string tenant;
  std::string user;
  std::string device;  // the node id the token was issued to
  sync::Role role = sync::Role::kRep;
  std::vector<std::string> teams;
  uint32_t scope_epoch = 1;
};

struct ServiceOptions {
  sync::Limits limits;
  int64_t token_lifetime_s = 30 * 24 * 3600;
  int64_t max_drift_ms = 5 * 60 * 1000;  // HybridClockOptions::max_drift_ms; clock_ahead beyond
  // Roles that receive confidential fields (schema sensitivity) in pulls.
  std::vector<sync::Role> confidential_roles = {sync::Role::kManager, sync::Role::kAdmin};
  std::function<int64_t()> now_ms;  // the server clock; the system clock when empty
  // Test hook: runs inside a push transaction after AppendFeed, before COMMIT.
  std::function<void()> before_commit_for_test;
};

class SyncService {
 public:
  // `backend` must outlive the service. `schema` is copied.
  SyncService(Backend* backend, const Schema& schema, ServiceOptions options = {});

  ApiResult<sync::LoginResponse> Login(const sync::LoginRequest& request) const;
  ApiResult<Principal> Authenticate(const std::string& bearer_token) const;
  ApiResult<sync::PushResponse> ApplyPush(const Principal& principal,
                                          const sync::PushRequest& request) const;
  // `cursor` empty: from the start. `limit` 0: max_batch_changes. With `encoded`, the page's
  // changes come in `encoded_changes` (their canonical JSON, as stored; re-encoded only when a
  // confidential field had to be removed) instead of `changes`: what the HTTP layer sends, without
  // decoding and re-encoding every stored change.
  ApiResult<sync::PullResponse> Pull(const Principal& principal, const std::string& cursor,
                                     int schema_version, uint32_t limit,
                                     bool encoded = false) const;
  // OK when the database answers.
  Status Health() const;

  const sync::Limits& limits() const { return options_.limits; }
  // Whether the principal's role reads (and so may write) confidential fields.
  bool SeesConfidential(const Principal& principal) const;
  int64_t NowMs() const;

 private:
  Backend* backend_;
  const Schema schema_;
  const ServiceOptions options_;
};

// The scope keys a principal may see and write (see PARTIAL REPLICATION). Empty for admins,
// who see everything.
std::vector<std::string> PrincipalKeys(const Principal& principal);

}  // namespace fieldsync::server
