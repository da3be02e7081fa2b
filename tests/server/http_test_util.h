// tests/server/http_test_util.h: the real HttpServer on 127.0.0.1 (a free port) over a World
// (server_test_util.h) with a second tenant that has its own admin and data, a cpp-httplib client,
// and checks of the JSON error body. Used by the back-office and hostile-input suites.
#pragma once

#include <httplib.h>

#include <memory>
#include <string>
#include <vector>

#include "db_snapshot.h"
#include "http_server.h"
#include "server_test_util.h"

namespace fieldsync::server::testing {

// The second tenant: "other", with admin mallory (password kPassword) and customer kOtherCustomer
// owned by mallory, whose notes are in conflict (kOtherConflict names that conflict).
inline constexpr char kOtherTenant[] = "other";
inline constexpr char kOtherCustomer[] = "cust-other";

inline Principal OtherAdmin() {
  return Principal{kOtherTenant, "mallory", "dev-mallory", sync::Role::kAdmin, {}, 1};
}

// Two concurrent notes (empty bases) on `record`, from `a` and `b` on their devices: a conflict.
inline std::vector<sync::Change> ConflictingNotes(const std::string& prefix,
                                                  const std::string& record, const std::string& a,
                                                  const std::string& b) {
  return {Upsert(prefix + "-na", "customers", record, {{"notes", "周二上午拜访"}}, "dev-" + a,
                 HlcAt(kNowMs - 500)),
          Upsert(prefix + "-nb", "customers", record, {{"notes", "客户要求周三"}}, "dev-" + b,
                 HlcAt(kNowMs - 400))};
}

struct TestServer {
  World world;
  std::unique_ptr<HttpServer> http;
  int port = 0;
  std::string other_conflict;  // the id of the open conflict in the other tenant

  explicit TestServer(ServiceOptions options = {}, HttpServerOptions http_options = {})
      : world(std::move(options)) {
    PasswordParams fast;
    fast.log2_n = 10;
    REQUIRE(AdminAddUser(world.backend.get(), kOtherTenant, "mallory", "admin", {}, kPassword, fast)
                .ok());
    const Principal mallory = OtherAdmin();
    std::vector<sync::Change> changes = {
        Customer("o-1", kOtherCustomer, "别家的客户", "mallory", HlcAt(kNowMs - 1000))};
    changes[0].version.node = "dev-mallory";
    for (sync::Change c : ConflictingNotes("o", kOtherCustomer, "mallory", "mallory2")) {
      changes.push_back(c);
    }
    // Both notes from mallory's token (one device per push): the second as a later push.
    auto first = world.service->ApplyPush(mallory, Push("dev-mallory", {changes[0], changes[1]}));
    REQUIRE(first.ok());
    Principal mallory2 = mallory;
    mallory2.device = "dev-mallory2";
    auto second = world.service->ApplyPush(mallory2, Push("dev-mallory2", {changes[2]}));
    REQUIRE(second.ok());
    auto conflicts = world.service->ListConflicts(mallory, "", 0);
    REQUIRE(conflicts.ok());
    REQUIRE(conflicts.value().conflicts.size() == 1);
    other_conflict = conflicts.value().conflicts[0].id;

    http = std::make_unique<HttpServer>(world.service.get(), http_options);
    Result<int> bound = http->Start("127.0.0.1", 0);
    REQUIRE(bound.ok());
    port = *bound;
  }
  ~TestServer() { http->Stop(); }

  httplib::Client Client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_decompress(true);
    return c;
  }

  // Logs `user` in on device dev-<user>; returns the token.
  std::string Login(const std::string& user) {
    sync::LoginRequest req{user, kPassword, {user + "的 iPad", "ios 17.2", "dev-" + user}};
    auto res = Client().Post("/v1/login", sync::EncodeLoginRequest(req), "application/json");
    REQUIRE(res);
    REQUIRE_MESSAGE(res->status == 200, res->body);
    Result<sync::LoginResponse> login = sync::DecodeLoginResponse(res->body);
    REQUIRE(login.ok());
    return login->token;
  }

  std::map<std::string, TableState> State() const { return Snapshot(world.dir.File("server.db")); }
};

inline httplib::Headers Bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

// A 4xx (or other error) with the JSON error body: `code`, a message containing `names`, and the
// server's time.
inline void CheckRefused(const httplib::Result& res, int status, const char* code,
                         const std::string& names = "") {
  REQUIRE(res);
  CHECK(res->status == status);
  CHECK(res->get_header_value("Content-Type") == "application/json");
  Result<sync::ErrorBody> body = sync::DecodeErrorBody(res->body);
  REQUIRE_MESSAGE(body.ok(), res->body);
  CHECK_MESSAGE(body->code == code, res->body);
  CHECK_FALSE(body->message.empty());
  if (!names.empty()) CHECK_MESSAGE(body->message.find(names) != std::string::npos, body->message);
  CHECK(body->server_time_ms > 0);
}

inline nlohmann::json JsonBody(const httplib::Result& res, int status = 200) {
  REQUIRE(res);
  REQUIRE_MESSAGE(res->status == status, res->body);
  return nlohmann::json::parse(res->body);
}

}  // namespace fieldsync::server::testing
