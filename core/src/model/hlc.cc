// model/hlc.cc: the hybrid logical clock; see fieldsync/hlc.h.
#include "fieldsync/hlc.h"

#include <cinttypes>
#include <cstdio>
#include <ctime>

#include "fieldsync/log.h"

namespace fieldsync {

std::string Hlc::ToString() const {
  const auto ms = static_cast<int64_t>(physical_ms());
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ+%" PRIu64,
                utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                utc.tm_sec, static_cast<int>(ms % 1000), logical());
  return buf;
}

HybridClock::HybridClock(Clock* clock, Hlc last_issued, HybridClockOptions options)
    : clock_(clock), options_(options), last_(last_issued) {}

int64_t HybridClock::PhysicalMsLocked() const { return clock_->WallMicros() / 1000 - skew_ms_; }

int64_t HybridClock::PhysicalMs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return PhysicalMsLocked();
}

void HybridClock::WarnBehindLocked(int64_t physical_ms) {
  const auto lead = static_cast<int64_t>(last_.physical_ms()) - physical_ms;
  if (warned_behind_ || lead <= options_.warn_skew_ms) return;
  warned_behind_ = true;
  Log(LogLevel::kWarning, "hlc",
      "the device clock is " + std::to_string(lead / 1000) +
          " s behind the last issued timestamp; timestamps continue from the logical counter "
          "until it catches up");
}

Hlc HybridClock::Now() {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t physical = PhysicalMsLocked();
  if (physical > static_cast<int64_t>(last_.physical_ms())) {
    last_ = Hlc::FromParts(static_cast<uint64_t>(physical), 0);
  } else {
    WarnBehindLocked(physical);
    // Same or earlier physical time: count logically; a full counter borrows a millisecond,
    // which keeps timestamps increasing without ever waiting.
    last_ = last_.logical() < Hlc::kMaxLogical
                ? Hlc::FromParts(last_.physical_ms(), last_.logical() + 1)
                : Hlc::FromParts(last_.physical_ms() + 1, 0);
  }
  return last_;
}

Status HybridClock::Observe(Hlc remote) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t physical = PhysicalMsLocked();
  const int64_t lead = static_cast<int64_t>(remote.physical_ms()) - physical;
  if (lead > options_.max_drift_ms) {
    return Status::InvalidArgument("timestamp " + remote.ToString() + " is " +
                                   std::to_string(lead / 1000) +
                                   " s ahead of this node's clock (limit " +
                                   std::to_string(options_.max_drift_ms / 1000) + " s)");
  }
  if (remote > last_) last_ = remote;
  return Status::OK();
}

void HybridClock::SetSkewEstimate(int64_t skew_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  skew_ms_ = skew_ms;
  if (skew_ms > options_.warn_skew_ms || -skew_ms > options_.warn_skew_ms) {
    Log(LogLevel::kWarning, "hlc",
        "the device clock is off by " + std::to_string(skew_ms / 1000) +
            " s from the server's time; timestamps use the corrected time");
  }
}

int64_t HybridClock::skew_estimate_ms() const {
  std::lock_guard<std::mutex> lock(mu_);
  return skew_ms_;
}

Hlc HybridClock::last() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_;
}

}  // namespace fieldsync
