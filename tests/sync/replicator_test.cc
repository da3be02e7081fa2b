// tests/sync/replicator_test.cc: two tablets (real encrypted files, raw keys) syncing through the
// real fieldsync-server, started in-process on 127.0.0.1 (a free port), over libcurl.
//
// The world of tests/server/server_test_util.h: tenant minghui, reps zhang and li in team east1,
// manager chen. zhang's customer is shared with east1 (the admin API), so li sees and edits it.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "replicator_test_util.h"

namespace fieldsync::sync {
namespace {

using nlohmann::json;

constexpr char kCustomer[] = "cust-minghui-0001";
constexpr char kOtherCustomer[] = "cust-minghui-0002";

using testing::Server;

// The original fixture: a tablet built from the server, as the first tests wrote it.
struct Tablet : testing::Tablet {
  Tablet(const fieldsync::testing::TempDir& dir, const std::string& user, const Server& server,
         uint8_t key_seed)
      : testing::Tablet(dir, user, server.url, key_seed) {}
};

TEST_CASE("two tablets converge through the real server, refusals become dead letters") {
  Server server;
  REQUIRE(server::AdminShareCustomer(server.world.backend.get(), server::testing::kTenant,
                                     kCustomer, "east1")
              .ok());
  fieldsync::testing::TempDir dir;
  Tablet a(dir, "zhang", server, 1);
  Tablet b(dir, "li", server, 2);

  // zhang creates a customer (shared with the team), a visit, and a customer of his own.
  REQUIRE(a.db->Put("customers", json({{"id", kCustomer},
                                       {"kind", "company"},
                                       {"name", "明辉贸易有限公司"},
                                       {"owner_rep", "zhang"},
                                       {"phones", {"+8613800138000"}},
                                       {"notes", "老客户"}})
                                     .dump())
              .ok());
  Result<std::string> visit = a.db->Put("visits", json({{"customer", kCustomer},
                                                        {"rep", "zhang"},
                                                        {"start", "2026-11-18T09:00:00+08:00"},
                                                        {"summary", "介绍新产品线"}})
                                                      .dump());
  REQUIRE(visit.ok());
  REQUIRE(a.db->Put("customers", json({{"id", kOtherCustomer},
                                       {"kind", "person"},
                                       {"name", "王芳"},
                                       {"owner_rep", "zhang"}})
                                     .dump())
              .ok());
  SyncProgress first = a.Sync();
  CHECK(first.changes_pushed == 3);
  CHECK(first.changes_refused == 0);
  CHECK(first.bytes_sent > 0);
  CHECK(a.PendingCount() == 0);

  // li sees the shared customer and its visit, not zhang's own customer.
  SyncProgress pulled = b.Sync();
  CHECK(pulled.changes_pulled == 2);
  CHECK(b.Get("customers", kCustomer)["name"] == "明辉贸易有限公司");
  CHECK(b.Get("visits", *visit)["summary"] == "介绍新产品线");
  CHECK(b.db->Get("customers", kOtherCustomer).status().IsNotFound());
  Result<std::vector<SearchHit>> hits = b.db->Search("明辉");
  REQUIRE(hits.ok());
  CHECK(hits->size() == 1);

  // Offline, both edit the phones (last writer wins) and the notes (review); zhang also writes
  // credit_level, which only finance may set, in the same batch as a grade change.
  REQUIRE(a.db->Update("customers", kCustomer,
                       json({{"phones", {"+8613900139000"}}, {"notes", "张伟: 下周二拜访"}}).dump())
              .ok());
  REQUIRE(a.db->Update("customers", kOtherCustomer, json({{"credit_level", "AAA"}}).dump()).ok());
  REQUIRE(a.db->Update("customers", kOtherCustomer, json({{"grade", "A"}}).dump()).ok());
  // Make li's edit later in HLC order. Edits in the same millisecond on two tablets are ordered
  // by node id, which is random; and each tablet corrects its clock by a skew estimate measured
  // against the server, which carries a few milliseconds of noise on loopback. 50 ms is well
  // beyond both.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(
      b.db->Update("customers", kCustomer,
                   json({{"phones", {"+8613700137000"}}, {"notes", "李娜: 客户要新报价"}}).dump())
          .ok());

  for (int round = 0; round < 2; ++round) {
    a.Sync();
    b.Sync();
  }
  CHECK(a.PendingCount() == 0);
  CHECK(b.PendingCount() == 0);

  // Converged: the same record on both tablets, li's later phone edit wins.
  const json on_a = a.Get("customers", kCustomer);
  const json on_b = b.Get("customers", kCustomer);
  CHECK(on_a == on_b);
  CHECK(on_a["phones"] == json({"+8613700137000"}));

  // The notes conflict is open on both, with the same heads.
  std::vector<Conflict> conflicts_a = a.ConflictsOf("customers", kCustomer);
  std::vector<Conflict> conflicts_b = b.ConflictsOf("customers", kCustomer);
  REQUIRE(conflicts_a.size() == 1);
  REQUIRE(conflicts_b.size() == 1);
  CHECK(conflicts_a[0].field == "notes");
  CHECK(conflicts_a[0].id == conflicts_b[0].id);
  REQUIRE(conflicts_a[0].heads.size() == 2);
  CHECK(conflicts_a[0].heads[0].value == on_a["notes"]);

  // The refused credit_level is a dead letter with the server's reason; the grade went through
  // and the record no longer shows the refused value.
  Result<std::vector<DeadLetter>> letters = a.db->DeadLetters();
  REQUIRE(letters.ok());
  REQUIRE(letters->size() == 1);
  CHECK((*letters)[0].record_id == kOtherCustomer);
  CHECK((*letters)[0].reason.find("forbidden") != std::string::npos);
  CHECK((*letters)[0].reason.find("credit_level") != std::string::npos);
  const json other = a.Get("customers", kOtherCustomer);
  CHECK(other["grade"] == "A");
  CHECK_FALSE(other.contains("credit_level"));

  // A replayed round changes nothing.
  SyncProgress replay_a = a.Sync();
  SyncProgress replay_b = b.Sync();
  CHECK(replay_a.changes_pushed == 0);
  CHECK(replay_a.changes_pulled == 0);
  CHECK(replay_b.changes_pulled == 0);
  CHECK(a.Get("customers", kCustomer) == on_a);
  CHECK(b.Get("customers", kCustomer) == on_b);
}

TEST_CASE("a pull from no cursor over synced data changes nothing") {
  Server server;
  REQUIRE(server::AdminShareCustomer(server.world.backend.get(), server::testing::kTenant,
                                     kCustomer, "east1")
              .ok());
  fieldsync::testing::TempDir dir;
  Tablet a(dir, "zhang", server, 1);
  Tablet b(dir, "li", server, 2);
  REQUIRE(a.db->Put("customers", json({{"id", kCustomer},
                                       {"kind", "company"},
                                       {"name", "华东机电"},
                                       {"owner_rep", "zhang"},
                                       {"notes", "首次接触"}})
                                     .dump())
              .ok());
  a.Sync();
  b.Sync();
  const json before = b.Get("customers", kCustomer);
  // Forget the cursor: the next pull is a full resync of the same changes.
  REQUIRE(
      b.db->RunSyncTransaction([](Database::SyncTransaction& txn) { return txn.WriteCursor(""); })
          .ok());
  SyncProgress again = b.Sync();
  CHECK(again.changes_pulled == 1);
  CHECK(b.Get("customers", kCustomer) == before);
  CHECK(b.ConflictsOf("customers", kCustomer).empty());
  CHECK(b.PendingCount() == 0);
}

}  // namespace
}  // namespace fieldsync::sync
