// server/src/admin.cc: tenant, team and user setup (admin.h).
#include "admin.h"

#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>

#include "audit.h"

namespace fieldsync::server {
namespace {

// Runs `body` in one write transaction on a fresh session.
template <typename F>
Status InWrite(Backend* backend, F body) {
  Result<std::unique_ptr<BackendSession>> session = backend->OpenSession();
  if (!session.ok()) return session.status();
  BackendSession* db = session->get();
  FIELDSYNC_RETURN_IF_ERROR(db->BeginWrite());
  Status s = body(db);
  if (!s.ok()) {
    (void)db->Rollback();
    return s;
  }
  return db->Commit();
}

// ---- audit of admin commands (audit.h) ----
// The actor of an admin command: "cli:<the OS account>" as SUDO_USER or USER name it, else "cli".
// Not authenticated (whoever can run `admin` can write the database file itself); the system's
// own logs say who logged in.
std::string AdminActor() {
  for (const char* var : {"SUDO_USER", "USER"}) {
    const char* name = std::getenv(var);
    if (name != nullptr && ValidAdminId(name)) return std::string("cli:") + name;
  }
  return "cli";
}

// Appends one audit row for an admin command, in the command's transaction.
Status Audit(BackendSession* db, const std::string& tenant, const char* action,
             const std::string& subject, const std::string& subject_id,
             const nlohmann::json& detail = nlohmann::json::object()) {
  AuditRow row;
  row.at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  row.user = AdminActor();
  row.device = "cli";
  row.action = action;
  row.collection = subject;
  row.record_id = subject_id;
  row.detail_json = detail.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::vector<AuditRow> rows = {std::move(row)};
  return db->AppendAudit(tenant, &rows);
}

Status CheckId(const char* what, const std::string& id) {
  if (!ValidAdminId(id)) {
    return Status::InvalidArgument(std::string(what) +
                                   ": 1-200 bytes of UTF-8 without control characters expected");
  }
  return Status::OK();
}

int64_t NowOr(int64_t now_ms) {
  if (now_ms != 0) return now_ms;
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "2024-11-23T06:39:31.123Z", or null for 0 (never).
nlohmann::ordered_json IsoTime(int64_t ms) {
  if (ms <= 0) return nullptr;
  return UtcTimeMs(ms);
}

}  // namespace

bool ValidAdminId(const std::string& id) {
  if (id.empty() || id.size() > 200 || !IsUtf8(id)) return false;
  return std::none_of(id.begin(), id.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

Status AdminCreateTenant(Backend* backend, const std::string& tenant, const std::string& name) {
  FIELDSYNC_RETURN_IF_ERROR(CheckId("tenant", tenant));
  FIELDSYNC_RETURN_IF_ERROR(CheckId("name", name));
  uint32_t epoch = 0;
  while (epoch == 0) {
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&epoch), sizeof epoch) != 1) {
      return Status::Internal("RAND_bytes failed");
    }
  }
  return InWrite(backend, [&](BackendSession* db) {
    FIELDSYNC_RETURN_IF_ERROR(db->CreateTenant(TenantRow{tenant, name, epoch}));
    return Audit(db, tenant, kAuditCreateTenant, kAuditSubjectTenant, tenant);
  });
}

Status AdminAddTeam(Backend* backend, const std::string& tenant, const std::string& team,
                    const std::string& name) {
  FIELDSYNC_RETURN_IF_ERROR(CheckId("team", team));
  FIELDSYNC_RETURN_IF_ERROR(CheckId("name", name));
  return InWrite(backend, [&](BackendSession* db) {
    FIELDSYNC_RETURN_IF_ERROR(db->CreateTeam(tenant, team, name));
    return Audit(db, tenant, kAuditAddTeam, kAuditSubjectTeam, team);
  });
}

Status AdminAddUser(Backend* backend, const std::string& tenant, const std::string& user,
                    const std::string& role, const std::vector<std::string>& teams,
                    std::string_view password, PasswordParams params) {
  FIELDSYNC_RETURN_IF_ERROR(CheckId("user", user));
  UserRow row;
  row.tenant = tenant;
  row.id = user;
  row.display_name = user;
  if (role == "rep") {
    row.role = sync::Role::kRep;
  } else if (role == "manager") {
    row.role = sync::Role::kManager;
  } else if (role == "admin") {
    row.role = sync::Role::kAdmin;
  } else {
    return Status::InvalidArgument("role must be rep, manager or admin");
  }
  if (password.size() < 8) return Status::InvalidArgument("password: at least 8 bytes expected");
  row.teams = teams;
  std::sort(row.teams.begin(), row.teams.end());
  row.teams.erase(std::unique(row.teams.begin(), row.teams.end()), row.teams.end());
  Result<std::string> hash = HashPassword(password, params);
  if (!hash.ok()) return hash.status();
  row.password_hash = std::move(*hash);
  return InWrite(backend, [&](BackendSession* db) {
    FIELDSYNC_RETURN_IF_ERROR(db->CreateUser(row));
    return Audit(db, tenant, kAuditAddUser, kAuditSubjectUser, user,
                 {{"role", role}, {"teams", row.teams}});
  });
}

Status AdminShareCustomer(Backend* backend, const std::string& tenant, const std::string& customer,
                          const std::string& team) {
  FIELDSYNC_RETURN_IF_ERROR(CheckId("customer", customer));
  return InWrite(backend, [&](BackendSession* db) {
    FIELDSYNC_RETURN_IF_ERROR(db->ShareCustomer(tenant, customer, team));
    return Audit(db, tenant, kAuditShareCustomer, "customers", customer, {{"team", team}});
  });
}

// ---- audit trail (audit.h) ----

Status AdminReadAudit(Backend* backend, const std::string& tenant, AuditFilter filter,
                      const std::function<bool(const AuditRow&)>& emit) {
  FIELDSYNC_RETURN_IF_ERROR(CheckId("tenant", tenant));
  Result<std::unique_ptr<BackendSession>> session = backend->OpenSession();
  if (!session.ok()) return session.status();
  BackendSession* db = session->get();
  Result<TenantRow> known = db->GetTenant(tenant);
  if (!known.ok()) return known.status();
  filter.limit = 1000;
  for (;;) {
    // Page by page, each its own read: a long trail never pins one snapshot (and the WAL) while
    // it is printed; rows are only ever appended, so paging by seq misses none.
    Result<std::vector<AuditRow>> rows = db->ReadAudit(tenant, filter);
    if (!rows.ok()) return rows.status();
    for (const AuditRow& row : *rows) {
      if (!emit(row)) return Status::IOError("cannot write the audit trail");
      filter.after_seq = row.seq;
    }
    if (rows->size() < filter.limit) return Status::OK();
  }
}

// ---- tokens and devices (issue #6) ----

Status AdminResetPassword(Backend* backend, const std::string& tenant, const std::string& user,
                          std::string_view password, PasswordParams params, int64_t now_ms) {
  if (password.size() < 8) return Status::InvalidArgument("password: at least 8 bytes expected");
  Result<std::string> hash = HashPassword(password, params);
  if (!hash.ok()) return hash.status();
  const int64_t now = NowOr(now_ms);
  return InWrite(backend, [&](BackendSession* db) {
    FIELDSYNC_RETURN_IF_ERROR(db->SetPasswordHash(tenant, user, *hash));
    FIELDSYNC_RETURN_IF_ERROR(db->EndUserTokens(tenant, user, now, kTokenEndedPasswordReset));
    return Audit(db, tenant, kAuditResetPassword, kAuditSubjectUser, user);
  });
}

Result<std::vector<DeviceRow>> AdminListDevices(Backend* backend, const std::string& tenant) {
  Result<std::unique_ptr<BackendSession>> session = backend->OpenSession();
  if (!session.ok()) return session.status();
  Result<TenantRow> t = (*session)->GetTenant(tenant);
  if (!t.ok()) return t.status();
  return (*session)->ListDevices(tenant);
}

Status AdminRevokeDevice(Backend* backend, const std::string& tenant, const std::string& device,
                         int64_t now_ms) {
  const int64_t now = NowOr(now_ms);
  return InWrite(backend, [&](BackendSession* db) {
    Result<DeviceRow> known = db->GetDevice(tenant, device);
    if (!known.ok()) return known.status();
    FIELDSYNC_RETURN_IF_ERROR(db->RevokeDevice(tenant, device, now));
    FIELDSYNC_RETURN_IF_ERROR(
        db->EndDeviceTokens(tenant, device, "", now, kTokenEndedDeviceRevoked));
    return Audit(db, tenant, kAuditRevokeDevice, kAuditSubjectDevice, device,
                 {{"owner", known->user}});
  });
}

std::string DeviceJson(const DeviceRow& d) {
  nlohmann::ordered_json out;
  out["device"] = d.id;
  out["user"] = d.user;
  out["name"] = d.name;
  out["platform"] = d.platform;
  out["status"] = d.wiped_ms > 0 ? "wiped" : d.revoked ? "revoked" : "active";
  out["registered"] = IsoTime(d.registered_ms);
  out["last_sync"] = IsoTime(d.last_sync_ms);
  out["pending"] =
      d.pending < 0 ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(d.pending);
  out["revoked"] = IsoTime(d.revoked_ms);
  out["wiped"] = IsoTime(d.wiped_ms);
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace fieldsync::server
