// tests/core/key_test.cc: changing the passphrase, rotating the data key, destroying a database.
#include <doctest/doctest.h>
#include <unistd.h>

#include "fieldsync/store.h"
#include "test_util.h"

namespace fieldsync {
namespace {

using testing::CheapPassphrase;
using testing::CountRows;
using testing::ReadAll;
using testing::TempDir;
using testing::TestKey;

constexpr size_t kHeader = 4096;
constexpr size_t kPage = 4096;

void Fill(Store& store, int rows) {
  REQUIRE(store.Execute("CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, body TEXT)").ok());
  REQUIRE(store.Execute("BEGIN").ok());
  for (int i = 0; i < rows; ++i) {
    REQUIRE(store.Execute("INSERT INTO t(body) VALUES (?)", {"张伟的拜访记录 " + std::to_string(i)})
                .ok());
  }
  REQUIRE(store.Execute("COMMIT").ok());
}

TEST_CASE("a passphrase change rewrites only the header and swaps which passphrase opens") {
  TempDir dir;
  const std::string path = dir.File("rep.db");
  {
    auto store = Store::Create(path, CheapPassphrase("old words"));
    REQUIRE(store.ok());
    Fill(**store, 2000);
  }
  const std::string before = ReadAll(path);
  {
    auto store = Store::Open(path, CheapPassphrase("old words"));
    REQUIRE(store.ok());
    REQUIRE((*store)->Execute("PRAGMA wal_checkpoint(TRUNCATE)").ok());
    Status s = (*store)->ChangeKey(CheapPassphrase("new words"));
    REQUIRE_MESSAGE(s.ok(), s.ToString());
    CHECK(CountRows(**store, "t") == 2000);  // the open connection keeps working
  }
  const std::string after = ReadAll(path);
  REQUIRE(after.size() == before.size());
  // Constant work whatever the size: not one byte of any page changed.
  CHECK(after.compare(kHeader, std::string::npos, before, kHeader, std::string::npos) == 0);
  CHECK(after.compare(0, kHeader, before, 0, kHeader) != 0);
  CHECK(Store::Open(path, CheapPassphrase("old words")).status().code() == StatusCode::kWrongKey);
  auto reopened = Store::Open(path, CheapPassphrase("new words"));
  REQUIRE(reopened.ok());
  CHECK(CountRows(**reopened, "t") == 2000);
  auto info = Store::ReadInfo(path);
  REQUIRE(info.ok());
  CHECK(info->key_generation == 2);
}

TEST_CASE("a passphrase change can move a database from a passphrase to a host key") {
  TempDir dir;
  const std::string path = dir.File("rep.db");
  auto store = Store::Create(path, CheapPassphrase("words"));
  REQUIRE(store.ok());
  Fill(**store, 10);
  REQUIRE((*store)->ChangeKey(TestKey(9)).ok());
  store = Status::Internal("closed");
  CHECK(Store::Open(path, CheapPassphrase("words")).status().code() == StatusCode::kWrongKey);
  auto reopened = Store::Open(path, TestKey(9));
  REQUIRE(reopened.ok());
  CHECK(CountRows(**reopened, "t") == 10);
}

TEST_CASE("rotating the data key re-encrypts every page and keeps every row") {
  TempDir dir;
  const std::string path = dir.File("rep.db");
  std::string before;
  std::string old_key_id;
  {
    auto store = Store::Create(path, TestKey());
    REQUIRE(store.ok());
    Fill(**store, 3000);
  }
  before = ReadAll(path);
  old_key_id = Store::ReadInfo(path)->data_key_id;
  {
    auto store = Store::Open(path, TestKey());
    REQUIRE(store.ok());
    Status s = (*store)->RotateDataKey();
    REQUIRE_MESSAGE(s.ok(), s.ToString());
    // The Store now works on the new file.
    CHECK(CountRows(**store, "t") == 3000);
    REQUIRE((*store)->Execute("INSERT INTO t(body) VALUES ('after rotation')").ok());
  }
  auto info = Store::ReadInfo(path);
  REQUIRE(info.ok());
  CHECK(info->data_key_id != old_key_id);
  const std::string after = ReadAll(path);
  const size_t pages = std::min(before.size(), after.size()) / kPage;
  REQUIRE(pages > 10);
  size_t identical = 0;
  for (size_t p = 1; p < pages; ++p) {
    if (before.compare(p * kPage, kPage, after, p * kPage, kPage) == 0) ++identical;
  }
  CHECK(identical == 0);
  auto store = Store::Open(path, TestKey());  // same host key, new data key underneath
  REQUIRE(store.ok());
  CHECK(CountRows(**store, "t") == 3001);
  auto report = (*store)->Verify();
  REQUIRE(report.ok());
  CHECK(report->integrity_errors.empty());
  CHECK_FALSE(testing::FileExists(path + ".rekey-tmp"));
}

TEST_CASE("rotation with a new passphrase retires the old one") {
  TempDir dir;
  const std::string path = dir.File("rep.db");
  {
    auto store = Store::Create(path, CheapPassphrase("before"));
    REQUIRE(store.ok());
    Fill(**store, 100);
    auto after = CheapPassphrase("after");
    REQUIRE((*store)->RotateDataKey(&after).ok());
  }
  CHECK(Store::Open(path, CheapPassphrase("before")).status().code() == StatusCode::kWrongKey);
  auto store = Store::Open(path, CheapPassphrase("after"));
  REQUIRE(store.ok());
  CHECK(CountRows(**store, "t") == 100);
}

TEST_CASE("rotation refuses while another connection has the database open") {
  TempDir dir;
  const std::string path = dir.File("rep.db");
  auto store = Store::Create(path, TestKey());
  REQUIRE(store.ok());
  Fill(**store, 50);
  StoreOptions quick;
  quick.busy_timeout_ms = 50;
  auto other = Store::Open(path, TestKey(), quick);
  REQUIRE(other.ok());
  CHECK(CountRows(**other, "t") == 50);
  const std::string key_id = Store::ReadInfo(path)->data_key_id;
  Status s = (*store)->RotateDataKey();
  CHECK(s.code() == StatusCode::kUnavailable);
  CHECK(Store::ReadInfo(path)->data_key_id == key_id);
  // Both connections still work, in WAL mode.
  REQUIRE((*store)->Execute("INSERT INTO t(body) VALUES ('still writable')").ok());
  CHECK(CountRows(**other, "t") == 51);
}

TEST_CASE("destroy shreds the key material and removes every file of the database") {
  TempDir dir;
  const std::string path = dir.File("rep.db");
  const std::string survivor = dir.File("copy-of-inode");
  {
    auto store = Store::Create(path, TestKey());
    REQUIRE(store.ok());
    Fill(**store, 100);
    REQUIRE(link(path.c_str(), survivor.c_str()) == 0);  // a second name for the same bytes
    CHECK(Store::Destroy(path).code() == StatusCode::kFailedPrecondition);  // still open
  }
  Status s = Store::Destroy(path);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    CHECK_FALSE(testing::FileExists(path + suffix));
  }
  CHECK(Store::Open(path, TestKey()).status().code() == StatusCode::kNotFound);
  // Whatever copy of the bytes survives can no longer be opened: the wrapped key is gone.
  auto opened = Store::Open(survivor, TestKey());
  CHECK(opened.status().code() == StatusCode::kCorruption);
}

TEST_CASE("destroy refuses a file that is not a fieldsync database") {
  TempDir dir;
  const std::string path = dir.File("notes.txt");
  {
    FILE* f = std::fopen(path.c_str(), "wb");
    std::string text(5000, 'n');
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  CHECK(Store::Destroy(path).code() == StatusCode::kCorruption);
  CHECK(testing::FileExists(path));
}

}  // namespace
}  // namespace fieldsync
