// clock.cc: the system clock, read with clock_gettime.
//
// WallMicros is CLOCK_REALTIME (may jump when the user or NTP sets the time); MonotonicMicros is
// CLOCK_MONOTONIC (never decreases, unaffected by settimeofday). Both are safe to call from any
// thread; the singleton is never destroyed so that it outlives static destructors that log times.
#include "fieldsync/clock.h"

#include <time.h>

#include <cstdint>
#include <cstdlib>

namespace fieldsync {

namespace {

int64_t ReadClockMicros(clockid_t id) {
  struct timespec ts {};
  // clock_gettime can only fail for an invalid clock id or a bad pointer, both of which would be
  // a bug here; abort rather than hand out a time of zero that would corrupt clock ordering.
  if (clock_gettime(id, &ts) != 0) std::abort();
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + static_cast<int64_t>(ts.tv_nsec) / 1000;
}

class SystemClock final : public Clock {
 public:
  int64_t WallMicros() override { return ReadClockMicros(CLOCK_REALTIME); }
  int64_t MonotonicMicros() override { return ReadClockMicros(CLOCK_MONOTONIC); }
};

}  // namespace

Clock::~Clock() = default;

Clock* Clock::System() {
  // Leaked on purpose: callers may hold the pointer in objects destroyed after static teardown.
  static Clock* const clock = new SystemClock();
  return clock;
}

}  // namespace fieldsync
