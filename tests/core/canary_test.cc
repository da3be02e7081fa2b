// tests/core/canary_test.cc: no plaintext reaches the disk.
//
// Known strings (Latin and Chinese) are written through SQL; every file in the database's
// directory (main file, -wal, -shm, -journal and anything else) is scanned for them during and
// after large transactions, checkpoints, VACUUM, rollback-journal transactions, spilling sorts
// and a crash. None may ever appear.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "fieldsync/store.h"
#include "forensics.h"
#include "test_util.h"

namespace fieldsync {
namespace {

using testing::FilesContaining;
using testing::TempDir;
using testing::TestKey;

const std::string kLatin = "CANARY-7f3a9c-plaintext-leak";
const std::string kChinese = "机密客户王秀英的手机号码";

std::string Row(int i) { return kLatin + " " + kChinese + " #" + std::to_string(i); }

void ExpectNoCanary(const TempDir& dir, const char* when) {
  INFO("scanning after: ", when);
  CHECK(FilesContaining(dir, kLatin).empty());
  CHECK(FilesContaining(dir, kChinese).empty());
  // The temporary files of sorts and statement journals stay in memory.
  for (const std::string& name : dir.Files()) {
    const bool expected = name == "rep.db" || name == "rep.db-wal" || name == "rep.db-shm" ||
                          name == "rep.db-journal";
    CHECK_MESSAGE(expected, "unexpected file ", name);
  }
}

StoreOptions SmallCache(JournalMode mode) {
  StoreOptions options;
  options.journal_mode = mode;
  options.cache_size_kib = 64;  // forces dirty pages to spill to the WAL/file mid-transaction
  return options;
}

void InsertCanaries(Store& store, int from, int count) {
  for (int i = from; i < from + count; ++i) {
    REQUIRE(store.Execute("INSERT INTO t(body) VALUES (?)", {Row(i)}).ok());
  }
}

TEST_CASE("no canary reaches any file in WAL mode: large transaction, checkpoint, VACUUM") {
  TempDir dir;
  auto store = Store::Create(dir.File("rep.db"), TestKey(), SmallCache(JournalMode::kWal));
  REQUIRE(store.ok());
  Store& s = **store;
  REQUIRE(s.Execute("CREATE TABLE t(id INTEGER PRIMARY KEY, body TEXT)").ok());
  REQUIRE(s.Execute("BEGIN").ok());
  InsertCanaries(s, 0, 3000);  // ~300 KiB: far more than the 64 KiB cache
  ExpectNoCanary(dir, "uncommitted large transaction");
  REQUIRE(s.Execute("COMMIT").ok());
  ExpectNoCanary(dir, "commit");
  REQUIRE(s.Execute("CREATE INDEX t_body ON t(body)").ok());
  ExpectNoCanary(dir, "index build");
  REQUIRE(s.Execute("PRAGMA wal_checkpoint(TRUNCATE)").ok());
  ExpectNoCanary(dir, "checkpoint");
  REQUIRE(s.Execute("DELETE FROM t WHERE id % 2 = 0").ok());
  REQUIRE(s.Execute("VACUUM").ok());
  ExpectNoCanary(dir, "VACUUM");
  int64_t rows = testing::CountRows(s, "t");
  CHECK(rows == 1500);
  // Positive control: decrypted with the key, the same files do hold the canaries, so the scans
  // above would have found them had they been written in the clear.
  const std::string image = testing::DecryptedImage(dir.File("rep.db"), TestKey());
  CHECK(image.find(kLatin) != std::string::npos);
  CHECK(image.find(kChinese) != std::string::npos);
  store = Status::Internal("closed");
  ExpectNoCanary(dir, "close");
}

TEST_CASE("no canary reaches the rollback journal") {
  TempDir dir;
  auto store = Store::Create(dir.File("rep.db"), TestKey(), SmallCache(JournalMode::kRollback));
  REQUIRE(store.ok());
  Store& s = **store;
  REQUIRE(s.Execute("CREATE TABLE t(id INTEGER PRIMARY KEY, body TEXT)").ok());
  REQUIRE(s.Execute("BEGIN").ok());
  InsertCanaries(s, 0, 2000);
  REQUIRE(s.Execute("COMMIT").ok());
  // Rewriting the canary pages copies their old images into the journal.
  REQUIRE(s.Execute("BEGIN").ok());
  REQUIRE(s.Execute("UPDATE t SET body = body || ' updated'").ok());
  CHECK(testing::FileExists(dir.File("rep.db-journal")));
  ExpectNoCanary(dir, "open rollback-journal transaction");
  REQUIRE(s.Execute("ROLLBACK").ok());
  ExpectNoCanary(dir, "rollback");
  CHECK(testing::CountRows(s, "t") == 2000);
}

TEST_CASE("sorts and statement journals that spill stay off the disk") {
  TempDir dir;
  auto store = Store::Create(dir.File("rep.db"), TestKey(), SmallCache(JournalMode::kWal));
  REQUIRE(store.ok());
  Store& s = **store;
  REQUIRE(s.Execute("CREATE TABLE t(id INTEGER PRIMARY KEY, body TEXT UNIQUE)").ok());
  REQUIRE(s.Execute("BEGIN").ok());
  InsertCanaries(s, 0, 4000);
  // A multi-row statement inside a transaction keeps a statement journal; this one fails on
  // the UNIQUE constraint at its last row and is rolled back from it.
  Status dup = s.Execute(
      "INSERT INTO t(body) SELECT body || '!' FROM t UNION ALL SELECT body "
      "FROM t WHERE id = 1");
  CHECK(dup.code() == StatusCode::kInvalidArgument);
  REQUIRE(s.Execute("COMMIT").ok());
  int64_t n = 0;
  REQUIRE(s.Execute("SELECT count(*) FROM (SELECT body FROM t ORDER BY substr(body, 30) DESC)", {},
                    [&](const fieldsync::Row& r) {
                      n = std::get<int64_t>(r.values[0]);
                      return true;
                    })
              .ok());
  CHECK(n == 4000);
  ExpectNoCanary(dir, "spilling sort and statement journal");
}

TEST_CASE("no canary reaches the disk when the writer is killed mid-transaction") {
  TempDir dir;
  {
    auto store = Store::Create(dir.File("rep.db"), TestKey(), SmallCache(JournalMode::kWal));
    REQUIRE(store.ok());
    REQUIRE((*store)->Execute("CREATE TABLE t(id INTEGER PRIMARY KEY, body TEXT)").ok());
  }
  for (JournalMode mode : {JournalMode::kWal, JournalMode::kRollback}) {
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      auto store = Store::Open(dir.File("rep.db"), TestKey(), SmallCache(mode));
      if (!store.ok()) _exit(3);
      (void)(*store)->Execute("BEGIN");
      InsertCanaries(**store, 0, 1000);
      (void)(*store)->Execute("COMMIT");
      (void)(*store)->Execute("BEGIN");
      InsertCanaries(**store, 1000, 2000);  // spills, never commits
      raise(SIGKILL);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    REQUIRE(WIFSIGNALED(status));
    ExpectNoCanary(dir, mode == JournalMode::kWal ? "kill in WAL mode" : "kill in rollback mode");
  }
  auto store = Store::Open(dir.File("rep.db"), TestKey());
  REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  CHECK(testing::CountRows(**store, "t") == 2000);  // both committed batches, nothing else
  auto report = (*store)->Verify();
  REQUIRE_MESSAGE(report.ok(), report.status().ToString());
  CHECK(report->integrity_errors.empty());
}

TEST_CASE("the sqlite3 shell cannot read an encrypted database") {
  if (!testing::FileExists("/usr/bin/sqlite3")) {
    MESSAGE("sqlite3 shell not installed; the library-level check in store_test covers it");
    return;
  }
  TempDir dir;
  {
    auto store = Store::Create(dir.File("rep.db"), TestKey());
    REQUIRE(store.ok());
    REQUIRE((*store)->Execute("CREATE TABLE t(x); INSERT INTO t VALUES ('secret')").ok());
  }
  const std::string out = dir.File("shell.out");
  const std::string cmd =
      "/usr/bin/sqlite3 '" + dir.File("rep.db") + "' 'SELECT * FROM t' > '" + out + "' 2>&1";
  int rc = std::system(cmd.c_str());
  CHECK(rc != 0);
  CHECK(testing::ReadAll(out).find("not a database") != std::string::npos);
  std::remove(out.c_str());
}

}  // namespace
}  // namespace fieldsync
