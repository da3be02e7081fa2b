// tests/server/http_bad_request_test.cc: bad requests to /v1/login, /v1/pull and /v1/push from a
// real HTTP client (cpp-httplib) against the real server on 127.0.0.1, beyond what http_test.cc
// covers (the malformed push envelopes, oversized and wrongly encoded pushes, a gzip bomb).
//
// Each bad request must get a 4xx with a JSON body {"code","message","time_ms"}, a message that
// names what was wrong, and must change nothing the server stores: every table of the server's
// SQLite file is counted before and after (tokens and devices included, so a refused login
// leaves no trace either).
#include <httplib.h>
#include <sqlite3.h>

#include <map>
#include <string>
#include <vector>

#include "http_server.h"
#include "server_test_util.h"

namespace fieldsync::server::testing {
namespace {

struct BadRequestServer {
  World world;
  HttpServer http{world.service.get()};
  int port = 0;

  explicit BadRequestServer(ServiceOptions options = {}) : world(std::move(options)) {
    Result<int> bound = http.Start("127.0.0.1", 0);
    REQUIRE(bound.ok());
    port = *bound;
  }
  ~BadRequestServer() { http.Stop(); }

  httplib::Client Client() const { return httplib::Client("127.0.0.1", port); }

  std::string Login(const std::string& user) {
    sync::LoginRequest req{user, kPassword, {user + "的 iPad", "ios 17.2", "dev-" + user}};
    auto res = Client().Post("/v1/login", sync::EncodeLoginRequest(req), "application/json");
    REQUIRE(res);
    REQUIRE(res->status == 200);
    Result<sync::LoginResponse> login = sync::DecodeLoginResponse(res->body);
    REQUIRE(login.ok());
    return login->token;
  }

  // Rows per table of the server's database file, read with a separate read-only connection.
  std::map<std::string, int64_t> Counts() const {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(world.dir.File("server.db").c_str(), &db, SQLITE_OPEN_READONLY,
                            nullptr) == SQLITE_OK);
    std::vector<std::string> tables;
    sqlite3_stmt* list = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table'", -1, &list,
                               nullptr) == SQLITE_OK);
    while (sqlite3_step(list) == SQLITE_ROW) {
      tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(list, 0)));
    }
    sqlite3_finalize(list);
    std::map<std::string, int64_t> counts;
    for (const std::string& table : tables) {
      sqlite3_stmt* count = nullptr;
      // Table names come from sqlite_master, quoted: no input reaches this SQL.
      REQUIRE(sqlite3_prepare_v2(db, ("SELECT count(*) FROM \"" + table + "\"").c_str(), -1, &count,
                                 nullptr) == SQLITE_OK);
      REQUIRE(sqlite3_step(count) == SQLITE_ROW);
      counts[table] = sqlite3_column_int64(count, 0);
      sqlite3_finalize(count);
    }
    sqlite3_close(db);
    REQUIRE(counts.count("feed") == 1);
    REQUIRE(counts.count("records") == 1);
    return counts;
  }
};

httplib::Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

// A 4xx with the JSON error body: `code`, a message containing `names` and the server's time.
void CheckRefused(const httplib::Result& res, int status, const char* code,
                  const std::string& names = "") {
  REQUIRE(res);
  CHECK(res->status == status);
  CHECK(res->get_header_value("Content-Type") == "application/json");
  Result<sync::ErrorBody> body = sync::DecodeErrorBody(res->body);
  REQUIRE_MESSAGE(body.ok(), res->body);
  CHECK(body->code == code);
  CHECK_FALSE(body->message.empty());
  if (!names.empty()) CHECK_MESSAGE(body->message.find(names) != std::string::npos, body->message);
  CHECK(body->server_time_ms > 0);
}

TEST_CASE("malformed, mistyped and oversized logins are 4xx JSON and leave no token or device") {
  ServiceOptions options;
  options.limits.max_request_bytes = 16 * 1024;
  BadRequestServer server(options);
  const auto before = server.Counts();
  auto post = [&](const std::string& body, const char* type = "application/json") {
    return server.Client().Post("/v1/login", body, type);
  };
  const std::string device = R"("device":{"name":"张伟的 iPad","platform":"ios","id":"dev-zhang"})";

  CheckRefused(post(""), 400, sync::kErrorMalformed);
  CheckRefused(post("{\"user\":\"zhang\""), 400, sync::kErrorMalformed);
  CheckRefused(post("[1,2,3]"), 400, sync::kErrorMalformed);
  CheckRefused(post(R"({"user":42,"password":"x",)" + device + "}"), 400, sync::kErrorMalformed,
               "user");
  CheckRefused(post(R"({"user":"zhang","password":["x"],)" + device + "}"), 400,
               sync::kErrorMalformed, "password");
  CheckRefused(post(R"({"user":"zhang","password":"x"})"), 400, sync::kErrorMalformed, "device");
  CheckRefused(post(R"({"user":"zhang","password":"x","device":"dev-zhang"})"), 400,
               sync::kErrorMalformed, "device");
  CheckRefused(post(R"({"user":"zhang","password":"x","admin":true,)" + device + "}"), 400,
               sync::kErrorMalformed, "admin");
  CheckRefused(post(std::string(200, '[') + std::string(200, ']')), 400, sync::kErrorMalformed);
  // Invalid UTF-8 in a string.
  CheckRefused(post("{\"user\":\"zh\xff\xfe\",\"password\":\"x\"," + device + "}"), 400,
               sync::kErrorMalformed);
  CheckRefused(
      post(R"({"user":"zhang","password":")" + std::string(20 * 1024, 'x') + "\"," + device + "}"),
      413, sync::kErrorTooLarge);
  CheckRefused(post(R"({"user":"zhang","password":"x",)" + device + "}", "text/plain"), 415,
               sync::kErrorUnsupportedMedia);
  // The right password in a request with a wrongly typed member is still refused.
  CheckRefused(post(std::string(R"({"user":"zhang","password":")") + kPassword +
                    R"(","device":{"name":1,"platform":"ios","id":"dev-zhang"}})"),
               400, sync::kErrorMalformed, "name");
  CHECK(server.Counts() == before);
}

TEST_CASE("pulls with bad parameters or cursors are 4xx JSON naming the parameter") {
  BadRequestServer server;
  REQUIRE(server.world.service
              ->ApplyPush(
                  server.world.As("zhang"),
                  Push("dev-zhang", {Customer("c-1", "cust-1", "客户", "zhang", HlcAt(kNowMs))}))
              .ok());
  const std::string chen = server.Login("chen");
  const auto before = server.Counts();
  auto get = [&](const std::string& query, httplib::Headers headers) {
    return server.Client().Get("/v1/pull" + query, headers);
  };
  const httplib::Headers auth = Bearer(chen);

  CheckRefused(get("", auth), 400, sync::kErrorMalformed, "schema");
  CheckRefused(get("?schema=", auth), 400, sync::kErrorMalformed, "schema");
  CheckRefused(get("?schema=0", auth), 400, sync::kErrorMalformed, "schema");
  CheckRefused(get("?schema=-1", auth), 400, sync::kErrorMalformed, "schema");
  CheckRefused(get("?schema=one", auth), 400, sync::kErrorMalformed, "schema");
  CheckRefused(get("?schema=1.5", auth), 400, sync::kErrorMalformed, "schema");
  CheckRefused(get("?schema=99999999999999999999", auth), 400, sync::kErrorMalformed, "schema");
  CheckRefused(get("?schema=1&schema=2", auth), 400, sync::kErrorMalformed, "schema");
  CheckRefused(get("?schema=1&limit=0", auth), 400, sync::kErrorMalformed, "limit");
  CheckRefused(get("?schema=1&limit=-5", auth), 400, sync::kErrorMalformed, "limit");
  CheckRefused(get("?schema=1&limit=ten", auth), 400, sync::kErrorMalformed, "limit");
  CheckRefused(get("?schema=1&limit=99999999999", auth), 400, sync::kErrorMalformed, "limit");
  CheckRefused(get("?schema=1&cursor=a&cursor=b", auth), 400, sync::kErrorMalformed, "cursor");
  CheckRefused(get("?schema=1&cursor=not-a-cursor", auth), 400, sync::kErrorBadCursor, "cursor");
  CheckRefused(get("?schema=1&cursor=" + std::string(4000, 'A'), auth), 400, sync::kErrorBadCursor,
               "cursor");
  CheckRefused(get("?schema=1&cursor=%00%ff", auth), 400, sync::kErrorBadCursor, "cursor");
  // Authentication: a missing scheme, another scheme, an empty token.
  CheckRefused(get("?schema=1", {{"Authorization", chen}}), 401, sync::kErrorUnauthenticated);
  CheckRefused(get("?schema=1", {{"Authorization", "Basic " + chen}}), 401,
               sync::kErrorUnauthenticated);
  CheckRefused(get("?schema=1", {{"Authorization", "Bearer "}}), 401, sync::kErrorUnauthenticated);
  CHECK(server.Counts() == before);

  // The same client with good parameters still gets the change.
  auto ok = get("?schema=1&limit=10", auth);
  REQUIRE(ok);
  CHECK(ok->status == 200);
  Result<sync::PullResponse> pulled = sync::DecodePullResponse(ok->body);
  REQUIRE(pulled.ok());
  CHECK(pulled->changes.size() == 1);
}

TEST_CASE("pushes with mistyped changes are 400 JSON naming the member, and store nothing") {
  BadRequestServer server;
  const std::string zhang = server.Login("zhang");
  const auto before = server.Counts();
  auto post = [&](const std::string& changes, const httplib::Headers& headers) {
    return server.Client().Post("/v1/push", headers,
                                R"({"node":"dev-zhang","schema":1,"changes":)" + changes + "}",
                                "application/json");
  };
  const httplib::Headers auth = Bearer(zhang);
  const std::string h = std::to_string(HlcAt(kNowMs));

  CheckRefused(post(R"({"i":"x"})", auth), 400, sync::kErrorMalformed, "changes");
  CheckRefused(post("[42]", auth), 400, sync::kErrorMalformed, "changes[0]");
  CheckRefused(post(R"([{"i":"x","c":7,"r":"r1","h":)" + h + R"(,"f":{}}])", auth), 400,
               sync::kErrorMalformed, "changes[0].c");
  CheckRefused(post(R"([{"i":"x","c":"customers","r":["r1"],"h":)" + h + R"(,"f":{}}])", auth), 400,
               sync::kErrorMalformed, "changes[0].r");
  CheckRefused(post(R"([{"i":"x","c":"customers","r":"r1","h":-1,"f":{}}])", auth), 400,
               sync::kErrorMalformed, "changes[0].h");
  CheckRefused(post(R"([{"i":"x","c":"customers","r":"r1","h":)" + h + R"(,"f":[1]}])", auth), 400,
               sync::kErrorMalformed, "changes[0].f");
  CheckRefused(post(R"([{"i":"x","c":"customers","r":"r1","h":)" + h + R"(,"f":{},"zz":1}])", auth),
               400, sync::kErrorMalformed, "zz");
  // A whole push from a node that is not the token's device.
  CheckRefused(
      server.Client().Post("/v1/push", auth, R"({"node":"dev-li","schema":1,"changes":[]})",
                           "application/json"),
      403, sync::kErrorForbidden, "node");
  // A valid push without a token.
  CheckRefused(server.Client().Post(
                   "/v1/push",
                   sync::EncodePushRequest(Push(
                       "dev-zhang", {Customer("c-1", "cust-1", "客户", "zhang", HlcAt(kNowMs))})),
                   "application/json"),
               401, sync::kErrorUnauthenticated);
  CHECK(server.Counts() == before);
}

// A well-formed change whose values the schema refuses (protocol §3.4: `invalid`, "a value the
// validator refuses") must be refused per change; the others in the batch still apply.
TEST_CASE("a change with values of the wrong type for the schema is refused per change") {
  BadRequestServer server;
  const std::string zhang = server.Login("zhang");
  const auto before = server.Counts();
  struct Bad {
    const char* field;
    nlohmann::json value;
  };
  const Bad bad[] = {
      {"grade", "Z"},                      // not one of A-E
      {"grade", 3},                        // an enum as a number
      {"phones", "13800138000"},           // a repeated field as a string
      {"phones", {"call me maybe"}},       // not a phone number
      {"name", std::string(300, 'x')},     // above max_length 200
      {"website", "javascript:alert(1)"},  // not a URL
      {"phones", {"13800138000"}},         // a phone, but not in the E.164 form tablets store
  };
  std::vector<sync::Change> changes;
  int k = 0;
  for (const Bad& b : bad) {
    changes.push_back(
        Upsert("bad-" + std::to_string(k), "customers", "cust-bad-" + std::to_string(k),
               {{"kind", "company"}, {"name", "客户"}, {"owner_rep", "zhang"}, {b.field, b.value}},
               "dev-zhang", HlcAt(kNowMs)));
    ++k;
  }
  changes.push_back(Customer("good", "cust-good", "好客户", "zhang", HlcAt(kNowMs)));
  auto res =
      server.Client().Post("/v1/push", Bearer(zhang),
                           sync::EncodePushRequest(Push("dev-zhang", changes)), "application/json");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  Result<sync::PushResponse> pushed = sync::DecodePushResponse(res->body);
  REQUIRE(pushed.ok());
  REQUIRE(pushed->results.size() == changes.size());
  for (size_t i = 0; i + 1 < changes.size(); ++i) {
    const std::string field = bad[i].field;
    const std::string value = bad[i].value.dump().substr(0, 40);
    CAPTURE(field);
    CAPTURE(value);
    CHECK(pushed->results[i].status == sync::PushStatus::kRefused);
    CHECK(pushed->results[i].code == sync::kRefusedInvalid);
    CHECK(pushed->results[i].reason.find(bad[i].field) != std::string::npos);
  }
  CHECK(pushed->results.back().status == sync::PushStatus::kApplied);
  auto after = server.Counts();
  CHECK(after["feed"] == before.at("feed") + 1);
  CHECK(after["records"] == before.at("records") + 1);
}

}  // namespace
}  // namespace fieldsync::server::testing
