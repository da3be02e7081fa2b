// tests/core/store_test.cc: creating, opening and using an encrypted Store.
#include "fieldsync/store.h"

#include <doctest/doctest.h>
#include <sqlite3.h>

#include "test_util.h"

namespace fieldsync {
namespace {

using testing::CheapPassphrase;
using testing::CountRows;
using testing::TempDir;
using testing::TestKey;

TEST_CASE("a created database reopens with the same passphrase and keeps its rows") {
  TempDir dir;
  const std::string path = dir.File("rep.db");
  {
    auto store = Store::Create(path, CheapPassphrase("correct horse"));
    REQUIRE_MESSAGE(store.ok(), store.status().ToString());
    REQUIRE((*store)->Execute("CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT)").ok());
    REQUIRE((*store)
                ->Execute("INSERT INTO customers(name) VALUES (?), (?)",
                          {std::string("上海明辉贸易有限公司"), std::string("Acme")})
                .ok());
  }
  auto store = Store::Open(path, CheapPassphrase("correct horse"));
  REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  std::vector<std::string> names;
  REQUIRE((*store)
              ->Execute("SELECT name FROM customers ORDER BY id", {},
                        [&](const Row& row) {
                          names.push_back(std::get<std::string>(row.values[0]));
                          return true;
                        })
              .ok());
  REQUIRE(names.size() == 2);
  CHECK(names[0] == "上海明辉贸易有限公司");
  CHECK(names[1] == "Acme");
}

TEST_CASE("a wrong passphrase is refused with WrongKey at open") {
  TempDir dir;
  const std::string path = dir.File("rep.db");
  REQUIRE(Store::Create(path, CheapPassphrase("right")).ok());
  auto store = Store::Open(path, CheapPassphrase("wrong"));
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == StatusCode::kWrongKey);
}

TEST_CASE("a raw host key opens its database and a passphrase cannot") {
  TempDir dir;
  const std::string path = dir.File("rep.db");
  REQUIRE(Store::Create(path, TestKey(1)).ok());
  CHECK(Store::Open(path, TestKey(1)).ok());
  CHECK(Store::Open(path, TestKey(2)).status().code() == StatusCode::kWrongKey);
  CHECK(Store::Open(path, CheapPassphrase("x")).status().code() == StatusCode::kWrongKey);
}

TEST_CASE("create refuses an existing file and open refuses a missing one") {
  TempDir dir;
  const std::string path = dir.File("rep.db");
  REQUIRE(Store::Create(path, TestKey()).ok());
  CHECK(Store::Create(path, TestKey()).status().code() == StatusCode::kAlreadyExists);
  CHECK(Store::Open(dir.File("missing.db"), TestKey()).status().code() == StatusCode::kNotFound);
}

TEST_CASE("the stock sqlite3 library cannot read an encrypted database") {
  TempDir dir;
  const std::string path = dir.File("rep.db");
  {
    auto store = Store::Create(path, TestKey());
    REQUIRE(store.ok());
    REQUIRE((*store)->Execute("CREATE TABLE t(x); INSERT INTO t VALUES ('hello')").ok());
  }
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  int rc = sqlite3_exec(db, "SELECT * FROM sqlite_schema", nullptr, nullptr, nullptr);
  CHECK(rc == SQLITE_NOTADB);
  sqlite3_close(db);
}

TEST_CASE("rollback-journal mode stores and reopens data") {
  TempDir dir;
  const std::string path = dir.File("rep.db");
  StoreOptions options;
  options.journal_mode = JournalMode::kRollback;
  {
    auto store = Store::Create(path, TestKey(), options);
    REQUIRE_MESSAGE(store.ok(), store.status().ToString());
    REQUIRE((*store)->Execute("CREATE TABLE t(x)").ok());
    for (int i = 0; i < 50; ++i) {
      REQUIRE((*store)->Execute("INSERT INTO t VALUES (?)", {int64_t{i}}).ok());
    }
    REQUIRE((*store)->Execute("BEGIN; UPDATE t SET x = x + 1; ROLLBACK").ok());
  }
  auto store = Store::Open(path, TestKey(), options);
  REQUIRE(store.ok());
  CHECK(CountRows(**store, "t") == 50);
  int64_t sum = 0;
  REQUIRE((*store)
              ->Execute("SELECT sum(x) FROM t", {},
                        [&](const Row& r) {
                          sum = std::get<int64_t>(r.values[0]);
                          return true;
                        })
              .ok());
  CHECK(sum == 49 * 50 / 2);
}

TEST_CASE("two connections share a WAL database: a reader is not blocked by an open writer") {
  TempDir dir;
  const std::string path = dir.File("rep.db");
  auto writer = Store::Create(path, TestKey());
  REQUIRE(writer.ok());
  REQUIRE((*writer)->Execute("CREATE TABLE t(x); INSERT INTO t VALUES (1)").ok());
  auto reader = Store::Open(path, TestKey());
  REQUIRE(reader.ok());
  REQUIRE((*writer)->Execute("BEGIN IMMEDIATE; INSERT INTO t VALUES (2)").ok());
  CHECK(CountRows(**reader, "t") == 1);  // sees the last commit, does not wait
  REQUIRE((*writer)->Execute("COMMIT").ok());
  CHECK(CountRows(**reader, "t") == 2);
}

TEST_CASE("bad SQL and wrong parameter counts are InvalidArgument") {
  TempDir dir;
  auto store = Store::Create(dir.File("rep.db"), TestKey());
  REQUIRE(store.ok());
  CHECK((*store)->Execute("SELEKT 1").code() == StatusCode::kInvalidArgument);
  CHECK((*store)->Execute("SELECT ?", {}).ok());
  CHECK((*store)->Execute("SELECT ?, ?", {int64_t{1}}).code() == StatusCode::kInvalidArgument);
  CHECK((*store)->Execute("SELECT ?; SELECT 2", {int64_t{1}}).code() ==
        StatusCode::kInvalidArgument);
}

TEST_CASE("info reads the header without a key and reveals no secret") {
  TempDir dir;
  const std::string path = dir.File("rep.db");
  {
    auto store = Store::Create(path, CheapPassphrase("secret words"));
    REQUIRE(store.ok());
    REQUIRE((*store)->Execute("CREATE TABLE t(x)").ok());
  }
  auto info = Store::ReadInfo(path);
  REQUIRE_MESSAGE(info.ok(), info.status().ToString());
  CHECK(info->cipher == "AES-256-GCM");
  CHECK(info->page_size == 4096);
  CHECK(info->reserve_bytes == 36);
  CHECK(info->page_count >= 2);
  CHECK(info->kek.kind == KekKind::kPassphraseScrypt);
  CHECK(info->kek.scrypt_n == 1024);
  CHECK(info->key_generation == 1);
  CHECK(info->data_key_id.size() == 16);
}

}  // namespace
}  // namespace fieldsync
