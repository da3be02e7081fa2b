// server/src/rate_limiter.cc: sliding windows of login attempts (rate_limiter.h).
#include "rate_limiter.h"

#include <algorithm>

namespace fieldsync::server {

LoginRateLimiter::LoginRateLimiter(LoginRateLimits limits, Clock* clock)
    : limits_(limits),
      window_micros_(std::max<int64_t>(limits.window_s, 1) * 1000000),
      clock_(clock != nullptr ? clock : Clock::System()) {}

void LoginRateLimiter::Expire(Window& window, int64_t now) const {
  while (!window.empty() && window.front() + window_micros_ <= now) window.pop_front();
}

int64_t LoginRateLimiter::WaitMicros(Windows& windows, const std::string& key, uint32_t max,
                                     int64_t now) {
  if (max == 0) return 0;
  auto it = windows.find(key);
  if (it == windows.end()) return 0;
  Window& window = it->second;
  Expire(window, now);
  if (window.empty()) {
    windows.erase(it);
    return 0;
  }
  if (window.size() < max) return 0;
  // The attempt that must leave the window before one more fits.
  const int64_t frees_at = window[window.size() - max] + window_micros_;
  return std::max<int64_t>(frees_at - now, 1);
}

void LoginRateLimiter::Record(Windows& windows, const std::string& key, uint32_t max, int64_t now) {
  if (max == 0) return;
  auto it = windows.find(key);
  if (it == windows.end()) {
    if (windows.size() >= limits_.max_tracked_keys) {
      for (auto sweep = windows.begin(); sweep != windows.end();) {
        Expire(sweep->second, now);
        sweep = sweep->second.empty() ? windows.erase(sweep) : std::next(sweep);
      }
      if (windows.size() >= limits_.max_tracked_keys) return;  // see Memory in the header
    }
    it = windows.emplace(key, Window{}).first;
  }
  Window& window = it->second;
  window.push_back(now);
  // Only the newest `max` starts can decide a wait; older ones need no memory.
  while (window.size() > max) window.pop_front();
}

void LoginRateLimiter::Refund(Windows& windows, const std::string& key, int64_t started) {
  auto it = windows.find(key);
  if (it == windows.end()) return;
  Window& window = it->second;
  auto found = std::find(window.begin(), window.end(), started);
  if (found != window.end()) window.erase(found);
  if (window.empty()) windows.erase(it);
}

LoginRateLimiter::Ticket LoginRateLimiter::Begin(const std::string& user,
                                                 const std::string& address) {
  const int64_t now = clock_->MonotonicMicros();
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t wait = std::max(WaitMicros(users_, user, limits_.failures_per_user, now),
                                WaitMicros(addresses_, address, limits_.failures_per_address, now));
  Ticket ticket;
  if (wait > 0) {
    ticket.retry_after_s = (wait + 999999) / 1000000;  // rounded up: never too early
    return ticket;
  }
  Record(users_, user, limits_.failures_per_user, now);
  Record(addresses_, address, limits_.failures_per_address, now);
  ticket.allowed = true;
  ticket.started_micros = now;
  return ticket;
}

void LoginRateLimiter::Finish(const std::string& user, const std::string& address,
                              const Ticket& ticket, Outcome outcome) {
  if (!ticket.allowed) return;
  std::lock_guard<std::mutex> lock(mu_);
  switch (outcome) {
    case Outcome::kWrongCredentials:
      break;
    case Outcome::kSucceeded:
      users_.erase(user);
      // The address keeps its earlier failures: one valid account must not reset the count of
      // guesses against others from the same address.
      Refund(addresses_, address, ticket.started_micros);
      break;
    case Outcome::kNotCounted:
      Refund(users_, user, ticket.started_micros);
      Refund(addresses_, address, ticket.started_micros);
      break;
  }
}

}  // namespace fieldsync::server
