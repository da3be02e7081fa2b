// tests/core/tamper_test.cc: every kind of tampering with the file is detected and named.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>

#include "fieldsync/store.h"
#include "forensics.h"
#include "test_util.h"

namespace fieldsync {
namespace {

using testing::CheapPassphrase;
using testing::ReadAt;
using testing::TempDir;
using testing::TestKey;
using testing::WriteAt;

constexpr long kHeader = 4096;
constexpr long kPage = 4096;

long PageOffset(int pgno) { return kHeader + (pgno - 1) * kPage; }

// A database with a table spanning many pages, closed (so the WAL is folded into the file).
void MakeDatabase(const std::string& path, const KeyProvider& key) {
  auto store = Store::Create(path, key);
  REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  REQUIRE((*store)->Execute("CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT)").ok());
  REQUIRE((*store)->Execute("BEGIN").ok());
  for (int i = 0; i < 400; ++i) {
    REQUIRE((*store)
                ->Execute("INSERT INTO customers(name) VALUES (?)",
                          {"客户 " + std::to_string(i) + std::string(100, 'x')})
                .ok());
  }
  REQUIRE((*store)->Execute("COMMIT").ok());
}

// Opens and reads everything; returns the first error.
Status ReadEverything(const std::string& path, const KeyProvider& key) {
  auto store = Store::Open(path, key);
  if (!store.ok()) return store.status();
  return (*store)->Execute("SELECT * FROM customers", {}, [](const Row&) { return true; });
}

TEST_CASE("a flipped byte inside a data page is reported as tampering") {
  TempDir dir;
  const std::string path = dir.File("rep.db");
  MakeDatabase(path, TestKey());
  std::string byte = ReadAt(path, PageOffset(3) + 777, 1);
  byte[0] = static_cast<char>(byte[0] ^ 0x01);
  WriteAt(path, PageOffset(3) + 777, byte);
  Status s = ReadEverything(path, TestKey());
  CHECK(s.code() == StatusCode::kCorruption);
  CHECK_MESSAGE(s.message().find("page 3 failed authentication") != std::string::npos, s.message());
  auto store = Store::Open(path, TestKey());
  REQUIRE(store.ok());
  CHECK((*store)->Verify().status().code() == StatusCode::kCorruption);
}

TEST_CASE("a flipped byte in any part of a page tail is detected") {
  // Nonce, tag and both hints: none may change unnoticed.
  for (long at : {kPage - 36, kPage - 20, kPage - 6, kPage - 2}) {
    TempDir dir;
    const std::string path = dir.File("rep.db");
    MakeDatabase(path, TestKey());
    std::string byte = ReadAt(path, PageOffset(4) + at, 1);
    byte[0] = static_cast<char>(byte[0] ^ 0x40);
    WriteAt(path, PageOffset(4) + at, byte);
    Status s = ReadEverything(path, TestKey());
    CHECK_MESSAGE(s.code() == StatusCode::kCorruption, "tail offset ", at, ": ", s.ToString());
  }
}

TEST_CASE("a swapped pair of pages is reported as moved pages") {
  TempDir dir;
  const std::string path = dir.File("rep.db");
  MakeDatabase(path, TestKey());
  const std::string p3 = ReadAt(path, PageOffset(3), kPage);
  const std::string p4 = ReadAt(path, PageOffset(4), kPage);
  WriteAt(path, PageOffset(3), p4);
  WriteAt(path, PageOffset(4), p3);
  Status s = ReadEverything(path, TestKey());
  CHECK(s.code() == StatusCode::kCorruption);
  CHECK_MESSAGE(s.message().find("moved or swapped") != std::string::npos, s.message());
}

TEST_CASE("a page copied in from another database is reported as foreign") {
  TempDir dir;
  const std::string path = dir.File("rep.db");
  const std::string other = dir.File("other.db");
  MakeDatabase(path, TestKey(1));
  MakeDatabase(other, TestKey(1));  // same key provider: the data keys still differ
  WriteAt(path, PageOffset(3), ReadAt(other, PageOffset(3), kPage));
  Status s = ReadEverything(path, TestKey(1));
  CHECK(s.code() == StatusCode::kCorruption);
  CHECK_MESSAGE(s.message().find("copied in from another database") != std::string::npos,
                s.message());
}

TEST_CASE("tamper, swap, foreign page and wrong passphrase each give their own error") {
  TempDir dir;
  std::set<std::string> messages;
  std::set<StatusCode> codes;
  auto record = [&](const Status& s) {
    REQUIRE_FALSE(s.ok());
    messages.insert(s.message().substr(s.message().find(':') + 1));
    codes.insert(s.code());
  };
  {
    const std::string path = dir.File("flip.db");
    MakeDatabase(path, TestKey());
    std::string byte = ReadAt(path, PageOffset(2) + 10, 1);
    byte[0] = static_cast<char>(byte[0] ^ 0x5a);  // flip, so the byte always changes
    WriteAt(path, PageOffset(2) + 10, byte);
    record(ReadEverything(path, TestKey()));
  }
  {
    const std::string path = dir.File("swap.db");
    MakeDatabase(path, TestKey());
    const std::string a = ReadAt(path, PageOffset(2), kPage);
    WriteAt(path, PageOffset(2), ReadAt(path, PageOffset(5), kPage));
    WriteAt(path, PageOffset(5), a);
    record(ReadEverything(path, TestKey()));
  }
  {
    const std::string path = dir.File("foreign.db");
    MakeDatabase(path, TestKey());
    MakeDatabase(dir.File("donor.db"), TestKey());
    WriteAt(path, PageOffset(2), ReadAt(dir.File("donor.db"), PageOffset(2), kPage));
    record(ReadEverything(path, TestKey()));
  }
  {
    const std::string path = dir.File("key.db");
    MakeDatabase(path, CheapPassphrase("right"));
    Status s = ReadEverything(path, CheapPassphrase("wrong"));
    CHECK(s.code() == StatusCode::kWrongKey);
    record(s);
  }
  CHECK(messages.size() == 4);
  CHECK(codes == std::set<StatusCode>{StatusCode::kCorruption, StatusCode::kWrongKey});
}

TEST_CASE("a damaged page 1 fails at open, not later") {
  TempDir dir;
  const std::string path = dir.File("rep.db");
  MakeDatabase(path, TestKey());
  WriteAt(path, PageOffset(1) + 200, std::string(4, '\0'));
  auto store = Store::Open(path, TestKey());
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == StatusCode::kCorruption);
}

TEST_CASE("a damaged key slot is corruption, not a wrong key") {
  TempDir dir;
  const std::string path = dir.File("rep.db");
  MakeDatabase(path, TestKey());
  std::string byte = ReadAt(path, 1024 + 90, 1);  // inside the wrapped key of slot A
  byte[0] = static_cast<char>(byte[0] ^ 0x01);    // flip, so the byte always changes
  WriteAt(path, 1024 + 90, byte);
  auto store = Store::Open(path, TestKey());
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == StatusCode::kCorruption);
  CHECK(store.status().message().find("key slot") != std::string::npos);
}

TEST_CASE("a truncated database file is reported, never read as empty rows") {
  TempDir dir;
  const std::string path = dir.File("rep.db");
  MakeDatabase(path, TestKey());
  const std::string all = testing::ReadAll(path);
  {
    FILE* f = std::fopen(path.c_str(), "wb");
    std::fwrite(all.data(), 1, all.size() - kPage / 2, f);  // cut the last page in half
    std::fclose(f);
  }
  auto store = Store::Open(path, TestKey());
  Status s = store.ok() ? (*store)->Verify().status() : store.status();
  CHECK(s.code() == StatusCode::kCorruption);
}

TEST_CASE("a plaintext SQLite file is refused with a clear message") {
  TempDir dir;
  const std::string path = dir.File("plain.db");
  {
    FILE* f = std::fopen(path.c_str(), "wb");
    std::string header = std::string("SQLite format 3") + std::string(4096, '\0');
    std::fwrite(header.data(), 1, header.size(), f);
    std::fclose(f);
  }
  auto store = Store::Open(path, TestKey());
  CHECK(store.status().code() == StatusCode::kCorruption);
  CHECK(store.status().message().find("plaintext SQLite") != std::string::npos);
}

}  // namespace
}  // namespace fieldsync

namespace fieldsync {
namespace {

using testing::TempDir;
using testing::TestKey;

// SQLite's WAL checksum (wal.c), in the byte order the WAL header's magic declares.
void WalChecksum(bool big_endian, const uint8_t* data, size_t n, uint32_t* s0, uint32_t* s1) {
  auto word = [&](size_t at) {
    const uint8_t* p = data + at;
    return big_endian ? (uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3])
                      : (uint32_t{p[3]} << 24 | uint32_t{p[2]} << 16 | uint32_t{p[1]} << 8 | p[0]);
  };
  for (size_t i = 0; i < n; i += 8) {
    *s0 += word(i) + *s1;
    *s1 += word(i + 4) + *s0;
  }
}
uint32_t Get32(const std::string& s, size_t at) {
  return uint32_t{uint8_t(s[at])} << 24 | uint32_t{uint8_t(s[at + 1])} << 16 |
         uint32_t{uint8_t(s[at + 2])} << 8 | uint8_t(s[at + 3]);
}
void Put32(std::string& s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>(v >> (24 - 8 * i));
}

TEST_CASE("a WAL frame forged into a commit marker does not commit half a transaction") {
  TempDir dir;
  const std::string path = dir.File("rep.db");
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // A child writes a 3-table transaction into the WAL and dies before any checkpoint.
    auto store = Store::Create(path, TestKey());
    if (!store.ok()) _exit(3);
    (void)(*store)->Execute("CREATE TABLE a(x); CREATE TABLE b(x); CREATE TABLE c(x)");
    (void)(*store)->Execute("PRAGMA wal_checkpoint(TRUNCATE)");
    (void)(*store)->Execute(
        "BEGIN; INSERT INTO a VALUES (1); INSERT INTO b VALUES (2); INSERT INTO c VALUES (3); "
        "COMMIT");
    raise(SIGKILL);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  std::string wal = testing::ReadAll(path + "-wal");
  const size_t frame = 24 + 4096;
  REQUIRE(wal.size() >= 32 + 3 * frame);
  const bool big_endian = (Get32(wal, 0) & 1) != 0;
  // Mark the first frame of the transaction as its commit, and re-chain the frame checksums.
  // The checksum is unkeyed and linear, so an attacker can carry the change through without the
  // plaintext; the test takes the shortcut of decrypting the pages to get the same numbers.
  uint32_t db_size = 0;  // the real commit frame's database size, copied onto the first frame
  for (size_t at = 32; at + frame <= wal.size(); at += frame)
    db_size = std::max(db_size, Get32(wal, at + 4));
  REQUIRE(db_size > 0);
  Put32(wal, 32 + 4, db_size);
  auto cipher = testing::CipherFor(path, TestKey());
  REQUIRE(cipher);
  uint32_t s0 = Get32(wal, 24), s1 = Get32(wal, 28);
  for (size_t at = 32; at + frame <= wal.size(); at += frame) {
    std::string page = wal.substr(at + 24, 4096);
    std::string original_commit = testing::ReadAll(path + "-wal").substr(at + 4, 4);
    auto* bytes = reinterpret_cast<uint8_t*>(page.data());
    REQUIRE(cipher->WalImageToDatabaseImage(
        Get32(wal, at), reinterpret_cast<const uint8_t*>(original_commit.data()), bytes));
    REQUIRE(cipher->OpenInPlace(crypto::PageKind::kDatabase, Get32(wal, at), bytes));
    WalChecksum(big_endian, reinterpret_cast<const uint8_t*>(wal.data() + at), 8, &s0, &s1);
    WalChecksum(big_endian, reinterpret_cast<const uint8_t*>(page.data()), 4096, &s0, &s1);
    Put32(wal, at + 16, s0);
    Put32(wal, at + 20, s1);
  }
  // ...and cut the WAL after the forged commit, dropping the transaction's real commit frame.
  wal.resize(32 + frame);
  {
    FILE* out = std::fopen((path + "-wal").c_str(), "wb");
    std::fwrite(wal.data(), 1, wal.size(), out);
    std::fclose(out);
  }
  auto store = Store::Open(path, TestKey());
  REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  // Either the whole transaction survives or none of it: never a, b without c.
  int64_t total = 0;
  for (const char* t : {"a", "b", "c"}) total += testing::CountRows(**store, t);
  CHECK((total == 0 || total == 3));
}

TEST_CASE(
    "a spilled WAL frame damaged before COMMIT makes the commit fail, never commits bytes it did "
    "not write") {
  // A transaction larger than the cache spills pages into the WAL and later rewrites some of them
  // in place; at COMMIT, SQLite re-reads its frames from the first rewritten one to compute their
  // checksums. A frame that no longer authenticates must fail that read: substituting bytes
  // there would make SQLite checksum the substitute and turn a damaged frame into a valid one.
  TempDir dir;
  const std::string path = dir.File("rep.db");
  StoreOptions options;
  options.cache_size_kib = 16;
  auto store = Store::Create(path, TestKey(), options);
  REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  REQUIRE((*store)->Execute("CREATE TABLE t(id INTEGER PRIMARY KEY, payload TEXT)").ok());
  REQUIRE((*store)->Execute("INSERT INTO t VALUES (0, 'kept')").ok());
  REQUIRE((*store)->Execute("PRAGMA wal_checkpoint(TRUNCATE)").ok());

  REQUIRE((*store)->Execute("BEGIN").ok());
  for (int i = 1; i <= 60; ++i) {
    REQUIRE((*store)
                ->Execute("INSERT INTO t VALUES (?, ?)", {int64_t{i}, std::string(3000, 'a')})
                .ok());
  }
  // Re-dirty every page once more, so spilled pages are written again, in place.
  REQUIRE(
      (*store)->Execute("UPDATE t SET payload = ? WHERE id > 0", {std::string(3000, 'b')}).ok());
  const std::string wal = testing::ReadAll(path + "-wal");
  const size_t frame = 24 + 4096;
  REQUIRE(wal.size() >= 32 + 20 * frame);
  // Flip a byte in the page image of every frame written so far.
  for (size_t at = 32; at + frame <= wal.size(); at += frame) {
    std::string byte = ReadAt(path + "-wal", static_cast<long>(at + 24 + 100), 1);
    byte[0] = static_cast<char>(byte[0] ^ 0x5a);
    WriteAt(path + "-wal", static_cast<long>(at + 24 + 100), byte);
  }
  const Status commit = (*store)->Execute("COMMIT");
  CHECK_MESSAGE(!commit.ok(), "COMMIT succeeded over damaged frames");
  (void)(*store)->Execute("ROLLBACK");
  store->reset();

  // The damaged transaction is gone; what was committed before it is intact and verifies.
  auto reopened = Store::Open(path, TestKey(), options);
  REQUIRE_MESSAGE(reopened.ok(), reopened.status().ToString());
  CHECK(testing::CountRows(**reopened, "t") == 1);
  Result<VerifyReport> report = (*reopened)->Verify();
  REQUIRE_MESSAGE(report.ok(), report.status().ToString());
  CHECK(report->integrity_errors.empty());
}

TEST_CASE("a main file cut at a page boundary under a live WAL is reported, not read as zeros") {
  TempDir dir;
  const std::string path = dir.File("rep.db");
  auto writer = Store::Create(path, TestKey());
  REQUIRE(writer.ok());
  REQUIRE((*writer)->Execute("CREATE TABLE t(id INTEGER PRIMARY KEY, body BLOB)").ok());
  REQUIRE((*writer)->Execute("BEGIN").ok());
  for (int i = 0; i < 200; ++i) {
    REQUIRE((*writer)->Execute("INSERT INTO t(body) VALUES (randomblob(900))").ok());
  }
  REQUIRE((*writer)->Execute("COMMIT").ok());
  REQUIRE((*writer)->Execute("PRAGMA wal_checkpoint(TRUNCATE)").ok());
  REQUIRE((*writer)->Execute("INSERT INTO t(body) VALUES (x'00')").ok());  // a live WAL frame
  const auto size = testing::ReadAll(path).size();
  REQUIRE(truncate(path.c_str(), static_cast<off_t>(size - 4096 * 3)) == 0);
  auto reader = Store::Open(path, TestKey());
  Status s = reader.ok() ? (*reader)->Execute("SELECT sum(length(body)) FROM t") : reader.status();
  CHECK(s.code() == StatusCode::kCorruption);
  CHECK_MESSAGE(s.message().find("truncated") != std::string::npos, s.message());
}

TEST_CASE("a file cut back to its header is refused in both journal modes") {
  for (JournalMode mode : {JournalMode::kWal, JournalMode::kRollback}) {
    TempDir dir;
    const std::string path = dir.File("rep.db");
    StoreOptions options;
    options.journal_mode = mode;
    {
      auto store = Store::Create(path, TestKey(), options);
      REQUIRE(store.ok());
    }
    REQUIRE(testing::ReadAll(path).size() > 4096);  // created with page 1 written
    REQUIRE(truncate(path.c_str(), 4096) == 0);
    auto store = Store::Open(path, TestKey(), options);
    CHECK(store.status().code() == StatusCode::kCorruption);
  }
}

TEST_CASE("SQL cannot attach or VACUUM INTO a plaintext file") {
  TempDir dir;
  auto store = Store::Create(dir.File("rep.db"), TestKey());
  REQUIRE(store.ok());
  REQUIRE((*store)->Execute("CREATE TABLE t(x); INSERT INTO t VALUES ('secret')").ok());
  const std::string plain = dir.File("plain.db");
  CHECK_FALSE((*store)->Execute("ATTACH '" + plain + "' AS p").ok());
  CHECK_FALSE((*store)->Execute("ATTACH ? AS p", {plain}).ok());
  CHECK_FALSE((*store)->Execute("VACUUM INTO 'file:" + plain + "?vfs=unix'").ok());
  CHECK_FALSE((*store)->Execute("VACUUM INTO ?", {plain}).ok());
  CHECK_FALSE(testing::FileExists(plain));
  CHECK((*store)->Execute("VACUUM").ok());  // the in-memory temp database of VACUUM is fine
}

}  // namespace
}  // namespace fieldsync
