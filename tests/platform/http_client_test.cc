// Tests for fieldsync/http_client.h: the HTTP-date and Retry-After parsers, and the libcurl client
// against real cpp-httplib servers (HTTP and HTTPS) on 127.0.0.1. Nothing leaves the machine: every
// client is built with proxy "" so an http_proxy in the environment cannot divert the requests.
// The HTTPS server uses a self-signed certificate generated here with OpenSSL.
#include "fieldsync/http_client.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fieldsync/clock.h"
#include "fieldsync/status.h"
#include "tls_material.h"

namespace fieldsync {
namespace {

// ---------------------------------------------------------------------------------------------
// Fixtures.

// An httplib server on 127.0.0.1 and a free port, run in its own thread and stopped by the
// destructor even when a REQUIRE has thrown. Register routes before Start().
class TestServer {
 public:
  explicit TestServer(std::unique_ptr<httplib::Server> server = std::make_unique<httplib::Server>(),
                      std::string scheme = "http")
      : server_(std::move(server)), scheme_(std::move(scheme)) {}
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  ~TestServer() {
    if (!thread_.joinable()) return;
    // stop() is a no-op until the listen loop has marked itself running, so repeat it until the
    // thread has left the loop rather than risk a join that never returns.
    while (!done_.load()) {
      server_->stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    thread_.join();
  }

  httplib::Server& routes() { return *server_; }

  // True once the server accepts connections. cpp-httplib 0.11.4 has no wait_until_ready().
  bool Start() {
    port_ = server_->bind_to_any_port("127.0.0.1");
    if (port_ <= 0) return false;
    thread_ = std::thread([this] {
      server_->listen_after_bind();
      done_.store(true);
    });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!server_->is_running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return server_->is_running();
  }

  int port() const { return port_; }
  std::string Url(const std::string& path, const std::string& host = "127.0.0.1") const {
    return scheme_ + "://" + host + ":" + std::to_string(port_) + path;
  }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::string scheme_;
  int port_ = -1;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// Options for talking to the local servers only.
HttpClientOptions LocalOptions() {
  HttpClientOptions options;
  options.proxy = "";
  return options;
}

HttpRequest Get(const std::string& url) {
  HttpRequest request;
  request.url = url;
  return request;
}

// Bytes of one header field on the wire: "Name: value\r\n".
uint64_t FieldBytes(const std::string& name, const std::string& value) {
  return name.size() + 2 + value.size() + 2;
}

// The request headers a handler saw, minus the pseudo-headers cpp-httplib adds for the peer.
std::map<std::string, std::string> WireHeaders(const httplib::Request& req) {
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : req.headers) {
    if (name == "REMOTE_ADDR" || name == "REMOTE_PORT" || name == "LOCAL_ADDR" ||
        name == "LOCAL_PORT") {
      continue;
    }
    out[name] = value;
  }
  return out;
}

// What bytes_received must be for a response with a Content-Length: status line, fields, blank
// line, body as sent.
uint64_t ExpectedResponseBytes(const HttpResponse& response, const std::string& status_line) {
  uint64_t n = status_line.size() + 2;
  for (const auto& [name, value] : response.headers.fields()) n += FieldBytes(name, value);
  n += 2;
  n += std::stoull(response.headers.Get("Content-Length", "0"));
  return n;
}

// A port on 127.0.0.1 that refuses connections: bound (so nobody else takes it) but not listening.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
    }
  }
  ~RefusingPort() {
    if (fd_ >= 0) close(fd_);
  }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "fieldsync_http_XXXXXX").string();
    if (mkdtemp(templ.data()) != nullptr) path_ = templ;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

using testing::TlsMaterial;

// An HTTPS server with TlsMaterial's certificate, answering GET /hello.
struct TlsServer {
  TlsMaterial tls;
  std::unique_ptr<TestServer> server;
  bool ok = false;

  TlsServer() {
    if (!tls.ok) return;
    auto ssl = std::make_unique<httplib::SSLServer>(tls.cert_path.c_str(), tls.key_path.c_str());
    if (!ssl->is_valid()) return;
    ssl->Get("/hello", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("{\"greeting\":\"你好\"}", "application/json");
    });
    server = std::make_unique<TestServer>(std::move(ssl), "https");
    ok = server->Start();
  }
};

// ---------------------------------------------------------------------------------------------
// Headers and parsers.

TEST_CASE("HTTP headers are found by name whatever its case, in order, first match wins") {
  HttpHeaders headers;
  headers.Add("Content-Type", "application/json");
  headers.Add("Set-Cookie", "a=1");
  headers.Add("set-cookie", "b=2");
  REQUIRE(headers.Find("content-type") != nullptr);
  CHECK(*headers.Find("CONTENT-TYPE") == "application/json");
  CHECK(headers.Get("SET-COOKIE") == "a=1");
  CHECK(headers.size() == 3);
  CHECK(headers.fields()[2].first == "set-cookie");
  CHECK_FALSE(headers.Has("Content-Length"));
  CHECK(headers.Get("Content-Length", "none") == "none");
  CHECK_FALSE(HttpHeaders::EqualsIgnoreCase("Date", "Dates"));
}

TEST_CASE("HTTP-date parsing accepts exactly the three RFC 9110 forms") {
  // RFC 9110's own example, in its three forms: 1994-11-06T08:49:37Z.
  CHECK(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777);
  CHECK(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT") == 784111777);
  CHECK(ParseHttpDate("Sun Nov  6 08:49:37 1994") == 784111777);
  CHECK(ParseHttpDate("Thu, 01 Jan 1970 00:00:00 GMT") == 0);
  CHECK(ParseHttpDate("Wed, 21 Oct 2015 07:28:00 GMT") == 1445412480);
  CHECK(ParseHttpDate("Fri, 01 Jan 2100 00:00:00 GMT") == 4102444800);  // past 2038
  CHECK(ParseHttpDate("Tue, 29 Feb 2000 00:00:00 GMT").has_value());    // 2000 is a leap year
  CHECK(ParseHttpDate("Monday, 01-Jan-01 00:00:00 GMT") == 978307200);  // 2-digit year: 2001

  CHECK_FALSE(ParseHttpDate("").has_value());
  CHECK_FALSE(ParseHttpDate("Thu, 29 Feb 1900 00:00:00 GMT").has_value());  // 1900 is not
  CHECK_FALSE(ParseHttpDate("Sun, 31 Nov 1994 08:49:37 GMT").has_value());
  CHECK_FALSE(ParseHttpDate("Sun, 06 Nov 1994 24:00:00 GMT").has_value());
  CHECK_FALSE(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 UTC").has_value());
  CHECK_FALSE(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT trailing").has_value());
  CHECK_FALSE(ParseHttpDate("sun, 06 nov 1994 08:49:37 GMT").has_value());
  CHECK_FALSE(ParseHttpDate("1994-11-06T08:49:37Z").has_value());
}

TEST_CASE("HTTP Retry-After parses delta-seconds and HTTP-dates against now") {
  CHECK(ParseRetryAfter("120", 0) == 120);
  CHECK(ParseRetryAfter(" 7\t", 0) == 7);
  CHECK(ParseRetryAfter("0", 0) == 0);
  CHECK(ParseRetryAfter("99999999999999999999999", 0) == (int64_t{1} << 31));
  const int64_t date = 1445412480;  // Wed, 21 Oct 2015 07:28:00 GMT
  CHECK(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", date - 30) == 30);
  CHECK(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", date + 30) == 0);  // already past
  CHECK_FALSE(ParseRetryAfter("", 0).has_value());
  CHECK_FALSE(ParseRetryAfter("-5", 0).has_value());
  CHECK_FALSE(ParseRetryAfter("1.5", 0).has_value());
  CHECK_FALSE(ParseRetryAfter("soon", 0).has_value());
}

// ---------------------------------------------------------------------------------------------
// Plain HTTP.

TEST_CASE("HTTP GET and POST round-trip Chinese UTF-8 bodies and headers") {
  const std::string greeting = "{\"name\":\"张伟\",\"city\":\"北京市朝阳区\"}";
  TestServer server;
  server.routes().Get("/hello", [&](const httplib::Request&, httplib::Response& res) {
    res.set_header("X-Reply", "hello-header");
    res.set_content(greeting, "application/json");
  });
  auto echo = [](const httplib::Request& req, httplib::Response& res) {
    res.set_header("X-Method", req.method);
    res.set_header("X-Authorization", req.get_header_value("Authorization"));
    res.set_header("X-Content-Type", req.get_header_value("Content-Type"));
    res.set_content(req.body, "application/json; charset=utf-8");
  };
  server.routes().Post("/echo", echo);
  server.routes().Put("/echo", echo);
  REQUIRE(server.Start());
  std::unique_ptr<HttpClient> client = NewCurlHttpClient(LocalOptions());

  Result<HttpResponse> got = client->Send(Get(server.Url("/hello")));
  REQUIRE(got.ok());
  CHECK(got->status == 200);
  CHECK(got->body == greeting);
  CHECK(got->headers.Get("x-reply") == "hello-header");
  CHECK(got->headers.Get("CONTENT-TYPE") == "application/json");

  for (const char* method : {"POST", "PUT"}) {
    CAPTURE(method);
    HttpRequest post;
    post.method = method;
    post.url = server.Url("/echo");
    post.headers.Add("Authorization", "Bearer t0ken");
    post.headers.Add("Content-Type", "application/json");
    post.body = "{\"tags\":{\"add\":[\"高价值\"]},\"notes\":\"客户要求下周回访 😀\"}";
    Result<HttpResponse> posted = client->Send(post);
    REQUIRE(posted.ok());
    CHECK(posted->status == 200);
    CHECK(posted->body == post.body);
    CHECK(posted->headers.Get("X-Method") == method);
    CHECK(posted->headers.Get("X-Authorization") == "Bearer t0ken");
    CHECK(posted->headers.Get("X-Content-Type") == "application/json");
    CHECK_FALSE(posted->retry_after_s.has_value());
  }
}

TEST_CASE("HTTP client sends only the caller's headers and counts the wire bytes exactly") {
  std::mutex mu;
  std::map<std::string, std::string> seen;  // GUARDED_BY(mu)
  TestServer server;
  auto record = [&](const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard<std::mutex> lock(mu);
      seen = WireHeaders(req);
    }
    // Not a compressible type, so cpp-httplib sends it as is and Content-Length is the body's.
    res.set_content(std::string(300, 'r'), "application/octet-stream");
  };
  server.routes().Post("/record", record);
  server.routes().Get("/record", record);
  REQUIRE(server.Start());
  auto names = [&] {
    std::lock_guard<std::mutex> lock(mu);
    std::set<std::string> out;
    for (const auto& field : seen) out.insert(field.first);
    return out;
  };

  SUBCASE("a POST carries Host, Content-Length, Accept-Encoding and the caller's, no more") {
    std::unique_ptr<HttpClient> client = NewCurlHttpClient(LocalOptions());
    HttpRequest post;
    post.method = "POST";
    post.url = server.Url("/record");
    post.headers.Add("Authorization", "Bearer 0123456789abcdef");
    post.headers.Add("Content-Type", "application/json");
    post.body = std::string(2000, 'b');  // above the size where libcurl would send Expect
    Result<HttpResponse> r = client->Send(post);
    REQUIRE(r.ok());
    REQUIRE(r->status == 200);
    CHECK(names() == std::set<std::string>{"Accept-Encoding", "Authorization", "Content-Length",
                                           "Content-Type", "Host"});
    uint64_t expected_sent = std::string("POST /record HTTP/1.1\r\n").size() + 2 + post.body.size();
    {
      std::lock_guard<std::mutex> lock(mu);
      CHECK(seen["Accept-Encoding"] == "gzip");
      for (const auto& [name, value] : seen) expected_sent += FieldBytes(name, value);
    }
    CHECK(r->bytes_sent == expected_sent);
    CHECK(r->bytes_received == ExpectedResponseBytes(*r, "HTTP/1.1 200 OK"));
  }

  SUBCASE("a GET carries no Content-Type and no Content-Length; User-Agent only if configured") {
    HttpClientOptions options = LocalOptions();
    options.user_agent = "fieldsync-test/1";
    options.accept_gzip = false;
    std::unique_ptr<HttpClient> client = NewCurlHttpClient(options);
    Result<HttpResponse> r = client->Send(Get(server.Url("/record?cursor=abc")));
    REQUIRE(r.ok());
    CHECK(names() == std::set<std::string>{"Host", "User-Agent"});
    uint64_t expected_sent = std::string("GET /record?cursor=abc HTTP/1.1\r\n").size() + 2;
    {
      std::lock_guard<std::mutex> lock(mu);
      for (const auto& [name, value] : seen) expected_sent += FieldBytes(name, value);
    }
    CHECK(r->bytes_sent == expected_sent);
    CHECK(r->bytes_received == ExpectedResponseBytes(*r, "HTTP/1.1 200 OK"));
  }
}

TEST_CASE("HTTP 413, 429 and 503 are responses, not errors, with Retry-After parsed") {
  TestServer server;
  server.routes().Post("/v1/push", [](const httplib::Request&, httplib::Response& res) {
    res.status = 413;
    res.set_content("{\"code\":\"too_large\",\"message\":\"请求过大\",\"time_ms\":1}",
                    "application/json");
  });
  server.routes().Get("/limited", [](const httplib::Request&, httplib::Response& res) {
    res.status = 429;
    res.set_header("Retry-After", "7");
    res.set_content("{\"code\":\"rate_limited\"}", "application/json");
  });
  server.routes().Get("/down", [](const httplib::Request&, httplib::Response& res) {
    res.status = 503;
    res.set_header("Date", "Wed, 21 Oct 2015 07:28:00 GMT");
    res.set_header("Retry-After", "Wed, 21 Oct 2015 07:28:45 GMT");
    res.set_content("{\"code\":\"unavailable\"}", "application/json");
  });
  server.routes().Get("/down-no-date", [](const httplib::Request&, httplib::Response& res) {
    res.status = 503;
    res.set_header("Retry-After", "Wed, 21 Oct 2015 07:28:45 GMT");
  });
  REQUIRE(server.Start());
  ManualClock clock(int64_t{1445412480 + 35} * 1000000);  // 10 s before the Retry-After date
  HttpClientOptions options = LocalOptions();
  options.clock = &clock;
  std::unique_ptr<HttpClient> client = NewCurlHttpClient(options);

  HttpRequest push;
  push.method = "POST";
  push.url = server.Url("/v1/push");
  push.body = "{}";
  Result<HttpResponse> too_large = client->Send(push);
  REQUIRE(too_large.ok());
  CHECK(too_large->status == 413);
  CHECK(too_large->body.find("too_large") != std::string::npos);
  CHECK_FALSE(too_large->retry_after_s.has_value());

  Result<HttpResponse> limited = client->Send(Get(server.Url("/limited")));
  REQUIRE(limited.ok());
  CHECK(limited->status == 429);
  CHECK(limited->retry_after_s == 7);

  // Measured against the response's Date, not the device clock (which is 35 s later here).
  Result<HttpResponse> down = client->Send(Get(server.Url("/down")));
  REQUIRE(down.ok());
  CHECK(down->status == 503);
  CHECK(down->retry_after_s == 45);
  CHECK(down->server_time_ms == int64_t{1445412480} * 1000);

  // Without a Date, against the client's clock.
  Result<HttpResponse> no_date = client->Send(Get(server.Url("/down-no-date")));
  REQUIRE(no_date.ok());
  CHECK(no_date->status == 503);
  CHECK(no_date->retry_after_s == 10);
  CHECK_FALSE(no_date->server_time_ms.has_value());
}

TEST_CASE("HTTP gzip response is decoded and counted at its compressed wire size") {
  std::string json = "{\"changes\":[";
  for (int i = 0; i < 500; ++i) {
    json += "{\"c\":\"customers\",\"f\":{\"address\":\"上海市浦东新区世纪大道100号\"}},";
  }
  json += "{}]}";
  TestServer server;
  server.routes().Get("/v1/pull", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(json, "application/json");  // cpp-httplib gzips it when the client accepts
  });
  REQUIRE(server.Start());

  std::unique_ptr<HttpClient> client = NewCurlHttpClient(LocalOptions());
  Result<HttpResponse> r = client->Send(Get(server.Url("/v1/pull")));
  REQUIRE(r.ok());
  CHECK(r->headers.Get("Content-Encoding") == "gzip");
  CHECK(r->body == json);
  CHECK(r->bytes_received < json.size() / 10);
  CHECK(r->bytes_received == ExpectedResponseBytes(*r, "HTTP/1.1 200 OK"));

  HttpClientOptions identity = LocalOptions();
  identity.accept_gzip = false;
  Result<HttpResponse> plain = NewCurlHttpClient(identity)->Send(Get(server.Url("/v1/pull")));
  REQUIRE(plain.ok());
  CHECK_FALSE(plain->headers.Has("Content-Encoding"));
  CHECK(plain->body == json);
  CHECK(plain->bytes_received > json.size());
}

TEST_CASE("HTTP response body beyond max_response_bytes is refused, even a small gzip bomb") {
  TestServer server;
  server.routes().Get("/blob", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(100000, 'x'), "application/octet-stream");
  });
  server.routes().Get("/bomb", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(4 * 1024 * 1024, '0'), "application/json");  // gzips to ~4 KiB
  });
  REQUIRE(server.Start());
  HttpClientOptions options = LocalOptions();
  options.max_response_bytes = 1000;
  std::unique_ptr<HttpClient> client = NewCurlHttpClient(options);

  Result<HttpResponse> blob = client->Send(Get(server.Url("/blob")));
  REQUIRE_FALSE(blob.ok());
  CHECK(blob.status().code() == StatusCode::kInvalidArgument);
  CHECK(blob.status().message().find("exceeds 1000 bytes") != std::string::npos);

  // The per-request cap overrides the client's; a body of exactly the cap fits.
  HttpRequest exact = Get(server.Url("/blob"));
  exact.max_response_bytes = 100000;
  Result<HttpResponse> fits = client->Send(exact);
  REQUIRE(fits.ok());
  CHECK(fits->body.size() == 100000);

  HttpRequest bomb = Get(server.Url("/bomb"));
  bomb.max_response_bytes = 64 * 1024;
  Result<HttpResponse> refused = client->Send(bomb);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == StatusCode::kInvalidArgument);

  // The client still works after an aborted transfer.
  CHECK(client->Send(exact).ok());
}

TEST_CASE("HTTP timeout is Unavailable") {
  std::atomic<bool> release{false};
  TestServer server;
  server.routes().Get("/slow", [&](const httplib::Request&, httplib::Response& res) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!release.load() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    res.set_content("late", "text/plain");
  });
  REQUIRE(server.Start());
  std::unique_ptr<HttpClient> client = NewCurlHttpClient(LocalOptions());
  HttpRequest request = Get(server.Url("/slow"));
  request.timeout_ms = 200;
  const auto start = std::chrono::steady_clock::now();
  Result<HttpResponse> r = client->Send(request);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  release.store(true);  // before any REQUIRE can throw, so the server stops promptly
  CHECK_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kUnavailable);
  CHECK(elapsed < std::chrono::seconds(3));
  CHECK(r.status().message().find("127.0.0.1") != std::string::npos);
}

// A server on 127.0.0.1 that answers one connection with `reply`, byte for byte, and closes it:
// for responses cpp-httplib would never send, such as one cut short.
class RawReplyServer {
 public:
  explicit RawReplyServer(std::string reply) : reply_(std::move(reply)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        listen(fd_, 1) != 0 || getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      return;
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      const int conn = accept(fd_, nullptr, nullptr);
      if (conn < 0) return;
      std::string request;
      char buf[1024];
      while (request.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = read(conn, buf, sizeof(buf));
        if (n <= 0) break;
        request.append(buf, static_cast<size_t>(n));
      }
      (void)!write(conn, reply_.data(), reply_.size());
      close(conn);
    });
  }
  ~RawReplyServer() {
    if (fd_ >= 0) shutdown(fd_, SHUT_RDWR);  // ends an accept() nobody connected to
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) close(fd_);
  }
  RawReplyServer(const RawReplyServer&) = delete;
  RawReplyServer& operator=(const RawReplyServer&) = delete;
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  bool ok() const { return port_ > 0; }

 private:
  std::string reply_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

TEST_CASE("HTTP response cut inside its headers or its body is Unavailable, never a 200") {
  const std::string headers = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n";
  struct Case {
    const char* what;
    std::string reply;
  };
  for (const Case& c : {
           Case{"cut after the status line", "HTTP/1.1 200 OK\r\n"},
           Case{"cut after a header field", headers},
           Case{"cut inside a header field", headers + "Content-Len"},
           Case{"cut inside the body", headers + "Content-Length: 20\r\n\r\n{\"ok\":"},
       }) {
    INFO(std::string(c.what));
    RawReplyServer server(c.reply);
    REQUIRE(server.ok());
    std::unique_ptr<HttpClient> client = NewCurlHttpClient(LocalOptions());
    Result<HttpResponse> r = client->Send(Get(server.Url("/v1/pull")));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kUnavailable);
    CHECK(r.status().message().find("127.0.0.1") != std::string::npos);
  }
  // The control: the same server shape with a whole response is a response.
  RawReplyServer whole(headers + "Content-Length: 2\r\n\r\n{}");
  REQUIRE(whole.ok());
  std::unique_ptr<HttpClient> client = NewCurlHttpClient(LocalOptions());
  Result<HttpResponse> r = client->Send(Get(whole.Url("/v1/pull")));
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CHECK(r->status == 200);
  CHECK(r->body == "{}");
}

TEST_CASE("HTTP connection refused is Unavailable") {
  RefusingPort port;
  REQUIRE(port.port() > 0);
  std::unique_ptr<HttpClient> client = NewCurlHttpClient(LocalOptions());
  Result<HttpResponse> r =
      client->Send(Get("http://127.0.0.1:" + std::to_string(port.port()) + "/healthz"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kUnavailable);
  CHECK(r.status().message().find("127.0.0.1:" + std::to_string(port.port())) != std::string::npos);
}

TEST_CASE("HTTP requests that cannot be sent as given are InvalidArgument, secrets not echoed") {
  std::unique_ptr<HttpClient> client = NewCurlHttpClient(LocalOptions());
  auto code_of = [&](const HttpRequest& request) { return client->Send(request).status().code(); };

  CHECK(code_of(Get("http://[::1")) == StatusCode::kInvalidArgument);
  CHECK(code_of(Get("ftp://127.0.0.1/file")) == StatusCode::kInvalidArgument);
  CHECK(code_of(Get("file:///etc/passwd")) == StatusCode::kInvalidArgument);

  HttpRequest get_with_body = Get("http://127.0.0.1:1/");
  get_with_body.body = "x";
  CHECK(code_of(get_with_body) == StatusCode::kInvalidArgument);

  HttpRequest bad_method = Get("http://127.0.0.1:1/");
  bad_method.method = "GE T";
  CHECK(code_of(bad_method) == StatusCode::kInvalidArgument);

  HttpRequest bad_name = Get("http://127.0.0.1:1/");
  bad_name.headers.Add("X Bad", "v");
  CHECK(code_of(bad_name) == StatusCode::kInvalidArgument);

  HttpRequest injected = Get("http://127.0.0.1:1/");
  injected.headers.Add("Authorization", "Bearer SECRET-TOKEN\r\nX-Evil: 1");
  Result<HttpResponse> r = client->Send(injected);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  CHECK(r.status().message().find("SECRET") == std::string::npos);
}

TEST_CASE("HTTP sequential requests reuse one connection") {
  std::mutex mu;
  std::set<int> client_ports;  // GUARDED_BY(mu)
  TestServer server;
  server.routes().Get("/healthz", [&](const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard<std::mutex> lock(mu);
      client_ports.insert(req.remote_port);
    }
    res.set_content("{\"status\":\"ok\"}", "application/json");
  });
  REQUIRE(server.Start());
  std::unique_ptr<HttpClient> client = NewCurlHttpClient(LocalOptions());
  for (int i = 0; i < 3; ++i) {
    Result<HttpResponse> r = client->Send(Get(server.Url("/healthz")));
    REQUIRE(r.ok());
    CHECK(r->status == 200);
  }
  std::lock_guard<std::mutex> lock(mu);
  CHECK(client_ports.size() == 1);
}

TEST_CASE("HTTP client is safe for concurrent use from several threads") {
  TestServer server;
  server.routes().Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
    res.set_header("X-Thread", req.get_header_value("X-Thread"));
    res.set_content(req.body, "text/plain");
  });
  REQUIRE(server.Start());
  std::unique_ptr<HttpClient> client = NewCurlHttpClient(LocalOptions());
  constexpr int kThreads = 4;
  constexpr int kRequestsEach = 25;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRequestsEach; ++i) {
        HttpRequest request;
        request.method = "POST";
        request.url = server.Url("/echo");
        request.headers.Add("X-Thread", std::to_string(t));
        request.body = "线程 " + std::to_string(t) + " 请求 " + std::to_string(i);
        Result<HttpResponse> r = client->Send(request);
        // Assertions stay on the main thread; here only count the answers that are right.
        if (r.ok() && r->status == 200 && r->body == request.body &&
            r->headers.Get("X-Thread") == std::to_string(t)) {
          good.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(good.load() == kThreads * kRequestsEach);
}

// ---------------------------------------------------------------------------------------------
// TLS with a self-signed certificate.

TEST_CASE("TLS succeeds with the self-signed certificate pinned as the CA bundle") {
  TlsServer https;
  REQUIRE(https.ok);
  HttpClientOptions options = LocalOptions();
  options.ca_bundle_path = https.tls.cert_path;
  Result<HttpResponse> r = NewCurlHttpClient(options)->Send(Get(https.server->Url("/hello")));
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  CHECK(r->body == "{\"greeting\":\"你好\"}");
}

TEST_CASE("TLS succeeds with a public-key pin, as sha256// or as a PEM key file") {
  TlsServer https;
  REQUIRE(https.ok);
  for (const std::string& pin : {https.tls.pin, https.tls.public_key_path}) {
    CAPTURE(pin);
    HttpClientOptions options = LocalOptions();
    options.pinned_public_key = pin;
    Result<HttpResponse> r = NewCurlHttpClient(options)->Send(Get(https.server->Url("/hello")));
    REQUIRE(r.ok());
    CHECK(r->status == 200);
  }
  // Several pins (a key roll-over): one matching is enough.
  HttpClientOptions rolling = LocalOptions();
  rolling.pinned_public_key = https.tls.other_pin + ";" + https.tls.pin;
  CHECK(NewCurlHttpClient(rolling)->Send(Get(https.server->Url("/hello"))).ok());
}

TEST_CASE(
    "TLS refuses an unpinned self-signed certificate with FailedPrecondition naming the host") {
  TlsServer https;
  REQUIRE(https.ok);
  std::unique_ptr<HttpClient> client = NewCurlHttpClient(LocalOptions());  // system CAs
  HttpRequest request = Get(https.server->Url("/v1/pull?cursor=SECRET-CURSOR"));
  request.headers.Add("Authorization", "Bearer SECRET-TOKEN");
  Result<HttpResponse> r = client->Send(request);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kFailedPrecondition);
  const std::string& message = r.status().message();
  CAPTURE(message);
  CHECK(message.find("https://127.0.0.1:" + std::to_string(https.server->port())) !=
        std::string::npos);
  CHECK(message.find("not trusted") != std::string::npos);
  CHECK(message.find("SECRET") == std::string::npos);
  CHECK(message.find("/v1/pull") == std::string::npos);
}

TEST_CASE("TLS refuses a certificate whose key does not match the pin") {
  TlsServer https;
  REQUIRE(https.ok);
  SUBCASE("the pin alone") {
    HttpClientOptions options = LocalOptions();
    options.pinned_public_key = https.tls.other_pin;
    Result<HttpResponse> r = NewCurlHttpClient(options)->Send(Get(https.server->Url("/hello")));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kFailedPrecondition);
    CHECK(r.status().message().find("pinned") != std::string::npos);
  }
  SUBCASE("a trusted chain does not excuse a wrong pin") {
    HttpClientOptions options = LocalOptions();
    options.ca_bundle_path = https.tls.cert_path;
    options.pinned_public_key = https.tls.other_pin;
    Result<HttpResponse> r = NewCurlHttpClient(options)->Send(Get(https.server->Url("/hello")));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kFailedPrecondition);
  }
}

TEST_CASE("TLS verifies the host name even when the certificate or its key is pinned") {
  TlsServer https;
  REQUIRE(https.ok);
  // The certificate names IP 127.0.0.1 only; "localhost" reaches the same server.
  const std::string url = https.server->Url("/hello", "localhost");
  HttpClientOptions by_bundle = LocalOptions();
  by_bundle.ca_bundle_path = https.tls.cert_path;
  HttpClientOptions by_pin = LocalOptions();
  by_pin.pinned_public_key = https.tls.pin;
  for (const HttpClientOptions& options : {by_bundle, by_pin}) {
    Result<HttpResponse> r = NewCurlHttpClient(options)->Send(Get(url));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kFailedPrecondition);
    CHECK(r.status().message().find("localhost") != std::string::npos);
  }
}

TEST_CASE("TLS with an unreadable CA bundle is FailedPrecondition, not retryable") {
  TlsServer https;
  REQUIRE(https.ok);
  HttpClientOptions options = LocalOptions();
  options.ca_bundle_path = https.tls.dir + "/missing.pem";
  Result<HttpResponse> r = NewCurlHttpClient(options)->Send(Get(https.server->Url("/hello")));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace fieldsync
