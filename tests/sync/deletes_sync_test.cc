// tests/sync/deletes_sync_test.cc: deletes, re-creations and add-wins sets through the replicator
// and the real server, each shown alone on two tablets (zhang and li of team east1, on a customer
// shared with the team).
//
// These are the cases the random histories of convergence_sync_test.cc met as failures. Three are
// known bugs in code outside tests/ and are marked may_fail; each names the cause. When a fix
// lands, the case passes and its may_fail should go.
#include <doctest/doctest.h>

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

// KNOWN BUG (core outbox + sync/src/replicator.cc SplitRow): Database::Put over a tombstone starts
// the record anew on the tablet (the fields it does not name are gone), but the outbox row does
// not say it is a re-creation and SplitRow never sets Change::recreate. The server merges a plain
// upsert: under update_wins the old fields stay alive (here grade and phones), so the server and
// the other tablet show fields the re-creating tablet does not, for good (an acknowledged push
// does not re-materialize the record from the merged state).
TEST_CASE("a customer re-created after a synced delete holds only its new fields everywhere" *
          doctest::may_fail()) {
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

// KNOWN BUG (sync/src/replicator.cc SplitRow): a string_set field (tags, add_wins_set) is sent
// as a plain value instead of set_add / set_remove, and the server's Merge refuses it ("an
// add-wins set is written with set_add and set_remove, not a value"): every edit that touches
// tags, including a creation with tags, becomes a dead letter.
TEST_CASE("tags edited on two tablets at once keep both additions (add-wins set)" *
          doctest::may_fail()) {
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
  // With the bug the creation was refused and the customer vanished from zhang's tablet too.
  CHECK(t.zhang.db->Update("customers", kShared, json({{"tags", {"老客户"}}}).dump()).ok());
  if (t.li.Get("customers", kShared)) {
    REQUIRE(t.li.db->Update("customers", kShared, json({{"tags", {"重点客户", "样品试用"}}}).dump())
                .ok());
  }
  t.SyncBoth();
  const std::optional<json> on_zhang = t.zhang.Get("customers", kShared);
  const std::optional<json> on_li = t.li.Get("customers", kShared);
  CHECK(Dump(on_zhang) == Dump(on_li));
  std::set<std::string> tags;
  if (on_zhang && on_zhang->contains("tags")) {
    for (const json& tag : (*on_zhang)["tags"]) tags.insert(tag.get<std::string>());
  }
  CHECK(tags == std::set<std::string>{"老客户", "样品试用"});
  t.CheckNoDeadLetters();
}

}  // namespace
}  // namespace fieldsync::sync::testing
