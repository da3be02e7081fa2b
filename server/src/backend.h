// server/src/backend.h: the storage interface of fieldsync-server.
//
// Everything the server remembers lives behind this interface, so request handling is stateless
// and several server processes can serve one database. SQLite (sqlite_backend.h) is the embedded
// default; PostgreSQL comes as a second implementation of the same two classes.
//
//   Backend         one database. Thread-safe: any thread may call OpenSession().
//   BackendSession  one connection, used by one thread at a time. Statements run in the
//                   transaction opened by BeginWrite()/BeginRead(), or alone when none is open.
//
// TENANCY. Every call that touches tenant data takes the tenant id, and every query filters on it
// at this layer; nothing above can read another tenant's rows by forgetting a WHERE clause. The
// exceptions are lookups that *find* the tenant: FindUserTenant (login names are unique across
// the server), FindToken (a token hash is unique) and FindDeviceTenants (a wipe report names only
// its device; the receipt it carries is checked per tenant).
//
// THE FEED AND ITS ORDER (docs/protocol.md §7.3). AppendFeed must be the last statement of a push
// transaction before Commit(): it takes the tenant's feed lock, draws consecutive sequence numbers
// and inserts the entries. The lock is held until the commit is visible, so sequences become
// visible in sequence order and a pull's "everything up to the highest visible sequence" never
// skips a later-committing lower sequence. SQLite: BeginWrite() is BEGIN IMMEDIATE, the single
// writer lock already serializes whole transactions, and the draw is an UPDATE ... RETURNING of
// the tenant row. PostgreSQL must take pg_advisory_xact_lock(<tenant feed key>) (or the tenant
// row's lock via the same UPDATE) in AppendFeed; its lock is released after the commit is visible.
//
// Errors: Unavailable when the database is busy or unreachable (retry), AlreadyExists for a
// duplicate key in the admin calls, NotFound for a missing tenant/user, Internal otherwise.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fieldsync/status.h"
#include "fieldsync/sync/merge.h"

namespace fieldsync::server {

struct TenantRow {
  std::string id;
  std::string name;
  uint32_t feed_epoch = 0;  // the feed's identity inside cursors (protocol §7.4)
};

struct UserRow {
  std::string tenant;
  std::string id;  // the login name, unique across the server (e.g. an e-mail address)
  std::string display_name;
  sync::Role role = sync::Role::kRep;
  std::vector<std::string> teams;  // team ids, sorted
  std::string password_hash;       // credentials.h PHC-like string; never logged
  bool disabled = false;
  uint32_t scope_epoch = 1;  // bumped when the user's visibility changes (protocol §10)
};

struct DeviceRow {
  std::string tenant;
  std::string id;  // the tablet's node id
  std::string user;
  std::string name;
  std::string platform;
  bool revoked = false;
  // ---- device status (issue #6); times in ms since the epoch, 0: never ----
  int64_t registered_ms = 0;  // first login
  int64_t last_sync_ms = 0;   // last push or pull
  int64_t pending = -1;       // outbox count the tablet last reported; -1: never reported
  int64_t revoked_ms = 0;
  int64_t wiped_ms = 0;  // when the tablet reported it erased its database (wipe-done)
};

// Which of a login's two secrets a token row holds (sync_service.h, TOKENS).
enum class TokenKind { kAccess, kRefresh };

// TokenRow::end_reason values set outside the sync service (its own are in sync_service.cc).
inline constexpr char kTokenEndedPasswordReset[] = "password_reset";
inline constexpr char kTokenEndedDeviceRevoked[] = "revoked";

struct TokenRow {
  std::string tenant;
  std::string user;
  std::string device;
  int64_t expires_ms = 0;
  TokenKind kind = TokenKind::kAccess;
  std::string family{};      // the login it descends from through refreshes
  int64_t issued_ms = 0;     // 0: unknown
  int64_t ended_ms = 0;      // when it stopped being valid before expiring; 0: it did not
  std::string end_reason{};  // why (sync_service.h, TOKENS); empty while valid
};

// One record's server copy: the merge state, the record as users see it, and the keys that scope
// it (partial replication, sync_service.h).
struct RecordRow {
  std::string state_json;                        // sync::RecordStateToJson
  std::optional<std::string> materialized_json;  // sync::Materialize; absent while deleted
  std::string owner;     // customers: owner_rep (or the creator); children: their customer's
  std::string customer;  // the customer the record hangs off (its own id for a customer)
};

struct ConflictRow {
  std::string field;
  std::string conflict_id;
  std::string heads_json;  // [{"v":..,"h":..,"n":..,"a":..}, ...], shown value first
  // Filled by FindConflict and ListConflicts (GetConflicts is asked for one record already).
  std::string collection;
  std::string record_id;
};

struct FeedEntry {
  uint64_t seq = 0;  // assigned by AppendFeed
  std::string collection;
  std::string record_id;
  std::string node;         // the change's node, so a puller's own changes are not echoed
  std::string change_json;  // sync::EncodeChange, author included
  std::vector<std::string> scope_keys;  // who may see it; see sync_service.cc ScopeKeys
};

// ---- audit trail (docs/security.md §8.4) ----
// One row per accepted change and per administrative or login event: who (user, device), when
// (the server's clock), what (action, the record, the NAMES of the fields written, the change
// id). Never a field value, a password or a token: `detail` holds only non-personal facts such
// as a role, a team or a refusal reason (audit.h lists what each action puts there).
struct AuditRow {
  uint64_t seq = 0;  // per tenant, 1, 2, 3, ... in the order written; assigned by AppendAudit
  int64_t at_ms = 0;
  std::string user;        // the actor: a user id, or "cli" / "cli:<os user>" for admin commands
  std::string device;      // the actor's device (node id); "cli" for admin commands
  std::string action;      // audit.h kAudit* names
  std::string collection;  // the subject: a sync collection, or user/team/tenant/device
  std::string record_id;
  std::vector<std::string> fields;  // names of the fields written, sorted
  std::string change_id;            // accepted changes: their idempotency id (the feed has it)
  std::string detail_json = "{}";   // a JSON object
};

// Which audit rows to read: those after `after_seq`, oldest first, at most `limit`. A non-empty
// `collection` + `record_id` keeps one record's rows, a non-empty `user` one actor's; both: both.
struct AuditFilter {
  std::string collection;
  std::string record_id;
  std::string user;
  uint64_t after_seq = 0;
  size_t limit = 1000;
};

// Which entries a pull may see. `all` (admins) ignores `keys`.
struct FeedFilter {
  bool all = false;
  std::vector<std::string> keys;  // an entry is visible if it has one of these scope keys
  std::string exclude_node;       // entries of this node are left out (no echo)
};

class BackendSession {
 public:
  virtual ~BackendSession() = default;

  // ---- transactions ----
  virtual Status BeginWrite() = 0;  // takes the write lock now (SQLite: BEGIN IMMEDIATE)
  virtual Status BeginRead() = 0;   // one snapshot for every read until Commit/Rollback
  virtual Status Commit() = 0;
  virtual Status Rollback() = 0;  // safe to call when no transaction is open

  // ---- server-wide ----
  // The secret the cursor keys are derived from: 32 random bytes made on first use and shared
  // by every server process on this database, so any of them can verify any cursor.
  virtual Result<std::string> CursorSecret() = 0;

  // ---- identity ----
  virtual Status CreateTenant(const TenantRow& tenant) = 0;
  virtual Result<TenantRow> GetTenant(const std::string& tenant) = 0;
  virtual Status CreateTeam(const std::string& tenant, const std::string& team,
                            const std::string& name) = 0;
  virtual Result<bool> TeamExists(const std::string& tenant, const std::string& team) = 0;
  // NotFound if a team is unknown; AlreadyExists if the user id is taken in any tenant.
  virtual Status CreateUser(const UserRow& user) = 0;
  virtual Result<UserRow> GetUser(const std::string& tenant, const std::string& user) = 0;
  // The tenant of a login name; NotFound if no tenant has it.
  virtual Result<std::string> FindUserTenant(const std::string& user) = 0;
  // Registers the device for the user, or moves it to the user (a shared tablet); a revoked
  // device stays revoked. A new device's registered_ms is set from `device`; an existing one
  // keeps its own.
  virtual Status UpsertDevice(const DeviceRow& device) = 0;
  virtual Result<DeviceRow> GetDevice(const std::string& tenant, const std::string& device) = 0;
  // `token_hash` is SHA-256 of the bearer token; the token itself is never stored.
  virtual Status StoreToken(const std::string& token_hash, const TokenRow& token) = 0;
  // The row whatever its state (expired, ended): the caller decides and says why.
  virtual Result<TokenRow> FindToken(const std::string& token_hash) = 0;

  // ---- tokens and devices (issue #6: refresh, logout, revocation, remote wipe) ----
  // Ends one token (ended_ms, end_reason), unless it has already ended.
  virtual Status EndToken(const std::string& token_hash, int64_t now_ms,
                          const std::string& reason) = 0;
  // Ends every token of the device that has not ended yet; only those of `family` if not empty.
  virtual Status EndDeviceTokens(const std::string& tenant, const std::string& device,
                                 const std::string& family, int64_t now_ms,
                                 const std::string& reason) = 0;
  // Ends every token of the user, on all devices.
  virtual Status EndUserTokens(const std::string& tenant, const std::string& user, int64_t now_ms,
                               const std::string& reason) = 0;
  // Deletes the device's token rows that expired before `before_ms`.
  virtual Status PurgeDeviceTokens(const std::string& tenant, const std::string& device,
                                   int64_t before_ms) = 0;
  // NotFound for an unknown user.
  virtual Status SetPasswordHash(const std::string& tenant, const std::string& user,
                                 const std::string& password_hash) = 0;
  // Every device of the tenant, by user then device id.
  virtual Result<std::vector<DeviceRow>> ListDevices(const std::string& tenant) = 0;
  // Marks the device revoked at `now_ms` (the first time; a second revocation keeps the first
  // time). NotFound for an unknown device.
  virtual Status RevokeDevice(const std::string& tenant, const std::string& device,
                              int64_t now_ms) = 0;
  // Records a push or pull of the device at `now_ms`, and the outbox count it reported (nullopt:
  // it reported none; the stored count stays).
  virtual Status NoteDeviceSync(const std::string& tenant, const std::string& device,
                                int64_t now_ms, std::optional<int64_t> pending) = 0;
  // Records the device's report that it erased its database (the first report's time stays).
  virtual Status MarkDeviceWiped(const std::string& tenant, const std::string& device,
                                 int64_t now_ms) = 0;
  // The tenants that have a device with this id (node ids are random: normally one).
  virtual Result<std::vector<std::string>> FindDeviceTenants(const std::string& device) = 0;

  // ---- records ----
  virtual Result<std::optional<RecordRow>> GetRecord(const std::string& tenant,
                                                     const std::string& collection,
                                                     const std::string& record_id) = 0;
  virtual Status PutRecord(const std::string& tenant, const std::string& collection,
                           const std::string& record_id, const RecordRow& row) = 0;
  virtual Status ShareCustomer(const std::string& tenant, const std::string& customer,
                               const std::string& team) = 0;
  virtual Result<std::vector<std::string>> CustomerShares(const std::string& tenant,
                                                          const std::string& customer) = 0;

  // ---- idempotency: accepted changes only (refusals are judged again when resent) ----
  virtual Result<std::optional<std::string>> AppliedDigest(const std::string& tenant,
                                                           const std::string& change_id) = 0;
  virtual Status RecordApplied(const std::string& tenant, const std::string& change_id,
                               const std::string& digest) = 0;

  // ---- conflicts: the open conflicts of one record, replaced after every merge ----
  virtual Status ReplaceConflicts(const std::string& tenant, const std::string& collection,
                                  const std::string& record_id,
                                  const std::vector<ConflictRow>& conflicts) = 0;
  virtual Result<std::vector<ConflictRow>> GetConflicts(const std::string& tenant,
                                                        const std::string& collection,
                                                        const std::string& record_id) = 0;

  // ---- audit trail: append-only (no call updates or deletes a row) ----
  // Inside a write transaction: assigns the tenant's next sequences to `rows` (written into their
  // `seq`) and inserts them. SQLite draws max(seq)+1 under its writer lock; a backend whose
  // writers run concurrently must draw under a per-tenant lock or counter.
  virtual Status AppendAudit(const std::string& tenant, std::vector<AuditRow>* rows) = 0;
  virtual Result<std::vector<AuditRow>> ReadAudit(const std::string& tenant,
                                                  const AuditFilter& filter) = 0;

  // ---- back office: open conflicts by id, across the tenant's records ----
  // The open conflict with this id in this tenant (collection and record_id filled), or nullopt.
  virtual Result<std::optional<ConflictRow>> FindConflict(const std::string& tenant,
                                                          const std::string& conflict_id) = 0;
  // The tenant's open conflicts with an id above `after_id`, by id, at most `limit`.
  virtual Result<std::vector<ConflictRow>> ListConflicts(const std::string& tenant,
                                                         const std::string& after_id,
                                                         size_t limit) = 0;

  // ---- feed ----
  // The last step of a push transaction (see THE FEED above): takes the feed lock, assigns
  // consecutive sequences to `entries` (written into their `seq`) and inserts them.
  virtual Status AppendFeed(const std::string& tenant, std::vector<FeedEntry>* entries) = 0;
  // The highest sequence visible to this session's snapshot (0: empty feed).
  virtual Result<uint64_t> FeedHighWater(const std::string& tenant) = 0;
  // Entries with after < seq <= upto that pass `filter`, in sequence order, at most `limit`.
  virtual Result<std::vector<FeedEntry>> ReadFeed(const std::string& tenant, uint64_t after,
                                                  uint64_t upto, const FeedFilter& filter,
                                                  size_t limit) = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // A session on its own connection (pooled by the implementation). The Backend must outlive it.
  virtual Result<std::unique_ptr<BackendSession>> OpenSession() = 0;
};

// Opens the backend named by a --db URL: "sqlite:PATH" (created if missing). InvalidArgument for
// any other scheme.
Result<std::unique_ptr<Backend>> OpenBackend(const std::string& url);

}  // namespace fieldsync::server
