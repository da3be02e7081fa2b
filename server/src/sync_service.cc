// server/src/sync_service.cc: login, authentication, push and pull (sync_service.h).
#include "sync_service.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "audit.h"
#include "fieldsync/field_check.h"

namespace fieldsync::server {
namespace {

constexpr char kCustomers[] = "customers";

ApiError Err(int status, const char* code, std::string message) {
  return ApiError{status, code, std::move(message)};
}

// A backend failure ends the request: 503 when retrying may help, 500 otherwise. The message is
// the backend's, which names tables and SQL errors but never data.
ApiError BackendError(const Status& s) {
  if (s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kIOError) {
    return Err(503, sync::kErrorUnavailable, "数据库不可用 (database unavailable): " + s.message());
  }
  return Err(500, sync::kErrorInternal, s.ToString());
}

// Rolls back on scope exit unless committed.
class WriteGuard {
 public:
  explicit WriteGuard(BackendSession* s) : s_(s) {}
  ~WriteGuard() { (void)s_->Rollback(); }
  WriteGuard(const WriteGuard&) = delete;
  WriteGuard& operator=(const WriteGuard&) = delete;

 private:
  BackendSession* s_;
};

std::string StringRegister(const sync::RecordState& state, const char* field) {
  auto it = state.registers.find(field);
  if (it == state.registers.end() || !it->second.value.is_string()) return std::string();
  return it->second.value.get<std::string>();
}

// The per-user cursor key: HMAC-SHA256(secret, tenant NUL user), so a cursor minted for one user
// fails for every other (protocol §7.4).
Result<std::string> CursorKey(const std::string& secret, const Principal& p) {
  const std::string data = p.tenant + std::string(1, '\0') + p.user;
  unsigned char out[32];
  size_t out_len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
                reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, sizeof out,
                &out_len) == nullptr ||
      out_len != sizeof out) {
    return Status::Internal("HMAC-SHA256 failed");
  }
  return std::string(reinterpret_cast<char*>(out), sizeof out);
}

// Field values of an upsert as a Database would check them at its door (fieldsync/field_check.h):
// plain values must be valid and normal; elements added to a string set must be valid.
Status CheckChangeValues(const Schema& schema, const CollectionDef& def,
                         const sync::Change& change) {
  if (change.op != sync::Change::Op::kUpsert) return Status::OK();
  nlohmann::json values = nlohmann::json::object();
  nlohmann::json set_elements = nlohmann::json::object();
  for (const auto& [name, write] : change.fields) {
    const FieldDef* field = def.Field(name);
    if (field != nullptr && field->merge == MergeRule::kAddWinsSet) {
      if (!write.set_add.empty()) set_elements[name] = write.set_add;
    } else {
      values[name] = write.value;
    }
  }
  return CheckNormalizedFields(schema, def.name, values.dump(),
                               set_elements.empty() ? std::string() : set_elements.dump());
}

// The keys a customer owned by `owner` and shared with teams carries (sync_service.h). A push
// asks for the same owners and customers again and again (every visit asks for its customer's),
// and neither users nor shares change inside a push transaction, so the answers are memoized
// for the push.
class ScopeMemo {
 public:
  ScopeMemo(BackendSession* db, const std::string& tenant) : db_(db), tenant_(tenant) {}

  Result<std::vector<std::string>> CustomerKeys(const std::string& owner,
                                                const std::string& customer_id) {
    std::set<std::string> keys;
    if (!owner.empty()) {
      keys.insert("u:" + owner);
      Result<const std::vector<std::string>*> teams = OwnerTeams(owner);
      if (!teams.ok()) return teams.status();
      for (const std::string& t : **teams) keys.insert("m:" + t);
    }
    auto shared = shares_.find(customer_id);
    if (shared == shares_.end()) {
      Result<std::vector<std::string>> s = db_->CustomerShares(tenant_, customer_id);
      if (!s.ok()) return s.status();
      shared = shares_.emplace(customer_id, std::move(*s)).first;
    }
    for (const std::string& t : shared->second) keys.insert("s:" + t);
    return std::vector<std::string>(keys.begin(), keys.end());
  }

 private:
  // The owner's teams; none for an owner who is not a user.
  Result<const std::vector<std::string>*> OwnerTeams(const std::string& owner) {
    auto it = teams_.find(owner);
    if (it == teams_.end()) {
      Result<UserRow> user = db_->GetUser(tenant_, owner);
      std::vector<std::string> teams;
      if (user.ok()) {
        teams = std::move(user->teams);
      } else if (!user.status().IsNotFound()) {
        return user.status();
      }
      it = teams_.emplace(owner, std::move(teams)).first;
    }
    return &it->second;
  }

  BackendSession* db_;
  const std::string& tenant_;
  std::map<std::string, std::vector<std::string>> teams_;
  std::map<std::string, std::vector<std::string>> shares_;
};

bool Visible(const Principal& p, const std::vector<std::string>& principal_keys,
             const std::vector<std::string>& record_keys) {
  if (p.role == sync::Role::kAdmin || p.role == sync::Role::kServer) return true;
  for (const std::string& k : record_keys) {
    if (std::find(principal_keys.begin(), principal_keys.end(), k) != principal_keys.end()) {
      return true;
    }
  }
  return false;
}

std::string ConflictHeadsJson(const sync::Conflict& c) {
  nlohmann::json heads = nlohmann::json::array();
  for (const sync::RegisterValue& h : c.heads) {
    heads.push_back(
        {{"v", h.value}, {"h", h.version.hlc.packed()}, {"n", h.version.node}, {"a", h.author}});
  }
  return heads.dump();
}

// False when the stored change certainly writes no confidential field, so it can be sent as
// stored. Field names are [a-z][a-z0-9_]* and the canonical encoding writes each as "name":{ with
// no escapes, so a confidential field cannot hide from this search; a match inside a value only
// costs a decode.
bool MayHoldConfidential(const Schema& schema, const FeedEntry& e) {
  const CollectionDef* def = schema.Collection(e.collection);
  if (def == nullptr) return true;
  for (const FieldDef& f : def->fields) {
    if (f.sensitivity != Sensitivity::kConfidential) continue;
    if (e.change_json.find("\"" + f.name + "\":{") != std::string::npos) return true;
  }
  return false;
}

// ---- tokens and devices (TOKENS in sync_service.h) ----

// Why a token ended (TokenRow::end_reason).
constexpr char kEndedRelogin[] = "relogin";
constexpr char kEndedRotated[] = "rotated";
constexpr char kEndedRefreshed[] = "refreshed";
constexpr char kEndedReused[] = "reused";
constexpr char kEndedLogout[] = "logout";
// Expired token rows are kept this long, so a late request still hears token_expired.
constexpr int64_t kExpiredRetentionMs = int64_t{24} * 3600 * 1000;
// A pull writes the device's last sync time only when the stored one is older than this.
constexpr int64_t kLastSyncResolutionMs = 60 * 1000;

ApiError TokenEnded(const std::string& reason) {
  std::string why;
  if (reason == kEndedLogout) {
    why = "已退出登录 (logged out)";
  } else if (reason == kEndedRelogin) {
    why = "此设备已重新登录 (a newer login on this device replaced it)";
  } else if (reason == kEndedRefreshed || reason == kEndedRotated) {
    why = "已被刷新取代 (replaced by a refresh)";
  } else if (reason == kEndedReused) {
    why = "刷新令牌被重复使用，会话已结束 (a refresh token was used twice: session ended)";
  } else if (reason == kTokenEndedPasswordReset) {
    why = "密码已重置 (the password was reset)";
  } else {
    why = "令牌已失效 (token ended: " + reason + ")";
  }
  return Err(401, sync::kErrorTokenRevoked, why + "; log in again");
}

// The receipt a revoked device reports its wipe with: base64url of HMAC-SHA256(secret,
// "fieldsync wipe v1" NUL tenant NUL device). Derived, not stored: any server process can check
// it, and only a party the server told "device_revoked" (a holder of one of the device's tokens,
// or of the user's password) has it.
Result<std::string> WipeReceipt(const std::string& secret, const std::string& tenant,
                                const std::string& device) {
  const std::string data = std::string("fieldsync wipe v1") + std::string(1, '\0') + tenant +
                           std::string(1, '\0') + device;
  unsigned char out[32];
  size_t out_len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
                reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, sizeof out,
                &out_len) == nullptr ||
      out_len != sizeof out) {
    return Status::Internal("HMAC-SHA256 failed");
  }
  return Base64UrlEncode(std::string_view(reinterpret_cast<char*>(out), sizeof out));
}

sync::PushResult Refused(const std::string& id, const char* code, std::string reason) {
  sync::PushResult r;
  r.change_id = id;
  r.status = sync::PushStatus::kRefused;
  r.code = code;
  r.reason = std::move(reason);
  return r;
}

// A login event's audit row: the user and device as sent (the user exists in the tenant), one
// non-secret detail. Never the password, the token or the device's name.
AuditRow LoginAudit(int64_t now, const sync::LoginRequest& request, const char* action,
                    const char* detail_key, const std::string& detail_value) {
  AuditRow row;
  row.at_ms = now;
  row.user = request.user;
  row.device = request.device.id;
  row.action = action;
  row.detail_json = nlohmann::json({{detail_key, detail_value}})
                        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return row;
}

}  // namespace

// A refused login of an existing user, in a transaction of its own (a refusal stores nothing
// else). Best effort: the answer stays the refusal even if the row cannot be written, because a
// 5xx would refund the attempt to the login rate limiter and let a busy database buy guesses.
void SyncService::AuditLoginRefusal(BackendSession* db, const std::string& tenant,
                                    const sync::LoginRequest& request, const char* action,
                                    const char* reason) const {
  std::vector<AuditRow> audit = {LoginAudit(NowMs(), request, action, "reason", reason)};
  Status s = db->BeginWrite();
  if (s.ok()) s = db->AppendAudit(tenant, &audit);
  if (s.ok()) s = db->Commit();
  if (!s.ok()) (void)db->Rollback();
}

std::vector<std::string> PrincipalKeys(const Principal& p) {
  std::vector<std::string> keys;
  if (p.role == sync::Role::kAdmin || p.role == sync::Role::kServer) return keys;
  keys.push_back("u:" + p.user);
  for (const std::string& t : p.teams) {
    if (p.role == sync::Role::kManager) keys.push_back("m:" + t);
    keys.push_back("s:" + t);
  }
  return keys;
}

SyncService::SyncService(Backend* backend, const Schema& schema, ServiceOptions options)
    : backend_(backend), schema_(schema), options_(std::move(options)) {}

bool SyncService::SeesConfidential(const Principal& principal) const {
  return std::find(options_.confidential_roles.begin(), options_.confidential_roles.end(),
                   principal.role) != options_.confidential_roles.end();
}

int64_t SyncService::NowMs() const {
  if (options_.now_ms) return options_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status SyncService::Health() const {
  Result<std::unique_ptr<BackendSession>> db = backend_->OpenSession();
  if (!db.ok()) return db.status();
  Result<uint64_t> probe = (*db)->FeedHighWater("");
  return probe.ok() ? Status::OK() : probe.status();
}

ApiResult<sync::LoginResponse> SyncService::Login(const sync::LoginRequest& request) const {
  // One message for an unknown user and a wrong password, so the answer reveals neither.
  const ApiError wrong =
      Err(401, sync::kErrorUnauthenticated, "用户名或密码错误 (wrong user or password)");
  // The server's own edits carry this node; a device under it would never receive them.
  if (request.device.id == kServerNode) {
    return Err(400, sync::kErrorMalformed, "device.id: reserved for the server's own edits");
  }
  Result<std::unique_ptr<BackendSession>> opened = backend_->OpenSession();
  if (!opened.ok()) return BackendError(opened.status());
  BackendSession* db = opened->get();

  Result<std::string> tenant = db->FindUserTenant(request.user);
  if (!tenant.ok()) {
    if (!tenant.status().IsNotFound()) return BackendError(tenant.status());
    BurnPasswordCheck(request.password);
    return wrong;
  }
  Result<UserRow> user = db->GetUser(*tenant, request.user);
  if (!user.ok()) return BackendError(user.status());
  if (!VerifyPassword(request.password, user->password_hash)) {
    AuditLoginRefusal(db, *tenant, request, kAuditLoginFailed, "wrong_password");
    return wrong;
  }
  if (user->disabled) {
    AuditLoginRefusal(db, *tenant, request, kAuditLoginRefused, "user_disabled");
    return Err(403, sync::kErrorForbidden, "用户已停用 (user disabled)");
  }

  Result<DeviceRow> device = db->GetDevice(*tenant, request.device.id);
  if (device.ok() && device->revoked) {
    AuditLoginRefusal(db, *tenant, request, kAuditLoginRefused, "device_revoked");
    return DeviceRevoked(db, *tenant, request.device.id);
  }
  if (!device.ok() && !device.status().IsNotFound()) return BackendError(device.status());

  const int64_t now = NowMs();
  Status s = db->BeginWrite();
  if (!s.ok()) return BackendError(s);
  WriteGuard guard(db);
  DeviceRow row{*tenant, request.device.id, user->id, request.device.name, request.device.platform,
                false};
  row.registered_ms = now;
  s = db->UpsertDevice(row);
  // One session per device: the device's earlier tokens end, another user's on a shared tablet
  // included (TOKENS).
  if (s.ok()) s = db->EndDeviceTokens(*tenant, request.device.id, "", now, kEndedRelogin);
  if (s.ok()) s = db->PurgeDeviceTokens(*tenant, request.device.id, now - kExpiredRetentionMs);
  if (s.ok()) {
    std::vector<AuditRow> audit = {
        LoginAudit(now, request, kAuditLogin, "platform", request.device.platform)};
    s = db->AppendAudit(*tenant, &audit);
  }
  if (!s.ok()) return BackendError(s);
  sync::LoginResponse response;
  const std::string family = NewToken();
  if (family.empty()) return Err(500, sync::kErrorInternal, "no randomness for a token");
  ApiResult<Ack> issued =
      IssueTokens(db, *tenant, user->id, request.device.id, family, now, &response);
  if (!issued.ok()) return issued.error();
  s = db->Commit();
  if (!s.ok()) return BackendError(s);
  response.user.id = user->id;
  response.user.role = user->role;
  response.user.teams = user->teams;
  response.limits = options_.limits;
  return response;
}

ApiResult<Ack> SyncService::IssueTokens(BackendSession* db, const std::string& tenant,
                                        const std::string& user, const std::string& device,
                                        const std::string& family, int64_t now,
                                        sync::LoginResponse* out) const {
  const std::string access = NewToken();
  const std::string refresh = NewToken();
  if (access.empty() || refresh.empty()) {
    return Err(500, sync::kErrorInternal, "no randomness for a token");
  }
  TokenRow row{tenant, user, device, now + options_.token_lifetime_s * 1000};
  row.kind = TokenKind::kAccess;
  row.family = family;
  row.issued_ms = now;
  Status s = db->StoreToken(TokenHash(access), row);
  if (s.ok()) {
    row.kind = TokenKind::kRefresh;
    row.expires_ms = now + options_.refresh_lifetime_s * 1000;
    s = db->StoreToken(TokenHash(refresh), row);
  }
  if (!s.ok()) return BackendError(s);
  out->token = access;
  out->expires_in_s = options_.token_lifetime_s;
  out->refresh_token = refresh;
  out->refresh_expires_in_s = options_.refresh_lifetime_s;
  return Ack{};
}

ApiError SyncService::DeviceRevoked(BackendSession* db, const std::string& tenant,
                                    const std::string& device) const {
  ApiError e =
      Err(403, sync::kErrorDeviceRevoked,
          "此设备已被撤销，请清除本地数据 (device revoked: erase the local database and its "
          "key, then report it)");
  e.wipe = true;
  Result<std::string> secret = db->CursorSecret();
  if (!secret.ok()) return BackendError(secret.status());
  Result<std::string> receipt = WipeReceipt(*secret, tenant, device);
  if (!receipt.ok()) return BackendError(receipt.status());
  e.wipe_receipt = std::move(*receipt);
  return e;
}

ApiResult<Principal> SyncService::Authenticate(const std::string& bearer_token) const {
  const ApiError unauthenticated =
      Err(401, sync::kErrorUnauthenticated, "令牌无效 (missing or unknown token)");
  if (bearer_token.empty()) return unauthenticated;
  Result<std::unique_ptr<BackendSession>> opened = backend_->OpenSession();
  if (!opened.ok()) return BackendError(opened.status());
  BackendSession* db = opened->get();
  Result<TokenRow> token = db->FindToken(TokenHash(bearer_token));
  if (!token.ok()) {
    if (token.status().IsNotFound()) return unauthenticated;
    return BackendError(token.status());
  }
  // A refresh token buys access tokens and nothing else: a copy of it alone cannot pull.
  if (token->kind != TokenKind::kAccess) return unauthenticated;
  Result<DeviceRow> device = db->GetDevice(token->tenant, token->device);
  if (!device.ok()) {
    if (device.status().IsNotFound()) return unauthenticated;
    return BackendError(device.status());
  }
  // Before expiry and end: a revoked tablet is told to erase itself however old its token.
  if (device->revoked) return DeviceRevoked(db, token->tenant, token->device);
  if (token->ended_ms != 0) return TokenEnded(token->end_reason);
  if (token->expires_ms <= NowMs()) {
    return Err(401, sync::kErrorTokenExpired, "令牌已过期 (access token expired: refresh it)");
  }
  Result<UserRow> user = db->GetUser(token->tenant, token->user);
  if (!user.ok()) {
    if (user.status().IsNotFound()) return unauthenticated;
    return BackendError(user.status());
  }
  if (user->disabled) return Err(403, sync::kErrorForbidden, "用户已停用 (user disabled)");
  if (device->user != user->id) return TokenEnded(kEndedRelogin);
  Principal p{token->tenant, user->id, token->device, user->role, user->teams, user->scope_epoch};
  p.last_sync_ms = device->last_sync_ms;
  p.pending = device->pending;
  return p;
}

ApiResult<sync::LoginResponse> SyncService::Refresh(const sync::RefreshRequest& request) const {
  const ApiError unauthenticated =
      Err(401, sync::kErrorUnauthenticated, "刷新令牌无效 (unknown refresh token)");
  Result<std::unique_ptr<BackendSession>> opened = backend_->OpenSession();
  if (!opened.ok()) return BackendError(opened.status());
  BackendSession* db = opened->get();
  // Everything in one write transaction: two refreshes racing with one token must not both
  // rotate it.
  Status s = db->BeginWrite();
  if (!s.ok()) return BackendError(s);
  WriteGuard guard(db);
  const std::string hash = TokenHash(request.refresh_token);
  Result<TokenRow> token = db->FindToken(hash);
  if (!token.ok()) {
    if (token.status().IsNotFound()) return unauthenticated;
    return BackendError(token.status());
  }
  if (token->kind != TokenKind::kRefresh) return unauthenticated;
  Result<DeviceRow> device = db->GetDevice(token->tenant, token->device);
  if (!device.ok()) {
    if (device.status().IsNotFound()) return unauthenticated;
    return BackendError(device.status());
  }
  if (device->revoked) return DeviceRevoked(db, token->tenant, token->device);
  const int64_t now = NowMs();
  if (token->ended_ms != 0) {
    if (token->end_reason == kEndedRotated) {
      // A replay of a spent refresh token: someone holds a copy, or an answer was lost. End the
      // whole family; the password is the way back (TOKENS).
      s = db->EndDeviceTokens(token->tenant, token->device, token->family, now, kEndedReused);
      if (s.ok()) {
        AuditRow row;
        row.at_ms = now;
        row.user = token->user;
        row.device = token->device;
        row.action = kAuditTokenReused;
        row.detail_json = R"({"reason":"reused"})";
        std::vector<AuditRow> audit = {std::move(row)};
        s = db->AppendAudit(token->tenant, &audit);
      }
      if (s.ok()) s = db->Commit();
      if (!s.ok()) return BackendError(s);
      return TokenEnded(kEndedReused);
    }
    return TokenEnded(token->end_reason);
  }
  if (token->expires_ms <= now) {
    return Err(401, sync::kErrorTokenExpired, "刷新令牌已过期 (refresh token expired: log in)");
  }
  Result<UserRow> user = db->GetUser(token->tenant, token->user);
  if (!user.ok()) {
    if (user.status().IsNotFound()) return unauthenticated;
    return BackendError(user.status());
  }
  if (user->disabled) return Err(403, sync::kErrorForbidden, "用户已停用 (user disabled)");
  if (device->user != user->id) return TokenEnded(kEndedRelogin);

  s = db->EndToken(hash, now, kEndedRotated);
  if (s.ok()) {
    s = db->EndDeviceTokens(token->tenant, token->device, token->family, now, kEndedRefreshed);
  }
  if (s.ok()) s = db->PurgeDeviceTokens(token->tenant, token->device, now - kExpiredRetentionMs);
  if (!s.ok()) return BackendError(s);
  sync::LoginResponse response;
  ApiResult<Ack> issued =
      IssueTokens(db, token->tenant, user->id, token->device, token->family, now, &response);
  if (!issued.ok()) return issued.error();
  s = db->Commit();
  if (!s.ok()) return BackendError(s);
  response.user.id = user->id;
  response.user.role = user->role;
  response.user.teams = user->teams;
  response.limits = options_.limits;
  return response;
}

ApiResult<Ack> SyncService::Logout(const Principal& principal) const {
  Result<std::unique_ptr<BackendSession>> opened = backend_->OpenSession();
  if (!opened.ok()) return BackendError(opened.status());
  Status s =
      (*opened)->EndDeviceTokens(principal.tenant, principal.device, "", NowMs(), kEndedLogout);
  if (!s.ok()) return BackendError(s);
  return Ack{};
}

ApiResult<Ack> SyncService::WipeDone(const sync::WipeDoneRequest& request) const {
  // One answer for an unknown device, a wrong receipt and a device that is not revoked.
  const ApiError refused =
      Err(401, sync::kErrorUnauthenticated, "回执无效 (unknown device or wrong receipt)");
  Result<std::unique_ptr<BackendSession>> opened = backend_->OpenSession();
  if (!opened.ok()) return BackendError(opened.status());
  BackendSession* db = opened->get();
  Result<std::vector<std::string>> tenants = db->FindDeviceTenants(request.device);
  if (!tenants.ok()) return BackendError(tenants.status());
  Result<std::string> secret = db->CursorSecret();
  if (!secret.ok()) return BackendError(secret.status());
  for (const std::string& tenant : *tenants) {
    Result<std::string> expected = WipeReceipt(*secret, tenant, request.device);
    if (!expected.ok()) return BackendError(expected.status());
    if (expected->size() != request.receipt.size() ||
        CRYPTO_memcmp(expected->data(), request.receipt.data(), expected->size()) != 0) {
      continue;
    }
    Status s = db->BeginWrite();
    if (!s.ok()) return BackendError(s);
    WriteGuard guard(db);
    Result<DeviceRow> device = db->GetDevice(tenant, request.device);
    if (!device.ok()) return BackendError(device.status());
    if (!device->revoked) return refused;
    if (device->wiped_ms != 0) return Ack{};  // a repeat: the first report stands
    const int64_t now = NowMs();
    s = db->MarkDeviceWiped(tenant, request.device, now);
    if (s.ok()) {
      AuditRow row;
      row.at_ms = now;
      row.user = device->user;
      row.device = request.device;
      row.action = kAuditDeviceWiped;
      row.collection = kAuditSubjectDevice;
      row.record_id = request.device;
      row.detail_json = "{}";
      std::vector<AuditRow> audit = {std::move(row)};
      s = db->AppendAudit(tenant, &audit);
    }
    if (s.ok()) s = db->Commit();
    if (!s.ok()) return BackendError(s);
    return Ack{};
  }
  return refused;
}

Status SyncService::NoteSync(const Principal& principal, std::optional<int64_t> pending) const {
  const int64_t now = NowMs();
  const bool count_changed = pending.has_value() && *pending != principal.pending;
  if (!count_changed && now - principal.last_sync_ms < kLastSyncResolutionMs) return Status::OK();
  Result<std::unique_ptr<BackendSession>> opened = backend_->OpenSession();
  if (!opened.ok()) return opened.status();
  return (*opened)->NoteDeviceSync(principal.tenant, principal.device, now, pending);
}

ApiResult<sync::PushResponse> SyncService::ApplyPush(const Principal& principal,
                                                     const sync::PushRequest& request) const {
  // Whole-push checks first: any of these stores nothing.
  if (request.changes.size() > options_.limits.max_batch_changes) {
    return Err(413, sync::kErrorTooLarge,
               "changes: " + std::to_string(request.changes.size()) +
                   " changes, above the limit of " +
                   std::to_string(options_.limits.max_batch_changes));
  }
  if (request.node != principal.device) {
    return Err(403, sync::kErrorForbidden,
               "node: not the device this token was issued to (推送节点与登录设备不符)");
  }
  for (size_t k = 0; k < request.changes.size(); ++k) {
    if (request.changes[k].schema_version > schema_.version()) {
      return Err(409, sync::kErrorSchemaTooNew,
                 "changes[" + std::to_string(k) + "].s: schema version " +
                     std::to_string(request.changes[k].schema_version) + " is above the server's " +
                     std::to_string(schema_.version()));
    }
  }

  Result<std::unique_ptr<BackendSession>> opened = backend_->OpenSession();
  if (!opened.ok()) return BackendError(opened.status());
  BackendSession* db = opened->get();
  Status s = db->BeginWrite();
  if (!s.ok()) return BackendError(s);
  WriteGuard guard(db);
  std::vector<FeedEntry> feed;
  ApiResult<sync::PushResponse> response =
      ApplyChanges(db, principal, request.changes, /*action=*/nullptr, "{}", &feed);
  if (!response.ok()) return response;
  // The device's last sync, in the push's own transaction, before the feed that must stay the
  // last step (§7.3). No pending count: the pull reports it.
  s = db->NoteDeviceSync(principal.tenant, principal.device, NowMs(), std::nullopt);
  if (!s.ok()) return BackendError(s);
  ApiResult<bool> committed = CommitChanges(db, principal, &feed);
  if (!committed.ok()) return committed.error();
  return response;
}

ApiResult<sync::PushResponse> SyncService::ApplyChanges(
    BackendSession* db, const Principal& principal, const std::vector<sync::Change>& changes,
    const char* action, const std::string& detail_json, std::vector<FeedEntry>* feed) const {
  const std::vector<std::string> my_keys = PrincipalKeys(principal);
  ScopeMemo scope(db, principal.tenant);
  const int64_t now = NowMs();
  sync::PushResponse response;
  std::vector<AuditRow> audit;

  for (const sync::Change& pushed : changes) {
    sync::Change change = pushed;
    change.author = principal.user;
    const std::string& id = change.change_id;
    const std::string digest = ChangeDigest(change);

    // Idempotency (§6): a stored id is a replay or a reuse, whatever else is true now.
    Result<std::optional<std::string>> stored = db->AppliedDigest(principal.tenant, id);
    if (!stored.ok()) return BackendError(stored.status());
    if (stored->has_value()) {
      if (**stored == digest && !digest.empty()) {
        response.results.push_back(sync::PushResult{id, sync::PushStatus::kDuplicate, "", ""});
      } else {
        response.results.push_back(
            Refused(id, sync::kRefusedIdReused,
                    "变更编号已用于另一内容 (change id already stored with another content)"));
      }
      continue;
    }

    const CollectionDef* def = schema_.Collection(change.collection);
    if (def == nullptr) {
      response.results.push_back(
          Refused(id, sync::kRefusedInvalid, "unknown collection " + change.collection));
      continue;
    }
    const int64_t change_ms = static_cast<int64_t>(change.version.hlc.physical_ms());
    if (change_ms > now + options_.max_drift_ms) {
      response.results.push_back(Refused(id, sync::kRefusedClockAhead,
                                         "HLC leads the server clock by " +
                                             std::to_string(change_ms - now) +
                                             " ms (设备时钟超前)"));
      continue;
    }
    Status auth = sync::Authorize(*def, change, principal.role);
    if (!auth.ok()) {
      response.results.push_back(Refused(id,
                                         auth.code() == StatusCode::kInvalidArgument
                                             ? sync::kRefusedInvalid
                                             : sync::kRefusedForbidden,
                                         auth.message()));
      continue;
    }

    // Confidential fields (credit, payment terms, budget): a role that may not read them may not
    // write them either; the change is refused, never stripped and half-applied.
    if (!SeesConfidential(principal)) {
      std::string hidden;
      for (const auto& [name, write] : change.fields) {
        const FieldDef* f = def->Field(name);
        if (f != nullptr && f->sensitivity == Sensitivity::kConfidential) {
          hidden += (hidden.empty() ? "" : ", ") + name;
        }
      }
      if (!hidden.empty()) {
        response.results.push_back(Refused(
            id, sync::kRefusedForbidden,
            hidden + ": 保密字段，您的角色不能修改 (confidential: your role cannot write it)"));
        continue;
      }
    }

    // The tablet's door check, again: a value no Database would have stored is refused (§3.4).
    Status valid = CheckChangeValues(schema_, *def, change);
    if (!valid.ok()) {
      response.results.push_back(Refused(id, sync::kRefusedInvalid, valid.message()));
      continue;
    }

    Result<std::optional<RecordRow>> row =
        db->GetRecord(principal.tenant, change.collection, change.record_id);
    if (!row.ok()) return BackendError(row.status());
    sync::RecordState state;
    if (row->has_value()) {
      Result<sync::RecordState> parsed =
          sync::RecordStateFromJson(nlohmann::json::parse((*row)->state_json, nullptr, false));
      if (!parsed.ok()) return BackendError(parsed.status().WithContext("stored record state"));
      state = std::move(*parsed);
    }
    if (def->append_only && row->has_value() && change.op == sync::Change::Op::kUpsert) {
      response.results.push_back(
          Refused(id, sync::kRefusedForbidden,
                  change.collection + " 只能新增，不能修改 (append-only record exists)"));
      continue;
    }

    sync::RecordState next = state;
    Result<sync::MergeOutcome> merged = sync::Merge(*def, change, &next);
    if (!merged.ok()) {
      response.results.push_back(Refused(id, sync::kRefusedInvalid, merged.status().message()));
      continue;
    }

    // Scope (§10): the record before and after this change must both be the principal's.
    RecordRow out;
    std::vector<std::string> keys;
    std::string refusal;
    if (change.collection == kCustomers) {
      const std::string old_owner = row->has_value() ? (*row)->owner : std::string();
      std::string new_owner = StringRegister(next, "owner_rep");
      if (new_owner.empty()) new_owner = old_owner.empty() ? principal.user : old_owner;
      if (!old_owner.empty()) {
        Result<std::vector<std::string>> old_keys = scope.CustomerKeys(old_owner, change.record_id);
        if (!old_keys.ok()) return BackendError(old_keys.status());
        if (!Visible(principal, my_keys, *old_keys)) {
          refusal = "客户不在您的范围内 (customer " + change.record_id + " is outside your scope)";
        }
      }
      Result<std::vector<std::string>> new_keys = scope.CustomerKeys(new_owner, change.record_id);
      if (!new_keys.ok()) return BackendError(new_keys.status());
      if (refusal.empty() && !Visible(principal, my_keys, *new_keys)) {
        refusal =
            "owner_rep: 不能把客户转给范围外的人 (would move the customer outside your scope)";
      }
      out.owner = new_owner;
      out.customer = change.record_id;
      keys = std::move(*new_keys);
    } else {
      const std::string old_customer = row->has_value() ? (*row)->customer : std::string();
      std::string new_customer = StringRegister(next, "customer");
      // A delete erases the fields, `customer` with them: the record stays where it was.
      if (new_customer.empty()) new_customer = old_customer;
      if (new_customer.empty()) {
        response.results.push_back(
            Refused(id, sync::kRefusedInvalid, "customer: required to place the record"));
        continue;
      }
      for (const std::string& customer : {old_customer, new_customer}) {
        if (customer.empty() || !refusal.empty()) continue;
        Result<std::optional<RecordRow>> c = db->GetRecord(principal.tenant, kCustomers, customer);
        if (!c.ok()) return BackendError(c.status());
        if (!c->has_value()) {
          refusal =
              "customer: " + customer + " 不存在或不在您的范围内 (unknown or outside your scope)";
          continue;
        }
        Result<std::vector<std::string>> ck = scope.CustomerKeys((*c)->owner, customer);
        if (!ck.ok()) return BackendError(ck.status());
        if (!Visible(principal, my_keys, *ck)) {
          refusal =
              "customer: " + customer + " 不存在或不在您的范围内 (unknown or outside your scope)";
        }
        if (customer == new_customer) {
          out.owner = (*c)->owner;
          keys = std::move(*ck);
        }
      }
      out.customer = new_customer;
    }
    if (!refusal.empty()) {
      response.results.push_back(Refused(id, sync::kRefusedForbidden, std::move(refusal)));
      continue;
    }

    // Accepted: store the merged state, its materialized form, conflicts and digest; queue the
    // feed entry (appended after the loop, under the feed lock).
    out.state_json = sync::RecordStateToJson(next).dump();
    std::optional<nlohmann::json> visible = sync::Materialize(*def, next);
    if (visible) out.materialized_json = visible->dump();
    Status w = db->PutRecord(principal.tenant, change.collection, change.record_id, out);
    if (w.ok()) {
      std::vector<ConflictRow> conflicts;
      for (const sync::Conflict& c : sync::Conflicts(*def, change.record_id, next)) {
        conflicts.push_back(
            ConflictRow{c.field, c.id, ConflictHeadsJson(c), change.collection, change.record_id});
      }
      // The stored conflicts are those of the state before this change: when it had none and
      // has none now there is nothing to replace (the common case, and a DELETE saved).
      const bool had_conflicts =
          row->has_value() && !sync::Conflicts(*def, change.record_id, state).empty();
      if (had_conflicts || !conflicts.empty()) {
        w = db->ReplaceConflicts(principal.tenant, change.collection, change.record_id, conflicts);
      }
    }
    if (w.ok()) w = db->RecordApplied(principal.tenant, id, digest);
    if (!w.ok()) return BackendError(w);
    FeedEntry entry;
    entry.collection = change.collection;
    entry.record_id = change.record_id;
    entry.node = change.version.node;
    entry.change_json = sync::EncodeChange(change);
    entry.scope_keys = std::move(keys);
    feed->push_back(std::move(entry));
    // Who, when, from which device, what: field names only, never their values (audit.h).
    AuditRow audited;
    audited.at_ms = now;
    audited.user = principal.user;
    audited.device = principal.device;
    audited.action = action != nullptr                        ? action
                     : change.op == sync::Change::Op::kDelete ? kAuditDelete
                                                              : kAuditUpsert;
    audited.collection = change.collection;
    audited.record_id = change.record_id;
    for (const auto& [name, write] : change.fields) audited.fields.push_back(name);
    audited.change_id = id;
    audited.detail_json = detail_json;
    audit.push_back(std::move(audited));
    response.results.push_back(sync::PushResult{id, sync::PushStatus::kApplied, "", ""});
  }

  // Before the feed, which stays the last step (§7.3): the audit rows commit with the changes.
  Status s = db->AppendAudit(principal.tenant, &audit);
  if (!s.ok()) return BackendError(s);
  return response;
}

ApiResult<bool> SyncService::CommitChanges(BackendSession* db, const Principal& principal,
                                           std::vector<FeedEntry>* feed) const {
  // The last step before COMMIT: the feed lock, the sequences, the entries (§7.3).
  Status s = db->AppendFeed(principal.tenant, feed);
  if (!s.ok()) return BackendError(s);
  if (options_.before_commit_for_test) options_.before_commit_for_test();
  s = db->Commit();
  if (!s.ok()) return BackendError(s);
  return true;
}

ApiResult<sync::PullResponse> SyncService::Pull(const Principal& principal,
                                                const std::string& cursor_text, int schema_version,
                                                uint32_t limit, bool encoded) const {
  if (schema_version < 1) return Err(400, sync::kErrorMalformed, "schema: expected 1 or more");
  const uint32_t page = limit == 0 ? options_.limits.max_batch_changes
                                   : std::min(limit, options_.limits.max_batch_changes);

  Result<std::unique_ptr<BackendSession>> opened = backend_->OpenSession();
  if (!opened.ok()) return BackendError(opened.status());
  BackendSession* db = opened->get();
  Status s = db->BeginRead();
  if (!s.ok()) return BackendError(s);
  WriteGuard guard(db);

  Result<std::string> secret = db->CursorSecret();
  if (!secret.ok()) return BackendError(secret.status());
  Result<std::string> key = CursorKey(*secret, principal);
  if (!key.ok()) return BackendError(key.status());
  Result<TenantRow> tenant = db->GetTenant(principal.tenant);
  if (!tenant.ok()) return BackendError(tenant.status());

  sync::Cursor cursor;
  if (!cursor_text.empty()) {
    Result<sync::Cursor> decoded = sync::DecodeCursor(cursor_text, *key);
    if (!decoded.ok()) {
      return Err(400, sync::kErrorBadCursor, "cursor: " + decoded.status().message());
    }
    cursor = *decoded;
    if (cursor.feed_epoch != tenant->feed_epoch || cursor.scope_epoch != principal.scope_epoch) {
      return Err(410, sync::kErrorCursorExpired,
                 "cursor: the feed or your scope changed since it was minted; pull from none");
    }
  }

  // W: the highest sequence this snapshot can see. Because sequences become visible in order
  // (backend.h), every entry at or below W is in this snapshot, now and forever.
  Result<uint64_t> high = db->FeedHighWater(principal.tenant);
  if (!high.ok()) return BackendError(high.status());
  const uint64_t w = std::max(*high, cursor.watermark);

  FeedFilter filter;
  filter.all = principal.role == sync::Role::kAdmin;
  filter.keys = PrincipalKeys(principal);
  filter.exclude_node = principal.device;
  Result<std::vector<FeedEntry>> entries =
      db->ReadFeed(principal.tenant, cursor.watermark, w, filter, size_t{page} + 1);
  if (!entries.ok()) return BackendError(entries.status());

  const bool sees_confidential = SeesConfidential(principal);
  sync::PullResponse response;
  uint64_t next = w;
  size_t bytes = 256;  // the envelope: cursor, time, brackets
  for (size_t k = 0; k < entries->size(); ++k) {
    FeedEntry& e = (*entries)[k];
    if (k == page) {  // one more than a page exists: stop after the last delivered entry
      response.has_more = true;
      next = (*entries)[k - 1].seq;
      break;
    }
    if (bytes + e.change_json.size() + 1 > options_.limits.max_response_bytes && k > 0) {
      response.has_more = true;
      next = (*entries)[k - 1].seq;
      break;
    }
    if (encoded && (sees_confidential || !MayHoldConfidential(schema_, e))) {
      bytes += e.change_json.size() + 1;
      response.encoded_changes.push_back(std::move(e.change_json));
      continue;
    }
    Result<sync::Change> change = sync::DecodeChange(e.change_json);
    if (!change.ok()) return BackendError(change.status().WithContext("stored feed entry"));
    if (!sees_confidential) {
      const CollectionDef* def = schema_.Collection(change->collection);
      const bool had_fields = !change->fields.empty();
      for (auto it = change->fields.begin(); it != change->fields.end();) {
        const FieldDef* f = def ? def->Field(it->first) : nullptr;
        if (f != nullptr && f->sensitivity == Sensitivity::kConfidential) {
          it = change->fields.erase(it);
        } else {
          ++it;
        }
      }
      if (had_fields && change->fields.empty()) continue;  // examined, nothing to send
    }
    bytes += e.change_json.size() + 1;
    if (encoded) {
      response.encoded_changes.push_back(sync::EncodeChange(*change));
    } else {
      response.changes.push_back(std::move(*change));
    }
  }

  Result<std::string> minted =
      sync::EncodeCursor(sync::Cursor{next, tenant->feed_epoch, principal.scope_epoch}, *key);
  if (!minted.ok()) return BackendError(minted.status());
  response.next_cursor = std::move(*minted);
  (void)db->Commit();
  return response;
}

// ---- back office (§13): records and conflicts by id, resolutions, the audit trail ----

namespace {

// One body each for every reason a record or conflict is not shown (missing, deleted, another
// tenant, outside the scope, a hidden field), so the answer never confirms that an id exists.
ApiError NoRecord() { return Err(404, sync::kErrorNotFound, "记录不存在 (no such record)"); }
ApiError NoConflict() {
  return Err(404, sync::kErrorNotFound, "冲突不存在或已解决 (no such open conflict)");
}

// Whether the principal may see a stored record: a customer by its own scope keys, any other
// record by its customer's current keys, as a push into the record would be judged.
Result<bool> MaySee(BackendSession* db, ScopeMemo* scope, const Principal& p,
                    const std::vector<std::string>& my_keys, const std::string& collection,
                    const std::string& record_id, const RecordRow& row) {
  if (p.role == sync::Role::kAdmin || p.role == sync::Role::kServer) return true;
  std::string owner = row.owner;
  const std::string customer = collection == kCustomers ? record_id : row.customer;
  if (collection != kCustomers) {
    Result<std::optional<RecordRow>> c = db->GetRecord(p.tenant, kCustomers, customer);
    if (!c.ok()) return c.status();
    if (c->has_value()) owner = (*c)->owner;
  }
  Result<std::vector<std::string>> keys = scope->CustomerKeys(owner, customer);
  if (!keys.ok()) return keys.status();
  return Visible(p, my_keys, *keys);
}

bool Hidden(const CollectionDef& def, const std::string& field, bool sees_confidential) {
  if (sees_confidential) return false;
  const FieldDef* f = def.Field(field);
  return f != nullptr && f->sensitivity == Sensitivity::kConfidential;
}

// The stored heads of a conflict row ([{"v","h","n","a"}], ConflictHeadsJson) as merge.h values.
Result<std::vector<sync::RegisterValue>> HeadsFromJson(const std::string& text) {
  const nlohmann::json heads = nlohmann::json::parse(text, nullptr, false);
  if (!heads.is_array()) return Status::Internal("stored conflict heads are not an array");
  std::vector<sync::RegisterValue> out;
  for (const nlohmann::json& h : heads) {
    if (!h.is_object() || !h.contains("h") || !h["h"].is_number_unsigned() || !h.contains("n") ||
        !h["n"].is_string()) {
      return Status::Internal("stored conflict head is malformed");
    }
    sync::RegisterValue v;
    v.value = h.value("v", nlohmann::json());
    v.version = sync::Version{Hlc(h["h"].get<uint64_t>()), h["n"].get<std::string>()};
    if (h.contains("a") && h["a"].is_string()) v.author = h["a"].get<std::string>();
    out.push_back(std::move(v));
  }
  return out;
}

Result<sync::RecordState> ParseState(const RecordRow& row) {
  Result<sync::RecordState> state =
      sync::RecordStateFromJson(nlohmann::json::parse(row.state_json, nullptr, false));
  if (!state.ok()) return state.status().WithContext("stored record state");
  return state;
}

// A random v4 UUID, the form of every change id a tablet makes.
Result<std::string> NewChangeId() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) return Status::Internal("RAND_bytes failed");
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  static const char kHex[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) id += '-';
    id += kHex[b[i] >> 4];
    id += kHex[b[i] & 15];
  }
  return id;
}

// The highest HLC of any version the record holds. The server's edit takes a later one, so its
// version (HLC, kServerNode) is new to the record even if two resolutions land in one millisecond.
uint64_t MaxHlc(const sync::RecordState& state) {
  uint64_t max = 0;
  auto see = [&](const sync::Version& v) { max = std::max(max, v.hlc.packed()); };
  for (const auto& [name, reg] : state.registers) see(reg.version);
  for (const auto& [name, review] : state.reviews) {
    for (const auto& [version, value] : review.versions) see(version);
  }
  for (const auto& [name, set] : state.sets) {
    for (const auto& [element, tags] : set.adds) {
      for (const sync::Version& v : tags) see(v);
    }
    for (const auto& [element, v] : set.removed) see(v);
  }
  if (state.deleted) see(*state.deleted);
  if (state.recreated) see(*state.recreated);
  return max;
}

}  // namespace

RecordView SyncService::View(const CollectionDef& def, const Principal& principal,
                             const std::string& record_id, const nlohmann::json& materialized,
                             const sync::RecordState& state) const {
  const bool sees = SeesConfidential(principal);
  RecordView view;
  view.collection = def.name;
  view.id = record_id;
  view.record = materialized.is_object() ? materialized : nlohmann::json::object();
  for (const FieldDef& f : def.fields) {
    if (Hidden(def, f.name, sees)) view.record.erase(f.name);
  }
  for (sync::Conflict& c : sync::Conflicts(def, record_id, state)) {
    if (!Hidden(def, c.field, sees)) view.conflicts.push_back(std::move(c));
  }
  return view;
}

ApiResult<RecordView> SyncService::GetRecord(const Principal& principal,
                                             const std::string& collection,
                                             const std::string& record_id) const {
  if (!sync::IsValidWireName(collection)) {
    return Err(400, sync::kErrorMalformed, "collection: expected [a-z][a-z0-9_]*, 1 to 64 bytes");
  }
  if (!sync::IsValidWireId(record_id)) {
    return Err(400, sync::kErrorMalformed,
               "id: expected 1 to 128 characters of A-Z a-z 0-9 - _ . :");
  }
  const CollectionDef* def = schema_.Collection(collection);
  if (def == nullptr) return NoRecord();
  Result<std::unique_ptr<BackendSession>> opened = backend_->OpenSession();
  if (!opened.ok()) return BackendError(opened.status());
  BackendSession* db = opened->get();
  Status s = db->BeginRead();
  if (!s.ok()) return BackendError(s);
  WriteGuard guard(db);

  Result<std::optional<RecordRow>> row = db->GetRecord(principal.tenant, collection, record_id);
  if (!row.ok()) return BackendError(row.status());
  if (!row->has_value() || !(*row)->materialized_json) return NoRecord();
  ScopeMemo scope(db, principal.tenant);
  Result<bool> visible =
      MaySee(db, &scope, principal, PrincipalKeys(principal), collection, record_id, **row);
  if (!visible.ok()) return BackendError(visible.status());
  if (!*visible) return NoRecord();
  Result<sync::RecordState> state = ParseState(**row);
  if (!state.ok()) return BackendError(state.status());
  return View(*def, principal, record_id,
              nlohmann::json::parse(*(*row)->materialized_json, nullptr, false), *state);
}

ApiResult<ConflictPage> SyncService::ListConflicts(const Principal& principal,
                                                   const std::string& after_id,
                                                   uint32_t limit) const {
  if (!after_id.empty() && !sync::IsValidWireId(after_id)) {
    return Err(400, sync::kErrorMalformed, "after: expected a conflict id");
  }
  const size_t page = limit == 0 ? 100 : std::min(limit, options_.limits.max_batch_changes);
  Result<std::unique_ptr<BackendSession>> opened = backend_->OpenSession();
  if (!opened.ok()) return BackendError(opened.status());
  BackendSession* db = opened->get();
  Status s = db->BeginRead();
  if (!s.ok()) return BackendError(s);
  WriteGuard guard(db);

  const std::vector<std::string> my_keys = PrincipalKeys(principal);
  const bool sees = SeesConfidential(principal);
  ScopeMemo scope(db, principal.tenant);
  ConflictPage out;
  std::string after = after_id;
  for (;;) {
    // Read past the conflicts this principal may not see until a page (and one more) is full.
    Result<std::vector<ConflictRow>> rows = db->ListConflicts(principal.tenant, after, page + 1);
    if (!rows.ok()) return BackendError(rows.status());
    for (const ConflictRow& c : *rows) {
      after = c.conflict_id;
      const CollectionDef* def = schema_.Collection(c.collection);
      if (def == nullptr || Hidden(*def, c.field, sees)) continue;
      Result<std::optional<RecordRow>> row =
          db->GetRecord(principal.tenant, c.collection, c.record_id);
      if (!row.ok()) return BackendError(row.status());
      if (!row->has_value()) continue;
      Result<bool> visible =
          MaySee(db, &scope, principal, my_keys, c.collection, c.record_id, **row);
      if (!visible.ok()) return BackendError(visible.status());
      if (!*visible) continue;
      if (out.conflicts.size() == page) {
        out.more = true;
        return out;
      }
      Result<std::vector<sync::RegisterValue>> heads = HeadsFromJson(c.heads_json);
      if (!heads.ok()) return BackendError(heads.status());
      out.conflicts.push_back(
          sync::Conflict{c.collection, c.record_id, c.field, std::move(*heads), c.conflict_id});
    }
    if (rows->size() < page + 1) return out;
  }
}

ApiResult<ResolveOutcome> SyncService::ResolveConflict(const Principal& principal,
                                                       const std::string& conflict_id,
                                                       const nlohmann::json& value) const {
  if (!sync::IsValidWireId(conflict_id)) {
    return Err(400, sync::kErrorMalformed, "id: expected a conflict id");
  }
  Result<std::unique_ptr<BackendSession>> opened = backend_->OpenSession();
  if (!opened.ok()) return BackendError(opened.status());
  BackendSession* db = opened->get();
  // One write transaction from the lookup to the commit: no head can arrive between reading the
  // heads and replacing them.
  Status s = db->BeginWrite();
  if (!s.ok()) return BackendError(s);
  WriteGuard guard(db);

  Result<std::optional<ConflictRow>> found = db->FindConflict(principal.tenant, conflict_id);
  if (!found.ok()) return BackendError(found.status());
  if (!found->has_value()) return NoConflict();
  const ConflictRow& c = **found;
  const CollectionDef* def = schema_.Collection(c.collection);
  if (def == nullptr || Hidden(*def, c.field, SeesConfidential(principal))) return NoConflict();
  Result<std::optional<RecordRow>> row = db->GetRecord(principal.tenant, c.collection, c.record_id);
  if (!row.ok()) return BackendError(row.status());
  if (!row->has_value()) return NoConflict();
  ScopeMemo scope(db, principal.tenant);
  Result<bool> visible =
      MaySee(db, &scope, principal, PrincipalKeys(principal), c.collection, c.record_id, **row);
  if (!visible.ok()) return BackendError(visible.status());
  if (!*visible) return NoConflict();
  Result<sync::RecordState> state = ParseState(**row);
  if (!state.ok()) return BackendError(state.status());

  // The heads as the merge library sees them now (the conflicts table is a copy of this).
  std::optional<sync::Conflict> open;
  for (sync::Conflict& k : sync::Conflicts(*def, c.record_id, *state)) {
    if (k.id == conflict_id) open = std::move(k);
  }
  if (!open) return NoConflict();

  // The tablet's resolution (tools/cli resolve, replicator Freeze): a write of the field whose
  // review base names every head, so Merge replaces them all with it.
  Result<std::string> change_id = NewChangeId();
  if (!change_id.ok()) return BackendError(change_id.status());
  sync::Change change;
  change.change_id = *change_id;
  change.collection = c.collection;
  change.record_id = c.record_id;
  change.version.hlc =
      Hlc(std::max(Hlc::FromParts(static_cast<uint64_t>(NowMs()), 0).packed(), MaxHlc(*state) + 1));
  change.version.node = kServerNode;
  change.schema_version = schema_.version();
  sync::FieldWrite& write = change.fields[c.field];
  write.value = value;
  for (const sync::RegisterValue& head : open->heads) write.base.push_back(head.version);

  std::vector<FeedEntry> feed;
  const std::string detail = nlohmann::json({{"conflict", conflict_id}})
                                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  ApiResult<sync::PushResponse> applied =
      ApplyChanges(db, principal, {change}, kAuditResolve, detail, &feed);
  if (!applied.ok()) return applied.error();
  const sync::PushResult& result = applied.value().results.at(0);
  if (result.status != sync::PushStatus::kApplied) {
    if (result.code == sync::kRefusedForbidden) {
      return Err(403, sync::kErrorForbidden, result.reason);
    }
    return Err(400, sync::kErrorInvalid, result.reason);
  }

  Result<std::optional<RecordRow>> after =
      db->GetRecord(principal.tenant, c.collection, c.record_id);
  if (!after.ok()) return BackendError(after.status());
  if (!after->has_value() || !(*after)->materialized_json) {
    return Err(500, sync::kErrorInternal, "the resolved record vanished");
  }
  Result<sync::RecordState> next = ParseState(**after);
  if (!next.ok()) return BackendError(next.status());
  ResolveOutcome outcome;
  outcome.change_id = change.change_id;
  outcome.record = View(*def, principal, c.record_id,
                        nlohmann::json::parse(*(*after)->materialized_json, nullptr, false), *next);
  ApiResult<bool> committed = CommitChanges(db, principal, &feed);
  if (!committed.ok()) return committed.error();
  return outcome;
}

ApiResult<AuditPage> SyncService::ReadAudit(const Principal& principal, AuditFilter filter) const {
  if (principal.role != sync::Role::kAdmin) {
    return Err(403, sync::kErrorForbidden, "audit: 仅限管理员 (admins only)");
  }
  const size_t page = filter.limit == 0 ? 100 : std::min<size_t>(filter.limit, 1000);
  filter.limit = page + 1;
  Result<std::unique_ptr<BackendSession>> opened = backend_->OpenSession();
  if (!opened.ok()) return BackendError(opened.status());
  BackendSession* db = opened->get();
  Status s = db->BeginRead();
  if (!s.ok()) return BackendError(s);
  WriteGuard guard(db);
  Result<std::vector<AuditRow>> rows = db->ReadAudit(principal.tenant, filter);
  if (!rows.ok()) return BackendError(rows.status());
  AuditPage out;
  out.more = rows->size() > page;
  if (out.more) rows->resize(page);
  out.rows = std::move(*rows);
  return out;
}

}  // namespace fieldsync::server
