// server/src/sync_service.h: what the endpoints of docs/protocol.md do, without HTTP.
//
//   Login         checks a password (scrypt), registers the device, mints its tokens.
//   Refresh       trades a refresh token for new tokens (§3.6).
//   Authenticate  turns an access token into a Principal (tenant, user, role, teams, device).
//   Logout        ends the tokens of the principal's device (§3.7).
//   WipeDone      records a revoked tablet's report that it erased its database (§3.8).
//   ApplyPush     judges and merges a batch of changes in ONE backend transaction (§3.4, §6).
//   Pull          the principal's visible feed entries after a cursor, one page (§3.5, §7).
//   NoteSync      records a device's last sync and its reported outbox count.
//   Back office   one record by id, the open conflicts, a conflict's resolution, the audit trail
//                 (§13). A record or conflict that is missing, in another tenant or outside the
//                 principal's scope gets one and the same 404, so an id never confirms anything.
//
// TOKENS (protocol §3.3, §3.6-§3.8). A login mints two random 32-byte secrets for its device: an
// access token (the bearer of every request; ServiceOptions::token_lifetime_s, 15 minutes) and a
// refresh token (ServiceOptions::refresh_lifetime_s, 30 days). Only their SHA-256 is stored, with
// the user, the device and a *family* naming the login they descend from. Every token is found by
// its hash and checked on every request, so what ends a token takes effect on the next request:
//   refresh      the refresh token ends ("rotated"), the family's access tokens end
//                ("refreshed"), a new pair of the same family is issued. A refresh token
//                presented after it was rotated is a replay: a copy was taken, or an answer
//                was lost. The whole family ends ("reused") and the device must log in with
//                the password again; the device itself is not revoked (a lost answer must
//                not erase a tablet).
//   login        ends every earlier token of the device ("relogin"): one session per device.
//   logout       ends every token of the device ("logout").
//   password reset (admin)  ends every token of the user, on all devices ("password_reset").
//   revocation (admin)      the device is revoked: every request with any of its tokens, and
//                any login on it, is answered 403 device_revoked with the order to erase
//                its database and a receipt for POST /v1/wipe-done. Token rows are kept so
//                that a revoked tablet is recognized whenever it comes back.
// Answers: unknown token 401 unauthenticated; ended 401 token_revoked; expired 401
// token_expired (refresh); revoked device 403 device_revoked. Expired rows are purged a day
// after they expire, at the device's next login or refresh.
//
// AUDIT (docs/security.md §8.4). Every accepted change, resolution and login writes an audit row
// (audit.h) in the same transaction as what it records: a change that is committed is audited,
// and an audit row never describes a change that was rolled back.
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
// store record, conflicts and digest → audit rows → AppendFeed (the feed lock, backend.h) → COMMIT.
// Taking the feed lock last keeps it held for as short a time as possible while still making
// sequences visible in sequence order; the pull's watermark logic depends on that (§7.3).
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
  // device_revoked: the erase order and the receipt for POST /v1/wipe-done (TOKENS).
  bool wipe = false;
  std::string wipe_receipt{};
};

// The value of an endpoint that answers only "done".
struct Ack {};

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
  int64_t last_sync_ms = 0;  // the device's, as stored when the request began
  int64_t pending = -1;      // the device's last reported outbox count; -1: none
};

// ---- back office (§13) ----
// The node id of the server's own edits (conflict resolutions). Never a device: Login refuses it,
// so no tablet skips these changes as its own echo.
inline constexpr char kServerNode[] = "fieldsync-server";

// A record as a principal may see it: confidential fields removed for roles that may not read
// them, and its open conflicts (those on hidden fields left out).
struct RecordView {
  std::string collection;
  std::string id;
  nlohmann::json record;  // the materialized record, without "id"
  std::vector<sync::Conflict> conflicts;
};

struct ConflictPage {
  std::vector<sync::Conflict> conflicts;  // by id
  bool more = false;                      // more after the last one: ask again with after=its id
};

struct ResolveOutcome {
  std::string change_id;  // the resolution's change, as it appears in the feed and the audit
  RecordView record;      // the record after the resolution
};

struct AuditPage {
  std::vector<AuditRow> rows;  // oldest first
  bool more = false;           // more after the last one: ask again with after=its seq
};

struct ServiceOptions {
  sync::Limits limits;
  int64_t token_lifetime_s = 15 * 60;    // the access token's (login's "token"); see TOKENS
  int64_t max_drift_ms = 5 * 60 * 1000;  // HybridClockOptions::max_drift_ms; clock_ahead beyond
  // Roles that receive confidential fields (schema sensitivity) in pulls.
  std::vector<sync::Role> confidential_roles = {sync::Role::kManager, sync::Role::kAdmin};
  std::function<int64_t()> now_ms;  // the server clock; the system clock when empty
  // Test hook: runs inside a push transaction after AppendFeed, before COMMIT.
  std::function<void()> before_commit_for_test;
  int64_t refresh_lifetime_s = 30 * 24 * 3600;  // each refresh token's, from its issue
};

class SyncService {
 public:
  // `backend` must outlive the service. `schema` is copied.
  SyncService(Backend* backend, const Schema& schema, ServiceOptions options = {});

  ApiResult<sync::LoginResponse> Login(const sync::LoginRequest& request) const;
  ApiResult<Principal> Authenticate(const std::string& bearer_token) const;
  // ---- tokens and devices (TOKENS) ----
  ApiResult<sync::LoginResponse> Refresh(const sync::RefreshRequest& request) const;
  ApiResult<Ack> Logout(const Principal& principal) const;
  ApiResult<Ack> WipeDone(const sync::WipeDoneRequest& request) const;
  // Records that the principal's device synced now, with the outbox count it reported (nullopt:
  // none). Skips the write when the stored time is under a minute old and the count unchanged,
  // so an idle tablet's pulls stay reads. A failure loses only this record.
  Status NoteSync(const Principal& principal, std::optional<int64_t> pending) const;

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

  // ---- back office (§13) ----
  // 400 malformed for a collection name or id no record can have; 404 not_found (one body) when
  // the record is missing, deleted, in another tenant or outside the principal's scope.
  ApiResult<RecordView> GetRecord(const Principal& principal, const std::string& collection,
                                  const std::string& record_id) const;
  // The open conflicts the principal may see with an id above `after_id` (empty: from the
  // start), at most `limit` (0: 100; capped at max_batch_changes).
  ApiResult<ConflictPage> ListConflicts(const Principal& principal, const std::string& after_id,
                                        uint32_t limit) const;
  // Sets the conflicted field to `value` as an edit whose base names every head (merge.h): the
  // same resolution a tablet makes, merged, stored, fed and audited like a pushed change, under
  // the server's node (kServerNode) and the principal as author. 404 (one body) for a conflict
  // that is unknown, already closed, superseded by a newer head (its id changed), in another
  // tenant or outside the scope; 400 invalid or 403 forbidden when the change would be refused.
  ApiResult<ResolveOutcome> ResolveConflict(const Principal& principal,
                                            const std::string& conflict_id,
                                            const nlohmann::json& value) const;
  // Admins only (403 otherwise): the tenant's audit rows matching `filter`, limit capped at 1000.
  ApiResult<AuditPage> ReadAudit(const Principal& principal, AuditFilter filter) const;

  const sync::Limits& limits() const { return options_.limits; }
  // Whether the principal's role reads (and so may write) confidential fields.
  bool SeesConfidential(const Principal& principal) const;
  int64_t NowMs() const;

 private:
  // Mints an access and a refresh token of `family` for the device, stores their hashes and
  // writes them into `out` (TOKENS). Inside the caller's write transaction.
  ApiResult<Ack> IssueTokens(BackendSession* db, const std::string& tenant, const std::string& user,
                             const std::string& device, const std::string& family, int64_t now,
                             sync::LoginResponse* out) const;
  // 403 device_revoked with the erase order and the device's wipe receipt.
  ApiError DeviceRevoked(BackendSession* db, const std::string& tenant,
                         const std::string& device) const;
  // The per-change judgement of a push, inside the caller's write transaction: every change is
  // applied or refused, accepted ones are audited as `action` (nullptr: change.upsert or
  // change.delete by their op) with `detail_json`, and their feed entries are added to `feed` for
  // the caller's AppendFeed. An ApiError means the transaction must be rolled back.
  ApiResult<sync::PushResponse> ApplyChanges(BackendSession* db, const Principal& principal,
                                             const std::vector<sync::Change>& changes,
                                             const char* action, const std::string& detail_json,
                                             std::vector<FeedEntry>* feed) const;
  // AppendFeed and COMMIT: the end of every transaction that accepted changes.
  ApiResult<bool> CommitChanges(BackendSession* db, const Principal& principal,
                                std::vector<FeedEntry>* feed) const;
  void AuditLoginRefusal(BackendSession* db, const std::string& tenant,
                         const sync::LoginRequest& request, const char* action,
                         const char* reason) const;
  // Builds a RecordView of a stored, visible record for the principal.
  RecordView View(const CollectionDef& def, const Principal& principal,
                  const std::string& record_id, const nlohmann::json& materialized,
                  const sync::RecordState& state) const;

  Backend* backend_;
  const Schema schema_;
  const ServiceOptions options_;
};

// The scope keys a principal may see and write (see PARTIAL REPLICATION). Empty for admins,
// who see everything.
std::vector<std::string> PrincipalKeys(const Principal& principal);

}  // namespace fieldsync::server
