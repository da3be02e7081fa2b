// server/src/admin.cc: tenant, team and user setup (admin.h).
#include "admin.h"

#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>

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

Status CheckId(const char* what, const std::string& id) {
  if (!ValidAdminId(id)) {
    return Status::InvalidArgument(std::string(what) +
                                   ": 1-200 bytes without control characters expected");
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
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  char millis[8];
  std::snprintf(millis, sizeof millis, ".%03dZ", static_cast<int>(ms % 1000));
  return std::string(date) + millis;
}

}  // namespace

bool ValidAdminId(const std::string& id) {
  if (id.empty() || id.size() > 200) return false;
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
    return db->CreateTenant(TenantRow{tenant, name, epoch});
  });
}

Status AdminAddTeam(Backend* backend, const std::string& tenant, const std::string& team,
                    const std::string& name) {
  FIELDSYNC_RETURN_IF_ERROR(CheckId("team", team));
  FIELDSYNC_RETURN_IF_ERROR(CheckId("name", name));
  return InWrite(backend, [&](BackendSession* db) { return db->CreateTeam(tenant, team, name); });
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
  return InWrite(backend, [&](BackendSession* db) { return db->CreateUser(row); });
}

Status AdminShareCustomer(Backend* backend, const std::string& tenant, const std::string& customer,
                          const std::string& team) {
  FIELDSYNC_RETURN_IF_ERROR(CheckId("customer", customer));
  return InWrite(backend,
                 [&](BackendSession* db) { return db->ShareCustomer(tenant, customer, team); });
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
    return db->EndUserTokens(tenant, user, now, kTokenEndedPasswordReset);
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
    FIELDSYNC_RETURN_IF_ERROR(db->RevokeDevice(tenant, device, now));
    return db->EndDeviceTokens(tenant, device, "", now, kTokenEndedDeviceRevoked);
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
