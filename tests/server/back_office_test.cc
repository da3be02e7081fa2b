// tests/server/back_office_test.cc: the back-office endpoints (protocol §13) over real HTTP on
// 127.0.0.1: a record by id per role (confidential fields field by field), one 404 body for a
// missing, deleted, out-of-scope or other tenant's record or conflict, conflicts resolved as an
// edit that reaches every replica through the feed and the audit trail, and GET /v1/audit.
#include <set>

#include "audit.h"
#include "http_test_util.h"

namespace fieldsync::server::testing {
namespace {

// zhang's customer cust-1 (with a contact), with confidential fields written by manager chen,
// and the notes in conflict between zhang and chen. wang's customer cust-w (team east2).
void Seed(TestServer& s) {
  World& w = s.world;
  sync::Change customer =
      Customer("z-1", "cust-1", "上海明辉贸易有限公司", "zhang", HlcAt(kNowMs - 2000));
  customer.fields["grade"].value = "A";
  REQUIRE(w.service
              ->ApplyPush(w.As("zhang"),
                          Push("dev-zhang", {customer,
                                             Upsert("z-2", "contacts", "contact-1",
                                                    {{"customer", "cust-1"}, {"name", "王芳"}},
                                                    "dev-zhang", HlcAt(kNowMs - 2000)),
                                             ConflictingNotes("z", "cust-1", "zhang", "chen")[0]}))
              .ok());
  REQUIRE(w.service
              ->ApplyPush(w.As("chen"),
                          Push("dev-chen", {Upsert("c-1", "customers", "cust-1",
                                                   {{"credit_level", "AA"},
                                                    {"payment_terms", "月结30天"},
                                                    {"budget_range", "50-100万"}},
                                                   "dev-chen", HlcAt(kNowMs - 1500)),
                                            ConflictingNotes("z", "cust-1", "zhang", "chen")[1]}))
              .ok());
  REQUIRE(w.service
              ->ApplyPush(w.As("wang"), Push("dev-wang", {Customer("w-1", "cust-w", "王的客户",
                                                                   "wang", HlcAt(kNowMs - 2000))}))
              .ok());
}

std::set<std::string> ConfidentialFields() {
  std::set<std::string> names;
  for (const FieldDef& f : Schema::FieldSales().Collection("customers")->fields) {
    if (f.sensitivity == Sensitivity::kConfidential) names.insert(f.name);
  }
  return names;
}

TEST_CASE("a record by id shows each role what it may see, confidential fields field by field") {
  TestServer s;
  Seed(s);
  const std::set<std::string> confidential = ConfidentialFields();
  REQUIRE(confidential == std::set<std::string>{"budget_range", "credit_level", "payment_terms"});
  for (const char* user : {"zhang", "li", "chen", "boss"}) {
    CAPTURE(user);
    const std::string token = s.Login(user);
    auto res = s.Client().Get("/v1/records/customers/cust-1", Bearer(token));
    if (std::string(user) == "li") {  // a teammate rep: not li's customer, and not shared
      CheckRefused(res, 404, sync::kErrorNotFound);
      continue;
    }
    const nlohmann::json body = JsonBody(res);
    CHECK(body["collection"] == "customers");
    CHECK(body["id"] == "cust-1");
    CHECK(body["time_ms"] == kNowMs);
    const nlohmann::json& record = body["record"];
    CHECK(record["name"] == "上海明辉贸易有限公司");
    CHECK(record["grade"] == "A");
    CHECK(record["owner_rep"] == "zhang");
    const bool sees = std::string(user) != "zhang";
    for (const std::string& field : confidential) {
      CAPTURE(field);
      CHECK(record.contains(field) == sees);
    }
    if (sees) {
      CHECK(record["credit_level"] == "AA");
      CHECK(record["payment_terms"] == "月结30天");
    }
    REQUIRE(body["conflicts"].size() == 1);
    CHECK(body["conflicts"][0]["field"] == "notes");
    CHECK(body["conflicts"][0]["heads"].size() == 2);
  }
  // A contact is seen through its customer.
  const nlohmann::json contact =
      JsonBody(s.Client().Get("/v1/records/contacts/contact-1", Bearer(s.Login("chen"))));
  CHECK(contact["record"]["name"] == "王芳");
  CHECK(contact["conflicts"].empty());
}

TEST_CASE(
    "missing, deleted, out-of-scope, unknown-collection and other tenants' records get one 404") {
  TestServer s;
  Seed(s);
  World& w = s.world;
  sync::Change remove;
  remove.change_id = "z-del";
  remove.collection = "contacts";
  remove.record_id = "contact-1";
  remove.op = sync::Change::Op::kDelete;
  remove.version = sync::Version{Hlc(HlcAt(kNowMs)), "dev-zhang"};
  REQUIRE(w.service->ApplyPush(w.As("zhang"), Push("dev-zhang", {remove})).ok());
  const std::string boss = s.Login("boss");
  const std::string wang = s.Login("wang");
  const std::string mallory = s.Login("mallory");
  const auto before = s.State();

  auto missing = s.Client().Get("/v1/records/customers/cust-nope", Bearer(boss));
  CheckRefused(missing, 404, sync::kErrorNotFound);
  const std::string body = missing->body;
  const std::vector<std::pair<std::string, std::string>> absent = {
      {boss, std::string("/v1/records/customers/") + kOtherCustomer},  // another tenant's
      {boss, "/v1/records/contacts/contact-1"},                        // deleted
      {boss, "/v1/records/widgets/cust-1"},                            // no such collection
      {boss, "/v1/records/contacts/cust-1"},                           // wrong collection
      {wang, "/v1/records/customers/cust-1"},                          // outside wang's scope
      {wang, "/v1/records/customers/cust-nope"},
  };
  for (const auto& [token, path] : absent) {
    CAPTURE(path);
    auto res = s.Client().Get(path, Bearer(token));
    REQUIRE(res);
    CHECK(res->status == 404);
    CHECK(res->body == body);  // byte for byte: nothing tells these cases apart
  }
  // The other tenant's admin cannot see ours either, and sees its own.
  auto theirs = s.Client().Get("/v1/records/customers/cust-1", Bearer(mallory));
  REQUIRE(theirs);
  CHECK(theirs->status == 404);
  CHECK(theirs->body == body);
  CHECK(JsonBody(s.Client().Get(std::string("/v1/records/customers/") + kOtherCustomer,
                                Bearer(mallory)))["record"]["name"] == "别家的客户");
  // Ids outside the wire alphabet cannot name a record: malformed, not missing.
  CheckRefused(s.Client().Get("/v1/records/customers/cust%201", Bearer(boss)), 400,
               sync::kErrorMalformed, "id");
  CheckRefused(s.Client().Get("/v1/records/Customers/cust-1", Bearer(boss)), 400,
               sync::kErrorMalformed, "collection");
  CHECK(s.State() == before);
}

// The record as a replica that merged every change `puller` may pull would hold it.
sync::RecordState ReplicaState(TestServer& s, const std::string& token, const std::string& record) {
  auto res = s.Client().Get("/v1/pull?schema=1", Bearer(token));
  REQUIRE(res);
  REQUIRE(res->status == 200);
  Result<sync::PullResponse> pull = sync::DecodePullResponse(res->body);
  REQUIRE(pull.ok());
  const CollectionDef* def = Schema::FieldSales().Collection("customers");
  sync::RecordState state;
  for (const sync::Change& c : pull->changes) {
    if (c.collection == "customers" && c.record_id == record)
      REQUIRE(sync::Merge(*def, c, &state).ok());
  }
  return state;
}

TEST_CASE(
    "a conflict resolved over HTTP closes for every replica, through the feed and the audit") {
  TestServer s;
  Seed(s);
  const std::string boss = s.Login("boss");
  const std::string zhang = s.Login("zhang");
  const CollectionDef* def = Schema::FieldSales().Collection("customers");

  // Before: the conflict is listed, and a replica that merges the feed sees it too.
  const nlohmann::json listed = JsonBody(s.Client().Get("/v1/conflicts", Bearer(zhang)));
  REQUIRE(listed["conflicts"].size() == 1);
  CHECK_FALSE(listed.contains("more"));
  const nlohmann::json conflict = listed["conflicts"][0];
  CHECK(conflict["collection"] == "customers");
  CHECK(conflict["record_id"] == "cust-1");
  CHECK(conflict["field"] == "notes");
  REQUIRE(conflict["heads"].size() == 2);
  CHECK(conflict["heads"][0]["value"] == "客户要求周三");  // the shown (highest) value first
  CHECK(conflict["heads"][0]["author"] == "chen");
  CHECK(conflict["heads"][1]["author"] == "zhang");
  CHECK(conflict["heads"][1]["time"] == "2024-11-23T06:39:30.623Z");
  const std::string id = conflict["id"];
  REQUIRE(sync::Conflicts(*def, "cust-1", ReplicaState(s, boss, "cust-1")).size() == 1);
  // Other tenants' conflicts are never listed; wang's scope holds none.
  CHECK(JsonBody(s.Client().Get("/v1/conflicts", Bearer(boss)))["conflicts"].size() == 1);
  CHECK(JsonBody(s.Client().Get("/v1/conflicts", Bearer(s.Login("wang"))))["conflicts"].empty());

  const std::string request = sync::EncodeResolveRequest({"周三上午拜访，带报价单"});
  auto res = s.Client().Post("/v1/conflicts/" + id + "/resolve", Bearer(zhang), request,
                             "application/json");
  const nlohmann::json resolved = JsonBody(res);
  CHECK(resolved["collection"] == "customers");
  CHECK(resolved["id"] == "cust-1");
  CHECK(resolved["record"]["notes"] == "周三上午拜访，带报价单");
  CHECK(resolved["conflicts"].empty());
  CHECK_FALSE(resolved["record"].contains("credit_level"));  // zhang is a rep
  const std::string change_id = resolved["change_id"];

  // Closed on the server, and for a replica merging the feed: the resolution is in it, from the
  // server's node, authored by zhang, naming both heads as its base.
  CHECK(JsonBody(s.Client().Get("/v1/conflicts", Bearer(boss)))["conflicts"].empty());
  const sync::RecordState replica = ReplicaState(s, boss, "cust-1");
  CHECK(sync::Conflicts(*def, "cust-1", replica).empty());
  CHECK((*sync::Materialize(*def, replica))["notes"] == "周三上午拜访，带报价单");
  auto pulled =
      sync::DecodePullResponse(s.Client().Get("/v1/pull?schema=1", Bearer(s.Login("chen")))->body);
  REQUIRE(pulled.ok());
  const sync::Change& last = pulled->changes.back();
  CHECK(last.change_id == change_id);
  CHECK(last.version.node == kServerNode);
  CHECK(last.author == "zhang");
  CHECK(last.fields.at("notes").base.size() == 2);
  // The device that sent the resolution gets it too: its node is the server's, not the device's.
  auto mine = sync::DecodePullResponse(s.Client().Get("/v1/pull?schema=1", Bearer(zhang))->body);
  REQUIRE(mine.ok());
  CHECK(mine->changes.back().change_id == change_id);

  // Audited as a resolution, by zhang from zhang's device, with the conflict's id.
  const nlohmann::json audit =
      JsonBody(s.Client().Get("/v1/audit?record=customers/cust-1", Bearer(boss)));
  const nlohmann::json& row = audit["entries"].back();
  CHECK(row["action"] == kAuditResolve);
  CHECK(row["user"] == "zhang");
  CHECK(row["device"] == "dev-zhang");
  CHECK(row["change_id"] == change_id);
  CHECK(row["fields"] == nlohmann::json::array({"notes"}));
  CHECK(row["detail"]["conflict"] == id);
  CHECK(audit.dump().find("周三上午拜访") == std::string::npos);  // no values in the trail

  // Closed is closed: the same id again is the one 404.
  auto again = s.Client().Post("/v1/conflicts/" + id + "/resolve", Bearer(zhang), request,
                               "application/json");
  CheckRefused(again, 404, sync::kErrorNotFound);
}

TEST_CASE("resolving what one may not see, a superseded id or an invalid value changes nothing") {
  TestServer s;
  Seed(s);
  const std::string zhang = s.Login("zhang");
  const std::string wang = s.Login("wang");
  const std::string mallory = s.Login("mallory");
  const std::string id =
      JsonBody(s.Client().Get("/v1/conflicts", Bearer(zhang)))["conflicts"][0]["id"];
  const std::string request = sync::EncodeResolveRequest({"合并"});
  auto post = [&](const std::string& conflict, const std::string& token, const std::string& body) {
    return s.Client().Post("/v1/conflicts/" + conflict + "/resolve", Bearer(token), body,
                           "application/json");
  };
  const auto before = s.State();
  auto unknown = post(std::string(64, 'a'), zhang, request);
  CheckRefused(unknown, 404, sync::kErrorNotFound);
  for (const auto& [conflict, token] :
       std::vector<std::pair<std::string, std::string>>{{id, wang},                 // out of scope
                                                        {id, mallory},              // other tenant
                                                        {s.other_conflict, zhang},  // theirs
                                                        {s.other_conflict, wang}}) {
    auto res = post(conflict, token, request);
    REQUIRE(res);
    CHECK(res->status == 404);
    CHECK(res->body == unknown->body);
  }
  // A value the schema refuses for notes (text): 400 invalid naming the field.
  CheckRefused(post(id, zhang, R"({"value":42})"), 400, sync::kErrorInvalid, "notes");
  CheckRefused(post(id, zhang, R"({"value":"x","extra":1})"), 400, sync::kErrorMalformed, "extra");
  CheckRefused(post(id, zhang, R"({})"), 400, sync::kErrorMalformed, "value");
  CHECK(s.State() == before);

  // A third concurrent head changes the conflict's id: the old one no longer resolves.
  World& w = s.world;
  REQUIRE(w.service
              ->ApplyPush(w.As("boss"), Push("dev-boss", {Upsert("b-1", "customers", "cust-1",
                                                                 {{"notes", "老板的意见"}},
                                                                 "dev-boss", HlcAt(kNowMs - 300))}))
              .ok());
  auto stale = post(id, zhang, request);
  REQUIRE(stale);
  CHECK(stale->status == 404);
  CHECK(stale->body == unknown->body);
  const nlohmann::json now = JsonBody(s.Client().Get("/v1/conflicts", Bearer(zhang)));
  REQUIRE(now["conflicts"].size() == 1);
  CHECK(now["conflicts"][0]["heads"].size() == 3);
  CHECK(now["conflicts"][0]["id"] != id);
  // The other tenant's admin resolves its own conflict.
  CHECK(JsonBody(post(s.other_conflict, mallory, request))["record"]["notes"] == "合并");
}

TEST_CASE("conflicts list in pages of the asked size, each conflict once") {
  TestServer s;
  World& w = s.world;
  std::vector<sync::Change> a, b;
  for (int i = 0; i < 5; ++i) {
    const std::string id = "cust-" + std::to_string(i);
    a.push_back(Customer("z-" + std::to_string(i), id, "客户", "zhang", HlcAt(kNowMs - 1000)));
    std::vector<sync::Change> notes =
        ConflictingNotes("n" + std::to_string(i), id, "zhang", "chen");
    a.push_back(notes[0]);
    b.push_back(notes[1]);
  }
  REQUIRE(w.service->ApplyPush(w.As("zhang"), Push("dev-zhang", a)).ok());
  REQUIRE(w.service->ApplyPush(w.As("chen"), Push("dev-chen", b)).ok());
  const std::string zhang = s.Login("zhang");
  std::set<std::string> seen;
  std::string after;
  for (int page = 0; page < 5; ++page) {
    const nlohmann::json body = JsonBody(s.Client().Get(
        "/v1/conflicts?limit=2" + (after.empty() ? "" : "&after=" + after), Bearer(zhang)));
    for (const auto& c : body["conflicts"]) {
      CHECK(seen.insert(c["id"].get<std::string>()).second);
      after = c["id"];
    }
    if (!body.contains("more")) break;
    CHECK(body["conflicts"].size() == 2);
  }
  CHECK(seen.size() == 5);
  CheckRefused(s.Client().Get("/v1/conflicts?limit=0", Bearer(zhang)), 400, sync::kErrorMalformed,
               "limit");
  CheckRefused(s.Client().Get("/v1/conflicts?after=a&after=b", Bearer(zhang)), 400,
               sync::kErrorMalformed, "after");
}

TEST_CASE("the audit endpoint is for admins, per record and per user, paged, within the tenant") {
  TestServer s;
  Seed(s);
  const std::string boss = s.Login("boss");
  const std::string mallory = s.Login("mallory");
  for (const char* user : {"zhang", "chen"}) {
    CheckRefused(s.Client().Get("/v1/audit?record=customers/cust-1", Bearer(s.Login(user))), 403,
                 sync::kErrorForbidden, "admin");
  }
  const nlohmann::json by_record =
      JsonBody(s.Client().Get("/v1/audit?record=customers/cust-1", Bearer(boss)));
  std::vector<std::string> who;
  for (const auto& e : by_record["entries"]) who.push_back(e["user"]);
  CHECK(who == std::vector<std::string>{"zhang", "zhang", "chen", "chen"});
  CHECK(by_record["entries"][0]["time"] == "2024-11-23T06:39:31.123Z");

  const nlohmann::json by_user = JsonBody(s.Client().Get("/v1/audit?user=chen", Bearer(boss)));
  std::vector<std::string> actions;
  for (const auto& e : by_user["entries"]) actions.push_back(e["action"]);
  CHECK(actions == std::vector<std::string>{"change.upsert", "change.upsert", "login"});
  const nlohmann::json page = JsonBody(s.Client().Get("/v1/audit?user=chen&limit=1", Bearer(boss)));
  CHECK(page["entries"].size() == 1);
  CHECK(page["more"] == true);
  const nlohmann::json next = JsonBody(s.Client().Get(
      "/v1/audit?user=chen&limit=1&after=" + std::to_string(page["entries"][0]["seq"].get<int>()),
      Bearer(boss)));
  CHECK(next["entries"][0]["seq"] > page["entries"][0]["seq"]);
  // Admin subjects are records too: what was done to user zhang's account.
  const nlohmann::json account =
      JsonBody(s.Client().Get("/v1/audit?record=user/zhang", Bearer(boss)));
  REQUIRE(account["entries"].size() == 1);
  CHECK(account["entries"][0]["action"] == kAuditAddUser);

  // Another tenant's admin asking for our record gets what a missing record gets: nothing.
  auto theirs = s.Client().Get("/v1/audit?record=customers/cust-1", Bearer(mallory));
  auto missing = s.Client().Get("/v1/audit?record=customers/cust-nope", Bearer(mallory));
  REQUIRE(theirs);
  REQUIRE(missing);
  CHECK(theirs->body == missing->body);
  CHECK(JsonBody(theirs)["entries"].empty());
  CheckRefused(s.Client().Get("/v1/audit?record=customers", Bearer(boss)), 400,
               sync::kErrorMalformed, "record");
  CheckRefused(s.Client().Get("/v1/audit?limit=1001", Bearer(boss)), 400, sync::kErrorMalformed,
               "limit");
}

TEST_CASE("the back-office paths answer other methods 405 and need a token") {
  TestServer s;
  CheckRefused(s.Client().Post("/v1/records/customers/x", "{}", "application/json"), 405,
               sync::kErrorMethodNotAllowed);
  CheckRefused(s.Client().Get("/v1/conflicts/abc/resolve"), 405, sync::kErrorMethodNotAllowed);
  CheckRefused(s.Client().Delete("/v1/audit"), 405, sync::kErrorMethodNotAllowed);
  CheckRefused(s.Client().Post("/v1/conflicts", "{}", "application/json"), 405,
               sync::kErrorMethodNotAllowed);
  for (const char* path : {"/v1/records/customers/x", "/v1/conflicts", "/v1/audit"}) {
    CAPTURE(path);
    CheckRefused(s.Client().Get(path), 401, sync::kErrorUnauthenticated);
  }
  CheckRefused(s.Client().Post("/v1/conflicts/abc/resolve", R"({"value":1})", "application/json"),
               401, sync::kErrorUnauthenticated);
}

}  // namespace
}  // namespace fieldsync::server::testing
