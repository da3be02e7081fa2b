// tests/core/tamper_test.cc: every kind of tampering with the file is detected and named.
#include <doctest/doctest.h>

#include <set>

#include "fieldsync/store.h"
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
    WriteAt(path, PageOffset(2) + 10, std::string(1, '\x5a'));
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
  WriteAt(path, 1024 + 90, std::string(1, '\x01'));  // inside the wrapped key of slot A
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
