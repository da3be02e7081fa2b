// server/src/sqlite_backend.cc: BackendSession over one SQLite connection (sqlite_backend.h).
//
// TABLES (every tenant table leads its primary key with `tenant`, and every query binds it):
//   meta             server-wide values: the cursor secret
//   tenants          id, name, feed_epoch, next_seq (the feed counter; its UPDATE is the draw)
//   teams, users, user_teams, devices
//   auth_tokens      token_hash (SHA-256 of an access or refresh token) -> its owner and state
//   device_status    per device: first login, last sync, reported outbox count, revoked, wiped
//   records          collection, id -> merge state, materialized record, owner, customer
//   customer_shares  customer -> teams it is shared with (partial replication)
//   applied_changes  change id -> digest of every accepted change (idempotency, protocol §6)
//   conflicts        open kReview conflicts per record and field
//   feed             (tenant, seq) -> the change, its node and its scope keys (a JSON array)
//   audit            (tenant, seq) -> who, when, what (backend.h AuditRow); append-only: triggers
//                    refuse every UPDATE and DELETE, as a second line behind the interface,
//                    which has no call for either
#include "sqlite_backend.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include <unordered_map>
#include <utility>

namespace fieldsync::server {
namespace {

constexpr char kSchemaSql[] = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS tenants(
  tenant TEXT PRIMARY KEY, name TEXT NOT NULL, feed_epoch INTEGER NOT NULL,
  next_seq INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS teams(
  tenant TEXT NOT NULL, team TEXT NOT NULL, name TEXT NOT NULL, PRIMARY KEY(tenant, team));
CREATE TABLE IF NOT EXISTS users(
  tenant TEXT NOT NULL, user TEXT NOT NULL UNIQUE, display_name TEXT NOT NULL,
  role TEXT NOT NULL, password_hash TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0,
  scope_epoch INTEGER NOT NULL DEFAULT 1, PRIMARY KEY(tenant, user));
CREATE TABLE IF NOT EXISTS user_teams(
  tenant TEXT NOT NULL, user TEXT NOT NULL, team TEXT NOT NULL,
  PRIMARY KEY(tenant, user, team));
CREATE TABLE IF NOT EXISTS devices(
  tenant TEXT NOT NULL, device TEXT NOT NULL, user TEXT NOT NULL, name TEXT NOT NULL,
  platform TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(tenant, device));
CREATE TABLE IF NOT EXISTS records(
  tenant TEXT NOT NULL, collection TEXT NOT NULL, record_id TEXT NOT NULL, state TEXT NOT NULL,
  materialized TEXT, owner TEXT NOT NULL, customer TEXT NOT NULL,
  PRIMARY KEY(tenant, collection, record_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS customer_shares(
  tenant TEXT NOT NULL, customer TEXT NOT NULL, team TEXT NOT NULL,
  PRIMARY KEY(tenant, customer, team)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS applied_changes(
  tenant TEXT NOT NULL, change_id TEXT NOT NULL, digest TEXT NOT NULL,
  PRIMARY KEY(tenant, change_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS conflicts(
  tenant TEXT NOT NULL, collection TEXT NOT NULL, record_id TEXT NOT NULL, field TEXT NOT NULL,
  conflict_id TEXT NOT NULL, heads TEXT NOT NULL,
  PRIMARY KEY(tenant, collection, record_id, field)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS feed(
  tenant TEXT NOT NULL, seq INTEGER NOT NULL, collection TEXT NOT NULL, record_id TEXT NOT NULL,
  node TEXT NOT NULL, change TEXT NOT NULL, scope TEXT NOT NULL,
  PRIMARY KEY(tenant, seq)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS conflicts_by_id ON conflicts(tenant, conflict_id);
CREATE TABLE IF NOT EXISTS audit(
  tenant TEXT NOT NULL, seq INTEGER NOT NULL, at_ms INTEGER NOT NULL, user TEXT NOT NULL,
  device TEXT NOT NULL, action TEXT NOT NULL, collection TEXT NOT NULL, record_id TEXT NOT NULL,
  fields TEXT NOT NULL, change_id TEXT NOT NULL, detail TEXT NOT NULL,
  PRIMARY KEY(tenant, seq)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS audit_by_record ON audit(tenant, collection, record_id, seq);
CREATE INDEX IF NOT EXISTS audit_by_user ON audit(tenant, user, seq);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;

-- ---- tokens and devices (issue #6) ----
-- auth_tokens replaces `tokens`, which held one 30-day bearer token per login: those tokens die
-- with it and their tablets log in again, as after any 401.
DROP TABLE IF EXISTS tokens;
CREATE TABLE IF NOT EXISTS auth_tokens(
  token_hash TEXT PRIMARY KEY, tenant TEXT NOT NULL, user TEXT NOT NULL, device TEXT NOT NULL,
  kind TEXT NOT NULL, family TEXT NOT NULL, issued_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL, ended_ms INTEGER NOT NULL DEFAULT 0,
  end_reason TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS auth_tokens_by_device ON auth_tokens(tenant, device);
CREATE INDEX IF NOT EXISTS auth_tokens_by_user ON auth_tokens(tenant, user);
CREATE INDEX IF NOT EXISTS devices_by_id ON devices(device);
CREATE TABLE IF NOT EXISTS device_status(
  tenant TEXT NOT NULL, device TEXT NOT NULL, registered_ms INTEGER NOT NULL DEFAULT 0,
  last_sync_ms INTEGER NOT NULL DEFAULT 0, pending INTEGER NOT NULL DEFAULT -1,
  revoked_ms INTEGER NOT NULL DEFAULT 0, wiped_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(tenant, device)) WITHOUT ROWID;
)sql";

Status SqliteError(sqlite3* db, int rc, const char* what) {
  std::string msg = std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  const int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return Status::Unavailable(msg);
  if (primary == SQLITE_CONSTRAINT) return Status::AlreadyExists(msg);
  if (primary == SQLITE_CANTOPEN || primary == SQLITE_IOERR || primary == SQLITE_FULL) {
    return Status::IOError(msg);
  }
  return Status::Internal(msg);
}

}  // namespace

// One pooled connection and the statements prepared on it. Preparing costs more than running
// most of the point queries a push makes (parsing and planning, about 10-20 us), so statements
// are prepared once per connection and reset between uses; they live as long as the connection.
class SqliteConnection {
 public:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  ~SqliteConnection() {
    for (auto& [sql, entry] : stmts_) sqlite3_finalize(entry.stmt);
    sqlite3_close_v2(db_);
  }
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  sqlite3* db() const { return db_; }

  // The statement for `sql` (a string literal: cached by address), reset and unbound; nullptr
  // with *rc set when preparing fails. *cached tells whether Return() keeps it. A statement in
  // use (the same SQL running nested) gets a fresh, uncached one.
  sqlite3_stmt* Acquire(const char* sql, int* rc, bool* cached) {
    auto it = stmts_.find(sql);
    if (it != stmts_.end() && !it->second.busy) {
      it->second.busy = true;
      *cached = true;
      return it->second.stmt;
    }
    sqlite3_stmt* stmt = nullptr;
    *rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (*rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return nullptr;
    }
    *cached = it == stmts_.end();
    if (*cached) stmts_.emplace(sql, Entry{stmt, true});
    return stmt;
  }
  void Return(const char* sql, sqlite3_stmt* stmt, bool cached) {
    // Reset ends the statement (releasing its read of the database) and unbinds it, so a kept
    // statement holds no caller's memory.
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    if (!cached) {
      sqlite3_finalize(stmt);
      return;
    }
    stmts_[sql].busy = false;
  }

 private:
  struct Entry {
    sqlite3_stmt* stmt = nullptr;
    bool busy = false;
  };
  sqlite3* const db_;
  std::unordered_map<const char*, Entry> stmts_;
};

namespace {

// A prepared statement of the connection's cache that binds by position; returned (reset) to
// the cache when destroyed.
class Stmt {
 public:
  Stmt(SqliteConnection* conn, const char* sql) : conn_(conn), sql_(sql), db_(conn->db()) {
    stmt_ = conn->Acquire(sql, &rc_, &cached_);
  }
  ~Stmt() {
    if (stmt_ != nullptr) conn_->Return(sql_, stmt_, cached_);
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Bind(const std::string& text) {
    if (rc_ == SQLITE_OK) {
      rc_ = sqlite3_bind_text(stmt_, ++index_, text.data(), static_cast<int>(text.size()),
                              SQLITE_TRANSIENT);
    }
    return *this;
  }
  Stmt& Bind(int64_t value) {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_int64(stmt_, ++index_, value);
    return *this;
  }
  Stmt& BindNull() {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_null(stmt_, ++index_);
    return *this;
  }

  // Steps once: true with a row, false when done; error status on failure.
  Result<bool> Step() {
    if (rc_ != SQLITE_OK) return SqliteError(db_, rc_, "prepare/bind");
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqliteError(db_, rc, "step");
  }
  Status Run() {
    Result<bool> r = Step();
    return r.ok() ? Status::OK() : r.status();
  }

  std::string Text(int col) const {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
  }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }

 private:
  SqliteConnection* conn_;
  const char* sql_;
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  bool cached_ = false;
  int rc_ = SQLITE_OK;
  int index_ = 0;
};

Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::OK();
  std::string msg = err ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  Status s = SqliteError(nullptr, rc, "exec");
  return s.code() == StatusCode::kUnavailable ? Status::Unavailable(msg) : Status::Internal(msg);
}

const char* RoleName(sync::Role role) {
  switch (role) {
    case sync::Role::kRep:
      return "rep";
    case sync::Role::kManager:
      return "manager";
    case sync::Role::kAdmin:
      return "admin";
    case sync::Role::kServer:
      return "server";
  }
  return "rep";
}

sync::Role RoleFromName(const std::string& name) {
  if (name == "manager") return sync::Role::kManager;
  if (name == "admin") return sync::Role::kAdmin;
  return sync::Role::kRep;  // the least privilege for anything unexpected
}

// A device from the columns d.device, d.user, d.name, d.platform, d.revoked, then device_status's
// registered_ms, last_sync_ms, pending, revoked_ms, wiped_ms (NULL when it has no status row).
DeviceRow DeviceFrom(const Stmt& s, const std::string& tenant) {
  DeviceRow d{tenant, s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Int(4) != 0};
  if (!s.IsNull(5)) {
    d.registered_ms = s.Int(5);
    d.last_sync_ms = s.Int(6);
    d.pending = s.Int(7);
    d.revoked_ms = s.Int(8);
    d.wiped_ms = s.Int(9);
  }
  return d;
}

class SqliteSession final : public BackendSession {
 public:
  SqliteSession(SqliteBackend* owner, std::unique_ptr<SqliteConnection> conn)
      : owner_(owner), conn_(std::move(conn)), db_(conn_->db()) {}
  ~SqliteSession() override {
    if (in_txn_) (void)Exec(db_, "ROLLBACK");
    owner_->Release(std::move(conn_));
  }

  Status BeginWrite() override { return Begin("BEGIN IMMEDIATE"); }
  Status BeginRead() override {
    FIELDSYNC_RETURN_IF_ERROR(Begin("BEGIN"));
    // A deferred transaction takes its snapshot at the first read; take it now.
    Stmt s(conn_.get(), "SELECT count(*) FROM meta");
    Result<bool> r = s.Step();
    if (!r.ok()) {
      (void)Rollback();
      return r.status();
    }
    return Status::OK();
  }
  Status Commit() override {
    if (!in_txn_) return Status::OK();
    Status s = Exec(db_, "COMMIT");
    if (!s.ok()) {
      (void)Exec(db_, "ROLLBACK");
    }
    in_txn_ = false;
    return s;
  }
  Status Rollback() override {
    if (!in_txn_) return Status::OK();
    in_txn_ = false;
    return Exec(db_, "ROLLBACK");
  }

  Result<std::string> CursorSecret() override {
    {
      Stmt s(conn_.get(), "SELECT value FROM meta WHERE key = 'cursor_secret'");
      Result<bool> row = s.Step();
      if (!row.ok()) return row.status();
      if (*row) return s.Text(0);
    }
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1) return Status::Internal("RAND_bytes failed");
    static const char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned char b : raw) {
      hex += kHex[b >> 4];
      hex += kHex[b & 15];
    }
    OPENSSL_cleanse(raw, sizeof raw);
    // Another process may have raced us: keep whichever secret was stored first.
    FIELDSYNC_RETURN_IF_ERROR(
        Stmt(conn_.get(), "INSERT OR IGNORE INTO meta(key, value) VALUES('cursor_secret', ?)")
            .Bind(hex)
            .Run());
    Stmt s(conn_.get(), "SELECT value FROM meta WHERE key = 'cursor_secret'");
    Result<bool> row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Internal("cursor secret vanished");
    return s.Text(0);
  }

  Status CreateTenant(const TenantRow& t) override {
    return Stmt(conn_.get(), "INSERT INTO tenants(tenant, name, feed_epoch) VALUES(?, ?, ?)")
        .Bind(t.id)
        .Bind(t.name)
        .Bind(static_cast<int64_t>(t.feed_epoch))
        .Run();
  }
  Result<TenantRow> GetTenant(const std::string& tenant) override {
    Stmt s(conn_.get(), "SELECT name, feed_epoch FROM tenants WHERE tenant = ?");
    s.Bind(tenant);
    Result<bool> row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound("no tenant " + tenant);
    return TenantRow{tenant, s.Text(0), static_cast<uint32_t>(s.Int(1))};
  }
  Status CreateTeam(const std::string& tenant, const std::string& team,
                    const std::string& name) override {
    Result<TenantRow> t = GetTenant(tenant);
    if (!t.ok()) return t.status();
    return Stmt(conn_.get(), "INSERT INTO teams(tenant, team, name) VALUES(?, ?, ?)")
        .Bind(tenant)
        .Bind(team)
        .Bind(name)
        .Run();
  }
  Result<bool> TeamExists(const std::string& tenant, const std::string& team) override {
    Stmt s(conn_.get(), "SELECT 1 FROM teams WHERE tenant = ? AND team = ?");
    s.Bind(tenant).Bind(team);
    return s.Step();
  }
  Status CreateUser(const UserRow& u) override {
    Result<TenantRow> t = GetTenant(u.tenant);
    if (!t.ok()) return t.status();
    for (const std::string& team : u.teams) {
      Result<bool> exists = TeamExists(u.tenant, team);
      if (!exists.ok()) return exists.status();
      if (!*exists) return Status::NotFound("no team " + team + " in tenant " + u.tenant);
    }
    {
      Stmt s(conn_.get(), "SELECT 1 FROM users WHERE user = ?");
      s.Bind(u.id);
      Result<bool> taken = s.Step();
      if (!taken.ok()) return taken.status();
      if (*taken) return Status::AlreadyExists("user " + u.id + " exists");
    }
    FIELDSYNC_RETURN_IF_ERROR(
        Stmt(conn_.get(),
             "INSERT INTO users(tenant, user, display_name, role, password_hash, disabled, "
             "scope_epoch) VALUES(?, ?, ?, ?, ?, ?, ?)")
            .Bind(u.tenant)
            .Bind(u.id)
            .Bind(u.display_name)
            .Bind(std::string(RoleName(u.role)))
            .Bind(u.password_hash)
            .Bind(int64_t{u.disabled ? 1 : 0})
            .Bind(static_cast<int64_t>(u.scope_epoch))
            .Run());
    for (const std::string& team : u.teams) {
      FIELDSYNC_RETURN_IF_ERROR(
          Stmt(conn_.get(), "INSERT OR IGNORE INTO user_teams(tenant, user, team) VALUES(?, ?, ?)")
              .Bind(u.tenant)
              .Bind(u.id)
              .Bind(team)
              .Run());
    }
    return Status::OK();
  }
  Result<UserRow> GetUser(const std::string& tenant, const std::string& user) override {
    UserRow u;
    {
      Stmt s(conn_.get(),
             "SELECT display_name, role, password_hash, disabled, scope_epoch FROM users "
             "WHERE tenant = ? AND user = ?");
      s.Bind(tenant).Bind(user);
      Result<bool> row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) return Status::NotFound("no such user");
      u.tenant = tenant;
      u.id = user;
      u.display_name = s.Text(0);
      u.role = RoleFromName(s.Text(1));
      u.password_hash = s.Text(2);
      u.disabled = s.Int(3) != 0;
      u.scope_epoch = static_cast<uint32_t>(s.Int(4));
    }
    Stmt s(conn_.get(), "SELECT team FROM user_teams WHERE tenant = ? AND user = ? ORDER BY team");
    s.Bind(tenant).Bind(user);
    for (;;) {
      Result<bool> row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      u.teams.push_back(s.Text(0));
    }
    return u;
  }
  Result<std::string> FindUserTenant(const std::string& user) override {
    Stmt s(conn_.get(), "SELECT tenant FROM users WHERE user = ?");
    s.Bind(user);
    Result<bool> row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound("no such user");
    return s.Text(0);
  }
  Status UpsertDevice(const DeviceRow& d) override {
    FIELDSYNC_RETURN_IF_ERROR(
        Stmt(conn_.get(),
             "INSERT INTO devices(tenant, device, user, name, platform) VALUES(?, ?, ?, ?, ?) "
             "ON CONFLICT(tenant, device) DO UPDATE SET user = excluded.user, "
             "name = excluded.name, platform = excluded.platform")
            .Bind(d.tenant)
            .Bind(d.id)
            .Bind(d.user)
            .Bind(d.name)
            .Bind(d.platform)
            .Run());
    return Stmt(conn_.get(),
                "INSERT INTO device_status(tenant, device, registered_ms) VALUES(?, ?, ?) "
                "ON CONFLICT(tenant, device) DO NOTHING")
        .Bind(d.tenant)
        .Bind(d.id)
        .Bind(d.registered_ms)
        .Run();
  }
  Result<DeviceRow> GetDevice(const std::string& tenant, const std::string& device) override {
    Stmt s(conn_.get(),
           "SELECT d.device, d.user, d.name, d.platform, d.revoked, s.registered_ms, "
           "s.last_sync_ms, s.pending, s.revoked_ms, s.wiped_ms FROM devices AS d "
           "LEFT JOIN device_status AS s ON s.tenant = d.tenant AND s.device = d.device "
           "WHERE d.tenant = ? AND d.device = ?");
    s.Bind(tenant).Bind(device);
    Result<bool> row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound("no such device");
    return DeviceFrom(s, tenant);
  }
  Status StoreToken(const std::string& token_hash, const TokenRow& t) override {
    return Stmt(conn_.get(),
                "INSERT INTO auth_tokens(token_hash, tenant, user, device, kind, family, "
                "issued_ms, expires_ms) VALUES(?, ?, ?, ?, ?, ?, ?, ?)")
        .Bind(token_hash)
        .Bind(t.tenant)
        .Bind(t.user)
        .Bind(t.device)
        .Bind(std::string(t.kind == TokenKind::kRefresh ? "refresh" : "access"))
        .Bind(t.family)
        .Bind(t.issued_ms)
        .Bind(t.expires_ms)
        .Run();
  }
  Result<TokenRow> FindToken(const std::string& token_hash) override {
    Stmt s(conn_.get(),
           "SELECT token_hash, tenant, user, device, expires_ms, kind, family, issued_ms, "
           "ended_ms, end_reason FROM auth_tokens WHERE token_hash = ?");
    s.Bind(token_hash);
    Result<bool> row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound("unknown token");
    // The index found the row; compare the whole hash once more in constant time, so the
    // decision never depends on how many leading bytes matched.
    const std::string stored = s.Text(0);
    if (stored.size() != token_hash.size() ||
        CRYPTO_memcmp(stored.data(), token_hash.data(), stored.size()) != 0) {
      return Status::NotFound("unknown token");
    }
    TokenRow t{s.Text(1), s.Text(2), s.Text(3), s.Int(4)};
    t.kind = s.Text(5) == "refresh" ? TokenKind::kRefresh : TokenKind::kAccess;
    t.family = s.Text(6);
    t.issued_ms = s.Int(7);
    t.ended_ms = s.Int(8);
    t.end_reason = s.Text(9);
    return t;
  }

  // ---- tokens and devices (issue #6) ----
  Status EndToken(const std::string& token_hash, int64_t now_ms,
                  const std::string& reason) override {
    return Stmt(conn_.get(),
                "UPDATE auth_tokens SET ended_ms = ?, end_reason = ? "
                "WHERE token_hash = ? AND ended_ms = 0")
        .Bind(now_ms)
        .Bind(reason)
        .Bind(token_hash)
        .Run();
  }
  Status EndDeviceTokens(const std::string& tenant, const std::string& device,
                         const std::string& family, int64_t now_ms,
                         const std::string& reason) override {
    return Stmt(conn_.get(),
                "UPDATE auth_tokens SET ended_ms = ?, end_reason = ? WHERE tenant = ? AND "
                "device = ? AND ended_ms = 0 AND (? = '' OR family = ?)")
        .Bind(now_ms)
        .Bind(reason)
        .Bind(tenant)
        .Bind(device)
        .Bind(family)
        .Bind(family)
        .Run();
  }
  Status EndUserTokens(const std::string& tenant, const std::string& user, int64_t now_ms,
                       const std::string& reason) override {
    return Stmt(conn_.get(),
                "UPDATE auth_tokens SET ended_ms = ?, end_reason = ? "
                "WHERE tenant = ? AND user = ? AND ended_ms = 0")
        .Bind(now_ms)
        .Bind(reason)
        .Bind(tenant)
        .Bind(user)
        .Run();
  }
  Status PurgeDeviceTokens(const std::string& tenant, const std::string& device,
                           int64_t before_ms) override {
    return Stmt(conn_.get(),
                "DELETE FROM auth_tokens WHERE tenant = ? AND device = ? AND expires_ms < ?")
        .Bind(tenant)
        .Bind(device)
        .Bind(before_ms)
        .Run();
  }
  Status SetPasswordHash(const std::string& tenant, const std::string& user,
                         const std::string& password_hash) override {
    FIELDSYNC_RETURN_IF_ERROR(
        Stmt(conn_.get(), "UPDATE users SET password_hash = ? WHERE tenant = ? AND user = ?")
            .Bind(password_hash)
            .Bind(tenant)
            .Bind(user)
            .Run());
    if (sqlite3_changes(db_) == 0) return Status::NotFound("no user " + user + " in " + tenant);
    return Status::OK();
  }
  Result<std::vector<DeviceRow>> ListDevices(const std::string& tenant) override {
    Stmt s(conn_.get(),
           "SELECT d.device, d.user, d.name, d.platform, d.revoked, s.registered_ms, "
           "s.last_sync_ms, s.pending, s.revoked_ms, s.wiped_ms FROM devices AS d "
           "LEFT JOIN device_status AS s ON s.tenant = d.tenant AND s.device = d.device "
           "WHERE d.tenant = ? ORDER BY d.user, d.device");
    s.Bind(tenant);
    std::vector<DeviceRow> out;
    for (;;) {
      Result<bool> row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) return out;
      out.push_back(DeviceFrom(s, tenant));
    }
  }
  Status RevokeDevice(const std::string& tenant, const std::string& device,
                      int64_t now_ms) override {
    FIELDSYNC_RETURN_IF_ERROR(
        Stmt(conn_.get(), "UPDATE devices SET revoked = 1 WHERE tenant = ? AND device = ?")
            .Bind(tenant)
            .Bind(device)
            .Run());
    if (sqlite3_changes(db_) == 0) {
      return Status::NotFound("no device " + device + " in " + tenant);
    }
    return Stmt(conn_.get(),
                "INSERT INTO device_status(tenant, device, revoked_ms) VALUES(?, ?, ?) "
                "ON CONFLICT(tenant, device) DO UPDATE SET revoked_ms = "
                "CASE WHEN revoked_ms = 0 THEN excluded.revoked_ms ELSE revoked_ms END")
        .Bind(tenant)
        .Bind(device)
        .Bind(now_ms)
        .Run();
  }
  Status NoteDeviceSync(const std::string& tenant, const std::string& device, int64_t now_ms,
                        std::optional<int64_t> pending) override {
    if (pending) {
      return Stmt(conn_.get(),
                  "INSERT INTO device_status(tenant, device, last_sync_ms, pending) "
                  "VALUES(?, ?, ?, ?) ON CONFLICT(tenant, device) DO UPDATE SET "
                  "last_sync_ms = excluded.last_sync_ms, pending = excluded.pending")
          .Bind(tenant)
          .Bind(device)
          .Bind(now_ms)
          .Bind(*pending)
          .Run();
    }
    return Stmt(conn_.get(),
                "INSERT INTO device_status(tenant, device, last_sync_ms) VALUES(?, ?, ?) "
                "ON CONFLICT(tenant, device) DO UPDATE SET last_sync_ms = excluded.last_sync_ms")
        .Bind(tenant)
        .Bind(device)
        .Bind(now_ms)
        .Run();
  }
  Status MarkDeviceWiped(const std::string& tenant, const std::string& device,
                         int64_t now_ms) override {
    return Stmt(conn_.get(),
                "INSERT INTO device_status(tenant, device, wiped_ms) VALUES(?, ?, ?) "
                "ON CONFLICT(tenant, device) DO UPDATE SET wiped_ms = "
                "CASE WHEN wiped_ms = 0 THEN excluded.wiped_ms ELSE wiped_ms END")
        .Bind(tenant)
        .Bind(device)
        .Bind(now_ms)
        .Run();
  }
  Result<std::vector<std::string>> FindDeviceTenants(const std::string& device) override {
    Stmt s(conn_.get(), "SELECT tenant FROM devices WHERE device = ? ORDER BY tenant");
    s.Bind(device);
    std::vector<std::string> out;
    for (;;) {
      Result<bool> row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) return out;
      out.push_back(s.Text(0));
    }
  }

  Result<std::optional<RecordRow>> GetRecord(const std::string& tenant,
                                             const std::string& collection,
                                             const std::string& record_id) override {
    Stmt s(conn_.get(),
           "SELECT state, materialized, owner, customer FROM records "
           "WHERE tenant = ? AND collection = ? AND record_id = ?");
    s.Bind(tenant).Bind(collection).Bind(record_id);
    Result<bool> row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::optional<RecordRow>();
    RecordRow r;
    r.state_json = s.Text(0);
    if (!s.IsNull(1)) r.materialized_json = s.Text(1);
    r.owner = s.Text(2);
    r.customer = s.Text(3);
    return std::optional<RecordRow>(std::move(r));
  }
  Status PutRecord(const std::string& tenant, const std::string& collection,
                   const std::string& record_id, const RecordRow& r) override {
    Stmt s(conn_.get(),
           "INSERT INTO records(tenant, collection, record_id, state, materialized, owner, "
           "customer) VALUES(?, ?, ?, ?, ?, ?, ?) ON CONFLICT(tenant, collection, record_id) DO "
           "UPDATE SET state = excluded.state, materialized = excluded.materialized, "
           "owner = excluded.owner, customer = excluded.customer");
    s.Bind(tenant).Bind(collection).Bind(record_id).Bind(r.state_json);
    if (r.materialized_json) {
      s.Bind(*r.materialized_json);
    } else {
      s.BindNull();
    }
    s.Bind(r.owner).Bind(r.customer);
    return s.Run();
  }
  Status ShareCustomer(const std::string& tenant, const std::string& customer,
                       const std::string& team) override {
    Result<bool> exists = TeamExists(tenant, team);
    if (!exists.ok()) return exists.status();
    if (!*exists) return Status::NotFound("no team " + team + " in tenant " + tenant);
    return Stmt(conn_.get(),
                "INSERT OR IGNORE INTO customer_shares(tenant, customer, team) VALUES(?, ?, ?)")
        .Bind(tenant)
        .Bind(customer)
        .Bind(team)
        .Run();
  }
  Result<std::vector<std::string>> CustomerShares(const std::string& tenant,
                                                  const std::string& customer) override {
    Stmt s(conn_.get(),
           "SELECT team FROM customer_shares WHERE tenant = ? AND customer = ? ORDER BY team");
    s.Bind(tenant).Bind(customer);
    std::vector<std::string> teams;
    for (;;) {
      Result<bool> row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) return teams;
      teams.push_back(s.Text(0));
    }
  }

  Result<std::optional<std::string>> AppliedDigest(const std::string& tenant,
                                                   const std::string& change_id) override {
    Stmt s(conn_.get(), "SELECT digest FROM applied_changes WHERE tenant = ? AND change_id = ?");
    s.Bind(tenant).Bind(change_id);
    Result<bool> row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::optional<std::string>();
    return std::optional<std::string>(s.Text(0));
  }
  Status RecordApplied(const std::string& tenant, const std::string& change_id,
                       const std::string& digest) override {
    return Stmt(conn_.get(),
                "INSERT INTO applied_changes(tenant, change_id, digest) VALUES(?, ?, ?)")
        .Bind(tenant)
        .Bind(change_id)
        .Bind(digest)
        .Run();
  }

  Status ReplaceConflicts(const std::string& tenant, const std::string& collection,
                          const std::string& record_id,
                          const std::vector<ConflictRow>& conflicts) override {
    FIELDSYNC_RETURN_IF_ERROR(
        Stmt(conn_.get(),
             "DELETE FROM conflicts WHERE tenant = ? AND collection = ? AND record_id = ?")
            .Bind(tenant)
            .Bind(collection)
            .Bind(record_id)
            .Run());
    for (const ConflictRow& c : conflicts) {
      FIELDSYNC_RETURN_IF_ERROR(Stmt(conn_.get(),
                                     "INSERT INTO conflicts(tenant, collection, record_id, field, "
                                     "conflict_id, heads) VALUES(?, ?, ?, ?, ?, ?)")
                                    .Bind(tenant)
                                    .Bind(collection)
                                    .Bind(record_id)
                                    .Bind(c.field)
                                    .Bind(c.conflict_id)
                                    .Bind(c.heads_json)
                                    .Run());
    }
    return Status::OK();
  }
  Result<std::vector<ConflictRow>> GetConflicts(const std::string& tenant,
                                                const std::string& collection,
                                                const std::string& record_id) override {
    Stmt s(conn_.get(),
           "SELECT field, conflict_id, heads FROM conflicts WHERE tenant = ? AND collection = ? "
           "AND record_id = ? ORDER BY field");
    s.Bind(tenant).Bind(collection).Bind(record_id);
    std::vector<ConflictRow> out;
    for (;;) {
      Result<bool> row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) return out;
      out.push_back(ConflictRow{s.Text(0), s.Text(1), s.Text(2), collection, record_id});
    }
  }

  // ---- audit trail ----
  Status AppendAudit(const std::string& tenant, std::vector<AuditRow>* rows) override {
    if (rows->empty()) return Status::OK();
    if (!in_txn_) return Status::Internal("AppendAudit outside a write transaction");
    int64_t next = 0;
    {
      Stmt s(conn_.get(), "SELECT coalesce(max(seq), 0) + 1 FROM audit WHERE tenant = ?");
      s.Bind(tenant);
      Result<bool> row = s.Step();
      if (!row.ok()) return row.status();
      next = s.Int(0);
    }
    for (AuditRow& a : *rows) {
      a.seq = static_cast<uint64_t>(next++);
      FIELDSYNC_RETURN_IF_ERROR(
          Stmt(conn_.get(),
               "INSERT INTO audit(tenant, seq, at_ms, user, device, action, collection, "
               "record_id, fields, change_id, detail) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
              .Bind(tenant)
              .Bind(static_cast<int64_t>(a.seq))
              .Bind(a.at_ms)
              .Bind(a.user)
              .Bind(a.device)
              .Bind(a.action)
              .Bind(a.collection)
              .Bind(a.record_id)
              .Bind(nlohmann::json(a.fields).dump(-1, ' ', false,
                                                  nlohmann::json::error_handler_t::replace))
              .Bind(a.change_id)
              .Bind(a.detail_json)
              .Run());
    }
    return Status::OK();
  }
  Result<std::vector<AuditRow>> ReadAudit(const std::string& tenant,
                                          const AuditFilter& filter) override {
    // One statement per filter, each served by its own index (audit_by_record, audit_by_user,
    // the primary key); an "(? = '' OR ...)" form would leave the planner a full scan.
    static constexpr char kColumns[] =
        "SELECT seq, at_ms, user, device, action, collection, record_id, fields, change_id, "
        "detail FROM audit ";
    static const std::string kByRecordAndUser = std::string(kColumns) +
                                                "WHERE tenant = ? AND collection = ? AND "
                                                "record_id = ? AND user = ? AND seq > ? "
                                                "ORDER BY seq LIMIT ?";
    static const std::string kByRecord = std::string(kColumns) +
                                         "WHERE tenant = ? AND collection = ? AND record_id = ? "
                                         "AND seq > ? ORDER BY seq LIMIT ?";
    static const std::string kByUser = std::string(kColumns) +
                                       "WHERE tenant = ? AND user = ? AND seq > ? "
                                       "ORDER BY seq LIMIT ?";
    static const std::string kAll =
        std::string(kColumns) + "WHERE tenant = ? AND seq > ? ORDER BY seq LIMIT ?";
    const bool by_record = !filter.collection.empty() || !filter.record_id.empty();
    const bool by_user = !filter.user.empty();
    const std::string& sql = by_record && by_user ? kByRecordAndUser
                             : by_record          ? kByRecord
                             : by_user            ? kByUser
                                                  : kAll;
    Stmt s(conn_.get(), sql.c_str());  // static strings: cached by address like literals
    s.Bind(tenant);
    if (by_record) s.Bind(filter.collection).Bind(filter.record_id);
    if (by_user) s.Bind(filter.user);
    s.Bind(static_cast<int64_t>(filter.after_seq)).Bind(static_cast<int64_t>(filter.limit));
    std::vector<AuditRow> out;
    for (;;) {
      Result<bool> row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) return out;
      AuditRow a;
      a.seq = static_cast<uint64_t>(s.Int(0));
      a.at_ms = s.Int(1);
      a.user = s.Text(2);
      a.device = s.Text(3);
      a.action = s.Text(4);
      a.collection = s.Text(5);
      a.record_id = s.Text(6);
      nlohmann::json fields = nlohmann::json::parse(s.Text(7), nullptr, false);
      if (fields.is_array()) {
        for (const auto& f : fields) {
          if (f.is_string()) a.fields.push_back(f.get<std::string>());
        }
      }
      a.change_id = s.Text(8);
      a.detail_json = s.Text(9);
      out.push_back(std::move(a));
    }
  }

  // ---- back office: conflicts by id ----
  Result<std::optional<ConflictRow>> FindConflict(const std::string& tenant,
                                                  const std::string& conflict_id) override {
    Stmt s(conn_.get(),
           "SELECT field, conflict_id, heads, collection, record_id FROM conflicts "
           "WHERE tenant = ? AND conflict_id = ?");
    s.Bind(tenant).Bind(conflict_id);
    Result<bool> row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::optional<ConflictRow>();
    return std::optional<ConflictRow>(
        ConflictRow{s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Text(4)});
  }
  Result<std::vector<ConflictRow>> ListConflicts(const std::string& tenant,
                                                 const std::string& after_id,
                                                 size_t limit) override {
    Stmt s(conn_.get(),
           "SELECT field, conflict_id, heads, collection, record_id FROM conflicts "
           "WHERE tenant = ? AND conflict_id > ? ORDER BY conflict_id LIMIT ?");
    s.Bind(tenant).Bind(after_id).Bind(static_cast<int64_t>(limit));
    std::vector<ConflictRow> out;
    for (;;) {
      Result<bool> row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) return out;
      out.push_back(ConflictRow{s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Text(4)});
    }
  }

  Status AppendFeed(const std::string& tenant, std::vector<FeedEntry>* entries) override {
    if (entries->empty()) return Status::OK();
    if (!in_txn_) return Status::Internal("AppendFeed outside a write transaction");
    // The feed lock and the draw in one statement. Under SQLite the transaction already holds
    // the single writer lock (BEGIN IMMEDIATE) until COMMIT has made it visible, so no other
    // transaction can draw a sequence before this one is visible.
    int64_t first = 0;
    {
      Stmt s(conn_.get(),
             "UPDATE tenants SET next_seq = next_seq + ? WHERE tenant = ? "
             "RETURNING next_seq - ?");
      s.Bind(static_cast<int64_t>(entries->size()))
          .Bind(tenant)
          .Bind(static_cast<int64_t>(entries->size()));
      Result<bool> row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) return Status::NotFound("no tenant " + tenant);
      first = s.Int(0);
      Result<bool> done = s.Step();  // finish the statement so the update is complete
      if (!done.ok()) return done.status();
    }
    uint64_t seq = static_cast<uint64_t>(first);
    for (FeedEntry& e : *entries) {
      e.seq = seq++;
      FIELDSYNC_RETURN_IF_ERROR(Stmt(conn_.get(),
                                     "INSERT INTO feed(tenant, seq, collection, record_id, node, "
                                     "change, scope) VALUES(?, ?, ?, ?, ?, ?, ?)")
                                    .Bind(tenant)
                                    .Bind(static_cast<int64_t>(e.seq))
                                    .Bind(e.collection)
                                    .Bind(e.record_id)
                                    .Bind(e.node)
                                    .Bind(e.change_json)
                                    .Bind(nlohmann::json(e.scope_keys).dump())
                                    .Run());
    }
    return Status::OK();
  }
  Result<uint64_t> FeedHighWater(const std::string& tenant) override {
    Stmt s(conn_.get(), "SELECT coalesce(max(seq), 0) FROM feed WHERE tenant = ?");
    s.Bind(tenant);
    Result<bool> row = s.Step();
    if (!row.ok()) return row.status();
    return static_cast<uint64_t>(s.Int(0));
  }
  Result<std::vector<FeedEntry>> ReadFeed(const std::string& tenant, uint64_t after, uint64_t upto,
                                          const FeedFilter& filter, size_t limit) override {
    // The scope test is a join of two JSON arrays, so the statement stays fully parameterized
    // whatever the number of keys.
    Stmt s(conn_.get(),
           "SELECT seq, collection, record_id, node, change, scope FROM feed "
           "WHERE tenant = ? AND seq > ? AND seq <= ? AND node <> ? AND (? OR EXISTS ("
           "  SELECT 1 FROM json_each(feed.scope) AS k WHERE k.value IN "
           "  (SELECT value FROM json_each(?)))) ORDER BY seq LIMIT ?");
    s.Bind(tenant)
        .Bind(static_cast<int64_t>(after))
        .Bind(static_cast<int64_t>(upto))
        .Bind(filter.exclude_node)
        .Bind(int64_t{filter.all ? 1 : 0})
        .Bind(nlohmann::json(filter.keys).dump())
        .Bind(static_cast<int64_t>(limit));
    std::vector<FeedEntry> out;
    for (;;) {
      Result<bool> row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) return out;
      FeedEntry e;
      e.seq = static_cast<uint64_t>(s.Int(0));
      e.collection = s.Text(1);
      e.record_id = s.Text(2);
      e.node = s.Text(3);
      e.change_json = s.Text(4);
      nlohmann::json keys = nlohmann::json::parse(s.Text(5), nullptr, false);
      if (keys.is_array()) {
        for (const auto& k : keys) {
          if (k.is_string()) e.scope_keys.push_back(k.get<std::string>());
        }
      }
      out.push_back(std::move(e));
    }
  }

 private:
  Status Begin(const char* sql) {
    if (in_txn_) return Status::Internal("transaction already open");
    FIELDSYNC_RETURN_IF_ERROR(Exec(db_, sql));
    in_txn_ = true;
    return Status::OK();
  }

  SqliteBackend* owner_;
  std::unique_ptr<SqliteConnection> conn_;
  sqlite3* db_;
  bool in_txn_ = false;
};

}  // namespace

Result<std::unique_ptr<SqliteBackend>> SqliteBackend::Open(const std::string& path,
                                                           SqliteBackendOptions options) {
  std::unique_ptr<SqliteBackend> backend(new SqliteBackend(path, options));
  if (options.background_checkpoint_pages > 0) {
    backend->checkpointer_ = std::thread([b = backend.get()] { b->CheckpointLoop(); });
  }
  Result<std::unique_ptr<SqliteConnection>> conn = backend->Connect();
  if (!conn.ok()) return conn.status();
  Status s = Exec((*conn)->db(), kSchemaSql);
  backend->Release(std::move(*conn));
  if (!s.ok()) return s;
  // Make the cursor secret now, in its own transaction, so pulls (read transactions) only read it.
  Result<std::unique_ptr<BackendSession>> session = backend->OpenSession();
  if (!session.ok()) return session.status();
  Result<std::string> secret = (*session)->CursorSecret();
  if (!secret.ok()) return secret.status();
  session->reset();
  return backend;
}

SqliteBackend::SqliteBackend(std::string path, SqliteBackendOptions options)
    : path_(std::move(path)), options_(options) {}

SqliteBackend::~SqliteBackend() {
  {
    std::lock_guard<std::mutex> lock(checkpoint_mu_);
    stopping_ = true;
  }
  checkpoint_cv_.notify_all();
  if (checkpointer_.joinable()) checkpointer_.join();
}

int SqliteBackend::OnWalCommit(void* arg, sqlite3* db, const char* name, int wal_pages) {
  auto* backend = static_cast<SqliteBackend*>(arg);
  const int threshold = backend->options_.background_checkpoint_pages;
  if (wal_pages < threshold) return SQLITE_OK;
  if (wal_pages >= 8 * threshold) {
    // The thread is not keeping up (or a reader pins the WAL): this commit pays, as SQLite's
    // own autocheckpoint would. A busy or partial checkpoint is not an error of the commit.
    (void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    return SQLITE_OK;
  }
  {
    std::lock_guard<std::mutex> lock(backend->checkpoint_mu_);
    backend->checkpoint_wanted_ = true;
  }
  backend->checkpoint_cv_.notify_one();
  return SQLITE_OK;
}

void SqliteBackend::CheckpointLoop() {
  sqlite3* db = nullptr;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(checkpoint_mu_);
      checkpoint_cv_.wait(lock, [this] { return checkpoint_wanted_ || stopping_; });
      if (stopping_) break;
      checkpoint_wanted_ = false;
    }
    if (db == nullptr &&
        sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) !=
            SQLITE_OK) {
      sqlite3_close_v2(db);
      db = nullptr;
      continue;  // the next commit asks again; until then commits past 8x checkpoint inline
    }
    // PASSIVE copies what no reader still needs and never waits for a lock; the next writer
    // restarts the WAL from its beginning once everything was copied. Errors (a busy database)
    // only leave the WAL longer until the next attempt.
    (void)sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  }
  sqlite3_close_v2(db);
}

Result<std::unique_ptr<SqliteConnection>> SqliteBackend::Connect() {
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path_.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status s = SqliteError(db, rc, "open");
    sqlite3_close_v2(db);
    return s;
  }
  auto conn = std::make_unique<SqliteConnection>(db);
  sqlite3_busy_timeout(db, options_.busy_timeout_ms);
  // synchronous=FULL: a push is acknowledged only once it is durable, because the tablet then
  // drops it from its outbox. The page cache holds the hot part of records, applied_changes and
  // the feed's tail (SQLite's default, 2 MiB, made every point lookup of a push a pread);
  // mmap serves the rest of the file without a copy. Checkpoints: see CHECKPOINTS (header).
  const std::string pragmas =
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
      "PRAGMA foreign_keys=ON; PRAGMA cache_size=-" +
      std::to_string(options_.cache_kib) +
      "; PRAGMA mmap_size=" + std::to_string(options_.mmap_bytes) + ";";
  Status s = Exec(db, pragmas.c_str());
  if (!s.ok()) return s;
  if (options_.background_checkpoint_pages > 0) {
    sqlite3_wal_hook(db, &SqliteBackend::OnWalCommit, this);  // replaces the autocheckpoint
  }
  return conn;
}

void SqliteBackend::Release(std::unique_ptr<SqliteConnection> conn) {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < options_.max_idle_connections) idle_.push_back(std::move(conn));
}

Result<std::unique_ptr<BackendSession>> SqliteBackend::OpenSession() {
  std::unique_ptr<SqliteConnection> conn;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      conn = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (conn == nullptr) {
    Result<std::unique_ptr<SqliteConnection>> fresh = Connect();
    if (!fresh.ok()) return fresh.status();
    conn = std::move(*fresh);
  }
  return std::unique_ptr<BackendSession>(new SqliteSession(this, std::move(conn)));
}

Result<std::unique_ptr<Backend>> OpenBackend(const std::string& url) {
  static constexpr char kSqlite[] = "sqlite:";
  if (url.rfind(kSqlite, 0) != 0 || url.size() == sizeof(kSqlite) - 1) {
    return Status::InvalidArgument("--db must be sqlite:PATH (PostgreSQL is not supported yet)");
  }
  Result<std::unique_ptr<SqliteBackend>> b = SqliteBackend::Open(url.substr(sizeof(kSqlite) - 1));
  if (!b.ok()) return b.status();
  return std::unique_ptr<Backend>(std::move(*b));
}

}  // namespace fieldsync::server
