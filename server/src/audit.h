// server/src/audit.h: the audit trail's vocabulary and its printed form (docs/security.md §8.4).
//
// Rows are written by the code that does the audited thing, in the same transaction
// (sync_service.cc for pushes, resolutions and logins, admin.cc for admin commands), through
// BackendSession::AppendAudit; nothing updates or deletes them. This file names the actions and
// turns a row into the one JSON object that `fieldsync-server admin ... audit` prints per line and
// that GET /v1/audit returns.
//
// WHAT A ROW HOLDS, BY ACTION (`detail` never holds a value, a password, a token or a device name)
//   change.upsert, change.delete   an accepted push change: the record, the names of the fields it
//                                  wrote, its change id
//   conflict.resolve               an accepted resolution (POST /v1/conflicts/{id}/resolve): as an
//                                  upsert, detail {"conflict": the resolved conflict id}
//   login                          a successful login: detail {"platform": the device's platform}
//   login.failed                   a wrong password for an existing user (unknown user names are
//                                  not recorded: they belong to no tenant, and a name typed into
//                                  the wrong box may be a password): detail {"reason"}
//   login.refused                  right password, but the user is disabled or the device revoked:
//                                  detail {"reason": "user_disabled" | "device_revoked"}
//   admin.create_tenant            subject tenant/<id>
//   admin.add_team                 subject team/<id>
//   admin.add_user                 subject user/<id>, detail {"role", "teams"} (never the password)
//   admin.share_customer           subject customers/<id>, detail {"team"}
//   admin.reset_password           subject user/<id> (never the password)
//   admin.revoke_device            subject device/<node id>, detail {"owner": its user}
//   device.wiped                   a revoked device's first report that it erased its database
//                                  (POST /v1/wipe-done): user = its owner, subject device/<id>
//   token.reused                   a spent refresh token presented again; its session ended:
//                                  user and device = the token's, detail {"reason": "reused"}
//
// Thread safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "backend.h"

namespace fieldsync::server {

inline constexpr char kAuditUpsert[] = "change.upsert";
inline constexpr char kAuditDelete[] = "change.delete";
inline constexpr char kAuditResolve[] = "conflict.resolve";
inline constexpr char kAuditLogin[] = "login";
inline constexpr char kAuditLoginFailed[] = "login.failed";
inline constexpr char kAuditLoginRefused[] = "login.refused";
inline constexpr char kAuditCreateTenant[] = "admin.create_tenant";
inline constexpr char kAuditAddTeam[] = "admin.add_team";
inline constexpr char kAuditAddUser[] = "admin.add_user";
inline constexpr char kAuditShareCustomer[] = "admin.share_customer";
// Tokens and devices (issue #6).
inline constexpr char kAuditResetPassword[] = "admin.reset_password";
inline constexpr char kAuditRevokeDevice[] = "admin.revoke_device";
inline constexpr char kAuditDeviceWiped[] = "device.wiped";
inline constexpr char kAuditTokenReused[] = "token.reused";

// Subjects of administrative actions (AuditRow::collection). Singular, so they never meet the
// plural names of sync collections (customers, contacts, visits, orders).
inline constexpr char kAuditSubjectTenant[] = "tenant";
inline constexpr char kAuditSubjectTeam[] = "team";
inline constexpr char kAuditSubjectUser[] = "user";
inline constexpr char kAuditSubjectDevice[] = "device";

// {"seq","time","time_ms","user","device","action","collection","record_id","fields",
//  "change_id","detail"}, members in this order; empty strings are kept, so every line has the
// same shape. `time` is at_ms in UTC ("2024-11-23T06:39:31.123Z").
nlohmann::ordered_json AuditRowToJson(const AuditRow& row);
// AuditRowToJson as one line of JSON; invalid UTF-8 is replaced by U+FFFD, and JSON escaping
// turns any newline or control character into \n or \u00XX, so a crafted id cannot forge a line.
std::string AuditLine(const AuditRow& row);

// "2024-11-23T06:39:31.123Z" for milliseconds since the Unix epoch.
std::string UtcTimeMs(int64_t ms);

// Whether `text` is well-formed UTF-8 (what nlohmann::json can dump without replacing).
bool IsUtf8(std::string_view text);

}  // namespace fieldsync::server
