// fieldsync/hlc.h: hybrid logical clock timestamps (Kulkarni et al., "Logical Physical Clocks").
//
// Every write is stamped with an Hlc; conflicts are decided on (Hlc, node id), never on a raw
// device clock. An Hlc packs 48 bits of physical time in milliseconds and a 16-bit logical
// counter into one uint64 that orders like the pair, so it sorts and compares as an integer.
//
// HybridClock issues timestamps that
//   - never decrease, within a process and across restarts (the last one is persisted by the
//     caller and passed back to the constructor);
//   - follow the device clock corrected by the skew estimated from a trusted source (the sync
//     server's time), so a tablet whose clock is wrong by days stamps correct times once it has
//     seen the server once;
//   - refuse to move more than max_drift ahead of the (corrected) physical clock because of a
//     remote timestamp: Observe() of a timestamp from the far future is an error, not an
//     adoption, so one bad clock cannot drag every replica into the future.
// When the device clock is behind the last issued timestamp (clock set back, or wrong by days
// after a restart) the clock keeps issuing increasing timestamps from the logical counter and
// warns once through the log.
//
// Thread safety: HybridClock is safe for concurrent use.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "fieldsync/clock.h"
#include "fieldsync/status.h"

namespace fieldsync {

class Hlc {
 public:
  static constexpr int kLogicalBits = 16;
  static constexpr uint64_t kMaxLogical = (uint64_t{1} << kLogicalBits) - 1;

  constexpr Hlc() = default;
  constexpr explicit Hlc(uint64_t packed) : packed_(packed) {}
  static constexpr Hlc FromParts(uint64_t physical_ms, uint64_t logical) {
    return Hlc((physical_ms << kLogicalBits) | (logical & kMaxLogical));
  }

  constexpr uint64_t packed() const { return packed_; }
  constexpr uint64_t physical_ms() const { return packed_ >> kLogicalBits; }
  constexpr uint64_t logical() const { return packed_ & kMaxLogical; }

  friend constexpr bool operator<(Hlc a, Hlc b) { return a.packed_ < b.packed_; }
  friend constexpr bool operator>(Hlc a, Hlc b) { return b < a; }
  friend constexpr bool operator<=(Hlc a, Hlc b) { return !(b < a); }
  friend constexpr bool operator>=(Hlc a, Hlc b) { return !(a < b); }
  friend constexpr bool operator==(Hlc a, Hlc b) { return a.packed_ == b.packed_; }
  friend constexpr bool operator!=(Hlc a, Hlc b) { return !(a == b); }

  // "2026-11-23T06:39:31.123Z+5": readable, for logs and docs; the wire uses packed().
  std::string ToString() const;

 private:
  uint64_t packed_ = 0;
};

struct HybridClockOptions {
  // Largest lead of a remote timestamp over our physical time that Observe() accepts.
  int64_t max_drift_ms = 5 * 60 * 1000;
  // Skew beyond which the device clock is reported as wrong (once per process).
  int64_t warn_skew_ms = 60 * 1000;
};

class HybridClock {
 public:
  // `last_issued` is the highest timestamp issued before (persisted by the caller).
  HybridClock(Clock* clock, Hlc last_issued, HybridClockOptions options = {});

  // A new timestamp, greater than every timestamp issued or observed so far.
  Hlc Now();

  // Merges a timestamp received from another node so later Now() values exceed it.
  // InvalidArgument (and no change) if it leads our physical time by more than max_drift_ms.
  Status Observe(Hlc remote);

  // Records that the device clock reads `skew_ms` ahead of the trusted time (negative: behind);
  // physical time becomes device time minus skew. Warns when |skew| exceeds warn_skew_ms.
  void SetSkewEstimate(int64_t skew_ms);
  int64_t skew_estimate_ms() const;

  // The corrected physical time now, in milliseconds since the epoch.
  int64_t PhysicalMs() const;

  // The highest timestamp issued or observed: what the caller persists.
  Hlc last() const;

 private:
  int64_t PhysicalMsLocked() const;
  void WarnBehindLocked(int64_t physical_ms);

  mutable std::mutex mu_;
  Clock* clock_;
  HybridClockOptions options_;
  Hlc last_;
  int64_t skew_ms_ = 0;
  bool warned_behind_ = false;
};

}  // namespace fieldsync
