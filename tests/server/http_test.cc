// tests/server/http_test.cc: the real HTTP server, started in-process on 127.0.0.1 with a free
// port and stopped by RAII even when a check fails; requests through httplib::Client.
#include <httplib.h>

#include "http_server.h"
#include "server_test_util.h"

namespace fieldsync::server::testing {
namespace {

struct RunningServer {
  World world;
  HttpServer http{world.service.get()};
  int port = 0;

  explicit RunningServer(ServiceOptions options = {}) : world(std::move(options)) {
    Result<int> bound = http.Start("127.0.0.1", 0);
    REQUIRE(bound.ok());
    port = *bound;
  }
  ~RunningServer() { http.Stop(); }

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
    REQUIRE(res->status == 200);
    Result<sync::LoginResponse> login = sync::DecodeLoginResponse(res->body);
    REQUIRE(login.ok());
    return login->token;
  }
};

httplib::Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

// Checks an error response: status, JSON body with the code, a message and time_ms.
void CheckError(const httplib::Result& res, int status, const char* code) {
  REQUIRE(res);
  CHECK(res->status == status);
  Result<sync::ErrorBody> body = sync::DecodeErrorBody(res->body);
  REQUIRE_MESSAGE(body.ok(), res->body);
  CHECK(body->code == code);
  CHECK_FALSE(body->message.empty());
  CHECK(body->server_time_ms > 0);
}

uint64_t FeedHigh(World& w) {
  Result<std::unique_ptr<BackendSession>> s = w.backend->OpenSession();
  REQUIRE(s.ok());
  Result<uint64_t> h = s->get()->FeedHighWater(kTenant);
  REQUIRE(h.ok());
  return *h;
}

TEST_CASE("healthz and limits answer JSON with the server time") {
  RunningServer server;
  auto health = server.Client().Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  const auto body = nlohmann::json::parse(health->body);
  CHECK(body["status"] == "ok");
  CHECK(body["time_ms"] == kNowMs);
  CHECK(health->get_header_value("Content-Type") == "application/json");
  auto limits = server.Client().Get("/v1/limits");
  REQUIRE(limits);
  Result<sync::LimitsResponse> decoded = sync::DecodeLimitsResponse(limits->body);
  REQUIRE(decoded.ok());
  CHECK(decoded->limits.max_batch_changes == 1000);
  CheckError(server.Client().Get("/nope"), 404, sync::kErrorNotFound);
  CheckError(server.Client().Get("/v1/push"), 405, sync::kErrorMethodNotAllowed);
}

TEST_CASE("login succeeds with the right password and fails alike for wrong password or user") {
  RunningServer server;
  auto ok = server.Client().Post(
      "/v1/login",
      sync::EncodeLoginRequest({"zhang", kPassword, {"张伟的 iPad", "ios 17.2", "dev-zhang"}}),
      "application/json");
  REQUIRE(ok);
  CHECK(ok->status == 200);
  Result<sync::LoginResponse> login = sync::DecodeLoginResponse(ok->body);
  REQUIRE(login.ok());
  CHECK(login->token.size() == 43);
  CHECK(login->user.id == "zhang");
  CHECK(login->user.role == sync::Role::kRep);
  CHECK(login->user.teams == std::vector<std::string>{"east1"});
  CHECK(login->server_time_ms == kNowMs);

  auto wrong = server.Client().Post(
      "/v1/login", sync::EncodeLoginRequest({"zhang", "wrong password", {"x", "y", "dev-zhang"}}),
      "application/json");
  CheckError(wrong, 401, sync::kErrorUnauthenticated);
  auto unknown = server.Client().Post(
      "/v1/login", sync::EncodeLoginRequest({"nobody", kPassword, {"x", "y", "dev-zhang"}}),
      "application/json");
  CheckError(unknown, 401, sync::kErrorUnauthenticated);
  CHECK(nlohmann::json::parse(wrong->body)["message"] ==
        nlohmann::json::parse(unknown->body)["message"]);

  CheckError(server.Client().Get("/v1/pull?schema=1"), 401, sync::kErrorUnauthenticated);
  CheckError(server.Client().Get("/v1/pull?schema=1", Bearer("not-a-token")), 401,
             sync::kErrorUnauthenticated);
}

TEST_CASE("push then pull over HTTP round-trips Chinese data, and a replay is a duplicate") {
  RunningServer server;
  const std::string zhang = server.Login("zhang");
  const std::string chen = server.Login("chen");
  sync::Change c = Customer("c-1", "cust-1", "北京华夏电子有限公司", "zhang", HlcAt(kNowMs));
  c.fields["address"].value = "北京市海淀区中关村大街1号";
  const std::string body = sync::EncodePushRequest(Push("dev-zhang", {c}));
  auto pushed = server.Client().Post("/v1/push", Bearer(zhang), body, "application/json");
  REQUIRE(pushed);
  REQUIRE(pushed->status == 200);
  Result<sync::PushResponse> result = sync::DecodePushResponse(pushed->body);
  REQUIRE(result.ok());
  CHECK(result->results[0].status == sync::PushStatus::kApplied);
  CHECK(result->server_time_ms == kNowMs);

  auto replay = server.Client().Post("/v1/push", Bearer(zhang), body, "application/json");
  REQUIRE(replay);
  Result<sync::PushResponse> replayed = sync::DecodePushResponse(replay->body);
  REQUIRE(replayed.ok());
  CHECK(replayed->results[0].status == sync::PushStatus::kDuplicate);
  CHECK(FeedHigh(server.world) == 1);

  auto pulled = server.Client().Get("/v1/pull?schema=1", Bearer(chen));
  REQUIRE(pulled);
  REQUIRE(pulled->status == 200);
  Result<sync::PullResponse> pull = sync::DecodePullResponse(pulled->body);
  REQUIRE(pull.ok());
  REQUIRE(pull->changes.size() == 1);
  CHECK(pull->changes[0].fields.at("name").value == "北京华夏电子有限公司");
  CHECK(pull->changes[0].fields.at("address").value == "北京市海淀区中关村大街1号");
  CHECK(pull->changes[0].author == "zhang");
  CHECK(pull->next_cursor.size() == 44);

  auto again = server.Client().Get("/v1/pull?schema=1&cursor=" + pull->next_cursor, Bearer(chen));
  REQUIRE(again);
  Result<sync::PullResponse> empty = sync::DecodePullResponse(again->body);
  REQUIRE(empty.ok());
  CHECK(empty->changes.empty());

  // zhang's own device gets no echo; wang (other team) sees nothing.
  const std::string wang = server.Login("wang");
  auto other = server.Client().Get("/v1/pull?schema=1", Bearer(wang));
  REQUIRE(other);
  CHECK(sync::DecodePullResponse(other->body)->changes.empty());
  CheckError(server.Client().Get("/v1/pull?schema=1&cursor=" + pull->next_cursor, Bearer(wang)),
             400, sync::kErrorBadCursor);
}

TEST_CASE("a push refused per change over HTTP names the reason") {
  RunningServer server;
  REQUIRE(server.world.service
              ->ApplyPush(
                  server.world.As("wang"),
                  Push("dev-wang", {Customer("w-1", "cust-w", "王的客户", "wang", HlcAt(kNowMs))}))
              .ok());
  const std::string zhang = server.Login("zhang");
  auto res = server.Client().Post(
      "/v1/push", Bearer(zhang),
      sync::EncodePushRequest(Push(
          "dev-zhang",
          {Upsert("z-1", "customers", "cust-w", {{"grade", "A"}}, "dev-zhang", HlcAt(kNowMs))})),
      "application/json");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  Result<sync::PushResponse> r = sync::DecodePushResponse(res->body);
  REQUIRE(r.ok());
  CHECK(r->results[0].status == sync::PushStatus::kRefused);
  CHECK(r->results[0].code == "forbidden");
  CHECK(r->results[0].reason.find("cust-w") != std::string::npos);
}

TEST_CASE(
    "malformed, mistyped, oversized and wrongly encoded pushes are 4xx JSON and store nothing") {
  ServiceOptions options;
  options.limits.max_request_bytes = 64 * 1024;
  options.limits.max_response_bytes = 64 * 1024;
  options.limits.max_batch_changes = 5;
  RunningServer server(options);
  const std::string zhang = server.Login("zhang");
  auto post = [&](const std::string& body, const char* type = "application/json",
                  httplib::Headers extra = {}) {
    httplib::Headers h = Bearer(zhang);
    for (auto& kv : extra) h.insert(kv);
    return server.Client().Post("/v1/push", h, body, type);
  };

  CheckError(post("{not json"), 400, sync::kErrorMalformed);
  CheckError(post(R"({"node":"dev-zhang","schema":"1","changes":[]})"), 400, sync::kErrorMalformed);
  CheckError(post(R"({"node":"dev-zhang","schema":1,"changes":[{"i":"x","c":"customers",)"
                  R"("r":"r1","h":"notanumber","f":{}}]})"),
             400, sync::kErrorMalformed);
  CheckError(post(R"({"node":"dev-zhang","schema":1,"changes":[],"extra":1})"), 400,
             sync::kErrorMalformed);
  CheckError(post(std::string(70 * 1024, ' ')), 413, sync::kErrorTooLarge);
  CheckError(post(R"({"node":"dev-zhang","schema":1,"changes":[]})", "text/plain"), 415,
             sync::kErrorUnsupportedMedia);
  CheckError(post(R"({"node":"dev-zhang","schema":1,"changes":[]})", "application/json",
                  {{"Content-Encoding", "compress"}}),
             415, sync::kErrorUnsupportedMedia);
  std::vector<sync::Change> six;
  for (int i = 0; i < 6; ++i) {
    six.push_back(Customer("c-" + std::to_string(i), "cust-" + std::to_string(i), "客户", "zhang",
                           HlcAt(kNowMs)));
  }
  CheckError(post(sync::EncodePushRequest(Push("dev-zhang", six))), 413, sync::kErrorTooLarge);

  // A gzip bomb: small on the wire, far above the limit once inflated.
  Result<std::string> bomb = sync::Gzip(std::string(1 << 20, ' '));
  REQUIRE(bomb.ok());
  CHECK(bomb->size() < 64 * 1024);
  CheckError(post(*bomb, "application/json", {{"Content-Encoding", "gzip"}}), 413,
             sync::kErrorTooLarge);
  CHECK(FeedHigh(server.world) == 0);

  // A gzipped valid push is accepted.
  Result<std::string> gz = sync::Gzip(sync::EncodePushRequest(
      Push("dev-zhang", {Customer("c-9", "cust-9", "压缩的客户", "zhang", HlcAt(kNowMs))})));
  REQUIRE(gz.ok());
  auto ok = post(*gz, "application/json", {{"Content-Encoding", "gzip"}});
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(FeedHigh(server.world) == 1);
}

TEST_CASE("large pull responses are gzipped when the client accepts it, small ones are not") {
  RunningServer server;
  std::vector<sync::Change> many;
  for (int i = 0; i < 40; ++i) {
    many.push_back(Customer("c-" + std::to_string(i), "cust-" + std::to_string(i),
                            "上海客户" + std::to_string(i), "zhang", HlcAt(kNowMs) + i));
  }
  REQUIRE(server.world.service->ApplyPush(server.world.As("zhang"), Push("dev-zhang", many)).ok());
  const std::string chen = server.Login("chen");
  httplib::Client raw("127.0.0.1", server.port);
  raw.set_decompress(false);
  httplib::Headers h = Bearer(chen);
  h.emplace("Accept-Encoding", "gzip");
  auto big = raw.Get("/v1/pull?schema=1", h);
  REQUIRE(big);
  CHECK(big->status == 200);
  CHECK(big->get_header_value("Content-Encoding") == "gzip");
  Result<std::string> inflated = sync::Gunzip(big->body, 1 << 20);
  REQUIRE(inflated.ok());
  CHECK(sync::DecodePullResponse(*inflated)->changes.size() == 40);
  auto small = raw.Get("/healthz", {{"Accept-Encoding", "gzip"}});
  REQUIRE(small);
  CHECK_FALSE(small->has_header("Content-Encoding"));
  CHECK(nlohmann::json::parse(small->body)["status"] == "ok");
}

}  // namespace
}  // namespace fieldsync::server::testing
