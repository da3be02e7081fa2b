// tests/server/login_rate_limit_test.cc: failed logins are limited per user name and per client
// address (protocol §9.1, rate_limiter.h). Over HTTP against the real server on 127.0.0.1, with
// the limiter on a ManualClock so windows pass without sleeping; plus the limiter on its own for
// what HTTP cannot show deterministically (concurrency, the memory bound).
#include <httplib.h>

#include <atomic>
#include <thread>
#include <vector>

#include "fieldsync/clock.h"
#include "http_server.h"
#include "rate_limiter.h"
#include "server_test_util.h"

namespace fieldsync::server::testing {
namespace {

constexpr int64_t kSecond = 1000000;
constexpr int64_t kWindowS = 15 * 60;

struct LimitedServer {
  World world;
  ManualClock clock{kNowMs * 1000, 1000 * kSecond};
  HttpServer http;
  int port = 0;

  explicit LimitedServer(LoginRateLimits limits = {})
      : http(world.service.get(), Options(limits, &clock)) {
    Result<int> bound = http.Start("127.0.0.1", 0);
    REQUIRE(bound.ok());
    port = *bound;
  }
  ~LimitedServer() { http.Stop(); }

  static HttpServerOptions Options(LoginRateLimits limits, Clock* clock) {
    HttpServerOptions options;
    options.login_limits = limits;
    options.clock = clock;
    return options;
  }

  httplib::Result Login(const std::string& user, const std::string& password) const {
    httplib::Client c("127.0.0.1", port);
    sync::LoginRequest req{user, password, {"张伟的 iPad", "ios 17.2", "dev-" + user}};
    return c.Post("/v1/login", sync::EncodeLoginRequest(req), "application/json");
  }
  int HttpStatus(const std::string& user, const std::string& password) const {
    httplib::Result res = Login(user, password);
    REQUIRE(res);
    return res->status;
  }
};

// A 429 rate_limited with a JSON error body; returns its Retry-After.
int64_t CheckLimited(const httplib::Result& res) {
  REQUIRE(res);
  CHECK(res->status == 429);
  Result<sync::ErrorBody> body = sync::DecodeErrorBody(res->body);
  REQUIRE_MESSAGE(body.ok(), res->body);
  CHECK(body->code == sync::kErrorRateLimited);
  CHECK_FALSE(body->message.empty());
  CHECK(body->server_time_ms == kNowMs);
  REQUIRE(res->get_header_value_count("Retry-After") == 1);
  const std::string retry = res->get_header_value("Retry-After");
  REQUIRE(!retry.empty());
  REQUIRE(retry.find_first_not_of("0123456789") == std::string::npos);
  return std::stoll(retry);
}

TEST_CASE("after 5 wrong passwords even the right one gets 429 until the window passes") {
  LimitedServer server;
  for (int i = 0; i < 5; ++i) CHECK(server.HttpStatus("zhang", "wrong password") == 401);
  CHECK(CheckLimited(server.Login("zhang", kPassword)) == kWindowS);
  CHECK(CheckLimited(server.Login("zhang", "wrong password")) == kWindowS);

  // Refused attempts are not counted: the wait does not grow.
  server.clock.AdvanceMicros((kWindowS - 10) * kSecond);
  CHECK(CheckLimited(server.Login("zhang", kPassword)) == 10);
  server.clock.AdvanceMicros(9 * kSecond + kSecond / 2);
  CHECK(CheckLimited(server.Login("zhang", kPassword)) == 1);  // 0.5 s rounds up, never to 0
  server.clock.AdvanceMicros(kSecond / 2);
  CHECK(server.HttpStatus("zhang", kPassword) == 200);
  // Other users were never affected.
  CHECK(server.HttpStatus("li", kPassword) == 200);
}

TEST_CASE("Retry-After counts from the oldest failure still in the window") {
  LimitedServer server;
  for (int i = 0; i < 5; ++i) {
    CHECK(server.HttpStatus("zhang", "wrong password") == 401);
    server.clock.AdvanceMicros(60 * kSecond);
  }
  // Failures at 0, 60, ..., 240 s; now 300 s: the first leaves the window at 900 s.
  CHECK(CheckLimited(server.Login("zhang", kPassword)) == kWindowS - 300);
  server.clock.AdvanceMicros((kWindowS - 300) * kSecond);
  // One slot is free again, and only one: the next wrong guess fills it.
  CHECK(server.HttpStatus("zhang", "wrong password") == 401);
  CHECK(CheckLimited(server.Login("zhang", kPassword)) == 60);
}

TEST_CASE("another user from the same address is limited after 20 failures from it") {
  LimitedServer server;
  for (const char* user : {"zhang", "li", "wang", "chen"}) {
    for (int i = 0; i < 5; ++i) CHECK(server.HttpStatus(user, "wrong password") == 401);
  }
  // boss has no failures of its own, but the address has 20.
  CHECK(CheckLimited(server.Login("boss", kPassword)) == kWindowS);
  CHECK(CheckLimited(server.Login("nobody", kPassword)) == kWindowS);
  server.clock.AdvanceMicros(kWindowS * kSecond);
  CHECK(server.HttpStatus("boss", kPassword) == 200);
}

TEST_CASE("successful logins do not count against the address") {
  LimitedServer server;
  for (int i = 0; i < 30; ++i) CHECK(server.HttpStatus(i % 2 ? "zhang" : "li", kPassword) == 200);
  CHECK(server.HttpStatus("wang", kPassword) == 200);
}

TEST_CASE("unknown user names are limited exactly like known ones") {
  LimitedServer server;
  std::vector<std::string> known, unknown;
  for (int i = 0; i < 5; ++i) {
    httplib::Result k = server.Login("zhang", "wrong password");
    httplib::Result u = server.Login("nobody", "wrong password");
    REQUIRE(k);
    REQUIRE(u);
    CHECK(k->status == 401);
    CHECK(u->status == 401);
  }
  httplib::Result k = server.Login("zhang", kPassword);
  httplib::Result u = server.Login("nobody", kPassword);
  CHECK(CheckLimited(k) == CheckLimited(u));
  CHECK(nlohmann::json::parse(k->body) == nlohmann::json::parse(u->body));
  server.clock.AdvanceMicros(kWindowS * kSecond);
  CHECK(server.HttpStatus("nobody", kPassword) == 401);
}

TEST_CASE("a successful login resets the user's failure count") {
  LimitedServer server;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 4; ++i) CHECK(server.HttpStatus("zhang", "wrong password") == 401);
    CHECK(server.HttpStatus("zhang", kPassword) == 200);
  }
  // 12 failures in the window, none limited; the address (limit 20) still counts them all.
  for (int i = 0; i < 4; ++i) CHECK(server.HttpStatus("zhang", "wrong password") == 401);
  CHECK(server.HttpStatus("li", "wrong password") == 401);
  CHECK(server.HttpStatus("li", "wrong password") == 401);
  CHECK(server.HttpStatus("li", "wrong password") == 401);
  CHECK(server.HttpStatus("li", "wrong password") == 401);
  CHECK(server.HttpStatus("wang", kPassword) == 429);
}

TEST_CASE("limits are configurable, and 0 turns one off") {
  LoginRateLimits limits;
  limits.failures_per_user = 2;
  limits.failures_per_address = 0;
  limits.window_s = 60;
  LimitedServer server(limits);
  CHECK(server.HttpStatus("zhang", "wrong password") == 401);
  CHECK(server.HttpStatus("zhang", "wrong password") == 401);
  CHECK(CheckLimited(server.Login("zhang", kPassword)) == 60);
  for (const char* user : {"li", "wang", "chen", "boss", "nobody", "x1", "x2", "x3", "x4", "x5"}) {
    CHECK(server.HttpStatus(user, "wrong password") == 401);
    CHECK(server.HttpStatus(user, "wrong password") == 401);
  }
  CHECK(server.HttpStatus("boss", kPassword) == 429);
  CHECK(server.HttpStatus("chen", kPassword) == 429);
  server.clock.AdvanceMicros(60 * kSecond);
  CHECK(server.HttpStatus("zhang", kPassword) == 200);
}

TEST_CASE("concurrent attempts cannot pass the limit before their failures are recorded") {
  ManualClock clock(0, kSecond);
  LoginRateLimiter limiter({}, &clock);
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        LoginRateLimiter::Ticket ticket = limiter.Begin("zhang", "10.0.0.1");
        if (ticket.allowed) ++allowed;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(allowed.load() == 5);
}

TEST_CASE("an outcome that says nothing about the password is not counted") {
  ManualClock clock(0, kSecond);
  LoginRateLimiter limiter({}, &clock);
  for (int i = 0; i < 10; ++i) {
    LoginRateLimiter::Ticket ticket = limiter.Begin("zhang", "10.0.0.1");
    REQUIRE(ticket.allowed);
    limiter.Finish("zhang", "10.0.0.1", ticket, LoginRateLimiter::Outcome::kNotCounted);
  }
  CHECK(limiter.Begin("zhang", "10.0.0.1").allowed);
}

TEST_CASE("the number of tracked keys is bounded, and expired keys make room") {
  ManualClock clock(0, kSecond);
  LoginRateLimits limits;
  limits.failures_per_user = 1;
  limits.failures_per_address = 0;
  limits.max_tracked_keys = 3;
  LoginRateLimiter limiter(limits, &clock);
  for (const char* user : {"a", "b", "c"}) CHECK(limiter.Begin(user, "10.0.0.1").allowed);
  CHECK_FALSE(limiter.Begin("a", "10.0.0.1").allowed);
  // Full: "d" is not tracked, so it is not limited per user.
  CHECK(limiter.Begin("d", "10.0.0.1").allowed);
  CHECK(limiter.Begin("d", "10.0.0.1").allowed);
  clock.AdvanceMicros(kWindowS * kSecond);
  CHECK(limiter.Begin("d", "10.0.0.1").allowed);  // swept the expired keys, then tracked
  CHECK_FALSE(limiter.Begin("d", "10.0.0.1").allowed);
}

}  // namespace
}  // namespace fieldsync::server::testing
