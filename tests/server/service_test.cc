// tests/server/service_test.cc: SyncService on a real SQLite file: push, idempotency, scope,
// refusals, pull pages and cursors, conflicts.
#include "server_test_util.h"

namespace fieldsync::server::testing {
namespace {

using sync::PushStatus;

std::vector<std::string> RecordIds(const sync::PullResponse& pull) {
  std::vector<std::string> ids;
  for (const sync::Change& c : pull.changes) ids.push_back(c.collection + "/" + c.record_id);
  return ids;
}

sync::PullResponse PullAll(World& w, const Principal& p, std::string cursor = "") {
  auto r = w.service->Pull(p, cursor, 1, 0);
  REQUIRE(r.ok());
  return r.value();
}

std::optional<RecordRow> Stored(World& w, const std::string& collection, const std::string& id) {
  Result<std::unique_ptr<BackendSession>> s = w.backend->OpenSession();
  REQUIRE(s.ok());
  Result<std::optional<RecordRow>> row = (*s)->GetRecord(kTenant, collection, id);
  REQUIRE(row.ok());
  return *row;
}

uint64_t HighWater(World& w) {
  Result<std::unique_ptr<BackendSession>> s = w.backend->OpenSession();
  REQUIRE(s.ok());
  Result<uint64_t> h = (*s)->FeedHighWater(kTenant);
  REQUIRE(h.ok());
  return *h;
}

TEST_CASE("a pushed customer with its contact reaches a teammate manager with the Chinese intact") {
  World w;
  const uint64_t h = HlcAt(kNowMs - 1000);
  sync::Change customer = Customer("c-1", "cust-1", "上海明辉贸易有限公司", "zhang", h);
  customer.fields["address"].value = "上海市浦东新区张江路88号";
  sync::Change contact =
      Upsert("c-2", "contacts", "contact-1",
             {{"customer", "cust-1"}, {"name", "王芳"}, {"title", "采购经理"}}, "dev-zhang", h + 1);
  auto pushed = w.service->ApplyPush(w.As("zhang"), Push("dev-zhang", {customer, contact}));
  REQUIRE(pushed.ok());
  REQUIRE(pushed.value().results.size() == 2);
  CHECK(pushed.value().results[0].status == PushStatus::kApplied);
  CHECK(pushed.value().results[1].status == PushStatus::kApplied);

  std::optional<RecordRow> row = Stored(w, "customers", "cust-1");
  REQUIRE(row.has_value());
  REQUIRE(row->materialized_json.has_value());
  const nlohmann::json visible = nlohmann::json::parse(*row->materialized_json);
  CHECK(visible["name"] == "上海明辉贸易有限公司");
  CHECK(visible["address"] == "上海市浦东新区张江路88号");
  CHECK(row->owner == "zhang");

  const sync::PullResponse pull = PullAll(w, w.As("chen"));
  CHECK(RecordIds(pull) == std::vector<std::string>{"customers/cust-1", "contacts/contact-1"});
  CHECK(pull.changes[0].author == "zhang");
  CHECK(pull.changes[0].fields.at("address").value == "上海市浦东新区张江路88号");
  CHECK(pull.changes[1].fields.at("name").value == "王芳");
  CHECK_FALSE(pull.has_more);
}

TEST_CASE("a replayed push is reported duplicate and changes nothing") {
  World w;
  const auto batch =
      Push("dev-zhang", {Customer("c-1", "cust-1", "杭州西湖茶业", "zhang", HlcAt(kNowMs))});
  auto first = w.service->ApplyPush(w.As("zhang"), batch);
  REQUIRE(first.ok());
  CHECK(first.value().results[0].status == PushStatus::kApplied);
  const uint64_t high = HighWater(w);
  const std::string state = Stored(w, "customers", "cust-1")->state_json;

  auto replay = w.service->ApplyPush(w.As("zhang"), batch);
  REQUIRE(replay.ok());
  REQUIRE(replay.value().results.size() == 1);
  CHECK(replay.value().results[0].change_id == "c-1");
  CHECK(replay.value().results[0].status == PushStatus::kDuplicate);
  CHECK(HighWater(w) == high);  // no feed entry
  CHECK(Stored(w, "customers", "cust-1")->state_json == state);
}

TEST_CASE("altered content under a used change id is refused and not merged") {
  World w;
  REQUIRE(w.service
              ->ApplyPush(w.As("zhang"), Push("dev-zhang", {Customer("c-1", "cust-1", "原名",
                                                                     "zhang", HlcAt(kNowMs))}))
              .ok());
  const uint64_t high = HighWater(w);
  auto altered = w.service->ApplyPush(
      w.As("zhang"),
      Push("dev-zhang", {Customer("c-1", "cust-1", "篡改的名字", "zhang", HlcAt(kNowMs) + 5)}));
  REQUIRE(altered.ok());
  CHECK(altered.value().results[0].status == PushStatus::kRefused);
  CHECK(altered.value().results[0].code == sync::kRefusedIdReused);
  CHECK(HighWater(w) == high);
  CHECK(nlohmann::json::parse(*Stored(w, "customers", "cust-1")->materialized_json)["name"] ==
        "原名");
}

TEST_CASE("a repeated id within one push is judged like a replay") {
  World w;
  const sync::Change c = Customer("c-1", "cust-1", "同一个", "zhang", HlcAt(kNowMs));
  sync::Change altered = c;
  altered.fields["name"].value = "另一个";
  auto r = w.service->ApplyPush(w.As("zhang"), Push("dev-zhang", {c, c, altered}));
  REQUIRE(r.ok());
  CHECK(r.value().results[0].status == PushStatus::kApplied);
  CHECK(r.value().results[1].status == PushStatus::kDuplicate);
  CHECK(r.value().results[2].code == sync::kRefusedIdReused);
}

TEST_CASE("a rep neither pulls nor writes another rep's customer, and the refusal says why") {
  World w;
  REQUIRE(w.service
              ->ApplyPush(w.As("wang"), Push("dev-wang", {Customer("w-1", "cust-w", "王的客户",
                                                                   "wang", HlcAt(kNowMs))}))
              .ok());
  REQUIRE(w.service
              ->ApplyPush(w.As("zhang"), Push("dev-zhang", {Customer("z-1", "cust-z", "张的客户",
                                                                     "zhang", HlcAt(kNowMs))}))
              .ok());

  CHECK(RecordIds(PullAll(w, w.As("zhang"))).empty());  // own changes are not echoed
  CHECK(RecordIds(PullAll(w, w.As("wang"))).empty());
  CHECK(RecordIds(PullAll(w, w.As("li"))).empty());  // teammate, but not shared: not visible

  // zhang edits wang's customer, adds a contact to it, and hands his own customer to wang.
  auto r = w.service->ApplyPush(
      w.As("zhang"),
      Push("dev-zhang",
           {Upsert("z-2", "customers", "cust-w", {{"grade", "A"}}, "dev-zhang", HlcAt(kNowMs) + 1),
            Upsert("z-3", "contacts", "contact-x", {{"customer", "cust-w"}, {"name", "赵六"}},
                   "dev-zhang", HlcAt(kNowMs) + 2),
            Upsert("z-4", "customers", "cust-z", {{"owner_rep", "wang"}}, "dev-zhang",
                   HlcAt(kNowMs) + 3),
            Upsert("z-5", "customers", "cust-z", {{"grade", "B"}}, "dev-zhang",
                   HlcAt(kNowMs) + 4)}));
  REQUIRE(r.ok());
  const auto& results = r.value().results;
  REQUIRE(results.size() == 4);
  for (size_t k = 0; k < 3; ++k) {
    CAPTURE(k);
    CHECK(results[k].status == PushStatus::kRefused);
    CHECK(results[k].code == sync::kRefusedForbidden);
    CHECK_FALSE(results[k].reason.empty());
  }
  CHECK(results[3].status == PushStatus::kApplied);  // the rest of the push goes through
  CHECK(Stored(w, "customers", "cust-w")->materialized_json->find("grade") == std::string::npos);
  CHECK_FALSE(Stored(w, "contacts", "contact-x").has_value());
  CHECK(Stored(w, "customers", "cust-z")->owner == "zhang");
}

TEST_CASE("a customer shared with a team is visible and writable for its reps") {
  World w;
  REQUIRE(w.service
              ->ApplyPush(w.As("wang"), Push("dev-wang", {Customer("w-1", "cust-w", "共享客户",
                                                                   "wang", HlcAt(kNowMs))}))
              .ok());
  REQUIRE(AdminShareCustomer(w.backend.get(), kTenant, "cust-w", "east1").ok());
  auto r = w.service->ApplyPush(w.As("zhang"),
                                Push("dev-zhang", {Upsert("z-1", "visits", "visit-1",
                                                          {{"customer", "cust-w"},
                                                           {"rep", "zhang"},
                                                           {"start", "2024-11-23T06:00:00.000Z"},
                                                           {"summary", "介绍新产品"}},
                                                          "dev-zhang", HlcAt(kNowMs))}));
  REQUIRE(r.ok());
  CHECK(r.value().results[0].status == PushStatus::kApplied);
  // li (east1) sees the visit; the customer's own entry predates the share (no re-append yet).
  CHECK(RecordIds(PullAll(w, w.As("li"))) == std::vector<std::string>{"visits/visit-1"});
}

TEST_CASE("a manager pulls everything their team owns and nothing of other teams") {
  World w;
  for (const char* rep : {"zhang", "li", "wang"}) {
    const std::string r(rep);
    REQUIRE(w.service
                ->ApplyPush(w.As(r), Push("dev-" + r, {Customer(r + "-1", "cust-" + r, "客户" + r,
                                                                r, HlcAt(kNowMs))}))
                .ok());
  }
  CHECK(RecordIds(PullAll(w, w.As("chen"))) ==
        std::vector<std::string>{"customers/cust-zhang", "customers/cust-li"});
  CHECK(PullAll(w, w.As("boss")).changes.size() == 3);  // admin sees all
}

TEST_CASE("a rep cannot write a server_only field, and an append-only visit is never edited") {
  World w;
  auto r = w.service->ApplyPush(
      w.As("zhang"),
      Push(
          "dev-zhang",
          {Customer("c-1", "cust-1", "客户", "zhang", HlcAt(kNowMs)),
           Upsert("c-2", "customers", "cust-1", {{"credit_level", "AAA"}}, "dev-zhang",
                  HlcAt(kNowMs) + 1),
           Upsert("c-3", "visits", "v-1",
                  {{"customer", "cust-1"}, {"rep", "zhang"}, {"start", "2024-11-23T06:00:00.000Z"}},
                  "dev-zhang", HlcAt(kNowMs) + 2),
           Upsert("c-4", "visits", "v-1", {{"summary", "改写"}}, "dev-zhang", HlcAt(kNowMs) + 3),
           Upsert("c-5", "nonsense", "x", {{"a", 1}}, "dev-zhang", HlcAt(kNowMs) + 4),
           Upsert("c-7", "customers", "cust-1", {{"grade", "A"}}, "dev-zhang",
                  HlcAt(kNowMs + 3600 * 1000))}));
  REQUIRE(r.ok());
  const auto& res = r.value().results;
  CHECK(res[0].status == PushStatus::kApplied);
  CHECK(res[1].code == sync::kRefusedForbidden);
  CHECK(res[1].reason.find("credit_level") != std::string::npos);
  CHECK(res[2].status == PushStatus::kApplied);
  CHECK(res[3].code == sync::kRefusedForbidden);
  CHECK(res[4].code == sync::kRefusedInvalid);
  CHECK(res[5].code == sync::kRefusedClockAhead);
}

TEST_CASE("a push from another device than the token's, or of a newer schema, stores nothing") {
  World w;
  auto wrong_node = w.service->ApplyPush(
      w.As("zhang"), Push("dev-li", {Customer("c-1", "cust-1", "客户", "zhang", HlcAt(kNowMs))}));
  REQUIRE_FALSE(wrong_node.ok());
  CHECK(wrong_node.error().http_status == 403);
  sync::Change future = Customer("c-2", "cust-2", "客户", "zhang", HlcAt(kNowMs));
  future.schema_version = 99;
  auto too_new = w.service->ApplyPush(
      w.As("zhang"),
      Push("dev-zhang", {Customer("c-3", "cust-3", "客户", "zhang", HlcAt(kNowMs)), future}));
  REQUIRE_FALSE(too_new.ok());
  CHECK(too_new.error().http_status == 409);
  CHECK(too_new.error().code == sync::kErrorSchemaTooNew);
  CHECK(HighWater(w) == 0);
}

TEST_CASE("pull pages follow the cursor until nothing is left") {
  World w;
  std::vector<sync::Change> changes;
  for (int i = 0; i < 7; ++i) {
    changes.push_back(Customer("c-" + std::to_string(i), "cust-" + std::to_string(i),
                               "客户" + std::to_string(i), "zhang", HlcAt(kNowMs) + i));
  }
  REQUIRE(w.service->ApplyPush(w.As("zhang"), Push("dev-zhang", changes)).ok());
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  for (;; ++pages) {
    REQUIRE(pages < 10);
    auto page = w.service->Pull(w.As("chen"), cursor, 1, 3);
    REQUIRE(page.ok());
    for (const auto& c : page.value().changes) seen.push_back(c.record_id);
    cursor = page.value().next_cursor;
    if (!page.value().has_more) break;
  }
  CHECK(seen.size() == 7);
  CHECK(seen.front() == "cust-0");
  CHECK(seen.back() == "cust-6");
  auto empty = w.service->Pull(w.As("chen"), cursor, 1, 3);
  REQUIRE(empty.ok());
  CHECK(empty.value().changes.empty());
}

TEST_CASE("a cursor is bound to its user and refused when altered") {
  World w;
  auto first = w.service->Pull(w.As("chen"), "", 1, 0);
  REQUIRE(first.ok());
  auto other_user = w.service->Pull(w.As("zhang"), first.value().next_cursor, 1, 0);
  REQUIRE_FALSE(other_user.ok());
  CHECK(other_user.error().code == sync::kErrorBadCursor);
  std::string altered = first.value().next_cursor;
  altered[5] = altered[5] == 'A' ? 'B' : 'A';
  auto bad = w.service->Pull(w.As("chen"), altered, 1, 0);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().http_status == 400);
}

TEST_CASE("confidential fields: each role pulls exactly what it may see, a rep cannot write them") {
  World w;
  REQUIRE(AdminShareCustomer(w.backend.get(), kTenant, "cust-1", "east1").ok());
  REQUIRE(w.service
              ->ApplyPush(w.As("zhang"), Push("dev-zhang", {Customer("c-1", "cust-1", "客户",
                                                                     "zhang", HlcAt(kNowMs))}))
              .ok());
  // The manager sets the three confidential fields of the built-in schema.
  auto set =
      w.service->ApplyPush(w.As("chen"), Push("dev-chen", {Upsert("m-1", "customers", "cust-1",
                                                                  {{"credit_level", "A"},
                                                                   {"payment_terms", "月结30天"},
                                                                   {"budget_range", "50-100万"}},
                                                                  "dev-chen", HlcAt(kNowMs) + 1)}));
  REQUIRE(set.ok());
  REQUIRE(set.value().results[0].status == sync::PushStatus::kApplied);
  // A rep's write of one of them is refused, naming the field, and changes nothing.
  auto rep_write = w.service->ApplyPush(
      w.As("zhang"), Push("dev-zhang", {Upsert("c-2", "customers", "cust-1",
                                               {{"payment_terms", "月结60天"}, {"region", "华东"}},
                                               "dev-zhang", HlcAt(kNowMs) + 2)}));
  REQUIRE(rep_write.ok());
  CHECK(rep_write.value().results[0].status == sync::PushStatus::kRefused);
  CHECK(rep_write.value().results[0].code == sync::kRefusedForbidden);
  CHECK(rep_write.value().results[0].reason.find("payment_terms") != std::string::npos);

  // Field by field, per role: what the pulled changes carry for cust-1.
  const std::vector<std::string> confidential = {"credit_level", "payment_terms", "budget_range"};
  for (const char* user : {"li", "zhang", "chen", "boss"}) {
    CAPTURE(user);
    const bool may_see = std::string(user) == "chen" || std::string(user) == "boss";
    std::map<std::string, nlohmann::json> seen;
    Principal reader = w.As(user);
    reader.device = "another-tablet";  // so the user's own writes are not left out as echoes
    for (const sync::Change& c : PullAll(w, reader).changes) {
      if (c.record_id != "cust-1") continue;
      for (const auto& [name, write] : c.fields) seen[name] = write.value;
    }
    CHECK(seen.count("name") == 1);
    for (const std::string& field : confidential) {
      CAPTURE(field);
      CHECK(seen.count(field) == (may_see ? 1u : 0u));
    }
    if (may_see) {
      CHECK(seen["credit_level"] == "A");
      CHECK(seen["payment_terms"] == "月结30天");
      CHECK(seen["budget_range"] == "50-100万");
    }
    CHECK(seen.count("region") == 0);  // the refused change left no trace
  }
}

TEST_CASE(
    "encoded pull pages carry the stored changes, re-encoded only to drop a confidential "
    "field") {
  World w;
  // The admin writes the confidential field (a rep may not): from device dev-boss, so neither
  // li's nor chen's pull leaves these entries out as echoes.
  sync::Change c = Customer("c-1", "cust-1", "客户", "zhang", HlcAt(kNowMs));
  c.version.node = "dev-boss";
  c.fields["payment_terms"].value = "月结30天";
  // A value that spells a confidential member must neither leak nor confuse the pass-through.
  c.fields["notes"].value = R"({"payment_terms":{"v":"x"}})";
  // Shared first, so li's scope key is on every feed entry of the customer.
  REQUIRE(AdminShareCustomer(w.backend.get(), kTenant, "cust-1", "east1").ok());
  auto first = w.service->ApplyPush(w.As("boss"), Push("dev-boss", {c}));
  REQUIRE(first.ok());
  REQUIRE(first.value().results[0].status == sync::PushStatus::kApplied);
  auto more = w.service->ApplyPush(
      w.As("boss"),
      Push("dev-boss", {Upsert("c-2", "customers", "cust-1", {{"payment_terms", "月结60天"}},
                               "dev-boss", HlcAt(kNowMs) + 1),
                        Upsert("c-3", "customers", "cust-1", {{"grade", "A"}}, "dev-boss",
                               HlcAt(kNowMs) + 2)}));
  REQUIRE(more.ok());
  REQUIRE(more.value().results[0].status == sync::PushStatus::kApplied);
  REQUIRE(more.value().results[1].status == sync::PushStatus::kApplied);
  for (const char* user : {"li", "chen"}) {
    CAPTURE(user);
    auto decoded = w.service->Pull(w.As(user), "", 1, 0);
    auto encoded = w.service->Pull(w.As(user), "", 1, 0, /*encoded=*/true);
    REQUIRE(decoded.ok());
    REQUIRE(encoded.ok());
    CHECK(encoded.value().changes.empty());
    REQUIRE(encoded.value().encoded_changes.size() == decoded.value().changes.size());
    for (size_t k = 0; k < decoded.value().changes.size(); ++k) {
      CHECK(encoded.value().encoded_changes[k] == sync::EncodeChange(decoded.value().changes[k]));
    }
    // The same page on the wire, byte for byte (both minted the same cursor and time).
    encoded.value().server_time_ms = decoded.value().server_time_ms = 1;
    CHECK(sync::EncodePullResponse(encoded.value()) == sync::EncodePullResponse(decoded.value()));
  }
  // li, a rep: c-1 without payment_terms (re-encoded), c-2 left out, c-3 as stored.
  auto li = w.service->Pull(w.As("li"), "", 1, 0, true);
  REQUIRE(li.ok());
  REQUIRE(li.value().encoded_changes.size() == 2);
  CHECK(li.value().encoded_changes[0].find("\"payment_terms\":{\"v\":\"月结") == std::string::npos);
  CHECK(li.value().encoded_changes[0].find("\"notes\"") != std::string::npos);
  CHECK(li.value().encoded_changes[1].find("\"grade\"") != std::string::npos);
  // chen, a manager, gets all three with payment terms.
  auto chen = w.service->Pull(w.As("chen"), "", 1, 0, true);
  REQUIRE(chen.ok());
  REQUIRE(chen.value().encoded_changes.size() == 3);
  CHECK(chen.value().encoded_changes[0].find("月结30天") != std::string::npos);
}

TEST_CASE("concurrent review edits are recorded as a conflict") {
  World w;
  REQUIRE(AdminShareCustomer(w.backend.get(), kTenant, "cust-1", "east1").ok());
  REQUIRE(w.service
              ->ApplyPush(w.As("zhang"), Push("dev-zhang", {Customer("c-1", "cust-1", "客户",
                                                                     "zhang", HlcAt(kNowMs))}))
              .ok());
  REQUIRE(w.service
              ->ApplyPush(
                  w.As("zhang"),
                  Push("dev-zhang", {Upsert("c-2", "customers", "cust-1", {{"notes", "周二拜访"}},
                                            "dev-zhang", HlcAt(kNowMs) + 1)}))
              .ok());
  REQUIRE(w.service
              ->ApplyPush(w.As("li"), Push("dev-li", {Upsert("l-1", "customers", "cust-1",
                                                             {{"notes", "周三拜访"}}, "dev-li",
                                                             HlcAt(kNowMs) + 2)}))
              .ok());
  Result<std::unique_ptr<BackendSession>> s = w.backend->OpenSession();
  REQUIRE(s.ok());
  Result<std::vector<ConflictRow>> conflicts = (*s)->GetConflicts(kTenant, "customers", "cust-1");
  REQUIRE(conflicts.ok());
  REQUIRE(conflicts->size() == 1);
  CHECK((*conflicts)[0].field == "notes");
  const nlohmann::json heads = nlohmann::json::parse((*conflicts)[0].heads_json);
  REQUIRE(heads.size() == 2);
  CHECK(heads[0]["v"] == "周三拜访");
  CHECK(heads[1]["a"] == "zhang");
}

}  // namespace
}  // namespace fieldsync::server::testing
