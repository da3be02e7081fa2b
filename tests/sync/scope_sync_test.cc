// tests/sync/scope_sync_test.cc: a rep and another team's customer, through the replicator and the
// real server (protocol §10).
//
// wang (team east2) owns customer cw-0 and a visit to it. zhang (team east1) is not in its scope:
//   - reading: his pulls never bring cw-0 or its visit;
//   - writing: offline, he writes a customer with cw-0's id and logs a visit to cw-0, between
//     two customers of his own, in one batch. The two foreign changes are refused `forbidden`
//     per change with a reason naming cw-0, become dead letters and vanish from his tablet; his
//     own customers before and after them go through. wang's customer is untouched on the
//     server and on wang's tablet.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "sync_world.h"

namespace fieldsync::sync::testing {
namespace {

using nlohmann::json;

TEST_CASE("another team's customer is never pulled, and writing it is refused per change") {
  fieldsync::testing::TempDir dir;
  SyncServer server;
  SyncTablet wang(dir, "wang", "wang", server, 1);
  SyncTablet zhang(dir, "zhang", "zhang", server, 2);

  REQUIRE(wang.db
              ->Put("customers", json({{"id", "cw-0"},
                                       {"kind", "company"},
                                       {"name", "广州恒达电子"},
                                       {"owner_rep", "wang"},
                                       {"grade", "B"}})
                                     .dump())
              .ok());
  Result<std::string> wang_visit =
      wang.db->Put("visits", json({{"customer", "cw-0"},
                                   {"rep", "wang"},
                                   {"start", "2026-11-20T10:00:00+08:00"},
                                   {"summary", "拜访工厂"}})
                                 .dump());
  REQUIRE(wang_visit.ok());
  CHECK(wang.Sync().changes_pushed == 2);
  const std::optional<json> before = server.Record("customers", "cw-0");
  REQUIRE(before);

  // Reading: nothing of wang's reaches zhang.
  CHECK(zhang.Sync().changes_pulled == 0);
  CHECK_FALSE(zhang.Get("customers", "cw-0"));
  CHECK_FALSE(zhang.Get("visits", *wang_visit));

  // Writing, in one batch: own, foreign, foreign, own.
  REQUIRE(zhang.db
              ->Put("customers", json({{"id", "cz-0"},
                                       {"kind", "company"},
                                       {"name", "上海明辉贸易"},
                                       {"owner_rep", "zhang"}})
                                     .dump())
              .ok());
  REQUIRE(zhang.db
              ->Put("customers", json({{"id", "cw-0"},
                                       {"kind", "company"},
                                       {"name", "恒达电子（张伟改）"},
                                       {"owner_rep", "wang"},
                                       {"grade", "A"}})
                                     .dump())
              .ok());
  REQUIRE(zhang.db
              ->Put("visits", json({{"id", "zv-foreign"},
                                    {"customer", "cw-0"},
                                    {"rep", "zhang"},
                                    {"start", "2026-11-21T15:00:00+08:00"},
                                    {"summary", "顺路拜访"}})
                                  .dump())
              .ok());
  REQUIRE(
      zhang.db
          ->Put(
              "customers",
              json({{"id", "cz-1"}, {"kind", "person"}, {"name", "周文斌"}, {"owner_rep", "zhang"}})
                  .dump())
          .ok());
  const SyncProgress progress = zhang.Sync();
  CHECK(progress.changes_refused == 2);
  CHECK(progress.changes_pushed == 2);
  CHECK(zhang.Pending() == 0);

  const std::vector<DeadLetter> letters = zhang.DeadLetters();
  REQUIRE(letters.size() == 2);
  for (const DeadLetter& letter : letters) {
    CAPTURE(letter.reason);
    CHECK(letter.reason.find("forbidden") != std::string::npos);
    CHECK(letter.reason.find("cw-0") != std::string::npos);
    CHECK(letter.reason.find("不在您的范围内") != std::string::npos);
  }
  CHECK(((letters[0].record_id == "cw-0" && letters[1].record_id == "zv-foreign") ||
         (letters[0].record_id == "zv-foreign" && letters[1].record_id == "cw-0")));

  // His own customers, before and after the refused changes, are on the server.
  CHECK(server.Record("customers", "cz-0"));
  CHECK(server.Record("customers", "cz-1"));
  // The refused writes are gone from his tablet and never reached the server or wang.
  CHECK_FALSE(zhang.Get("customers", "cw-0"));
  CHECK_FALSE(zhang.Get("visits", "zv-foreign"));
  CHECK(server.Record("customers", "cw-0") == before);
  CHECK_FALSE(server.Record("visits", "zv-foreign"));
  CHECK(wang.Sync().changes_pulled == 0);
  const std::optional<json> on_wang = wang.Get("customers", "cw-0");
  REQUIRE(on_wang);
  CHECK((*on_wang)["name"] == "广州恒达电子");
  CHECK((*on_wang)["grade"] == "B");

  // A further round changes nothing: refusals are not retried.
  const SyncProgress again = zhang.Sync();
  CHECK(again.changes_pushed == 0);
  CHECK(again.changes_refused == 0);
  CHECK(again.changes_pulled == 0);
}

}  // namespace
}  // namespace fieldsync::sync::testing
