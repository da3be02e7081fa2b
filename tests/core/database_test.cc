// tests/core/database_test.cc: records, validation at the door, change capture,
// tombstones, purge, migrations and concurrent use of a Database.
#include "fieldsync/database.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "forensics.h"
#include "test_util.h"

namespace fieldsync {
namespace {

using nlohmann::json;
using testing::TempDir;
using testing::TestKey;

constexpr int64_t kNowMs = 1795000000000;
constexpr int64_t kDayMs = 24LL * 3600 * 1000;

struct Fixture {
  TempDir dir;
  ManualClock clock{kNowMs * 1000};
  DatabaseOptions options;
  std::unique_ptr<Database> db;

  Fixture() {
    options.clock = &clock;
    auto created = Database::Create(dir.File("rep.db"), TestKey(), options);
    REQUIRE_MESSAGE(created.ok(), created.status().ToString());
    db = std::move(*created);
  }
  void Reopen(DatabaseOptions opts) {
    db.reset();
    auto opened = Database::Open(dir.File("rep.db"), TestKey(), opts);
    REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
    db = std::move(*opened);
  }
  int64_t Count(const std::string& sql) {
    int64_t n = -1;
    REQUIRE(db->writer_store()
                .Execute(sql, {},
                         [&](const Row& r) {
                           n = std::get<int64_t>(r.values[0]);
                           return true;
                         })
                .ok());
    return n;
  }
  json Outbox() {
    json rows = json::array();
    REQUIRE(db->writer_store()
                .Execute("SELECT change_id, collection, record_id, op, fields, node, "
                         "schema_version, recreate FROM fs_outbox ORDER BY seq",
                         {},
                         [&](const Row& r) {
                           rows.push_back(
                               {{"change_id", std::get<std::string>(r.values[0])},
                                {"collection", std::get<std::string>(r.values[1])},
                                {"record_id", std::get<std::string>(r.values[2])},
                                {"op", std::get<std::string>(r.values[3])},
                                {"fields", json::parse(std::get<std::string>(r.values[4]))},
                                {"node", std::get<std::string>(r.values[5])},
                                {"schema_version", std::get<int64_t>(r.values[6])},
                                {"recreate", std::get<int64_t>(r.values[7])}});
                           return true;
                         })
                .ok());
    return rows;
  }
};

const char* kCustomer =
    R"({"kind":"company","name":"上海明辉贸易有限公司","phones":["138 0013 8000"],"grade":"A",
        "owner_rep":"rep-li","emails":["Sales@MingHui.example.cn"]})";

TEST_CASE("a put record reads back normalized, with a generated id") {
  Fixture f;
  auto id = f.db->Put("customers", kCustomer);
  REQUIRE_MESSAGE(id.ok(), id.status().ToString());
  CHECK(id->size() == 36);
  auto got = f.db->Get("customers", *id);
  REQUIRE(got.ok());
  json record = json::parse(*got);
  CHECK(record["id"] == *id);
  CHECK(record["name"] == "上海明辉贸易有限公司");
  CHECK(record["phones"][0] == "+8613800138000");
  CHECK(record["emails"][0] == "sales@minghui.example.cn");
}

TEST_CASE("bad input is refused naming every bad field, and nothing is written") {
  Fixture f;
  auto bad = f.db->Put("customers",
                       R"({"kind":"company","name":"坏数据","phones":["1380013800"],
                           "emails":["not-an-email"],"grade":"Z","scale":42})");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == StatusCode::kInvalidArgument);
  for (const char* field : {"phones[0]", "emails[0]", "grade", "scale"}) {
    CHECK_MESSAGE(bad.status().message().find(field) != std::string::npos, field, " in ",
                  bad.status().message());
  }
  auto missing = f.db->Put("customers", R"({"name":"no kind"})");
  CHECK(missing.status().message().find("kind") != std::string::npos);
  auto not_utf8 = f.db->Put("customers",
                            std::string(R"({"kind":"person","name":"bad )") + "\xC3\x28" + R"("})");
  CHECK(not_utf8.status().code() == StatusCode::kInvalidArgument);
  CHECK(not_utf8.status().message().find("name") != std::string::npos);
  CHECK(f.db->Put("customers", "{not json").status().code() == StatusCode::kInvalidArgument);
  CHECK(f.db->Put("nonsense", "{}").status().code() == StatusCode::kInvalidArgument);
  CHECK(f.Count("SELECT count(*) FROM fs_records") == 0);
  CHECK(f.Count("SELECT count(*) FROM fs_outbox") == 0);
}

TEST_CASE("a batch is applied whole or not at all") {
  Fixture f;
  auto first = f.db->Put("customers", kCustomer);
  REQUIRE(first.ok());
  std::vector<Edit> edits = {
      {Edit::Kind::kPut, "customers", "", R"({"kind":"person","name":"张伟"})"},
      {Edit::Kind::kUpdate, "customers", *first, R"({"grade":"B"})"},
      {Edit::Kind::kPut, "customers", "", R"({"kind":"person","name":"王芳","grade":"Q"})"},
  };
  auto r = f.db->Apply(edits);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("edit 3") != std::string::npos);
  // A failure found while writing (the record to update is gone) also undoes
  // earlier edits.
  edits[2] = {Edit::Kind::kUpdate, "customers", "no-such-id", R"({"grade":"C"})"};
  r = f.db->Apply(edits);
  CHECK(r.status().code() == StatusCode::kNotFound);
  CHECK(f.Count("SELECT count(*) FROM fs_records") == 1);
  CHECK(json::parse(*f.db->Get("customers", *first))["grade"] == "A");
  CHECK(f.Count("SELECT count(*) FROM fs_outbox") == 1);
  edits.pop_back();
  r = f.db->Apply(edits);
  REQUIRE(r.ok());
  CHECK(r->size() == 2);
  CHECK(json::parse(*f.db->Get("customers", *first))["grade"] == "B");
}

TEST_CASE("every write stamps fields with increasing HLC versions and the node id") {
  Fixture f;
  auto id = f.db->Put("customers", kCustomer);
  REQUIRE(id.ok());
  f.clock.AdvanceMicros(1000);
  REQUIRE(f.db->Update("customers", *id, R"({"grade":"B"})").ok());
  std::string versions_text;
  REQUIRE(f.db->writer_store()
              .Execute("SELECT versions FROM fs_records WHERE id = ?", {*id},
                       [&](const Row& r) {
                         versions_text = std::get<std::string>(r.values[0]);
                         return true;
                       })
              .ok());
  json versions = json::parse(versions_text);
  CHECK(versions["grade"][1] == f.db->node_id());
  CHECK(versions["grade"][0].get<uint64_t>() > versions["name"][0].get<uint64_t>());
  CHECK(Hlc(versions["name"][0].get<uint64_t>()).physical_ms() == kNowMs);
}

TEST_CASE(
    "node id and HLC persist across reopen, even with the clock set back "
    "3 days") {
  Fixture f;
  auto id = f.db->Put("customers", kCustomer);
  REQUIRE(id.ok());
  const std::string node = f.db->node_id();
  REQUIRE(node.size() == 16);
  f.clock.SetWallMicros((kNowMs - 3 * kDayMs) * 1000);
  f.Reopen(f.options);
  CHECK(f.db->node_id() == node);
  REQUIRE(f.db->Update("customers", *id, R"({"grade":"C"})").ok());
  json outbox = f.Outbox();
  REQUIRE(outbox.size() == 1);  // coalesced into the pending upsert
  CHECK(outbox[0]["fields"]["grade"]["hlc"].get<uint64_t>() >
        outbox[0]["fields"]["name"]["hlc"].get<uint64_t>());
}

TEST_CASE("the outbox coalesces unsent edits of a record and never drops one") {
  Fixture f;
  auto id = f.db->Put("customers", kCustomer);
  REQUIRE(id.ok());
  REQUIRE(f.db->Update("customers", *id, R"({"grade":"B"})").ok());
  REQUIRE(f.db->Update("customers", *id, R"({"grade":"C","region":"华东"})").ok());
  json outbox = f.Outbox();
  REQUIRE(outbox.size() == 1);
  CHECK(outbox[0]["op"] == "upsert");
  CHECK(outbox[0]["fields"]["grade"]["v"] == "C");
  CHECK(outbox[0]["fields"]["region"]["v"] == "华东");
  CHECK(outbox[0]["fields"]["name"]["v"] == "上海明辉贸易有限公司");
  CHECK(outbox[0]["node"] == f.db->node_id());
  CHECK(outbox[0]["change_id"].get<std::string>().size() == 36);
  // A row being sent is never changed: later edits queue behind it.
  REQUIRE(f.db->writer_store().Execute("UPDATE fs_outbox SET state = 'inflight'").ok());
  REQUIRE(f.db->Update("customers", *id, R"({"grade":"D"})").ok());
  REQUIRE(f.db->Delete("customers", *id).ok());
  REQUIRE(f.db->Put("customers", std::string(R"({"id":")") + *id +
                                     R"j(","kind":"company","name":"明辉（重建）"})j")
              .ok());
  outbox = f.Outbox();
  REQUIRE(outbox.size() == 4);
  CHECK(outbox[0]["fields"]["grade"]["v"] == "C");
  CHECK(outbox[1]["fields"]["grade"]["v"] == "D");
  CHECK(outbox[2]["op"] == "delete");
  CHECK(outbox[3]["op"] == "upsert");
  CHECK(outbox[3]["recreate"] == 1);  // the put over the tombstone starts the record anew
  for (int i = 0; i < 3; ++i) CHECK(outbox[i]["recreate"] == 0);
}

TEST_CASE("a put over a tombstone is a re-creation row: never absorbed, absorbing later updates") {
  Fixture f;
  auto id = f.db->Put("customers", kCustomer);
  REQUIRE(id.ok());
  // Deleted by the server while this tablet's creation is still unsent: the newest row of the
  // record is then a pending upsert, which must not swallow the re-creation (and lose its flag).
  Status deleted = f.db->RunSyncTransaction([&](Database::SyncTransaction& txn) {
    return txn.ApplyRemoteRecord("customers", *id, "{}", "{}", /*deleted=*/true,
                                 Hlc((kNowMs + 10) << 16));
  });
  REQUIRE_MESSAGE(deleted.ok(), deleted.ToString());
  f.clock.AdvanceMicros(20 * 1000);
  REQUIRE(f.db->Put("customers", R"({"id":")" + *id + R"(","kind":"person","name":"李娜"})").ok());
  json record = json::parse(*f.db->Get("customers", *id));
  CHECK_FALSE(record.contains("grade"));  // the old fields are gone
  // Later updates merge into the re-creation, by json_patch (grade) and by rewriting the row (a
  // null clears), and the flag stays.
  REQUIRE(f.db->Update("customers", *id, R"({"grade":"B"})").ok());
  REQUIRE(f.db->Update("customers", *id, R"({"region":"华南"})").ok());
  REQUIRE(f.db->Update("customers", *id, R"({"region":null})").ok());
  json outbox = f.Outbox();
  REQUIRE(outbox.size() == 2);
  CHECK(outbox[0]["recreate"] == 0);
  CHECK(outbox[0]["fields"]["grade"]["v"] == "A");
  CHECK(outbox[0]["fields"]["name"]["v"] == "上海明辉贸易有限公司");
  CHECK(outbox[1]["op"] == "upsert");
  CHECK(outbox[1]["recreate"] == 1);
  CHECK(outbox[1]["fields"]["name"]["v"] == "李娜");
  CHECK(outbox[1]["fields"]["grade"]["v"] == "B");
  CHECK(outbox[1]["fields"]["region"]["v"].is_null());
  // The sync layer reads the flag, and a refused re-creation is listed as one.
  Status read = f.db->RunSyncTransaction([&](Database::SyncTransaction& txn) -> Status {
    Result<std::vector<OutboxRow>> rows = txn.OutboxRowsOf("customers", *id);
    REQUIRE(rows.ok());
    REQUIRE(rows->size() == 2);
    CHECK_FALSE((*rows)[0].recreate);
    CHECK((*rows)[1].recreate);
    return txn.DeadLetter((*rows)[1].seq, "test refusal");
  });
  REQUIRE(read.ok());
  CHECK(f.Count("SELECT count(*) FROM fs_dead_letters WHERE op = 'recreate'") == 1);
}

TEST_CASE("a database made before outbox re-creations gets the column, its pending rows kept") {
  Fixture f;
  auto id = f.db->Put("customers", kCustomer);
  REQUIRE(id.ok());
  REQUIRE(f.db->Delete("customers", *id).ok());
  // The layout of fs_outbox before re-creations were recorded.
  REQUIRE(f.db->writer_store().Execute("ALTER TABLE fs_outbox DROP COLUMN recreate").ok());
  f.Reopen(f.options);
  CHECK(f.Count("SELECT count(*) FROM pragma_table_info('fs_outbox') WHERE name = 'recreate'") ==
        1);
  REQUIRE(f.db->Put("customers", R"({"id":")" + *id + R"(","kind":"person","name":"李娜"})").ok());
  json outbox = f.Outbox();
  REQUIRE(outbox.size() == 3);
  CHECK(outbox[0]["recreate"] == 0);
  CHECK(outbox[1]["op"] == "delete");
  CHECK(outbox[2]["recreate"] == 1);
  f.Reopen(f.options);  // a second open finds the column and leaves it
  CHECK(f.Outbox().size() == 3);
}

TEST_CASE("an update replaces arrays and objects whole, clears nulls, and refuses a tombstone") {
  // Updates that touch no searchable field are applied inside SQLite (json_patch); those with
  // an object value are not. Both must mean the same: a field's new value replaces the old one.
  Fixture f;
  auto id = f.db->Put("customers", R"({"kind":"company","name":"明辉","tags":["a","b"],
                                       "industry":"制造","custom":{"a":1,"k":[1]}})");
  REQUIRE(id.ok());
  f.clock.AdvanceMicros(1000);
  REQUIRE(f.db->Update("customers", *id, R"({"tags":["c"],"industry":null,"grade":"B"})").ok());
  REQUIRE(f.db->Update("customers", *id, R"({"custom":{"b":2}})").ok());
  auto got = f.db->Get("customers", *id);
  REQUIRE(got.ok());
  json record = json::parse(*got);
  CHECK(record["tags"] == json::array({"c"}));
  CHECK_FALSE(record.contains("industry"));
  CHECK(record["custom"] == json::parse(R"({"b":2})"));
  CHECK(record["grade"] == "B");
  CHECK(record["name"] == "明辉");
  json outbox = f.Outbox();
  REQUIRE(outbox.size() == 1);
  CHECK(outbox[0]["fields"]["industry"].contains("v"));
  CHECK(outbox[0]["fields"]["industry"]["v"].is_null());
  CHECK(outbox[0]["fields"]["tags"]["v"] == json::array({"c"}));
  CHECK(outbox[0]["fields"]["custom"]["v"] == json::parse(R"({"b":2})"));
  CHECK(outbox[0]["fields"]["grade"]["hlc"].get<uint64_t>() >
        outbox[0]["fields"]["name"]["hlc"].get<uint64_t>());

  REQUIRE(f.db->Delete("customers", *id).ok());
  const int64_t changes = f.Count("SELECT count(*) FROM fs_outbox");
  Status s = f.db->Update("customers", *id, R"({"grade":"C"})");
  CHECK(s.code() == StatusCode::kNotFound);
  CHECK(f.Count("SELECT count(*) FROM fs_outbox") == changes);
  CHECK(f.Count("SELECT count(*) FROM fs_records WHERE deleted = 1 AND "
                "json_extract(data, '$.grade') = 'C'") == 0);
}

TEST_CASE("pending count and the age of the oldest change are visible") {
  Fixture f;
  CHECK(f.db->Pending()->count == 0);
  REQUIRE(f.db->Put("customers", kCustomer).ok());
  f.clock.AdvanceMicros(90 * 1000 * 1000);
  REQUIRE(f.db->Put("customers", R"({"kind":"person","name":"李娜"})").ok());
  PendingSummary p = *f.db->Pending();
  CHECK(p.count == 2);
  CHECK(p.oldest_age_s == 90);
}

TEST_CASE("dead letters list the changes the server refused, with the reason") {
  Fixture f;
  REQUIRE(f.db->writer_store()
              .Execute("INSERT INTO fs_dead_letters VALUES (7, 'c-1', "
                       "'customers', 'r-1', "
                       "'upsert', '{}', 'credit_level is set by the back "
                       "office only', 5)")
              .ok());
  auto letters = f.db->DeadLetters();
  REQUIRE(letters.ok());
  REQUIRE(letters->size() == 1);
  CHECK((*letters)[0].reason == "credit_level is set by the back office only");
}

TEST_CASE(
    "a delete leaves a tombstone, purge erases the data once the delete "
    "is sent") {
  Fixture f;
  auto id = f.db->Put("customers",
                      R"({"kind":"person","name":"待删除客户赵敏","notes":"PURGE-ME-4711"})");
  REQUIRE(id.ok());
  REQUIRE(f.db->Delete("customers", *id).ok());
  CHECK(f.db->Get("customers", *id).status().code() == StatusCode::kNotFound);
  CHECK(f.Count("SELECT count(*) FROM fs_records WHERE deleted = 1") == 1);
  CHECK(f.db->Search("赵敏")->empty());
  CHECK(f.db->Purge("customers", *id).code() == StatusCode::kFailedPrecondition);  // unsent
  REQUIRE(f.db->writer_store().Execute("DELETE FROM fs_outbox").ok());  // as if acknowledged
  Status purged = f.db->Purge("customers", *id);
  REQUIRE_MESSAGE(purged.ok(), purged.ToString());
  CHECK(f.Count("SELECT count(*) FROM fs_records WHERE deleted = 1 AND data = "
                "'{}'") == 1);
  const std::string image = testing::DecryptedImage(f.dir.File("rep.db"), TestKey());
  CHECK(image.find("PURGE-ME-4711") == std::string::npos);
  CHECK(image.find("赵敏") == std::string::npos);
}

TEST_CASE("visits are append-only") {
  Fixture f;
  auto c = f.db->Put("customers", kCustomer);
  REQUIRE(c.ok());
  auto v = f.db->Put("visits", R"({"customer":")" + *c +
                                   R"(","rep":"rep-li","start":"2026-11-18T09:00:00+08:00",
                                      "summary":"介绍新产品"})");
  REQUIRE_MESSAGE(v.ok(), v.status().ToString());
  CHECK(f.db->Update("visits", *v, R"({"summary":"x"})").code() == StatusCode::kFailedPrecondition);
}

TEST_CASE(
    "a new app version adds fields in place without losing data or "
    "pending changes") {
  Fixture f;
  auto id = f.db->Put("customers", kCustomer);
  REQUIRE(id.ok());
  CHECK(f.db->Update("customers", *id, R"({"wechat_id":"mh-sales"})").code() ==
        StatusCode::kInvalidArgument);  // unknown before the upgrade
  DatabaseOptions v2 = f.options;
  v2.schema_extension_json =
      R"({"version":2,"collections":{"customers":{"fields":{
           "wechat_id":{"type":"text","searchable":true}}}}})";
  f.Reopen(v2);
  CHECK(f.db->schema().version() == 2);
  REQUIRE(f.db->Update("customers", *id, R"({"wechat_id":"mh-sales"})").ok());
  CHECK(json::parse(*f.db->Get("customers", *id))["name"] == "上海明辉贸易有限公司");
  json outbox = f.Outbox();
  REQUIRE(outbox.size() == 1);
  CHECK(outbox[0]["schema_version"] == 2);
  CHECK(f.db->Pending()->count == 1);
  // Going back to the older app would drop the new field: refused.
  f.db.reset();
  auto old = Database::Open(f.dir.File("rep.db"), TestKey(), f.options);
  CHECK(old.status().code() == StatusCode::kFailedPrecondition);
  f.Reopen(v2);
}

TEST_CASE(
    "clearing or rotating keys refuses to discard pending changes unless "
    "forced") {
  Fixture f;
  REQUIRE(f.db->Put("customers", kCustomer).ok());
  CHECK(f.db->RotateDataKey(false).code() == StatusCode::kFailedPrecondition);
  REQUIRE(f.db->RotateDataKey(true).ok());
  CHECK(f.db->Pending()->count == 1);
  CHECK(Database::Clear(f.db, false).code() == StatusCode::kFailedPrecondition);
  REQUIRE(f.db);  // refused: still open and usable
  CHECK(f.db->Pending()->count == 1);
  REQUIRE(Database::Clear(f.db, true).ok());
  CHECK_FALSE(f.db);
  CHECK_FALSE(testing::FileExists(f.dir.File("rep.db")));
}

TEST_CASE("a reader thread is not blocked by a writer holding a transaction") {
  Fixture f;
  auto id = f.db->Put("customers", kCustomer);
  REQUIRE(id.ok());
  REQUIRE(f.db->writer_store().Execute("BEGIN IMMEDIATE").ok());
  REQUIRE(f.db->writer_store()
              .Execute("UPDATE fs_records SET data = json_set(data, '$.grade', 'E')")
              .ok());
  std::atomic<bool> done{false};
  std::string seen;
  std::thread ui([&] {
    auto got = f.db->Get("customers", *id);
    if (got.ok()) seen = json::parse(*got)["grade"];
    done = true;
  });
  for (int i = 0; i < 200 && !done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(done.load());  // answered while the write transaction is still open
  ui.join();
  CHECK(seen == "A");  // the last committed state
  REQUIRE(f.db->writer_store().Execute("ROLLBACK").ok());
}

}  // namespace
}  // namespace fieldsync

namespace fieldsync {
namespace {

TEST_CASE("search follows renames and is unaffected by edits of other fields") {
  Fixture f;
  auto id = f.db->Put("customers", R"({"kind":"person","name":"王芳","grade":"B"})");
  REQUIRE(id.ok());
  REQUIRE(f.db->Update("customers", *id, R"({"grade":"A","notes":"重要客户"})").ok());
  auto hits = f.db->Search("王芳");
  REQUIRE(hits.ok());
  REQUIRE(hits->size() == 1);
  CHECK(nlohmann::json::parse((*hits)[0].record_json)["grade"] == "A");
  REQUIRE(f.db->Update("customers", *id, R"({"name":"李娜"})").ok());
  CHECK(f.db->Search("王芳")->empty());
  CHECK(f.db->Search("李娜")->size() == 1);
  CHECK(f.db->Search("ln")->size() == 1);  // pinyin initials of the new name
}

}  // namespace
}  // namespace fieldsync
