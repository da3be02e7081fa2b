// tests/sync/cut_proxy.h: a TCP forwarding proxy on 127.0.0.1 that can cut connections.
//
// Sits between a replicator and a real server (real sockets, one thread per connection). Once
// armed, a connection forwards at most N more bytes in the armed direction (the request: client
// to server; the response: server to client), then both of its sockets are closed: a network
// that drops in the middle of a push or of a pull page. Armed "once", only the first connection
// that reaches the limit is cut; otherwise every connection is, until Disarm() (libcurl retries a
// request once on a fresh connection when a reused one dies before any response byte, and that
// retry must be cut too for the failure to reach the replicator). A response can be cut inside
// its body (after_headers): libcurl 7.88 reports a response cut inside its header block as a
// complete one with an empty body (see the report of issue #5), which is not what these tests
// are about.
#pragma once

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fieldsync::sync::testing {

class CutProxy {
 public:
  enum class Direction { kRequest, kResponse };

  explicit CutProxy(int upstream_port) : upstream_port_(upstream_port) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listen_fd_ >= 0);
    sockaddr_in addr = Loopback(0);
    REQUIRE(bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(listen(listen_fd_, 16) == 0);
    socklen_t len = sizeof(addr);
    REQUIRE(getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }

  ~CutProxy() {
    stop_.store(true);
    shutdown(listen_fd_, SHUT_RDWR);  // wakes accept() on Linux
    acceptor_.join();
    close(listen_fd_);
    std::vector<std::thread> pumps;
    {
      std::lock_guard<std::mutex> lock(mu_);
      pumps.swap(pumps_);
    }
    for (std::thread& t : pumps) t.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // From now on, a connection forwards at most `bytes` more in `direction`, then is cut. With
  // `after_headers`, the count starts after the next HTTP header block (the body's bytes).
  void Arm(Direction direction, size_t bytes, bool once, bool after_headers = false) {
    std::lock_guard<std::mutex> lock(mu_);
    armed_ = true;
    after_headers_ = after_headers;
    direction_ = direction;
    budget_ = bytes;
    once_ = once;
    ++epoch_;
  }
  void Disarm() {
    std::lock_guard<std::mutex> lock(mu_);
    armed_ = false;
  }
  int cuts() const { return cuts_.load(); }
  int connections() const { return connections_.load(); }

 private:
  static sockaddr_in Loopback(int port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
  }

  void AcceptLoop() {
    while (!stop_.load()) {
      const int client = accept(listen_fd_, nullptr, nullptr);
      if (client < 0) {
        if (stop_.load()) return;
        continue;
      }
      const int upstream = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr = Loopback(upstream_port_);
      if (upstream < 0 ||
          connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        close(client);
        if (upstream >= 0) close(upstream);
        continue;
      }
      connections_.fetch_add(1);
      std::lock_guard<std::mutex> lock(mu_);
      pumps_.emplace_back(
          [this, client, upstream, epoch = epoch_] { Pump(client, upstream, epoch); });
    }
  }

  // What one connection has seen in one direction since it was last armed.
  struct Stream {
    uint64_t epoch = 0;
    size_t counted = 0;    // bytes counted against the budget
    bool in_body = false;  // past a blank line ending an HTTP header block
    std::string tail;      // the last bytes before this chunk, to find "\r\n\r\n" across reads
  };

  // How many of the `n` bytes at `data` read in `direction` may pass; sets *cut when the limit
  // is reached.
  size_t Allow(Direction direction, const char* data, size_t n, Stream* stream, bool* cut) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!armed_ || direction != direction_) return n;
    if (stream->epoch != epoch_) {  // armed after this connection's last byte: count from now
      stream->epoch = epoch_;
      stream->counted = 0;
      stream->in_body = false;
      stream->tail.clear();
    }
    size_t free_bytes = 0;  // header bytes, not counted when the budget starts at the body
    if (after_headers_ && !stream->in_body) {
      const std::string seen = stream->tail + std::string(data, n);
      const size_t end = seen.find("\r\n\r\n");
      if (end == std::string::npos) {
        stream->tail = seen.substr(seen.size() - std::min<size_t>(3, seen.size()));
        return n;
      }
      stream->in_body = true;
      free_bytes = end + 4 - stream->tail.size();
    }
    const size_t counted_now = n - free_bytes;
    const size_t left = budget_ - std::min(budget_, stream->counted);
    if (counted_now <= left) {
      stream->counted += counted_now;
      return n;
    }
    *cut = true;
    cuts_.fetch_add(1);
    if (once_) armed_ = false;
    return free_bytes + left;
  }

  static bool SendAll(int fd, const char* p, size_t n) {
    while (n > 0) {
      const ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
      if (w <= 0) return false;
      p += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }

  void Pump(int client, int upstream, uint64_t epoch) {
    Stream streams[2];
    streams[0].epoch = streams[1].epoch = epoch;
    char buf[16384];
    bool open = true;
    while (open && !stop_.load()) {
      pollfd fds[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
      if (poll(fds, 2, 50) <= 0) continue;
      for (int side = 0; side < 2 && open; ++side) {
        if ((fds[side].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        const ssize_t r = recv(fds[side].fd, buf, sizeof(buf), 0);
        if (r <= 0) {
          open = false;
          break;
        }
        const Direction d = side == 0 ? Direction::kRequest : Direction::kResponse;
        bool cut = false;
        const size_t pass = Allow(d, buf, static_cast<size_t>(r), &streams[side], &cut);
        if (!SendAll(side == 0 ? upstream : client, buf, pass) || cut) open = false;
      }
    }
    shutdown(client, SHUT_RDWR);
    shutdown(upstream, SHUT_RDWR);
    close(client);
    close(upstream);
  }

  const int upstream_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> cuts_{0};
  std::atomic<int> connections_{0};
  std::thread acceptor_;

  std::mutex mu_;
  std::vector<std::thread> pumps_;  // guarded by mu_
  bool armed_ = false;              // guarded by mu_
  Direction direction_ = Direction::kRequest;
  size_t budget_ = 0;
  bool once_ = false;
  bool after_headers_ = false;
  uint64_t epoch_ = 0;
};

}  // namespace fieldsync::sync::testing
