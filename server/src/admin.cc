// server/src/admin.cc: tenant, team and user setup (admin.h).
#include "admin.h"

#include <openssl/rand.h>

#include <algorithm>
#include <memory>

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

}  // namespace fieldsync::server
