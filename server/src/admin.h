// server/src/admin.h: the `fieldsync-server admin` operations, callable from tests.
//
// Each runs in its own write transaction and returns a Status (AlreadyExists for a duplicate id,
// NotFound for an unknown tenant or team, InvalidArgument for a bad id or role). Passwords are
// hashed here and never stored or printed in clear.
#pragma once

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

// Ids of tenants, teams and users: 1-200 bytes of printable ASCII or UTF-8, no control characters.
bool ValidAdminId(const std::string& id);

}  // namespace fieldsync::server
