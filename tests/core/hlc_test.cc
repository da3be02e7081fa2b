// tests/core/hlc_test.cc: the hybrid logical clock, including device clocks wrong by days.
#include "fieldsync/hlc.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "fieldsync/log.h"

namespace fieldsync {
namespace {

constexpr int64_t kMs = 1000;  // micros per ms
constexpr int64_t kDay = 24LL * 3600 * 1000;
constexpr int64_t kNow = 1795000000000;  // 2026-11-18, in ms

// Collects log warnings for the duration of a test.
struct CapturedLog {
  std::vector<std::string> warnings;
  CapturedLog() {
    SetLogSink([this](LogLevel level, std::string_view, std::string_view msg) {
      if (level >= LogLevel::kWarning) warnings.emplace_back(msg);
    });
  }
  ~CapturedLog() { SetLogSink(nullptr); }
};

TEST_CASE("hlc values order like (physical, logical) and survive packing") {
  Hlc a = Hlc::FromParts(1000, 5);
  Hlc b = Hlc::FromParts(1000, 6);
  Hlc c = Hlc::FromParts(1001, 0);
  CHECK(a < b);
  CHECK(b < c);
  CHECK(Hlc(c.packed()) == c);
  CHECK(c.physical_ms() == 1001);
  CHECK(b.logical() == 6);
  CHECK(Hlc::FromParts(kNow, 3).ToString() == "2026-11-18T11:06:40.000Z+3");
}

TEST_CASE("timestamps strictly increase even when the clock stands still") {
  ManualClock clock(kNow * kMs);
  HybridClock hlc(&clock, Hlc());
  Hlc prev = hlc.Now();
  for (int i = 0; i < 70000; ++i) {  // more than the 16-bit logical counter holds
    Hlc next = hlc.Now();
    REQUIRE(next > prev);
    prev = next;
  }
  CHECK(prev.physical_ms() >= static_cast<uint64_t>(kNow));
}

TEST_CASE("a restart with the clock set back 3 days stays monotonic and warns") {
  CapturedLog log;
  ManualClock clock(kNow * kMs);
  Hlc persisted;
  {
    HybridClock hlc(&clock, Hlc());
    hlc.Now();
    persisted = hlc.Now();
  }
  clock.SetWallMicros((kNow - 3 * kDay) * kMs);
  HybridClock restarted(&clock, persisted);
  Hlc next = restarted.Now();
  CHECK(next > persisted);
  CHECK(next.physical_ms() == persisted.physical_ms());  // did not jump back with the clock
  REQUIRE(log.warnings.size() == 1);
  CHECK(log.warnings[0].find("259200 s behind") != std::string::npos);
}

TEST_CASE("a clock 3 days fast does not win conflicts once the server's time corrects it") {
  ManualClock truth(kNow * kMs);
  SkewedClock fast(&truth, 3 * kDay * kMs);
  HybridClock honest(&truth, Hlc());
  HybridClock skewed(&fast, Hlc());
  // Uncorrected, the fast tablet's edit would beat a later honest edit by 3 days.
  CHECK(skewed.Now().physical_ms() - honest.Now().physical_ms() >= 3 * kDay - 1);
  CapturedLog log;
  skewed.SetSkewEstimate(3 * kDay);  // learned from the server's Date on the first sync
  REQUIRE(log.warnings.size() == 1);
  CHECK(log.warnings[0].find("off by 259200 s") != std::string::npos);
  // Corrected physical time matches the truth; the logical part keeps it monotonic.
  CHECK(skewed.PhysicalMs() == kNow);
  truth.AdvanceMicros(10 * kMs);
  Hlc tablet_edit = skewed.Now();
  // Monotonicity keeps the tablet at its last issued (fast) time until real time passes it;
  // a fresh install (or one whose edits were all synced) is corrected at once:
  HybridClock fresh(&fast, Hlc());
  fresh.SetSkewEstimate(3 * kDay);
  Hlc fresh_edit = fresh.Now();
  truth.AdvanceMicros(10 * kMs);
  Hlc later_honest_edit = honest.Now();
  CHECK(fresh_edit < later_honest_edit);
  CHECK(tablet_edit > fresh_edit);  // the stamps issued before correction still stand
}

TEST_CASE("a remote timestamp 3 days in the future is refused, one within the drift accepted") {
  ManualClock clock(kNow * kMs);
  HybridClock hlc(&clock, Hlc());
  Hlc future = Hlc::FromParts(kNow + 3 * kDay, 0);
  Status s = hlc.Observe(future);
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK(s.message().find("259200 s ahead") != std::string::npos);
  CHECK(hlc.Now() < future);  // nothing adopted
  Hlc near = Hlc::FromParts(kNow + 60 * 1000, 7);
  REQUIRE(hlc.Observe(near).ok());
  CHECK(hlc.Now() > near);
}

TEST_CASE("a remote timestamp 3 days in the past is merged without moving the clock back") {
  ManualClock clock(kNow * kMs);
  HybridClock hlc(&clock, Hlc());
  Hlc before = hlc.Now();
  REQUIRE(hlc.Observe(Hlc::FromParts(kNow - 3 * kDay, 0)).ok());
  CHECK(hlc.Now() > before);
}

}  // namespace
}  // namespace fieldsync
