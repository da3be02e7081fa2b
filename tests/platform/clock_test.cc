// Tests for fieldsync/clock.h: the system clock and the skewed and manual test clocks.
#include "fieldsync/clock.h"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>

namespace fieldsync {
namespace {

constexpr int64_t kSecond = 1000000;
constexpr int64_t kDay = 24 * 3600 * kSecond;

int64_t ChronoWallMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST_CASE("Clock::System returns one shared instance") {
  REQUIRE(Clock::System() != nullptr);
  CHECK(Clock::System() == Clock::System());
}

TEST_CASE("the system wall clock is in microseconds since the Unix epoch") {
  const int64_t before = ChronoWallMicros();
  const int64_t wall = Clock::System()->WallMicros();
  const int64_t after = ChronoWallMicros();
  // A generous window: the point is the unit and epoch, not the scheduler.
  CHECK(wall >= before - kSecond);
  CHECK(wall <= after + kSecond);
}

TEST_CASE("the system monotonic clock never decreases and advances across a sleep") {
  Clock* clock = Clock::System();
  int64_t prev = clock->MonotonicMicros();
  for (int i = 0; i < 100000; ++i) {
    const int64_t now = clock->MonotonicMicros();
    REQUIRE(now >= prev);
    prev = now;
  }
  const int64_t start = clock->MonotonicMicros();
  const auto chrono_start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - chrono_start < std::chrono::milliseconds(5)) {
  }
  CHECK(clock->MonotonicMicros() - start >= 5000);
}

TEST_CASE("a skewed clock is off by three days either way and keeps the base monotonic time") {
  ManualClock base(1700000000 * kSecond, 500);
  SkewedClock ahead(&base, 3 * kDay);
  SkewedClock behind(&base, -3 * kDay);
  CHECK(ahead.WallMicros() == base.WallMicros() + 3 * kDay);
  CHECK(behind.WallMicros() == base.WallMicros() - 3 * kDay);
  CHECK(ahead.MonotonicMicros() == 500);
  CHECK(behind.MonotonicMicros() == 500);

  base.AdvanceMicros(kSecond);
  CHECK(ahead.WallMicros() == 1700000000 * kSecond + kSecond + 3 * kDay);
  CHECK(ahead.MonotonicMicros() == 500 + kSecond);

  ahead.set_skew_micros(0);
  CHECK(ahead.WallMicros() == base.WallMicros());
}

TEST_CASE("a skewed system clock differs from the real one by the skew") {
  SkewedClock behind(Clock::System(), -3 * kDay);
  const int64_t diff = behind.WallMicros() - Clock::System()->WallMicros();
  CHECK(std::llabs(diff + 3 * kDay) < kSecond);
}

TEST_CASE("a manual clock moves only when told to") {
  ManualClock clock(1000, 10);
  CHECK(clock.WallMicros() == 1000);
  CHECK(clock.MonotonicMicros() == 10);
  CHECK(clock.WallMicros() == 1000);

  clock.AdvanceMicros(25);
  CHECK(clock.WallMicros() == 1025);
  CHECK(clock.MonotonicMicros() == 35);

  clock.SetWallMicros(-5);  // a wall clock may jump backwards; the monotonic one does not
  CHECK(clock.WallMicros() == -5);
  CHECK(clock.MonotonicMicros() == 35);
}

}  // namespace
}  // namespace fieldsync
