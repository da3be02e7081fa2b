// tests/sync/replicator_cut_test.cc: the connection drops in the middle of a push or of a pull
// page (a CutProxy between the replicator and the real server, real sockets on 127.0.0.1).
//
// What must hold: the round fails with a retryable status (or heals itself by retrying), a
// later round completes, the server's feed has every change exactly once, the tablets end with
// the server's records, and a pull resumes from the cursor of the last page applied.
#include <doctest/doctest.h>

#include <atomic>
#include <set>
#include <string>
#include <vector>

#include "cut_proxy.h"
#include "replicator_test_util.h"

namespace fieldsync::sync {
namespace {

using testing::CutProxy;
using testing::OptionsFor;
using testing::PutCustomer;
using testing::Server;
using testing::Tablet;

// Each accepted change appears once in the feed: no change id twice.
void CheckFeedOnce(const Server& server, size_t expected) {
  std::vector<server::FeedEntry> feed = server.Feed();
  CHECK(feed.size() == expected);
  std::set<std::string> ids;
  for (const server::FeedEntry& e : feed) {
    Result<Change> c = DecodeChange(e.change_json);
    REQUIRE(c.ok());
    ids.insert(c->change_id);
  }
  CHECK(ids.size() == feed.size());
}

// Arms the proxy once, when the first push batch has been acknowledged.
// A response is cut inside its body (`bytes` after the headers), a request anywhere.
void ArmAfterFirstBatch(Tablet& tablet, CutProxy& proxy, CutProxy::Direction direction,
                        size_t bytes, bool once, std::atomic<bool>* armed) {
  tablet.repl->SetProgressCallback([&proxy, direction, bytes, once, armed](const SyncProgress& p) {
    if (p.phase == SyncPhase::kPush && p.changes_pushed == 2 && !armed->exchange(true)) {
      proxy.Arm(direction, bytes, once, direction == CutProxy::Direction::kResponse);
    }
  });
}

TEST_CASE("a connection cut mid-push request: Unavailable, then a later round sends the rest") {
  Server server(/*max_batch_changes=*/2);
  CutProxy proxy(server.port);
  fieldsync::testing::TempDir dir;
  Tablet a(dir, "zhang", proxy.url(), 1);  // one attempt per call
  Tablet check(dir, "zhang", server.url, 2);
  a.Sync();  // logged in
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(PutCustomer(a.db.get(), "req", i));

  std::atomic<bool> armed{false};
  ArmAfterFirstBatch(a, proxy, CutProxy::Direction::kRequest, 100, /*once=*/false, &armed);
  SyncProgress progress;
  Status s = a.repl->SyncOnce(&progress);
  CHECK(s.code() == StatusCode::kUnavailable);
  CHECK(proxy.cuts() >= 1);
  CHECK(progress.changes_pushed == 2);
  CHECK(a.PendingCount() == 3);
  CheckFeedOnce(server, 2);  // the cut request never reached the service

  proxy.Disarm();
  a.repl->SetProgressCallback(nullptr);
  CHECK(a.Sync().changes_pushed == 3);
  CHECK(a.PendingCount() == 0);
  CheckFeedOnce(server, 5);
  CHECK(check.Sync().changes_pulled == 5);
  for (const std::string& id : ids) CHECK(check.Get("customers", id) == a.Get("customers", id));
}

TEST_CASE(
    "a connection cut mid-push response: the server kept the batch, the resend is a duplicate") {
  Server server(/*max_batch_changes=*/2);
  CutProxy proxy(server.port);
  fieldsync::testing::TempDir dir;
  Tablet a(dir, "zhang", proxy.url(), 1);
  Tablet check(dir, "zhang", server.url, 2);
  a.Sync();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(PutCustomer(a.db.get(), "resp", i));

  std::atomic<bool> armed{false};
  ArmAfterFirstBatch(a, proxy, CutProxy::Direction::kResponse, 20, /*once=*/false, &armed);
  SyncProgress progress;
  Status s = a.repl->SyncOnce(&progress);
  CHECK(s.code() == StatusCode::kUnavailable);
  CHECK(progress.changes_pushed == 2);
  CHECK(a.PendingCount() == 3);  // batch 2 unacknowledged here ...
  CheckFeedOnce(server, 4);      // ... though the server applied it

  proxy.Disarm();
  a.repl->SetProgressCallback(nullptr);
  SyncProgress again = a.Sync();
  CHECK(again.changes_pushed == 3);  // batch 2 answered "duplicate", batch 3 applied
  CHECK(a.PendingCount() == 0);
  CheckFeedOnce(server, 5);
  CHECK(check.Sync().changes_pulled == 5);
  for (const std::string& id : ids) CHECK(check.Get("customers", id) == a.Get("customers", id));
}

TEST_CASE("a push cut once heals within the round when retries are allowed") {
  Server server(/*max_batch_changes=*/2);
  CutProxy proxy(server.port);
  fieldsync::testing::TempDir dir;
  ReplicatorOptions options = OptionsFor("zhang", proxy.url());
  options.retry.max_attempts = 3;
  std::vector<int64_t> waits;
  options.wait = [&waits](int64_t ms, const std::function<bool()>&) { waits.push_back(ms); };
  Tablet a(dir, "zhang", proxy.url(), 1, options);
  a.Sync();
  for (int i = 0; i < 5; ++i) PutCustomer(a.db.get(), "heal", i);
  std::atomic<bool> armed{false};
  ArmAfterFirstBatch(a, proxy, CutProxy::Direction::kResponse, 20, /*once=*/true, &armed);
  SyncProgress progress = a.Sync();
  CHECK(proxy.cuts() == 1);
  CHECK(progress.retries == 1);
  CHECK(waits.size() == 1);
  CHECK(progress.changes_pushed == 5);
  CHECK(a.PendingCount() == 0);
  CheckFeedOnce(server, 5);
}

// Pulls 7 customers in pages of 2, applying `per_transaction` changes per local transaction, and
// cuts the connection (every response, after its headers) once `applied` changes are in. The
// applied batches stay whole, nothing of the cut batch lands, and the next round resumes at the
// committed cursor.
void CutMidPull(size_t per_transaction, int64_t applied) {
  Server server(/*max_batch_changes=*/2);
  CutProxy proxy(server.port);
  fieldsync::testing::TempDir dir;
  Tablet a(dir, "zhang", server.url, 1);
  ReplicatorOptions options = OptionsFor("zhang", proxy.url());
  options.pull_changes_per_transaction = per_transaction;
  Tablet b(dir, "zhang", proxy.url(), 2, options);
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i) ids.push_back(PutCustomer(a.db.get(), "pull", i));
  CHECK(a.Sync().changes_pushed == 7);

  std::atomic<bool> armed{false};
  b.repl->SetProgressCallback([&](const SyncProgress& p) {
    if (p.phase == SyncPhase::kPull && p.changes_pulled == applied && !armed.exchange(true)) {
      proxy.Arm(CutProxy::Direction::kResponse, 100, /*once=*/false, /*after_headers=*/true);
    }
  });
  SyncProgress progress;
  Status s = b.repl->SyncOnce(&progress);
  CHECK(s.code() == StatusCode::kUnavailable);
  CHECK(proxy.cuts() >= 1);
  CHECK(progress.changes_pulled == applied);
  int present = 0;
  for (const std::string& id : ids) present += b.db->Get("customers", id).ok() ? 1 : 0;
  CHECK(present == applied);  // the applied batch, whole; nothing of the cut one
  const std::string committed = b.Cursor();
  CHECK_FALSE(committed.empty());

  proxy.Disarm();
  b.repl->SetProgressCallback(nullptr);
  SyncProgress rest = b.Sync();
  CHECK(rest.changes_pulled == 7 - applied);  // resumed at the committed cursor
  CHECK(b.Cursor() != committed);
  for (const std::string& id : ids) CHECK(b.Get("customers", id) == a.Get("customers", id));
  CHECK(b.PendingCount() == 0);
  CheckFeedOnce(server, 7);
}

TEST_CASE("a connection cut mid-pull: the page is dropped, the next round resumes at the cursor") {
  CutMidPull(/*per_transaction=*/1, /*applied=*/2);
}

TEST_CASE(
    "a connection cut mid-pull with several pages per transaction: the whole unapplied batch is "
    "dropped, the next round resumes at the cursor") {
  CutMidPull(/*per_transaction=*/4, /*applied=*/4);
}

}  // namespace
}  // namespace fieldsync::sync
