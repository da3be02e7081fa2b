// fieldsync/clock.h: wall and monotonic time, injectable so tests can skew or freeze it.
//
// Nothing in fieldsync reads the system time except through a Clock. The wall clock may be wrong
// (a tablet off by days) and may jump; the monotonic clock only moves forward and is meaningful
// only within one process. Conflict decisions never use either directly: they use the hybrid
// logical clock built on top of WallMicros().
//
// Thread safety: all implementations here are safe for concurrent use.
#pragma once

#include <atomic>
#include <cstdint>

namespace fieldsync {

class Clock {
 public:
  virtual ~Clock();
  // Microseconds since the Unix epoch, as the device believes it to be.
  virtual int64_t WallMicros() = 0;
  // Microseconds since an arbitrary fixed point; never decreases.
  virtual int64_t MonotonicMicros() = 0;

  // The real clocks of this machine. Never destroyed.
  static Clock* System();
};

// A clock whose wall time is another clock's plus a fixed skew (a device clock that is wrong).
class SkewedClock : public Clock {
 public:
  SkewedClock(Clock* base, int64_t skew_micros) : base_(base), skew_micros_(skew_micros) {}
  int64_t WallMicros() override { return base_->WallMicros() + skew_micros_.load(); }
  int64_t MonotonicMicros() override { return base_->MonotonicMicros(); }
  void set_skew_micros(int64_t skew) { skew_micros_.store(skew); }

 private:
  Clock* base_;
  std::atomic<int64_t> skew_micros_;
};

// A clock that only moves when told to: deterministic tests.
class ManualClock : public Clock {
 public:
  explicit ManualClock(int64_t wall_micros = 0, int64_t monotonic_micros = 0)
      : wall_(wall_micros), monotonic_(monotonic_micros) {}
  int64_t WallMicros() override { return wall_.load(); }
  int64_t MonotonicMicros() override { return monotonic_.load(); }
  void SetWallMicros(int64_t v) { wall_.store(v); }
  // Advances both clocks.
  void AdvanceMicros(int64_t d) {
    wall_.fetch_add(d);
    monotonic_.fetch_add(d);
  }

 private:
  std::atomic<int64_t> wall_;
  std::atomic<int64_t> monotonic_;
};

}  // namespace fieldsync
