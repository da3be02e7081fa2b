// server/src/admin.h: the `fieldsync-server admin` operations, callable from tests.
//
// Each runs in its own write transaction and returns a Status (AlreadyExists for a duplicate id,
// NotFound for an unknown tenant or team, InvalidArgument for a bad id or role). Passwords are
// hashed here and never stored or printed in clear. Every command that changes something writes
// its audit row (audit.h) in its own transaction, actor "cli:<OS user>".
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "backend.h"
#include "credentials.h"

namespace fieldsync::server {

Status AdminCreateTenant(Backend* backend, const std::string& tenant, const std::string& name);
Status AdminAddTeam(Backend* backend, const std::string& tenant, const std::string& team,
                    const std::string& name);
// `role` is "rep", "manager" or "admin".
Status AdminAddUser(Backend* backend, const std::string& tenant, const std::string& user,
                    const std::string& role, const std::vector<std::string>& teams,
                    std::string_view password, PasswordParams params = {});
Status AdminShareCustomer(Backend* backend, const std::string& tenant, const std::string& customer,
                          const std::string& team);

// ---- audit trail (audit.h) ----
// Calls `emit` with each of the tenant's audit rows that match `filter` (its limit and after_seq
// are ignored), oldest first; stops with IOError when `emit` returns false. NotFound for an
// unknown tenant.
Status AdminReadAudit(Backend* backend, const std::string& tenant, AuditFilter filter,
                      const std::function<bool(const AuditRow&)>& emit);

// Ids of tenants, teams and users: 1-200 bytes of UTF-8, no control characters.
bool ValidAdminId(const std::string& id);

}  // namespace fieldsync::server
