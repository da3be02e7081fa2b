// tests/sync/deletes_sync_test.cc: deletes, re-creations and add-wins sets through the replicator
// and the real server, each shown alone on two tablets (zhang and li of team east1, on a customer
// shared with the team).
//
// These are the cases the random histories of convergence_sync_test.cc once met as failures (a
// refused contact delete, re-creations sent as plain upserts, tags sent as a value), kept as
// regression tests.
#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "sync_world.h"

namespace fieldsync::sync::testing {
namespace {

using nlohmann::json;

constexpr char kShared[] = "cs-0";

struct TwoTablets {
  fieldsync::testing::TempDir dir;
  SyncServer server;
  SyncTablet zhang{dir, "zhang", "zhang", server, 1};
  SyncTablet li{dir, "li", "li", server, 2};

  TwoTablets() {
    REQUIRE(server::AdminShareCustomer(server.world.backend.get(), server::testing::kTenant,
                                       kShared, "east1")
                .ok());
  }

  void SyncBoth() {
    for (int pass = 0; pass < 2; ++pass) {
      zhang.Sync();
      li.Sync();
    }
  }

  void CheckNoDeadLetters() {
    for (SyncTablet* t : {&zhang, &li}) {
      for (const DeadLetter& letter : t->DeadLetters()) {
        FAIL_CHECK(t->user << ": dead letter " << letter.collection << "/" << letter.record_id
                           << ": " << letter.reason);
      }
    }
  }
};

std::string Dump(const std::optional<json>& record) {
  return record ? record->dump() : std::string("(none)");
}

TEST_CASE("a customer deleted on one tablet is deleted on the other and on the server") {
  TwoTablets t;
  REQUIRE(t.zhang.db
              ->Put("customers", json({{"id", kShared},
                                       {"kind", "company"},
                                       {"name", "明辉贸易"},
                                       {"owner_rep", "zhang"}})
                                     .dump())
              .ok());
  t.SyncBoth();
  REQUIRE(t.li.Get("customers", kShared));
  REQUIRE(t.li.db->Delete("customers", kShared).ok());
  t.SyncBoth();
  CHECK_FALSE(t.zhang.Get("customers", kShared));
  CHECK_FALSE(t.li.Get("customers", kShared));
  CHECK_FALSE(t.server.Record("customers", kShared));
  t.CheckNoDeadLetters();
}

// A delete of a delete_wins record (contacts, orders) erases its `customer` register; the server
// must still place it by the customer it had (it once refused every such delete).
TEST_CASE("a contact deleted on one tablet is deleted on the other and on the server") {
  TwoTablets t;
  REQUIRE(t.zhang.db
              ->Put("customers", json({{"id", kShared},
                                       {"kind", "company"},
                                       {"name", "明辉贸易"},
                                       {"owner_rep", "zhang"}})
                                     .dump())
              .ok());
  REQUIRE(
      t.zhang.db
          ->Put(
              "contacts",
              json({{"id", "ct-1"}, {"customer", kShared}, {"name", "张伟"}, {"title", "采购总监"}})
                  .dump())
          .ok());
  t.SyncBoth();
  REQUIRE(t.li.Get("contacts", "ct-1"));
  REQUIRE(t.zhang.db->Delete("contacts", "ct-1").ok());
  t.SyncBoth();
  CHECK(Dump(t.zhang.Get("contacts", "ct-1")) == "(none)");
  CHECK(Dump(t.li.Get("contacts", "ct-1")) == "(none)");
  CHECK(Dump(t.server.Record("contacts", "ct-1")) == "(none)");
  t.CheckNoDeadLetters();
}

// Database::Put over a tombstone starts the record anew on the tablet (the fields it does not name
// are gone); the outbox row is a re-creation and its Change carries `recreate`, so the server
// drops the old fields too (here grade and phones), and the acknowledged push leaves the
// re-creating tablet showing what the server merged.
TEST_CASE("a customer re-created after a synced delete holds only its new fields everywhere") {
  TwoTablets t;
  REQUIRE(t.zhang.db
              ->Put("customers", json({{"id", kShared},
                                       {"kind", "company"},
                                       {"name", "明辉贸易"},
                                       {"grade", "A"},
                                       {"phones", {"+8613800138000"}},
                                       {"owner_rep", "zhang"}})
                                     .dump())
              .ok());
  t.SyncBoth();
  REQUIRE(t.zhang.db->Delete("customers", kShared).ok());
  t.SyncBoth();
  REQUIRE_FALSE(t.li.Get("customers", kShared));
  REQUIRE(t.li.db
              ->Put("customers", json({{"id", kShared},
                                       {"kind", "company"},
                                       {"name", "明辉贸易（新）"},
                                       {"owner_rep", "zhang"}})
                                     .dump())
              .ok());
  const std::string on_li = Dump(t.li.Get("customers", kShared));
  CHECK(on_li.find("grade") == std::string::npos);
  t.SyncBoth();
  CHECK(Dump(t.li.Get("customers", kShared)) == on_li);
  CHECK(Dump(t.zhang.Get("customers", kShared)) == on_li);
  std::optional<json> on_server = t.server.Record("customers", kShared);
  if (on_server) (*on_server)["id"] = kShared;
  CHECK(Dump(on_server) == on_li);
  t.CheckNoDeadLetters();
}

// A string_set field (tags, add_wins_set) is pushed as set_add / set_remove: the difference
// between the value the user set and what the record showed, so a concurrent add on another
// tablet survives a removal it never saw.
TEST_CASE("tags edited on two tablets at once keep both additions (add-wins set)") {
  TwoTablets t;
  REQUIRE(t.zhang.db
              ->Put("customers", json({{"id", kShared},
                                       {"kind", "company"},
                                       {"name", "明辉贸易"},
                                       {"owner_rep", "zhang"},
                                       {"tags", {"重点客户"}}})
                                     .dump())
              .ok());
  t.SyncBoth();
  CHECK(Dump(t.li.Get("customers", kShared)).find("重点客户") != std::string::npos);
  // Offline at once: zhang swaps 重点客户 for 老客户; li adds 样品试用.
  REQUIRE(t.zhang.db->Update("customers", kShared, json({{"tags", {"老客户"}}}).dump()).ok());
  REQUIRE(t.li.db->Update("customers", kShared, json({{"tags", {"重点客户", "样品试用"}}}).dump())
              .ok());
  t.SyncBoth();
  const std::optional<json> on_zhang = t.zhang.Get("customers", kShared);
  const std::optional<json> on_li = t.li.Get("customers", kShared);
  CHECK(Dump(on_zhang) == Dump(on_li));
  std::set<std::string> tags;
  if (on_zhang && on_zhang->contains("tags")) {
    for (const json& tag : (*on_zhang)["tags"]) tags.insert(tag.get<std::string>());
  }
  CHECK(tags == std::set<std::string>{"老客户", "样品试用"});
  // Clearing the field removes every tag the tablet saw, here and everywhere.
  REQUIRE(t.li.db->Update("customers", kShared, R"({"tags":null})").ok());
  t.SyncBoth();
  CHECK(Dump(t.li.Get("customers", kShared)).find("tags") == std::string::npos);
  CHECK(Dump(t.zhang.Get("customers", kShared)).find("tags") == std::string::npos);
  CHECK(Dump(t.server.Record("customers", kShared)).find("tags") == std::string::npos);
  t.CheckNoDeadLetters();
}

// The set operations of a tags edit are frozen with its outbox row. Here the record learns
// another tablet's add of a tag the edit removes between the push whose answer was lost and its
// resend (as a pull does, e.g. after a push deferred for an older server schema): computed
// again, the removal would name that add's tag too, other bytes under the same change id, which
// the server refuses (change_id_reused) and the edit would end as a dead letter.
TEST_CASE("a tags edit whose push answer was lost is sent again as frozen") {
  fieldsync::testing::TempDir dir;
  SyncServer server;
  REQUIRE(server::AdminShareCustomer(server.world.backend.get(), server::testing::kTenant, kShared,
                                     "east1")
              .ok());
  bool lose = false;
  SyncTablet zhang{dir,
                   "zhang",
                   "zhang",
                   server,
                   1,
                   nullptr,
                   std::make_unique<FlakyHttp>(std::function<bool()>(), [&lose] { return lose; })};
  REQUIRE(zhang.db
              ->Put("customers", json({{"id", kShared},
                                       {"kind", "company"},
                                       {"name", "明辉贸易"},
                                       {"owner_rep", "zhang"},
                                       {"tags", {"重点客户", "老客户"}}})
                                     .dump())
              .ok());
  zhang.Sync();
  REQUIRE(zhang.db->Update("customers", kShared, R"({"tags":[]})").ok());
  lose = true;
  Status lost = zhang.TrySync();
  REQUIRE(lost.code() == StatusCode::kUnavailable);
  lose = false;
  const CollectionDef& customers = *zhang.db->schema().Collection("customers");
  Status learned = zhang.db->RunSyncTransaction([&](Database::SyncTransaction& txn) -> Status {
    Result<std::optional<std::string>> stored = txn.ReadSyncState("customers", kShared);
    REQUIRE(stored.ok());
    REQUIRE(stored->has_value());
    Result<RecordState> state = RecordStateFromJson(json::parse(**stored));
    REQUIRE(state.ok());
    Change add;
    add.change_id = "li-adds-a-tag";
    add.collection = "customers";
    add.record_id = kShared;
    add.version = Version{Hlc(uint64_t{1} << 60), "ffffffffffffffff"};
    add.author = "li";
    add.fields["tags"].set_add = {"重点客户"};
    REQUIRE(Merge(customers, add, &*state).ok());
    return txn.WriteSyncState("customers", kShared, RecordStateToJson(*state).dump());
  });
  REQUIRE(learned.ok());
  zhang.Sync();
  int resent = 0;
  for (const auto& [id, statuses] : zhang.http->results) {
    CAPTURE(id);
    REQUIRE_FALSE(statuses.empty());
    CHECK(statuses.front() == "applied");
    for (size_t k = 1; k < statuses.size(); ++k) CHECK(statuses[k] == "duplicate");
    resent += statuses.size() > 1 ? 1 : 0;
  }
  CHECK(resent == 1);
  CHECK(zhang.Pending() == 0);
  CHECK(zhang.DeadLetters().empty());
  CHECK(Dump(server.Record("customers", kShared)).find("tags") == std::string::npos);
}

}  // namespace
}  // namespace fieldsync::sync::testing
