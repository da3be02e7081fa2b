// server/src/rate_limiter.h: counts failed logins per user name and per client address, so that
// password guessing (and the ~110 ms of scrypt each guess costs the server) is bounded
// (docs/protocol.md §9.1).
//
// A sliding window per key: a key may have at most `max` counted attempts whose start lies within
// the last `window_s` seconds. An attempt is counted when it *begins* (Begin), not when it fails,
// so N concurrent guesses cannot all slip past the check before the first one is recorded. Finish
// then keeps the count (wrong credentials), resets the user's window and refunds the address's
// attempt (success), or refunds both (an outcome that says nothing about the password, e.g. a
// database error).
//
// The key is the user name exactly as sent, whether or not such a user exists: unknown and known
// users go through the same code and the same counts, so a 429 reveals nothing about which users
// exist.
//
// LIMITS ARE PER PROCESS. The windows live in memory and are lost on restart; several server
// instances behind a load balancer each count on their own, so the effective limit is the limit
// times the number of instances. Acceptable for now: the purpose is to make guessing slow and to
// bound the scrypt work one instance does, both of which hold per instance, and a deployment has a
// handful of instances at most. A shared counter (the database) would add a write to every login.
//
// Memory: each map holds at most `max_tracked_keys` keys of at most `max` timestamps each. When a
// map is full, keys whose attempts have all expired are swept; if it is still full, a new key is
// not tracked (its attempts are allowed, bounded by the other key's count). That keeps memory
// bounded under a spray of made-up user names, at the price of not counting them per user then.
//
// Thread safety: safe for concurrent use (one mutex; every operation is O(max) or an amortized
// sweep).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

#include "fieldsync/clock.h"

namespace fieldsync::server {

struct LoginRateLimits {
  uint32_t failures_per_user = 5;      // 0: no per-user limit
  uint32_t failures_per_address = 20;  // 0: no per-address limit
  int64_t window_s = 15 * 60;
  size_t max_tracked_keys = 100000;  // per map (users, addresses)
};

class LoginRateLimiter {
 public:
  // `clock` (its monotonic time) must outlive the limiter; nullptr: Clock::System().
  explicit LoginRateLimiter(LoginRateLimits limits = {}, Clock* clock = nullptr);
  LoginRateLimiter(const LoginRateLimiter&) = delete;
  LoginRateLimiter& operator=(const LoginRateLimiter&) = delete;

  struct Ticket {
    bool allowed = false;
    int64_t retry_after_s = 0;  // when refused: whole seconds until an attempt is allowed, >= 1
    int64_t started_micros = 0;
  };
  enum class Outcome {
    kWrongCredentials,  // the attempt stays counted
    kSucceeded,         // resets the user's window; refunds the address's attempt
    kNotCounted,        // refunds both (the answer said nothing about the password)
  };

  // Checks both keys and, when both allow, counts the attempt against both. Call Finish with the
  // returned ticket once the attempt's outcome is known (only for allowed tickets).
  Ticket Begin(const std::string& user, const std::string& address);
  void Finish(const std::string& user, const std::string& address, const Ticket& ticket,
              Outcome outcome);

 private:
  using Window = std::deque<int64_t>;  // start times (monotonic micros), oldest first
  using Windows = std::unordered_map<std::string, Window>;

  // Micros until `key` may start another attempt; 0 if it may now. Drops expired entries.
  int64_t WaitMicros(Windows& windows, const std::string& key, uint32_t max, int64_t now);
  void Record(Windows& windows, const std::string& key, uint32_t max, int64_t now);
  void Refund(Windows& windows, const std::string& key, int64_t started);
  void Expire(Window& window, int64_t now) const;

  const LoginRateLimits limits_;
  const int64_t window_micros_;
  Clock* const clock_;
  std::mutex mu_;
  Windows users_;      // GUARDED_BY(mu_)
  Windows addresses_;  // GUARDED_BY(mu_)
};

}  // namespace fieldsync::server
