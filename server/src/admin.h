// server/src/admin.h: the `fieldsync-server admin` operations, callable from tests.
//
// Each runs in its own write transaction and returns a Status (AlreadyExists for a duplicate id,
// NotFound for an unknown tenant, team, user or device, InvalidArgument for a bad id, role or
// password). Passwords are hashed here and never stored or printed in clear. Every command that
// changes something writes its audit row (audit.h) in its own transaction, actor "cli:<OS user>".
#pragma once

#include <cstdint>
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

// ---- tokens and devices (issue #6) ----
// `now_ms` 0: the system clock.

// Sets the user's password and ends every token of the user, on all devices: each must log in
// again with the new password (a reset is what follows a leaked password). The devices are not
// revoked. NotFound for an unknown user.
Status AdminResetPassword(Backend* backend, const std::string& tenant, const std::string& user,
                          std::string_view password, PasswordParams params = {},
                          int64_t now_ms = 0);
// The tenant's devices, by user then device id. NotFound for an unknown tenant.
Result<std::vector<DeviceRow>> AdminListDevices(Backend* backend, const std::string& tenant);
// Revokes the device: its tokens end now, every later request or login from it is answered
// device_revoked with the order to erase its database, and it can never log in again.
// Revoking a revoked device changes nothing. NotFound for an unknown device.
Status AdminRevokeDevice(Backend* backend, const std::string& tenant, const std::string& device,
                         int64_t now_ms = 0);
// A device as list-devices prints it: one JSON object, times in UTC ISO 8601 with milliseconds
// or null (never happened), "pending" null when never reported, "status" "active", "revoked"
// (no wipe reported yet) or "wiped".
std::string DeviceJson(const DeviceRow& device);

// Ids of tenants, teams and users: 1-200 bytes of UTF-8, no control characters.
bool ValidAdminId(const std::string& id);

}  // namespace fieldsync::server
