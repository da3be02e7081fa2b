// tests/sync/replicator_control_test.cc: how a round is driven: retries with backoff and
// Retry-After, cancellation, progress reports, one round at a time, the background loop.
//
// Against the real fieldsync-server in-process on 127.0.0.1, sometimes behind a FlakyFront (a
// cpp-httplib server answering scripted 503s and 429s). Backoff timing goes through the
// replicator's wait hook, which records each delay and returns at once; the tests of
// cancellation and of the loop's wake-up use real waits and measure that they end early.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "flaky_front.h"
#include "replicator_test_util.h"

namespace fieldsync::sync {
namespace {

using testing::FlakyFront;
using testing::OptionsFor;
using testing::PutCustomer;
using testing::Scripted;
using testing::Server;
using testing::Tablet;
using Clock = std::chrono::steady_clock;

int64_t MsSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

// Records every wait the replicator asks for; returns at once (virtual time).
struct WaitRecorder {
  std::mutex mu;
  std::vector<int64_t> delays;

  std::function<void(int64_t, const std::function<bool()>&)> Hook() {
    return [this](int64_t delay_ms, const std::function<bool()>&) {
      std::lock_guard<std::mutex> lock(mu);
      delays.push_back(delay_ms);
    };
  }
  std::vector<int64_t> Take() {
    std::lock_guard<std::mutex> lock(mu);
    std::vector<int64_t> out;
    out.swap(delays);
    return out;
  }
};

// Polls `done` every 5 ms for at most `limit_ms`; true if it became true.
template <typename F>
bool Eventually(F done, int64_t limit_ms = 10000) {
  const Clock::time_point start = Clock::now();
  while (!done()) {
    if (MsSince(start) > limit_ms) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

TEST_CASE(
    "retries back off with full jitter: the ceiling doubles to the cap, draws stay under it") {
  FlakyFront front({Scripted{503, {}}}, /*upstream_port=*/0);  // always 503, no Retry-After
  fieldsync::testing::TempDir dir;
  WaitRecorder waits;
  ReplicatorOptions options = OptionsFor("zhang", front.url());
  options.retry.max_attempts = 6;
  options.retry.initial_delay_ms = 100;
  options.retry.max_delay_ms = 1000;
  options.wait = waits.Hook();
  Tablet a(dir, "zhang", front.url(), 1, options);

  constexpr int kRounds = 30;
  const int64_t ceilings[] = {100, 200, 400, 800, 1000};  // min(1000, 100 * 2^n)
  std::vector<std::vector<int64_t>> by_attempt(5);
  for (int r = 0; r < kRounds; ++r) {
    SyncProgress progress;
    Status s = a.repl->SyncOnce(&progress);
    CHECK(s.code() == StatusCode::kUnavailable);
    CHECK(s.message().find("503") != std::string::npos);
    CHECK(progress.retries == 5);
    std::vector<int64_t> delays = waits.Take();
    REQUIRE(delays.size() == 5);  // 6 attempts, 5 waits between them
    for (size_t n = 0; n < delays.size(); ++n) {
      CHECK(delays[n] >= 0);
      CHECK(delays[n] <= ceilings[n]);
      by_attempt[n].push_back(delays[n]);
    }
  }
  CHECK(front.requests() == kRounds * 6);
  auto mean = [](const std::vector<int64_t>& v) {
    double sum = 0;
    for (int64_t x : v) sum += static_cast<double>(x);
    return sum / static_cast<double>(v.size());
  };
  for (size_t n = 0; n < by_attempt.size(); ++n) {
    // Jittered: the draws differ from each other, and they are not pinned to the ceiling.
    CHECK(std::set<int64_t>(by_attempt[n].begin(), by_attempt[n].end()).size() > kRounds / 3);
    CHECK(mean(by_attempt[n]) < 0.8 * static_cast<double>(ceilings[n]));
    CHECK(mean(by_attempt[n]) > 0.2 * static_cast<double>(ceilings[n]));
  }
  // The waits grow: where the ceiling doubles (100 ... 800), each attempt's average is above the
  // one before, a gap of over 4 standard deviations of the difference with 30 draws. The step to
  // the cap (800 -> 1000) is only 1.5 of them, so there the ceiling check above has to do.
  for (size_t n = 1; n < by_attempt.size(); ++n) {
    if (ceilings[n] < 2 * ceilings[n - 1]) continue;
    CHECK(mean(by_attempt[n]) > mean(by_attempt[n - 1]));
  }
}

TEST_CASE("a Retry-After sets the wait: seconds, HTTP-date, capped, then the round goes through") {
  Server server;
  fieldsync::testing::TempDir dir;
  const std::time_t now = std::time(nullptr);
  FlakyFront front({Scripted{429, {{"Retry-After", "3"}}}, Scripted{503, {{"Retry-After", "7"}}},
                    Scripted{503,
                             {{"Date", FlakyFront::HttpDate(now)},
                              {"Retry-After", FlakyFront::HttpDate(now + 9)}}},
                    Scripted{503, {{"Retry-After", "100000"}}}},
                   server.port);
  WaitRecorder waits;
  ReplicatorOptions options = OptionsFor("zhang", front.url());
  options.retry.max_attempts = 5;
  options.retry.max_retry_after_ms = 60000;
  options.wait = waits.Hook();
  Tablet a(dir, "zhang", front.url(), 1, options);
  PutCustomer(a.db.get(), "ra", 1);

  SyncProgress progress = a.Sync();
  CHECK(waits.Take() == std::vector<int64_t>{3000, 7000, 9000, 60000});
  CHECK(progress.retries == 4);
  CHECK(progress.changes_pushed == 1);
  CHECK(a.PendingCount() == 0);
  CHECK(server.Feed().size() == 1);
}

TEST_CASE("attempts run out: the round fails Unavailable and the outbox stays") {
  fieldsync::testing::TempDir dir;
  FlakyFront front({Scripted{500, {}}}, 0);
  WaitRecorder waits;
  ReplicatorOptions options = OptionsFor("zhang", front.url());
  options.retry.max_attempts = 3;
  options.wait = waits.Hook();
  Tablet a(dir, "zhang", front.url(), 1, options);
  PutCustomer(a.db.get(), "out", 1);
  SyncProgress progress;
  Status s = a.repl->SyncOnce(&progress);
  CHECK(s.code() == StatusCode::kUnavailable);
  CHECK(front.requests() == 3);
  CHECK(waits.Take().size() == 2);
  CHECK(a.PendingCount() == 1);
  RoundReport last = a.repl->LastRound();
  CHECK(last.finished);
  CHECK(last.status.code() == StatusCode::kUnavailable);
  CHECK(last.consecutive_failures == 1);
}

TEST_CASE("Cancel ends a Retry-After wait at once, the round returns Cancelled") {
  FlakyFront front({Scripted{503, {{"Retry-After", "30"}}}}, 0);
  fieldsync::testing::TempDir dir;
  ReplicatorOptions options = OptionsFor("zhang", front.url());
  options.retry.max_attempts = 3;  // real waits: 30 s each unless cancelled
  Tablet a(dir, "zhang", front.url(), 1, options);
  std::atomic<bool> waiting{false};
  a.repl->SetProgressCallback([&](const SyncProgress& p) {
    if (p.phase == SyncPhase::kWaiting) waiting.store(true);
  });
  const Clock::time_point start = Clock::now();
  std::future<Status> round = std::async(std::launch::async, [&] {
    SyncProgress progress;
    return a.repl->SyncOnce(&progress);
  });
  REQUIRE(Eventually([&] { return waiting.load(); }));
  a.repl->Cancel();
  REQUIRE(round.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  Status s = round.get();
  CHECK(s.code() == StatusCode::kCancelled);
  CHECK(MsSince(start) < 5000);  // far below the 30 s the server asked for
  CHECK(front.requests() == 1);
}

TEST_CASE("Cancel during a multi-page pull keeps whole pages, the next round resumes") {
  Server server(/*max_batch_changes=*/2);
  fieldsync::testing::TempDir dir;
  Tablet a(dir, "zhang", server.url, 1);
  ReplicatorOptions one_page = OptionsFor("zhang", server.url);
  one_page.pull_changes_per_transaction = 1;        // each page in its own transaction
  Tablet b(dir, "zhang", server.url, 2, one_page);  // zhang's second tablet: sees his customers
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i) ids.push_back(PutCustomer(a.db.get(), "page", i));
  CHECK(a.Sync().changes_pushed == 7);

  b.repl->SetProgressCallback([&](const SyncProgress& p) {
    if (p.phase == SyncPhase::kPull && p.changes_pulled == 2) b.repl->Cancel();
  });
  SyncProgress progress;
  Status s = b.repl->SyncOnce(&progress);
  CHECK(s.code() == StatusCode::kCancelled);
  CHECK(progress.changes_pulled == 2);
  int present = 0;
  for (const std::string& id : ids) present += b.db->Get("customers", id).ok() ? 1 : 0;
  CHECK(present == 2);  // exactly the applied page
  const std::string cursor = b.Cursor();
  CHECK_FALSE(cursor.empty());

  b.repl->SetProgressCallback(nullptr);
  SyncProgress rest = b.Sync();     // a round after Cancel() returned is not cancelled by it
  CHECK(rest.changes_pulled == 5);  // from the committed cursor, not from the start
  for (const std::string& id : ids) CHECK(b.Get("customers", id) == a.Get("customers", id));
}

TEST_CASE("progress reports grow monotonically and end at the round's numbers") {
  Server server(/*max_batch_changes=*/2);
  fieldsync::testing::TempDir dir;
  Tablet a(dir, "zhang", server.url, 1);
  Tablet b(dir, "zhang", server.url, 2);
  for (int i = 0; i < 5; ++i) PutCustomer(a.db.get(), "prog", i);
  PutCustomer(b.db.get(), "prog-b", 0);
  b.Sync();  // one change for a to pull

  std::vector<SyncProgress> reports;
  a.repl->SetProgressCallback([&](const SyncProgress& p) { reports.push_back(p); });
  SyncProgress final_progress = a.Sync();
  CHECK(final_progress.changes_pushed == 5);
  CHECK(final_progress.changes_pulled == 1);
  REQUIRE(reports.size() > 4);
  std::set<int64_t> pushed_steps;
  std::vector<SyncPhase> phases;
  for (size_t i = 0; i < reports.size(); ++i) {
    const SyncProgress& p = reports[i];
    pushed_steps.insert(p.changes_pushed);
    if (phases.empty() || phases.back() != p.phase) phases.push_back(p.phase);
    if (i == 0) continue;
    const SyncProgress& q = reports[i - 1];
    CHECK(p.changes_pushed >= q.changes_pushed);
    CHECK(p.changes_pulled >= q.changes_pulled);
    CHECK(p.bytes_sent >= q.bytes_sent);
    CHECK(p.bytes_received >= q.bytes_received);
  }
  // Three push batches of at most 2: the count moves batch by batch.
  CHECK(pushed_steps == std::set<int64_t>{0, 2, 4, 5});
  CHECK(phases == std::vector<SyncPhase>{SyncPhase::kLogin, SyncPhase::kPush, SyncPhase::kPull,
                                         SyncPhase::kDone});
  const SyncProgress& last = reports.back();
  CHECK(last.phase == SyncPhase::kDone);
  CHECK(last.changes_pushed == final_progress.changes_pushed);
  CHECK(last.changes_refused == final_progress.changes_refused);
  CHECK(last.changes_pulled == final_progress.changes_pulled);
  CHECK(last.bytes_sent == final_progress.bytes_sent);
  CHECK(last.bytes_received == final_progress.bytes_received);
  CHECK(final_progress.bytes_sent > 0);
}

TEST_CASE("a second SyncOnce while a round runs returns Unavailable at once") {
  Server server;
  fieldsync::testing::TempDir dir;
  Tablet a(dir, "zhang", server.url, 1);
  PutCustomer(a.db.get(), "busy", 1);
  std::mutex mu;
  std::condition_variable cv;
  bool in_push = false, release = false;
  a.repl->SetProgressCallback([&](const SyncProgress& p) {
    if (p.phase != SyncPhase::kPush) return;
    std::unique_lock<std::mutex> lock(mu);
    in_push = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  });
  std::future<Status> first = std::async(std::launch::async, [&] {
    SyncProgress progress;
    return a.repl->SyncOnce(&progress);
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return in_push; }));
  }
  const Clock::time_point start = Clock::now();
  SyncProgress second_progress;
  Status second = a.repl->SyncOnce(&second_progress);
  CHECK(MsSince(start) < 1000);
  CHECK(second.code() == StatusCode::kUnavailable);
  CHECK(second.message().find("already running") != std::string::npos);
  CHECK(second_progress.bytes_sent == 0);
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  Status s = first.get();
  CHECK_MESSAGE(s.ok(), s.ToString());
  CHECK(a.PendingCount() == 0);
  CHECK(server.Feed().size() == 1);
}

TEST_CASE("the loop syncs, SyncNow wakes it early, Stop joins, start arguments are checked") {
  Server server;
  fieldsync::testing::TempDir dir;
  Tablet a(dir, "zhang", server.url, 1);
  std::atomic<int> rounds{0};
  a.repl->SetProgressCallback([&](const SyncProgress& p) {
    if (p.phase == SyncPhase::kDone) rounds.fetch_add(1);
  });
  CHECK(a.repl->Start(0).code() == StatusCode::kInvalidArgument);
  CHECK_FALSE(a.repl->running());
  const int64_t kHour = 3600 * 1000;
  REQUIRE(a.repl->Start(kHour).ok());
  CHECK(a.repl->running());
  CHECK(a.repl->Start(kHour).code() == StatusCode::kFailedPrecondition);
  REQUIRE(Eventually([&] { return rounds.load() == 1; }));  // the first round runs at once
  CHECK(a.repl->LastRound().status.ok());

  PutCustomer(a.db.get(), "loop", 1);
  const Clock::time_point start = Clock::now();
  a.repl->SyncNow();
  REQUIRE(Eventually([&] { return rounds.load() == 2; }));
  CHECK(MsSince(start) < 10000);  // not the hour
  CHECK(a.PendingCount() == 0);
  CHECK(server.Feed().size() == 1);
  CHECK(a.repl->LastRound().progress.changes_pushed == 1);

  const Clock::time_point stopping = Clock::now();
  a.repl->Stop();
  CHECK(MsSince(stopping) < 2000);
  CHECK_FALSE(a.repl->running());
  a.repl->Stop();  // idempotent
  CHECK(rounds.load() == 2);
}

TEST_CASE("the loop backs off after failures, and Stop cancels a round in its wait") {
  FlakyFront front({Scripted{503, {}}}, 0);
  fieldsync::testing::TempDir dir;
  WaitRecorder waits;
  ReplicatorOptions options = OptionsFor("zhang", front.url());
  options.retry.initial_delay_ms = 100;
  options.retry.max_delay_ms = 1000;
  options.wait = waits.Hook();
  Tablet a(dir, "zhang", front.url(), 1, options);
  REQUIRE(a.repl->Start(50000).ok());
  std::vector<int64_t> delays;
  REQUIRE(Eventually([&] {
    std::vector<int64_t> more = waits.Take();
    delays.insert(delays.end(), more.begin(), more.end());
    return delays.size() >= 8;
  }));
  a.repl->Stop();
  // After failure f (1, 2, ...): max(initial, a draw under min(max, initial * 2^(f-1))).
  for (size_t f = 1; f <= 8; ++f) {
    const int64_t ceiling = std::min<int64_t>(1000, int64_t{100} << (f - 1));
    CHECK(delays[f - 1] >= 100);
    CHECK(delays[f - 1] <= ceiling);
  }
  CHECK(a.repl->LastRound().consecutive_failures >= 8);

  // Real waits: Stop interrupts the round's 30 s Retry-After wait.
  FlakyFront slow({Scripted{503, {{"Retry-After", "30"}}}}, 0);
  ReplicatorOptions real = OptionsFor("zhang", slow.url());
  real.retry.max_attempts = 3;
  Tablet b(dir, "zhang", slow.url(), 2, real);
  std::atomic<bool> waiting{false};
  b.repl->SetProgressCallback([&](const SyncProgress& p) {
    if (p.phase == SyncPhase::kWaiting) waiting.store(true);
  });
  REQUIRE(b.repl->Start(50000).ok());
  REQUIRE(Eventually([&] { return waiting.load(); }));
  const Clock::time_point stopping = Clock::now();
  b.repl->Stop();
  CHECK(MsSince(stopping) < 2000);
  CHECK(b.repl->LastRound().status.code() == StatusCode::kCancelled);
}

}  // namespace
}  // namespace fieldsync::sync
