// tests/server/feed_order_test.cc: the cursor never skips a change (docs/protocol.md §7.2-§7.3).
//
// Two pushes on two connections: A draws its sequence and stops before COMMIT, B tries to push,
// a pull runs, A commits, B commits, a second pull continues from the first pull's cursor. With
// the feed lock (the backend's write lock, held from the draw to the commit) B cannot draw a
// sequence until A is visible, so the first pull sees neither and the second sees both, A first.
// The same interleaving against a naive feed (sequence drawn like a PostgreSQL nextval, outside
// the inserting transaction, and a "max sequence seen" cursor) loses A: the test can catch the bug.
#include <sqlite3.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "server_test_util.h"

namespace fieldsync::server::testing {
namespace {

// A one-shot signal between threads.
class Latch {
 public:
  void Open() {
    std::lock_guard<std::mutex> l(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool Wait(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, timeout, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

FeedEntry Entry(const std::string& record) {
  FeedEntry e;
  e.collection = "customers";
  e.record_id = record;
  e.node = "n1";
  e.change_json = "{}";
  e.scope_keys = {"u:zhang"};
  return e;
}

// A pull as SyncService::Pull does it: W = highest visible sequence, entries in (after, W].
std::vector<uint64_t> PullSeqs(Backend* backend, uint64_t after, uint64_t* watermark) {
  Result<std::unique_ptr<BackendSession>> s = backend->OpenSession();
  REQUIRE(s.ok());
  REQUIRE((*s)->BeginRead().ok());
  Result<uint64_t> w = (*s)->FeedHighWater(kTenant);
  REQUIRE(w.ok());
  FeedFilter all;
  all.all = true;
  Result<std::vector<FeedEntry>> entries = (*s)->ReadFeed(kTenant, after, *w, all, 100);
  REQUIRE(entries.ok());
  REQUIRE((*s)->Commit().ok());
  *watermark = *w;
  std::vector<uint64_t> seqs;
  for (const FeedEntry& e : *entries) seqs.push_back(e.seq);
  return seqs;
}

TEST_CASE("a push that draws its sequence first is never skipped by a pull (feed lock)") {
  World world;
  Backend* backend = world.backend.get();
  Latch a_drew, a_may_commit;
  std::atomic<bool> b_committed{false};
  uint64_t seq_a = 0, seq_b = 0;

  std::thread push_a([&] {
    Result<std::unique_ptr<BackendSession>> s = backend->OpenSession();
    if (!s.ok()) return;
    CHECK((*s)->BeginWrite().ok());
    std::vector<FeedEntry> entries{Entry("record-a")};
    CHECK((*s)->AppendFeed(kTenant, &entries).ok());
    seq_a = entries[0].seq;
    a_drew.Open();
    CHECK(a_may_commit.Wait());
    CHECK((*s)->Commit().ok());
  });
  REQUIRE(a_drew.Wait());

  std::thread push_b([&] {
    Result<std::unique_ptr<BackendSession>> s = backend->OpenSession();
    if (!s.ok()) return;
    CHECK((*s)->BeginWrite().ok());  // waits here for A: the feed lock
    std::vector<FeedEntry> entries{Entry("record-b")};
    CHECK((*s)->AppendFeed(kTenant, &entries).ok());
    seq_b = entries[0].seq;
    CHECK((*s)->Commit().ok());
    b_committed = true;
  });

  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK_FALSE(b_committed.load());  // B could not overtake A
  uint64_t cursor = 0;
  CHECK(PullSeqs(backend, 0, &cursor).empty());  // A is uncommitted, B has not drawn yet
  CHECK(cursor == 0);

  a_may_commit.Open();
  push_a.join();
  push_b.join();
  CHECK(seq_a < seq_b);  // B drew after A committed

  uint64_t cursor2 = 0;
  const std::vector<uint64_t> second = PullSeqs(backend, cursor, &cursor2);
  CHECK(second == std::vector<uint64_t>{seq_a, seq_b});  // nothing skipped, A first
  CHECK(cursor2 == seq_b);
}

TEST_CASE("a push through the service that commits late is delivered by the next pull") {
  // The same race end to end: push A stops inside its transaction after AppendFeed (the test
  // hook), push B from another device runs meanwhile, pulls go on, then A commits.
  Latch a_in_commit, a_may_commit;
  std::atomic<int> hook_calls{0};
  ServiceOptions options;
  options.before_commit_for_test = [&] {
    if (hook_calls.fetch_add(1) == 0) {
      a_in_commit.Open();
      (void)a_may_commit.Wait();
    }
  };
  World world(options);
  const Principal zhang = world.As("zhang");
  const Principal li = world.As("li");
  const Principal chen = world.As("chen");

  std::thread push_a([&] {
    auto r = world.service->ApplyPush(
        zhang, Push("dev-zhang", {Customer("a-1", "cust-a", "甲公司", "zhang", HlcAt(kNowMs))}));
    CHECK(r.ok());
  });
  REQUIRE(a_in_commit.Wait());
  std::atomic<bool> b_done{false};
  std::thread push_b([&] {
    auto r = world.service->ApplyPush(
        li, Push("dev-li", {Customer("b-1", "cust-b", "乙公司", "li", HlcAt(kNowMs))}));
    CHECK(r.ok());
    b_done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK_FALSE(b_done.load());

  auto first = world.service->Pull(chen, "", 1, 0);
  REQUIRE(first.ok());
  CHECK(first.value().changes.empty());

  a_may_commit.Open();
  push_a.join();
  push_b.join();
  auto second = world.service->Pull(chen, first.value().next_cursor, 1, 0);
  REQUIRE(second.ok());
  REQUIRE(second.value().changes.size() == 2);
  CHECK(second.value().changes[0].record_id == "cust-a");
  CHECK(second.value().changes[1].record_id == "cust-b");
}

// ---- the naive design, to show the interleaving above does catch the bug --------------------

// A feed whose sequence is drawn outside the inserting transaction (like PostgreSQL's nextval,
// which is not rolled back and not ordered with commits), read with a "max seq seen" cursor.
class NaiveFeed {
 public:
  explicit NaiveFeed(const std::string& path) {
    REQUIRE(sqlite3_open(path.c_str(), &db_) == SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
    Exec(
        "PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS counter(n INTEGER);"
        "CREATE TABLE IF NOT EXISTS feed(seq INTEGER PRIMARY KEY);"
        "INSERT INTO counter SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM counter);");
  }
  ~NaiveFeed() { sqlite3_close(db_); }
  int64_t DrawSequence() {  // autocommit, like nextval
    Exec("UPDATE counter SET n = n + 1");
    return Scalar("SELECT n FROM counter");
  }
  void InsertAndCommit(int64_t seq) {
    Exec(("INSERT INTO feed(seq) VALUES(" + std::to_string(seq) + ")").c_str());
  }
  // Returns the sequences after `after`; `*max_seen` becomes the highest returned.
  std::vector<int64_t> NaivePull(int64_t after, int64_t* max_seen) {
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db_, "SELECT seq FROM feed WHERE seq > ? ORDER BY seq", -1, &st,
                               nullptr) == SQLITE_OK);
    sqlite3_bind_int64(st, 1, after);
    std::vector<int64_t> out;
    *max_seen = after;
    while (sqlite3_step(st) == SQLITE_ROW) {
      out.push_back(sqlite3_column_int64(st, 0));
      *max_seen = std::max(*max_seen, out.back());
    }
    sqlite3_finalize(st);
    return out;
  }

 private:
  void Exec(const char* sql) { REQUIRE(sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == 0); }
  int64_t Scalar(const char* sql) {
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    const int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
  }
  sqlite3* db_ = nullptr;
};

TEST_CASE("the naive max-seq cursor skips a change when a lower sequence commits later") {
  TempDir dir;
  NaiveFeed a(dir.File("naive.db"));  // push A's connection
  NaiveFeed b(dir.File("naive.db"));  // push B's connection
  NaiveFeed reader(dir.File("naive.db"));
  const int64_t seq_a = a.DrawSequence();  // 1
  const int64_t seq_b = b.DrawSequence();  // 2
  b.InsertAndCommit(seq_b);
  int64_t cursor = 0;
  CHECK(reader.NaivePull(0, &cursor) == std::vector<int64_t>{seq_b});
  a.InsertAndCommit(seq_a);
  int64_t cursor2 = 0;
  const std::vector<int64_t> second = reader.NaivePull(cursor, &cursor2);
  CHECK(second.empty());  // seq_a is never delivered: the bug the feed lock prevents
  CHECK(seq_a < cursor);
}

}  // namespace
}  // namespace fieldsync::server::testing
