// tests/sync/clock_skew_sync_test.cc: tablets whose clocks are 3 days off, syncing through the
// real server.
//
// Three tablets of team east1: zhang's clock runs 3 days ahead, li's 3 days behind, the manager
// chen's is right (SkewedClock over the system clock, passed to Database through
// DatabaseOptions::clock). Once a tablet knows the server's time (protocol §8: the skew estimate,
// HybridClock::SetSkewEstimate), its HLC follows real time, so on one customer an edit made later
// in real time wins whichever tablet made it: the fast tablet loses a race it was early for and
// the slow one wins a race it was late for. Every HLC the server holds stays within seconds of
// real time, and the core warns that the device clock is off.
//
// The first case runs the race with the replicator alone, which is how a tablet works: it
// measures the skew on the Database's clock (Database::clock()) against the server's time_ms.
// The second shows the server's answer to a tablet that edits 3 days ahead before it has ever
// synced.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "fieldsync/log.h"
#include "sync_world.h"

namespace fieldsync::sync::testing {
namespace {

using nlohmann::json;

constexpr int64_t kThreeDaysUs = int64_t{3} * 24 * 3600 * 1000 * 1000;

// Collects warnings while alive (the library's log sink is process-wide).
class CapturedLog {
 public:
  CapturedLog() {
    SetLogSink([this](LogLevel level, std::string_view component, std::string_view message) {
      if (level < LogLevel::kWarning) return;
      std::lock_guard<std::mutex> lock(mu_);
      lines_.push_back(std::string(component) + ": " + std::string(message));
    });
  }
  ~CapturedLog() { SetLogSink({}); }

  bool Contains(const std::string& text) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& line : lines_) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }
  std::string All() {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    for (const std::string& line : lines_) out += line + "\n";
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> lines_;
};

struct SkewedTeam {
  CapturedLog log;
  fieldsync::testing::TempDir dir;
  SyncServer server;
  SkewedClock ahead{Clock::System(), kThreeDaysUs};
  SkewedClock behind{Clock::System(), -kThreeDaysUs};
  SyncTablet zhang{dir, "zhang", "zhang", server, 1, &ahead};
  SyncTablet li{dir, "li", "li", server, 2, &behind};
  SyncTablet chen{dir, "chen", "chen", server, 3};

  SkewedTeam() {
    for (const char* id : {"cs-0", "cs-1"}) {
      REQUIRE(server::AdminShareCustomer(server.world.backend.get(), server::testing::kTenant, id,
                                         "east1")
                  .ok());
    }
  }

  void SyncAll() {
    zhang.Sync();
    li.Sync();
    chen.Sync();
  }

  void SetGrade(SyncTablet& t, const char* id, const char* grade) {
    Status s = t.db->Update("customers", id, json({{"grade", grade}}).dump());
    REQUIRE_MESSAGE(s.ok(), t.user << ": " << s.ToString());
    // Well beyond the skew estimate's error (half a loopback round trip).
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
  }

  // The race: on cs-0 the slow tablet edits last, on cs-1 the fast one does. The later edit in
  // real time must win both.
  void RunRace() {
    SyncAll();  // each tablet learns the server's time
    for (const char* id : {"cs-0", "cs-1"}) {
      REQUIRE(chen.db
                  ->Put("customers", json({{"id", id},
                                           {"kind", "company"},
                                           {"name", std::string("客户 ") + id},
                                           {"owner_rep", "zhang"},
                                           {"grade", "E"}})
                                         .dump())
                  .ok());
    }
    SyncAll();
    SyncAll();  // zhang and li synced before chen pushed
    const int64_t start_ms = RealNowMs();
    SetGrade(zhang, "cs-0", "A");  // 3 days ahead, first
    SetGrade(chen, "cs-0", "B");
    SetGrade(li, "cs-0", "C");  // 3 days behind, last: wins
    SetGrade(li, "cs-1", "A");  // 3 days behind, first
    SetGrade(chen, "cs-1", "B");
    SetGrade(zhang, "cs-1", "C");  // 3 days ahead, last: wins
    SyncAll();
    SyncAll();
    const int64_t end_ms = RealNowMs();

    for (SyncTablet* t : {&zhang, &li, &chen}) {
      CAPTURE(t->user);
      for (const DeadLetter& letter : t->DeadLetters()) {
        FAIL_CHECK("dead letter " << letter.record_id << ": " << letter.reason);
      }
      const std::optional<json> c0 = t->Get("customers", "cs-0");
      const std::optional<json> c1 = t->Get("customers", "cs-1");
      CHECK((c0 ? c0->value("grade", "") : "(none)") == "C");  // li's, the last in real time
      CHECK((c1 ? c1->value("grade", "") : "(none)") == "C");  // zhang's, the last in real time
    }
    // Bounded: every version the server holds is within seconds of when it was made.
    for (const Change& c : server.Feed()) {
      CAPTURE(c.change_id);
      const auto ms = static_cast<int64_t>(c.version.hlc.physical_ms());
      CHECK(ms >= start_ms - 60 * 1000);
      CHECK(ms <= end_ms + 5 * 1000);
    }
    // The core says the clocks are wrong, by about 3 days (259200 s) either way.
    INFO("warnings:\n" << log.All());
    const bool ahead_warned = log.Contains("off by 2591") || log.Contains("off by 2592");
    const bool behind_warned = log.Contains("off by -2591") || log.Contains("off by -2592");
    CHECK(ahead_warned);
    CHECK(behind_warned);
  }
};

TEST_CASE("with the server's time, a later edit wins whichever tablet's clock is 3 days off") {
  SkewedTeam team;
  team.RunRace();
}

TEST_CASE(
    "a tablet 3 days ahead that never synced has its edits refused clock_ahead per change, with "
    "the reason, as dead letters") {
  CapturedLog log;
  fieldsync::testing::TempDir dir;
  SyncServer server;
  SkewedClock ahead{Clock::System(), kThreeDaysUs};
  SyncTablet zhang{dir, "zhang", "zhang", server, 1, &ahead};
  REQUIRE(zhang.db
              ->Put("customers", json({{"id", "cz-ahead"},
                                       {"kind", "company"},
                                       {"name", "华东机电"},
                                       {"owner_rep", "zhang"}})
                                     .dump())
              .ok());
  const SyncProgress progress = zhang.Sync();
  CHECK(progress.changes_refused == 1);
  CHECK(progress.changes_pushed == 0);
  CHECK(zhang.Pending() == 0);
  const std::vector<DeadLetter> letters = zhang.DeadLetters();
  REQUIRE(letters.size() == 1);
  CHECK(letters[0].record_id == "cz-ahead");
  CHECK(letters[0].reason.find("clock_ahead") != std::string::npos);
  CHECK(letters[0].reason.find("设备时钟超前") != std::string::npos);
  CHECK_FALSE(server.Record("customers", "cz-ahead"));
  CHECK(server.Feed().empty());
}

}  // namespace
}  // namespace fieldsync::sync::testing
