// sync/src/backoff.h: the replicator's retry delays (protocol §4), as pure functions.
//
// Exponential backoff with full jitter: attempt n (0, 1, ...) waits a uniform draw from
// [0, min(max_delay_ms, initial_delay_ms * 2^n)]. Full jitter spreads tablets that failed
// together (a server restart, a cell tower back) over the whole window instead of a band near
// its top, at the price of an occasional short wait; the ceiling still doubles.
//
// Thread safety: pure functions; the generator is the caller's.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>

#include "fieldsync/sync/replicator.h"

namespace fieldsync::sync {

// min(max_delay_ms, initial_delay_ms * 2^n), without overflow; never negative.
inline int64_t BackoffCeilingMs(const RetryPolicy& policy, int n) {
  const int64_t cap = std::max<int64_t>(0, policy.max_delay_ms);
  int64_t ceiling = std::max<int64_t>(0, policy.initial_delay_ms);
  for (int i = 0; i < n && ceiling < cap; ++i) ceiling *= 2;  // stops long before overflow
  return std::min(ceiling, cap);
}

// A full-jitter draw for attempt n.
inline int64_t FullJitterMs(const RetryPolicy& policy, int n, std::mt19937_64& rng) {
  std::uniform_int_distribution<int64_t> draw(0, BackoffCeilingMs(policy, n));
  return draw(rng);
}

// A Retry-After of `seconds`, in milliseconds, capped at max_retry_after_ms.
inline int64_t RetryAfterMs(const RetryPolicy& policy, int64_t seconds) {
  const int64_t cap = std::max<int64_t>(0, policy.max_retry_after_ms);
  if (seconds <= 0) return 0;
  return seconds >= cap / 1000 + 1 ? cap : std::min(cap, seconds * 1000);
}

}  // namespace fieldsync::sync
