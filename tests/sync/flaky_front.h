// tests/sync/flaky_front.h: a tiny cpp-httplib server on 127.0.0.1 that answers the first
// requests with an error status (and a Retry-After, if asked), then forwards the rest to a real
// fieldsync-server. Real HTTP, so the replicator's libcurl client parses the real headers.
#pragma once

#include <doctest/doctest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fieldsync::sync::testing {

// One scripted answer: HTTP status plus headers (e.g. {"Retry-After", "7"}).
struct Scripted {
  int status = 503;
  std::vector<std::pair<std::string, std::string>> headers;
};

class FlakyFront {
 public:
  // `script` answers requests 1..n; after it, requests go to `upstream_port` (0: answer every
  // later request like the script's last entry).
  FlakyFront(std::vector<Scripted> script, int upstream_port)
      : script_(std::move(script)), upstream_port_(upstream_port) {
    server_.Get(".*",
                [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); });
    server_.Post(".*",
                 [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); });
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 500 && !server_.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    REQUIRE(server_.is_running());
  }
  ~FlakyFront() {
    server_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int requests() const { return requests_.load(); }

  // An IMF-fixdate `offset_s` seconds from now (for Date and HTTP-date Retry-After).
  static std::string HttpDate(std::time_t t) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
  }

 private:
  void Handle(const httplib::Request& req, httplib::Response& res) {
    const size_t n = static_cast<size_t>(requests_.fetch_add(1));
    if (n < script_.size() || upstream_port_ == 0) {
      const Scripted& s = script_[std::min(n, script_.size() - 1)];
      res.status = s.status;
      for (const auto& [name, value] : s.headers) res.set_header(name, value);
      res.set_content(R"({"code":"unavailable","message":"scripted","time_ms":0})",
                      "application/json");
      return;
    }
    httplib::Client upstream("127.0.0.1", upstream_port_);
    httplib::Headers headers;
    for (const char* name : {"Authorization"}) {  // httplib already decoded a gzip body
      if (req.has_header(name)) headers.emplace(name, req.get_header_value(name));
    }
    httplib::Result r = req.method == "POST"
                            ? upstream.Post(req.target, headers, req.body,
                                            req.get_header_value("Content-Type").c_str())
                            : upstream.Get(req.target, headers);
    if (!r) {
      res.status = 502;
      return;
    }
    res.status = r->status;
    res.set_content(r->body, r->get_header_value("Content-Type").c_str());
  }

  std::vector<Scripted> script_;
  int upstream_port_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<int> requests_{0};
};

}  // namespace fieldsync::sync::testing
