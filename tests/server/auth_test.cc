// tests/server/auth_test.cc: tokens and devices (issue #6) against the real HTTP server on
// 127.0.0.1: access expiry, refresh and its rotation, logout, a new login on the device, device
// revocation with the erase order and the wipe report, the device list's last sync and pending
// count, and password resets. The server's clock is a variable the test moves forward.
#include <httplib.h>
#include <sqlite3.h>

#include <atomic>
#include <fstream>
#include <iterator>

#include "audit.h"
#include "http_server.h"
#include "server_test_util.h"

namespace fieldsync::server::testing {
namespace {

struct AuthServer {
  std::atomic<int64_t> now{kNowMs};
  World world;
  HttpServer http{world.service.get()};
  int port = 0;

  AuthServer()
      : world([this] {
          ServiceOptions options;
          options.now_ms = [this] { return now.load(); };
          return options;
        }()) {
    Result<int> bound = http.Start("127.0.0.1", 0);
    REQUIRE(bound.ok());
    port = *bound;
  }
  ~AuthServer() { http.Stop(); }

  httplib::Client Client() const { return httplib::Client("127.0.0.1", port); }

  httplib::Result LoginRaw(const std::string& user, const std::string& device,
                           const std::string& password = kPassword) {
    sync::LoginRequest req{user, password, {user + "的 iPad", "ios 17.2", device}};
    return Client().Post("/v1/login", sync::EncodeLoginRequest(req), "application/json");
  }

  sync::LoginResponse Login(const std::string& user, const std::string& device,
                            const std::string& password = kPassword) {
    auto res = LoginRaw(user, device, password);
    REQUIRE(res);
    REQUIRE_MESSAGE(res->status == 200, res->body);
    Result<sync::LoginResponse> login = sync::DecodeLoginResponse(res->body);
    REQUIRE(login.ok());
    return *login;
  }

  httplib::Result Pull(const std::string& token, const std::string& query = "") {
    return Client().Get("/v1/pull?schema=1" + query, {{"Authorization", "Bearer " + token}});
  }

  httplib::Result Refresh(const std::string& refresh_token) {
    return Client().Post("/v1/refresh",
                         sync::EncodeRefreshRequest(sync::RefreshRequest{refresh_token}),
                         "application/json");
  }

  httplib::Result Logout(const std::string& token) {
    return Client().Post("/v1/logout", {{"Authorization", "Bearer " + token}}, "",
                         "application/json");
  }

  httplib::Result WipeDone(const std::string& device, const std::string& receipt) {
    return Client().Post("/v1/wipe-done",
                         sync::EncodeWipeDoneRequest(sync::WipeDoneRequest{device, receipt}),
                         "application/json");
  }

  // The audit rows of `action`, oldest first.
  std::vector<AuditRow> Audited(const std::string& action) {
    std::vector<AuditRow> rows;
    REQUIRE(AdminReadAudit(world.backend.get(), kTenant, AuditFilter{}, [&](const AuditRow& row) {
              if (row.action == action) rows.push_back(row);
              return true;
            }).ok());
    return rows;
  }

  DeviceRow Device(const std::string& id) {
    Result<std::vector<DeviceRow>> all = AdminListDevices(world.backend.get(), kTenant);
    REQUIRE(all.ok());
    for (const DeviceRow& d : *all) {
      if (d.id == id) return d;
    }
    FAIL("no device " << id);
    return {};
  }
};

sync::ErrorBody CheckError(const httplib::Result& res, int status, const char* code) {
  REQUIRE(res);
  CHECK(res->status == status);
  Result<sync::ErrorBody> body = sync::DecodeErrorBody(res->body);
  REQUIRE_MESSAGE(body.ok(), res->body);
  CHECK(body->code == code);
  CHECK_FALSE(body->message.empty());
  CHECK(body->server_time_ms > 0);
  return *body;
}

sync::LoginResponse CheckRefreshed(const httplib::Result& res) {
  REQUIRE(res);
  REQUIRE_MESSAGE(res->status == 200, res->body);
  Result<sync::LoginResponse> r = sync::DecodeLoginResponse(res->body);
  REQUIRE(r.ok());
  return *r;
}

void CheckOk(const httplib::Result& res) {
  REQUIRE(res);
  CHECK_MESSAGE(res->status == 200, res->body);
}

constexpr int64_t kMinute = 60 * 1000;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST_CASE("login returns an access and a refresh token, stored only as SHA-256 hashes") {
  AuthServer server;
  const sync::LoginResponse login = server.Login("zhang", "dev-zhang");
  CHECK(login.token.size() == 43);
  CHECK(login.refresh_token.size() == 43);
  CHECK(login.token != login.refresh_token);
  CHECK(login.expires_in_s == 15 * 60);
  CHECK(login.refresh_expires_in_s == 30 * 24 * 3600);
  CHECK(login.user.id == "zhang");
  CheckOk(server.Pull(login.token));

  // The server's file: two rows for the login, keyed by the hashes; neither secret in clear.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(server.world.dir.File("server.db").c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT token_hash, kind FROM auth_tokens ORDER BY kind", -1,
                             &stmt, nullptr) == SQLITE_OK);
  std::vector<std::pair<std::string, std::string>> rows;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    rows.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)),
                      reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1)));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0] == std::make_pair(TokenHash(login.token), std::string("access")));
  CHECK(rows[1] == std::make_pair(TokenHash(login.refresh_token), std::string("refresh")));
  const std::string file = ReadFile(server.world.dir.File("server.db")) +
                           ReadFile(server.world.dir.File("server.db-wal"));
  CHECK(file.find(login.token) == std::string::npos);
  CHECK(file.find(login.refresh_token) == std::string::npos);
}

TEST_CASE("an expired access token gets 401 token_expired, and the refresh token renews it") {
  AuthServer server;
  const sync::LoginResponse login = server.Login("zhang", "dev-zhang");
  server.now += 15 * kMinute - 1;
  CheckOk(server.Pull(login.token));  // the last millisecond of its life
  server.now += 1;
  CheckError(server.Pull(login.token), 401, sync::kErrorTokenExpired);

  const sync::LoginResponse renewed = CheckRefreshed(server.Refresh(login.refresh_token));
  CHECK(renewed.token != login.token);
  CHECK(renewed.refresh_token != login.refresh_token);
  CHECK(renewed.expires_in_s == 15 * 60);
  CHECK(renewed.user.id == "zhang");
  CHECK(renewed.user.teams == std::vector<std::string>{"east1"});
  CheckOk(server.Pull(renewed.token));
  // The old access token ended with the refresh, the new one lives its full 15 minutes.
  CheckError(server.Pull(login.token), 401, sync::kErrorTokenRevoked);
  server.now += 15 * kMinute - 1;
  CheckOk(server.Pull(renewed.token));
}

TEST_CASE("refresh rotates: a spent refresh token is refused and its replay ends the session") {
  AuthServer server;
  const sync::LoginResponse login = server.Login("zhang", "dev-zhang");
  const sync::LoginResponse second = CheckRefreshed(server.Refresh(login.refresh_token));
  CheckOk(server.Pull(second.token));

  // The first refresh token again: a copy is in use somewhere. Refused, and every token of the
  // session ends with it, the legitimate new pair included.
  const sync::ErrorBody replay =
      CheckError(server.Refresh(login.refresh_token), 401, sync::kErrorTokenRevoked);
  CHECK(replay.message.find("twice") != std::string::npos);
  CheckError(server.Pull(second.token), 401, sync::kErrorTokenRevoked);
  CheckError(server.Refresh(second.refresh_token), 401, sync::kErrorTokenRevoked);
  const std::vector<AuditRow> reused = server.Audited(kAuditTokenReused);
  REQUIRE(reused.size() == 1);
  CHECK(reused[0].user == "zhang");
  CHECK(reused[0].device == "dev-zhang");
  CHECK(reused[0].detail_json.find(login.refresh_token) == std::string::npos);
  // Not a revocation of the device: the password still opens a new session.
  const sync::LoginResponse again = server.Login("zhang", "dev-zhang");
  CheckOk(server.Pull(again.token));
  CHECK_FALSE(server.Device("dev-zhang").revoked);
}

TEST_CASE("a refresh token expires 30 days after it was issued") {
  AuthServer server;
  const sync::LoginResponse login = server.Login("zhang", "dev-zhang");
  server.now += int64_t{30} * 24 * 60 * kMinute - 1;
  const sync::LoginResponse renewed = CheckRefreshed(server.Refresh(login.refresh_token));
  server.now += int64_t{30} * 24 * 60 * kMinute;
  CheckError(server.Refresh(renewed.refresh_token), 401, sync::kErrorTokenExpired);
  CheckError(server.Pull(renewed.token), 401, sync::kErrorTokenExpired);
}

TEST_CASE(
    "each token does one job: a refresh token pulls nothing and an access token refreshes "
    "nothing") {
  AuthServer server;
  const sync::LoginResponse login = server.Login("zhang", "dev-zhang");
  CheckError(server.Pull(login.refresh_token), 401, sync::kErrorUnauthenticated);
  CheckError(server.Logout(login.refresh_token), 401, sync::kErrorUnauthenticated);
  CheckError(server.Refresh(login.token), 401, sync::kErrorUnauthenticated);
  CheckError(server.Refresh("3q2-7wEVR1sXa9Yb0cPZkLmN4oT6uJ8hGfDe5iK1aZx"), 401,
             sync::kErrorUnauthenticated);
  CheckError(server.Client().Post("/v1/refresh", "{}", "application/json"), 400,
             sync::kErrorMalformed);
  CheckError(server.Client().Post("/v1/refresh", R"({"refresh_token":"x","user":"zhang"})",
                                  "application/json"),
             400, sync::kErrorMalformed);
  CheckError(server.Client().Post("/v1/refresh", "not json", "application/json"), 400,
             sync::kErrorMalformed);
  CheckError(server.Client().Get("/v1/refresh"), 405, sync::kErrorMethodNotAllowed);
  CheckError(server.Client().Get("/v1/logout"), 405, sync::kErrorMethodNotAllowed);
  CheckError(server.Client().Get("/v1/wipe-done"), 405, sync::kErrorMethodNotAllowed);
  // None of this touched the session.
  CheckOk(server.Pull(login.token));
  CheckRefreshed(server.Refresh(login.refresh_token));
}

TEST_CASE("logout ends the device's tokens from the next request, and no one else's") {
  AuthServer server;
  const sync::LoginResponse zhang = server.Login("zhang", "dev-zhang");
  const sync::LoginResponse li = server.Login("li", "dev-li");
  CheckError(server.Logout(""), 401, sync::kErrorUnauthenticated);
  CheckOk(server.Logout(zhang.token));
  const sync::ErrorBody after = CheckError(server.Pull(zhang.token), 401, sync::kErrorTokenRevoked);
  CHECK(after.message.find("logged out") != std::string::npos);
  CheckError(server.Refresh(zhang.refresh_token), 401, sync::kErrorTokenRevoked);
  CheckError(server.Logout(zhang.token), 401, sync::kErrorTokenRevoked);
  CheckOk(server.Pull(li.token));
  CheckOk(server.Pull(server.Login("zhang", "dev-zhang").token));
}

TEST_CASE("a new login on a device ends that device's earlier session") {
  AuthServer server;
  const sync::LoginResponse first = server.Login("zhang", "dev-zhang");
  const sync::LoginResponse other_device = server.Login("zhang", "dev-zhang-phone");
  const sync::LoginResponse second = server.Login("zhang", "dev-zhang");
  CheckError(server.Pull(first.token), 401, sync::kErrorTokenRevoked);
  CheckError(server.Refresh(first.refresh_token), 401, sync::kErrorTokenRevoked);
  CheckOk(server.Pull(second.token));
  CheckOk(server.Pull(other_device.token));  // one session per device, not per user
  // A shared tablet: li signing in on zhang's device ends zhang's session there.
  const sync::LoginResponse li = server.Login("li", "dev-zhang");
  CheckError(server.Pull(second.token), 401, sync::kErrorTokenRevoked);
  CheckOk(server.Pull(li.token));
}

TEST_CASE(
    "a revoked device is told to erase itself on any request, and its wipe report is "
    "recorded") {
  AuthServer server;
  const sync::LoginResponse zhang = server.Login("zhang", "dev-zhang");
  const sync::LoginResponse li = server.Login("li", "dev-li");
  server.now += kMinute;
  REQUIRE(AdminRevokeDevice(server.world.backend.get(), kTenant, "dev-zhang", server.now).ok());

  const sync::ErrorBody pulled =
      CheckError(server.Pull(zhang.token), 403, sync::kErrorDeviceRevoked);
  CHECK(pulled.wipe);
  CHECK(pulled.wipe_receipt.size() == 43);
  // Every way in says the same, with the same receipt: push, refresh, logout, a password login.
  sync::PushRequest push{"dev-zhang", 1, {}};
  const sync::ErrorBody pushed =
      CheckError(server.Client().Post("/v1/push", {{"Authorization", "Bearer " + zhang.token}},
                                      sync::EncodePushRequest(push), "application/json"),
                 403, sync::kErrorDeviceRevoked);
  CHECK(pushed.wipe_receipt == pulled.wipe_receipt);
  CHECK(CheckError(server.Refresh(zhang.refresh_token), 403, sync::kErrorDeviceRevoked)
            .wipe_receipt == pulled.wipe_receipt);
  CHECK(CheckError(server.Logout(zhang.token), 403, sync::kErrorDeviceRevoked).wipe);
  CHECK(CheckError(server.LoginRaw("zhang", "dev-zhang"), 403, sync::kErrorDeviceRevoked)
            .wipe_receipt == pulled.wipe_receipt);
  // Long after the tokens expired, the tablet is still recognized and told.
  server.now += int64_t{40} * 24 * 60 * kMinute;
  CHECK(CheckError(server.Pull(zhang.token), 403, sync::kErrorDeviceRevoked).wipe);
  // A wrong password learns nothing; another user and device go on.
  CHECK_FALSE(CheckError(server.LoginRaw("zhang", "dev-zhang", "wrong password"), 401,
                         sync::kErrorUnauthenticated)
                  .wipe);
  CheckOk(server.Pull(server.Login("li", "dev-li").token));
  CheckOk(server.Pull(server.Login("zhang", "dev-zhang-new").token));  // a new database: a new id
  (void)li;

  DeviceRow revoked = server.Device("dev-zhang");
  CHECK(revoked.revoked);
  CHECK(revoked.revoked_ms == kNowMs + kMinute);
  CHECK(revoked.wiped_ms == 0);

  // The report: a wrong receipt, or the receipt for another device, changes nothing.
  std::string forged = pulled.wipe_receipt;
  forged[0] = forged[0] == 'A' ? 'B' : 'A';
  CheckError(server.WipeDone("dev-zhang", forged), 401, sync::kErrorUnauthenticated);
  CheckError(server.WipeDone("dev-li", pulled.wipe_receipt), 401, sync::kErrorUnauthenticated);
  CheckError(server.WipeDone("dev-nobody", pulled.wipe_receipt), 401, sync::kErrorUnauthenticated);
  CheckError(server.Client().Post("/v1/wipe-done", R"({"device":"dev-zhang"})", "application/json"),
             400, sync::kErrorMalformed);
  CHECK(server.Device("dev-zhang").wiped_ms == 0);
  CHECK(server.Device("dev-li").wiped_ms == 0);

  const int64_t reported_at = server.now;
  CheckOk(server.WipeDone("dev-zhang", pulled.wipe_receipt));
  server.now += kMinute;
  CheckOk(server.WipeDone("dev-zhang", pulled.wipe_receipt));  // a repeat keeps the first time
  CHECK(server.Device("dev-zhang").wiped_ms == reported_at);
  // Audited: the revocation (by the admin command) and the first wipe report only.
  const std::vector<AuditRow> revoked_rows = server.Audited(kAuditRevokeDevice);
  REQUIRE(revoked_rows.size() == 1);
  CHECK(revoked_rows[0].collection == kAuditSubjectDevice);
  CHECK(revoked_rows[0].record_id == "dev-zhang");
  CHECK(revoked_rows[0].detail_json == R"({"owner":"zhang"})");
  const std::vector<AuditRow> wiped_rows = server.Audited(kAuditDeviceWiped);
  REQUIRE(wiped_rows.size() == 1);
  CHECK(wiped_rows[0].user == "zhang");
  CHECK(wiped_rows[0].device == "dev-zhang");
  CHECK(wiped_rows[0].at_ms == reported_at);
  CHECK(server.Audited(kAuditLoginRefused).size() == 1);  // the password login on it
  CHECK(DeviceJson(server.Device("dev-zhang")).find("\"status\":\"wiped\"") != std::string::npos);
}

TEST_CASE("revoking an unknown device is not_found, and revoking twice keeps the first time") {
  AuthServer server;
  server.Login("zhang", "dev-zhang");
  CHECK(AdminRevokeDevice(server.world.backend.get(), kTenant, "dev-nobody").IsNotFound());
  CHECK(AdminRevokeDevice(server.world.backend.get(), "other", "dev-zhang").IsNotFound());
  REQUIRE(AdminRevokeDevice(server.world.backend.get(), kTenant, "dev-zhang", 1000).ok());
  REQUIRE(AdminRevokeDevice(server.world.backend.get(), kTenant, "dev-zhang", 2000).ok());
  CHECK(server.Device("dev-zhang").revoked_ms == 1000);
}

TEST_CASE("the device list shows each device's last sync and the pending count it reported") {
  AuthServer server;
  const sync::LoginResponse login = server.Login("zhang", "dev-zhang");
  DeviceRow d = server.Device("dev-zhang");
  CHECK(d.user == "zhang");
  CHECK(d.name == "zhang的 iPad");
  CHECK(d.platform == "ios 17.2");
  CHECK(d.registered_ms == kNowMs);
  CHECK(d.last_sync_ms == 0);  // logged in, never synced
  CHECK(d.pending == -1);
  CHECK(DeviceJson(d).find("\"last_sync\":null,\"pending\":null") != std::string::npos);

  server.now += kMinute;
  CheckOk(server.Pull(login.token, "&pending=3"));
  d = server.Device("dev-zhang");
  CHECK(d.last_sync_ms == kNowMs + kMinute);
  CHECK(d.pending == 3);
  CHECK(DeviceJson(d) ==
        R"({"device":"dev-zhang","user":"zhang","name":"zhang的 iPad","platform":"ios 17.2",)"
        R"("status":"active","registered":"2024-11-23T06:39:31.123Z",)"
        R"("last_sync":"2024-11-23T06:40:31.123Z","pending":3,"revoked":null,"wiped":null})");

  // Within the minute with the same count: no write. A new count is written at once.
  server.now += 10 * 1000;
  CheckOk(server.Pull(login.token, "&pending=3"));
  CHECK(server.Device("dev-zhang").last_sync_ms == kNowMs + kMinute);
  CheckOk(server.Pull(login.token, "&pending=0"));
  CHECK(server.Device("dev-zhang").last_sync_ms == kNowMs + kMinute + 10 * 1000);
  CHECK(server.Device("dev-zhang").pending == 0);
  // A pull that reports nothing keeps the count; a push records the time in its transaction.
  server.now += 2 * kMinute;
  CheckOk(server.Pull(login.token));
  CHECK(server.Device("dev-zhang").last_sync_ms == server.now);
  CHECK(server.Device("dev-zhang").pending == 0);
  server.now += 5 * 1000;
  sync::PushRequest push =
      Push("dev-zhang", {Customer("c1", "cust-1", "明辉", "zhang", HlcAt(server.now))});
  auto pushed = server.Client().Post("/v1/push", {{"Authorization", "Bearer " + login.token}},
                                     sync::EncodePushRequest(push), "application/json");
  CheckOk(pushed);
  CHECK(server.Device("dev-zhang").last_sync_ms == server.now);

  // A bad count is refused and changes nothing.
  for (const char* bad :
       {"&pending=-1", "&pending=x", "&pending=", "&pending=1&pending=2", "&pending=99999999999"}) {
    CAPTURE(bad);
    CheckError(server.Pull(login.token, bad), 400, sync::kErrorMalformed);
  }
  CHECK(server.Device("dev-zhang").pending == 0);
}

TEST_CASE(
    "reset-password: the old password is refused, the new one works, every token of the "
    "user ends") {
  AuthServer server;
  const sync::LoginResponse tablet = server.Login("zhang", "dev-zhang");
  const sync::LoginResponse phone = server.Login("zhang", "dev-zhang-phone");
  const sync::LoginResponse li = server.Login("li", "dev-li");
  PasswordParams fast;
  fast.log2_n = 10;
  const std::string fresh = "a new 密码 for zhang";
  CHECK(AdminResetPassword(server.world.backend.get(), kTenant, "zhang", "short", fast).code() ==
        StatusCode::kInvalidArgument);
  CHECK(
      AdminResetPassword(server.world.backend.get(), kTenant, "nobody", fresh, fast).IsNotFound());
  CHECK(AdminResetPassword(server.world.backend.get(), "other", "zhang", fresh, fast).IsNotFound());
  CheckOk(server.Pull(tablet.token));  // the refusals above changed nothing

  REQUIRE(AdminResetPassword(server.world.backend.get(), kTenant, "zhang", fresh, fast).ok());
  const std::vector<AuditRow> reset = server.Audited(kAuditResetPassword);
  REQUIRE(reset.size() == 1);  // the refused resets above wrote none
  CHECK(reset[0].record_id == "zhang");
  CHECK(reset[0].detail_json.find(fresh) == std::string::npos);
  for (const sync::LoginResponse* session : {&tablet, &phone}) {
    const sync::ErrorBody e =
        CheckError(server.Pull(session->token), 401, sync::kErrorTokenRevoked);
    CHECK(e.message.find("password") != std::string::npos);
    CheckError(server.Refresh(session->refresh_token), 401, sync::kErrorTokenRevoked);
  }
  CheckError(server.LoginRaw("zhang", "dev-zhang"), 401, sync::kErrorUnauthenticated);
  CheckOk(server.Pull(server.Login("zhang", "dev-zhang", fresh).token));
  CheckOk(server.Pull(li.token));
  CHECK_FALSE(server.Device("dev-zhang").revoked);
}

TEST_CASE("list-devices of an unknown tenant is not_found, and lists only the tenant's devices") {
  AuthServer server;
  server.Login("zhang", "dev-zhang");
  server.Login("li", "dev-li");
  CHECK(AdminListDevices(server.world.backend.get(), "nobody").status().IsNotFound());
  Result<std::vector<DeviceRow>> other = AdminListDevices(server.world.backend.get(), "other");
  REQUIRE(other.ok());
  CHECK(other->empty());
  Result<std::vector<DeviceRow>> mine = AdminListDevices(server.world.backend.get(), kTenant);
  REQUIRE(mine.ok());
  REQUIRE(mine->size() == 2);
  CHECK((*mine)[0].user == "li");  // by user, then device
  CHECK((*mine)[1].user == "zhang");
}

}  // namespace
}  // namespace fieldsync::server::testing
