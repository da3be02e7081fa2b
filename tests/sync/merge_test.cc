// tests/sync/merge_test.cc: the merge rules (fieldsync/sync/merge.h), case by case, then
// convergence over thousands of random histories.
//
// The property test simulates 3-5 replicas with skewed clocks editing the built-in collections
// and gossiping partial sets of changes to each other, then replays every history's changes in
// several random orders, with duplicates and replays, and checks that every replica ends up
// identical. Besides the built-in collections it edits a host collection ("projects") that mixes
// every rule under delete_wins. It prints its seed; FIELDSYNC_MERGE_SEED=<seed> replays a run, and
// FIELDSYNC_MERGE_HISTORIES=<n> changes the number of histories (default 2000).
#include "fieldsync/sync/merge.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "fieldsync/clock.h"
#include "fieldsync/hlc.h"
#include "fieldsync/log.h"
#include "fieldsync/schema.h"

namespace fieldsync::sync {
namespace {

using json = nlohmann::json;

const CollectionDef& Collection(const std::string& name) {
  const CollectionDef* c = Schema::FieldSales().Collection(name);
  REQUIRE(c != nullptr);
  return *c;
}

// A version at `ms` milliseconds (logical counter 0) written by `node`.
Version At(uint64_t ms, const std::string& node) { return Version{Hlc::FromParts(ms, 0), node}; }

FieldWrite Val(json value, std::vector<Version> base = {}) {
  FieldWrite w;
  w.value = std::move(value);
  w.base = std::move(base);
  return w;
}

FieldWrite Add(std::vector<std::string> elements) {
  FieldWrite w;
  w.set_add = std::move(elements);
  return w;
}

FieldWrite Remove(std::vector<std::pair<std::string, Version>> tags) {
  FieldWrite w;
  w.set_remove = std::move(tags);
  return w;
}

Change Upsert(const std::string& collection, const std::string& record, const Version& v,
              std::map<std::string, FieldWrite> fields, const std::string& author = "user") {
  Change c;
  c.change_id = collection + "/" + record + "@" + v.hlc.ToString() + "/" + v.node;
  c.collection = collection;
  c.record_id = record;
  c.version = v;
  c.fields = std::move(fields);
  c.author = author;
  return c;
}

Change Recreate(const std::string& collection, const std::string& record, const Version& v,
                std::map<std::string, FieldWrite> fields) {
  Change c = Upsert(collection, record, v, std::move(fields));
  c.recreate = true;
  return c;
}

Change Delete(const std::string& collection, const std::string& record, const Version& v) {
  Change c = Upsert(collection, record, v, {});
  c.op = Change::Op::kDelete;
  return c;
}

MergeOutcome MergeOk(const Change& change, RecordState* state) {
  Result<MergeOutcome> r = Merge(Collection(change.collection), change, state);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return *r;
}

RecordState MergeAll(const std::vector<Change>& changes) {
  RecordState state;
  for (const Change& c : changes) MergeOk(c, &state);
  return state;
}

std::optional<json> Show(const std::string& collection, const RecordState& state) {
  return Materialize(Collection(collection), state);
}

std::vector<Version> VersionsOf(const std::vector<RegisterValue>& values) {
  std::vector<Version> versions;
  for (const RegisterValue& v : values) versions.push_back(v.version);
  return versions;
}

// ---- registers ---------------------------------------------------------------------------

TEST_CASE("last writer wins by HLC, then by node id when the HLCs are equal") {
  const Change b_early = Upsert("customers", "c1", At(100, "b"), {{"grade", Val("C")}});
  const Change a_late = Upsert("customers", "c1", At(200, "a"), {{"grade", Val("B")}});
  const Change b_late = Upsert("customers", "c1", At(200, "b"), {{"grade", Val("D")}});

  RecordState forward = MergeAll({b_early, a_late, b_late});
  RecordState backward = MergeAll({b_late, a_late, b_early});
  CHECK(forward == backward);
  CHECK(Show("customers", forward)->at("grade") == "D");  // same HLC: node "b" > "a"

  RecordState two = MergeAll({a_late, b_early});
  CHECK(Show("customers", two)->at("grade") == "B");  // the earlier write arrived last and lost
}

TEST_CASE("writing null clears a field, and the clear beats older writes arriving later") {
  RecordState s = MergeAll({
      Upsert("customers", "c1", At(100, "a"), {{"name", Val("明辉贸易")}, {"grade", Val("A")}}),
      Upsert("customers", "c1", At(200, "b"), {{"grade", Val(nullptr)}}),
      Upsert("customers", "c1", At(150, "c"), {{"grade", Val("C")}}),
  });
  const std::optional<json> shown = Show("customers", s);
  REQUIRE(shown);
  CHECK(*shown == json{{"name", "明辉贸易"}});
}

TEST_CASE("concurrent edits to different fields both survive") {
  RecordState s = MergeAll({
      Upsert("customers", "c1", At(100, "a"), {{"name", Val("张伟")}}),
      Upsert("customers", "c1", At(200, "a"), {{"grade", Val("A")}}),
      Upsert("customers", "c1", At(150, "b"), {{"region", Val("华东")}}),
  });
  CHECK(*Show("customers", s) == json{{"name", "张伟"}, {"grade", "A"}, {"region", "华东"}});
}

// ---- review (notes) ----------------------------------------------------------------------

// Notes written at 100, then edited concurrently at 200 (li on node a) and 210 (wang on node b).
struct NotesConflict {
  Version base = At(100, "a");
  Version li = At(200, "a");
  Version wang = At(210, "b");
  Change create = Upsert("customers", "c1", base, {{"notes", Val("Met at the fair")}}, "li");
  Change li_edit =
      Upsert("customers", "c1", li, {{"notes", Val("Call back Monday", {base})}}, "li");
  Change wang_edit =
      Upsert("customers", "c1", wang, {{"notes", Val("Wants a quote", {base})}}, "wang");
};

TEST_CASE("concurrent note edits open a conflict with both values, authors and times") {
  NotesConflict n;
  RecordState s = MergeAll({n.create, n.li_edit, n.wang_edit});

  std::vector<Conflict> conflicts = Conflicts(Collection("customers"), "c1", s);
  REQUIRE(conflicts.size() == 1);
  const Conflict& c = conflicts[0];
  CHECK(c.collection == "customers");
  CHECK(c.record_id == "c1");
  CHECK(c.field == "notes");
  CHECK(c.id.size() == 64);  // hex SHA-256
  REQUIRE(c.heads.size() == 2);
  CHECK(c.heads[0].value == "Wants a quote");  // highest first: the shown value
  CHECK(c.heads[0].author == "wang");
  CHECK(c.heads[0].version == n.wang);
  CHECK(c.heads[1].value == "Call back Monday");
  CHECK(c.heads[1].author == "li");
  CHECK(c.heads[1].version == n.li);
  CHECK(Show("customers", s)->at("notes") == "Wants a quote");
}

TEST_CASE("an edit whose base names every head resolves the conflict and wins") {
  NotesConflict n;
  // The resolver's clock is behind both heads: the base, not the clock, decides.
  const Change resolution =
      Upsert("customers", "c1", At(150, "c"),
             {{"notes", Val("Call back Monday with a quote", {n.li, n.wang})}}, "manager");
  RecordState s = MergeAll({n.create, n.li_edit, n.wang_edit, resolution});
  CHECK(Conflicts(Collection("customers"), "c1", s).empty());
  CHECK(Show("customers", s)->at("notes") == "Call back Monday with a quote");
  CHECK(s.reviews.at("notes").Heads().size() == 1);

  // The resolution syncs like any edit: a replica that gets it before one of the heads agrees.
  CHECK(MergeAll({resolution, n.wang_edit, n.create, n.li_edit}) == s);
}

TEST_CASE("an edit that saw only one head leaves the conflict open") {
  NotesConflict n;
  const Change partial =
      Upsert("customers", "c1", At(300, "a"), {{"notes", Val("Quote sent", {n.wang})}}, "li");
  RecordState s = MergeAll({n.create, n.li_edit, n.wang_edit, partial});
  std::vector<Conflict> conflicts = Conflicts(Collection("customers"), "c1", s);
  REQUIRE(conflicts.size() == 1);
  CHECK(VersionsOf(conflicts[0].heads) == std::vector<Version>{At(300, "a"), n.li});
  CHECK(Show("customers", s)->at("notes") == "Quote sent");
}

TEST_CASE("a conflict has the same id on every replica, and a new id when its heads change") {
  NotesConflict n;
  RecordState one = MergeAll({n.create, n.li_edit, n.wang_edit});
  RecordState two = MergeAll({n.wang_edit, n.li_edit, n.create});
  const std::string id = Conflicts(Collection("customers"), "c1", one).at(0).id;
  CHECK(Conflicts(Collection("customers"), "c1", two).at(0).id == id);
  CHECK(Conflicts(Collection("customers"), "c2", two).at(0).id != id);  // ids differ by record

  MergeOk(Upsert("customers", "c1", At(220, "c"), {{"notes", Val("Third view", {n.base})}}), &two);
  CHECK(Conflicts(Collection("customers"), "c1", two).at(0).id != id);
}

TEST_CASE("a base may name an edit that arrives later, and that edit never becomes a head") {
  NotesConflict n;
  const Change later =
      Upsert("customers", "c1", At(300, "b"), {{"notes", Val("Final", {n.li, n.wang})}});
  RecordState s = MergeAll({later, n.li_edit, n.wang_edit, n.create});
  CHECK(VersionsOf(s.reviews.at("notes").Heads()) == std::vector<Version>{At(300, "b")});
  // Superseded values are not stored: only the head keeps its text.
  CHECK(s.reviews.at("notes").versions.at(n.li).value.is_null());
  CHECK(s.reviews.at("notes").versions.size() == 4);
  CHECK(s == MergeAll({n.create, n.li_edit, n.wang_edit, later}));
}

TEST_CASE("a concurrent note that loses still reports the field: it opened a conflict") {
  NotesConflict n;
  RecordState s = MergeAll({n.create, n.wang_edit});
  MergeOutcome outcome = MergeOk(n.li_edit, &s);
  CHECK(outcome.changed_fields == std::vector<std::string>{"notes"});
  CHECK(Show("customers", s)->at("notes") == "Wants a quote");
}

// ---- add-wins sets (tags) ----------------------------------------------------------------

TEST_CASE("a tag added concurrently with its removal stays: the add wins") {
  const Change add = Upsert("customers", "c1", At(100, "a"), {{"tags", Add({"vip"})}});
  // b saw the first add and removes it; c, concurrently, adds the same tag again.
  const Change remove =
      Upsert("customers", "c1", At(200, "b"), {{"tags", Remove({{"vip", At(100, "a")}})}});
  const Change re_add = Upsert("customers", "c1", At(150, "c"), {{"tags", Add({"vip", "hot"})}});
  RecordState s = MergeAll({add, remove, re_add});
  CHECK(Show("customers", s)->at("tags") == json{"hot", "vip"});
  CHECK(MergeAll({re_add, remove, add}) == s);
  CHECK(MergeAll({remove, add, re_add}) == s);
}

TEST_CASE("removing the tags one has observed removes the element") {
  RecordState s = MergeAll({
      Upsert("customers", "c1", At(100, "a"), {{"tags", Add({"vip", "east"})}}),
      Upsert("customers", "c1", At(150, "c"), {{"tags", Add({"vip"})}}),
      Upsert("customers", "c1", At(200, "b"),
             {{"tags", Remove({{"vip", At(100, "a")}, {"vip", At(150, "c")}})}}),
  });
  CHECK(Show("customers", s)->at("tags") == json{"east"});
  CHECK(s.sets.at("tags").Elements() == std::vector<std::string>{"east"});

  // Removing the last element leaves no "tags" member at all.
  MergeOk(Upsert("customers", "c1", At(300, "b"), {{"tags", Remove({{"east", At(100, "a")}})}}),
          &s);
  CHECK(Show("customers", s)->contains("tags") == false);
}

// ---- deletes ------------------------------------------------------------------------------

TEST_CASE("delete_wins: a concurrent update with a later clock leaves the contact deleted") {
  const Change create =
      Upsert("contacts", "k1", At(100, "a"), {{"customer", Val("c1")}, {"name", Val("王芳")}});
  const Change del = Delete("contacts", "k1", At(200, "a"));
  const Change update = Upsert("contacts", "k1", At(300, "b"), {{"title", Val("采购总监")}});
  RecordState s = MergeAll({create, del, update});
  CHECK_FALSE(Show("contacts", s).has_value());
  CHECK(MergeAll({update, create, del}) == s);
  CHECK(Conflicts(Collection("contacts"), "k1", s).empty());
}

TEST_CASE("delete_wins: a re-creation brings the record back, without the erased values") {
  RecordState s = MergeAll({
      Upsert("contacts", "k1", At(100, "a"),
             {{"customer", Val("c1")}, {"name", Val("王芳")}, {"birthday", Val("1980-05-01")}}),
      Delete("contacts", "k1", At(200, "a")),
  });
  CHECK_FALSE(Show("contacts", s).has_value());
  CHECK(s.registers.count("birthday") == 0);  // erased from the state, not merely hidden

  MergeOutcome outcome = MergeOk(
      Recreate("contacts", "k1", At(300, "b"), {{"customer", Val("c1")}, {"name", Val("王芳")}}),
      &s);
  CHECK(outcome.alive_changed);
  CHECK(*Show("contacts", s) == json{{"customer", "c1"}, {"name", "王芳"}});

  // A write from before the delete that arrives only now stays out.
  MergeOk(Upsert("contacts", "k1", At(150, "c"), {{"birthday", Val("1980-05-02")}}), &s);
  CHECK(Show("contacts", s)->contains("birthday") == false);
}

TEST_CASE("update_wins: an update after the delete resurrects the customer, one before does not") {
  const Change create = Upsert("customers", "c1", At(100, "a"),
                               {{"kind", Val("company")}, {"name", Val("明辉贸易")}});
  const Change del = Delete("customers", "c1", At(200, "a"));
  RecordState s = MergeAll({create, del});
  CHECK_FALSE(Show("customers", s).has_value());

  MergeOutcome before = MergeOk(Upsert("customers", "c1", At(150, "b"), {{"grade", Val("B")}}), &s);
  CHECK_FALSE(before.alive_changed);
  CHECK_FALSE(Show("customers", s).has_value());

  MergeOutcome after = MergeOk(Upsert("customers", "c1", At(250, "b"), {{"grade", Val("A")}}), &s);
  CHECK(after.alive_changed);
  // The file comes back whole: the edit shows the customer is still being worked.
  CHECK(*Show("customers", s) == json{{"kind", "company"}, {"name", "明辉贸易"}, {"grade", "A"}});
}

TEST_CASE("update_wins: a re-creation starts the customer anew") {
  RecordState s = MergeAll({
      Upsert("customers", "c1", At(100, "a"),
             {{"kind", Val("company")}, {"name", Val("Old")}, {"region", Val("华南")}}),
      Delete("customers", "c1", At(200, "a")),
      Recreate("customers", "c1", At(300, "a"), {{"kind", Val("person")}, {"name", Val("New")}}),
  });
  CHECK(*Show("customers", s) == json{{"kind", "person"}, {"name", "New"}});
}

// ---- append-only (visits) ----------------------------------------------------------------

TEST_CASE("append-only: a second write of a visit with other values changes nothing") {
  const Change first = Upsert("visits", "v1", At(100, "a"),
                              {{"customer", Val("c1")},
                               {"rep", Val("li")},
                               {"start", Val("2025-03-01T01:30:00.000Z")},
                               {"summary", Val("Demo went well")}});
  const Change second = Upsert("visits", "v1", At(200, "b"),
                               {{"summary", Val("Rewritten")}, {"outcome", Val("Order promised")}});
  RecordState s = MergeAll({first, second});
  const json expected = {{"customer", "c1"},
                         {"rep", "li"},
                         {"start", "2025-03-01T01:30:00.000Z"},
                         {"summary", "Demo went well"}};
  CHECK(*Show("visits", s) == expected);
  // Arriving in the other order, the first version still stands, whole.
  CHECK(MergeAll({second, first}) == s);
}

TEST_CASE("append-only: a deleted visit stays deleted until re-created, then shows the original") {
  const Change first = Upsert("visits", "v1", At(100, "a"),
                              {{"customer", Val("c1")}, {"rep", Val("li")}, {"summary", Val("x")}});
  RecordState s = MergeAll({first, Delete("visits", "v1", At(200, "a"))});
  CHECK_FALSE(Show("visits", s).has_value());
  MergeOk(Upsert("visits", "v1", At(300, "b"), {{"summary", Val("y")}}), &s);
  CHECK_FALSE(Show("visits", s).has_value());
  MergeOk(Recreate("visits", "v1", At(400, "b"), {{"summary", Val("z")}}), &s);
  CHECK(Show("visits", s)->at("summary") == "x");
}

// ---- authorization and malformed changes -------------------------------------------------

TEST_CASE("a rep may not write credit_level, managers, admins and the server may") {
  const Change change =
      Upsert("customers", "c1", At(100, "a"), {{"credit_level", Val("AAA")}, {"grade", Val("A")}});
  Status rep = Authorize(Collection("customers"), change, Role::kRep);
  CHECK(rep.code() == StatusCode::kFailedPrecondition);
  CHECK(rep.message() == "credit_level is set by the back office; a rep cannot write it");
  CHECK(Authorize(Collection("customers"), change, Role::kManager).ok());
  CHECK(Authorize(Collection("customers"), change, Role::kAdmin).ok());
  CHECK(Authorize(Collection("customers"), change, Role::kServer).ok());

  const Change grade_only = Upsert("customers", "c1", At(100, "a"), {{"grade", Val("A")}});
  CHECK(Authorize(Collection("customers"), grade_only, Role::kRep).ok());
  CHECK(Authorize(Collection("customers"), Delete("customers", "c1", At(1, "a")), Role::kRep).ok());
}

TEST_CASE("an unknown field is refused with InvalidArgument naming it, and nothing changes") {
  RecordState s = MergeAll({Upsert("customers", "c1", At(100, "a"), {{"grade", Val("A")}})});
  const RecordState before = s;
  const Change bad =
      Upsert("customers", "c1", At(200, "a"), {{"grade", Val("B")}, {"wechat", Val("zw")}});
  Result<MergeOutcome> r = Merge(Collection("customers"), bad, &s);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  CHECK(r.status().message().find("wechat") != std::string::npos);
  CHECK(s == before);

  Status auth = Authorize(Collection("customers"), bad, Role::kAdmin);
  CHECK(auth.code() == StatusCode::kInvalidArgument);
  CHECK(auth.message().find("wechat") != std::string::npos);
}

TEST_CASE("changes that do not fit the field's rule are refused") {
  auto refused = [](const Change& c, const char* needle) {
    RecordState s;
    Result<MergeOutcome> r = Merge(Collection(c.collection), c, &s);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
    CHECK_MESSAGE(r.status().message().find(needle) != std::string::npos, r.status().message());
    CHECK(s == RecordState());
  };
  refused(Upsert("customers", "c1", At(1, "a"), {{"grade", Add({"A"})}}), "grade");
  refused(Upsert("customers", "c1", At(1, "a"), {{"tags", Val(json{"vip"})}}), "tags");
  refused(Upsert("customers", "c1", At(1, "a"), {{"grade", Val("A", {At(0, "a")})}}), "base");
  refused(Upsert("customers", "c1", At(1, "a"), {{"notes", Val("x", {At(1, "a")})}}), "own");
  Change del = Delete("customers", "c1", At(1, "a"));
  del.fields["grade"] = Val("A");
  refused(del, "delete");
  RecordState s;
  Result<MergeOutcome> wrong =
      Merge(Collection("contacts"), Delete("customers", "c1", At(1, "a")), &s);
  CHECK(wrong.status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("a merge reports what it changed, and a replayed change reports nothing") {
  const Change create =
      Upsert("customers", "c1", At(100, "a"), {{"name", Val("张伟")}, {"grade", Val("A")}});
  RecordState s;
  MergeOutcome first = MergeOk(create, &s);
  CHECK(first.alive_changed);
  CHECK(first.changed_fields == std::vector<std::string>{"grade", "name"});
  const RecordState after_first = s;
  MergeOutcome replay = MergeOk(create, &s);
  CHECK_FALSE(replay.alive_changed);
  CHECK(replay.changed_fields.empty());
  CHECK(s == after_first);

  MergeOutcome loser = MergeOk(Upsert("customers", "c1", At(50, "b"), {{"grade", Val("C")}}), &s);
  CHECK(loser.changed_fields.empty());
}

TEST_CASE("a record only ever deleted does not exist") {
  RecordState s = MergeAll({Delete("customers", "c1", At(100, "a"))});
  CHECK_FALSE(Show("customers", s).has_value());
  CHECK_FALSE(Show("customers", RecordState()).has_value());
}

// ---- JSON --------------------------------------------------------------------------------

TEST_CASE("a record state round-trips through JSON exactly") {
  NotesConflict n;
  RecordState s = MergeAll({
      n.create,
      n.li_edit,
      n.wang_edit,
      Upsert(
          "customers", "c1", At(100, "a"),
          {{"grade", Val("A")}, {"tags", Add({"vip", "east"})}, {"custom", Val(json{{"x", 1.5}})}}),
      Upsert("customers", "c1", At(120, "b"),
             {{"region", Val(nullptr)}, {"tags", Remove({{"vip", At(100, "a")}})}}),
      Delete("customers", "c1", At(130, "c")),
      Recreate("customers", "c1", At(140, "c"), {{"name", Val("名")}}),
  });
  s.registers["phones"] =
      RegisterValue{json::array({"+8613800138000"}), Version{Hlc(0xFFFFFFFFFFFFFFFFull), "z"}, ""};
  const json j = RecordStateToJson(s);
  const std::string text = j.dump();
  Result<RecordState> back = RecordStateFromJson(json::parse(text));
  REQUIRE_MESSAGE(back.ok(), back.status().ToString());
  CHECK(*back == s);
  CHECK(RecordStateToJson(*back).dump() == text);
  CHECK(j.at("deleted") == json::array({Hlc::FromParts(130, 0).packed(), "c"}));

  Result<RecordState> empty = RecordStateFromJson(RecordStateToJson(RecordState()));
  REQUIRE(empty.ok());
  CHECK(*empty == RecordState());
}

TEST_CASE("a malformed JSON record state is refused, naming the problem") {
  auto refused = [](const json& j, const char* needle) {
    Result<RecordState> r = RecordStateFromJson(j);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
    CHECK_MESSAGE(r.status().message().find(needle) != std::string::npos, r.status().message());
  };
  refused(json::array(), "object");
  refused(json{{"colour", 1}}, "colour");
  refused(json::parse(R"({"registers": {"grade": [[-1, "a"], "A"]}})"), "registers.grade");
  refused(json::parse(R"({"registers": {"grade": [["1", "a"], "A"]}})"), "registers.grade");
  refused(json::parse(R"({"registers": {"grade": [[1, "a"]]}})"), "registers.grade");
  refused(json::parse(R"({"reviews": {"notes": {"versions": [], "heads": []}}})"), "heads");
  refused(json::parse(R"({"reviews": {"notes": {"replaced": [[[1, "a"], [[1]]]]}}})"),
          "reviews.notes.replaced[0][1][0]");
  refused(json::parse(R"({"sets": {"tags": {"removed": [[1, [1, "a"]]]}}})"), "sets.tags.removed");
  refused(json::parse(R"({"deleted": [1]})"), "deleted");
}

// ---- convergence over random histories ---------------------------------------------------

// splitmix64: small, fast, and the same sequence on every platform (std distributions are not).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  size_t Below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(Next() % n); }
  bool Percent(int p) { return Below(100) < static_cast<size_t>(p); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Below(v.size())];
  }
  template <typename T>
  void Shuffle(std::vector<T>* v) {
    for (size_t i = v->size(); i > 1; --i) std::swap((*v)[i - 1], (*v)[Below(i)]);
  }

 private:
  uint64_t state_;
};

using Key = std::pair<std::string, std::string>;  // collection, record id
using Replica = std::map<Key, RecordState>;

// The built-in schema plus a host collection that mixes every rule under delete_wins, which no
// built-in collection does (delete_wins erases set tags and review values; append-only fields
// beside ordinary ones form a group).
const Schema& PropertySchema() {
  static const Schema schema = [] {
    Result<Schema> s = Schema::FieldSales().Extended(R"({"collections": {"projects": {
        "delete_rule": "delete_wins",
        "fields": {"stage": {"type": "text"},
                   "labels": {"type": "string_set", "merge": "add_wins_set"},
                   "memo": {"type": "text", "merge": "review"},
                   "opened_by": {"type": "text", "merge": "append_only"},
                   "opened_on": {"type": "date", "merge": "append_only"}}}}})");
    if (!s.ok()) std::abort();
    return *s;
  }();
  return schema;
}

// Merges without doctest assertions in the hot path; returns the failure, if any.
Status Deliver(const Change& change, Replica* replica, MergeOutcome* outcome = nullptr) {
  const CollectionDef* c = PropertySchema().Collection(change.collection);
  Result<MergeOutcome> r = Merge(*c, change, &(*replica)[{change.collection, change.record_id}]);
  if (!r.ok()) return r.status();
  if (outcome != nullptr) *outcome = *r;
  return Status::OK();
}

bool SameConflicts(const std::vector<Conflict>& a, const std::vector<Conflict>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].id != b[i].id || a[i].field != b[i].field || a[i].heads.size() != b[i].heads.size()) {
      return false;
    }
    for (size_t h = 0; h < a[i].heads.size(); ++h) {
      const RegisterValue& x = a[i].heads[h];
      const RegisterValue& y = b[i].heads[h];
      if (x.version != y.version || x.value != y.value || x.author != y.author) return false;
    }
  }
  return true;
}

// "" when the replicas are identical in state, materialized records and conflicts.
std::string Difference(const Replica& a, const Replica& b) {
  if (a.size() != b.size()) return "different records";
  for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
    const std::string where = ia->first.first + "/" + ia->first.second;
    if (ia->first != ib->first) return "different records at " + where;
    const CollectionDef& c = *PropertySchema().Collection(ia->first.first);
    if (!(ia->second == ib->second)) {
      return where + ": states differ\n  " + RecordStateToJson(ia->second).dump() + "\n  " +
             RecordStateToJson(ib->second).dump();
    }
    if (Materialize(c, ia->second) != Materialize(c, ib->second)) {
      return where + ": materialized records differ";
    }
    if (!SameConflicts(Conflicts(c, ia->first.second, ia->second),
                       Conflicts(c, ia->first.second, ib->second))) {
      return where + ": conflicts differ";
    }
  }
  return "";
}

TEST_CASE("append-only fields beside ordinary ones are taken whole from the first change") {
  const CollectionDef& projects = *PropertySchema().Collection("projects");
  Change first = Upsert("projects", "p1", At(100, "a"), {{"opened_by", Val("li")}});
  Change second = Upsert(
      "projects", "p1", At(200, "b"),
      {{"opened_by", Val("wang")}, {"opened_on", Val("2025-03-01")}, {"stage", Val("proposal")}});
  RecordState one, two;
  for (const Change* c : {&first, &second}) REQUIRE(Merge(projects, *c, &one).ok());
  for (const Change* c : {&second, &first}) REQUIRE(Merge(projects, *c, &two).ok());
  CHECK(one == two);
  // Not wang's date beside li's name: the later change's append-only part is ignored whole,
  // while its ordinary field merges as usual.
  CHECK(*Materialize(projects, one) == json{{"opened_by", "li"}, {"stage", "proposal"}});
}

// How often the histories exercised each rule, so the generator cannot quietly degenerate.
struct Coverage {
  int open_conflicts = 0;
  int resolved_conflicts = 0;
  int resurrected = 0;
  int stayed_deleted_despite_later_update = 0;
  int recreated = 0;
  int add_beat_remove = 0;
  int append_only_ignored = 0;
  int out_of_order_bases = 0;
};

// One random history: replicas with skewed clocks edit and gossip.
class History {
 public:
  History(uint64_t seed, ManualClock* time) : rng_(seed) {
    const int nodes = 3 + static_cast<int>(rng_.Below(3));
    constexpr int64_t kThreeDaysMicros = int64_t{3} * 24 * 3600 * 1000 * 1000;
    for (int i = 0; i < nodes; ++i) {
      auto node = std::make_unique<Node>();
      node->id = "node" + std::to_string(i);
      const auto skew =
          static_cast<int64_t>(rng_.Below(2 * kThreeDaysMicros + 1)) - kThreeDaysMicros;
      node->device = std::make_unique<SkewedClock>(time, skew);
      node->clock = std::make_unique<HybridClock>(node->device.get(), Hlc());
      nodes_.push_back(std::move(node));
    }
    time_ = time;
  }

  // Runs the edits and gossip; false with `error` set if a merge failed.
  bool Run(std::string* error) {
    const int steps = 20 + static_cast<int>(rng_.Below(30));
    for (int step = 0; step < steps; ++step) {
      // Often the same millisecond (logical counters), sometimes seconds apart.
      if (!rng_.Percent(30)) time_->AdvanceMicros(static_cast<int64_t>(rng_.Below(3000)) * 1000);
      Status s = rng_.Percent(65) ? Edit(*nodes_[rng_.Below(nodes_.size())]) : Gossip();
      if (!s.ok()) {
        *error = s.ToString();
        return false;
      }
    }
    return true;
  }

  const std::vector<Change>& changes() const { return changes_; }
  Rng& rng() { return rng_; }

  // Brings every node up to date, in a random order per node, and returns their replicas.
  Result<std::vector<Replica>> CompleteNodes() {
    std::vector<Replica> replicas;
    for (auto& node : nodes_) {
      std::vector<size_t> missing;
      for (size_t i = 0; i < changes_.size(); ++i) {
        if (node->known.count(i) == 0) missing.push_back(i);
      }
      rng_.Shuffle(&missing);
      for (size_t i : missing) FIELDSYNC_RETURN_IF_ERROR(Receive(node.get(), i));
      replicas.push_back(node->replica);
    }
    return replicas;
  }

 private:
  struct Node {
    std::string id;
    std::unique_ptr<SkewedClock> device;
    std::unique_ptr<HybridClock> clock;
    Replica replica;
    std::set<size_t> known;   // indices into changes_
    std::vector<size_t> log;  // in the order this node got them
    int made = 0;
  };

  Status Receive(Node* node, size_t index) {
    const Change& change = changes_[index];
    // A far-future timestamp is refused by Observe (by design); the change still merges.
    (void)node->clock->Observe(change.version.hlc);
    FIELDSYNC_RETURN_IF_ERROR(Deliver(change, &node->replica));
    node->known.insert(index);
    node->log.push_back(index);
    return Status::OK();
  }

  // Sends a random part of what one node has to another, in the sender's order.
  Status Gossip() {
    Node* from = nodes_[rng_.Below(nodes_.size())].get();
    Node* to = nodes_[rng_.Below(nodes_.size())].get();
    if (from == to) return Status::OK();
    const int share = 30 + static_cast<int>(rng_.Below(70));
    const std::vector<size_t> log = from->log;
    for (size_t index : log) {
      if (to->known.count(index) == 0 && rng_.Percent(share)) {
        FIELDSYNC_RETURN_IF_ERROR(Receive(to, index));
      }
    }
    return Status::OK();
  }

  const RecordState* StateOf(const Node& node, const Key& key) {
    auto it = node.replica.find(key);
    return it == node.replica.end() ? nullptr : &it->second;
  }

  // The heads the editing replica sees; sometimes only part of them (a stale screen).
  std::vector<Version> Base(const Node& node, const Key& key, const std::string& field) {
    std::vector<Version> base;
    const RecordState* s = StateOf(node, key);
    if (s == nullptr || s->reviews.count(field) == 0) return base;
    for (const RegisterValue& head : s->reviews.at(field).Heads()) {
      if (!rng_.Percent(15)) base.push_back(head.version);
    }
    return base;
  }

  FieldWrite Text(const Node& node, const char* what) {
    return Val(std::string(what) + " by " + node.id + " #" + std::to_string(node.made));
  }

  // Adds tags, and removes some of the tags the editing replica observes.
  FieldWrite SetEdit(const Node& node, const Key& key, const std::string& field) {
    static const std::vector<std::string> kTags = {"vip", "hot", "east", "cold"};
    FieldWrite w;
    const RecordState* s = StateOf(node, key);
    if (s != nullptr && s->sets.count(field) != 0) {
      const OrSetState& tags = s->sets.at(field);
      for (const auto& [element, versions] : tags.adds) {
        for (const Version& v : versions) {
          if (tags.removed.count({element, v}) == 0 && rng_.Percent(50)) {
            w.set_remove.emplace_back(element, v);
          }
        }
      }
    }
    if (w.set_remove.empty() || rng_.Percent(50)) {
      const int adds = 1 + static_cast<int>(rng_.Below(2));
      for (int i = 0; i < adds; ++i) w.set_add.push_back(rng_.Pick(kTags));
    }
    return w;
  }

  FieldWrite Pick(const std::vector<json>& values) {
    return Val(rng_.Percent(10) ? json() : rng_.Pick(values));
  }

  Status Edit(Node& node) {
    static const std::vector<json> kGrades = {"A", "B", "C", "D", "E"};
    static const std::vector<json> kTiers = {"key", "special", "general"};
    static const std::vector<json> kRegions = {"华东", "华南", "华北"};
    static const std::vector<json> kCredit = {"AAA", "AA", "A", "B", "C"};
    static const std::vector<json> kTitles = {"总经理", "采购总监", "工程师"};

    ++node.made;
    Change c;
    c.version = Version{node.clock->Now(), node.id};
    c.change_id = node.id + "-" + std::to_string(node.made);
    c.author = "user-" + node.id;
    const size_t kind = rng_.Below(100);
    const size_t roll = rng_.Below(100);
    if (kind < 45) {
      c.collection = "customers";
      c.record_id = "c" + std::to_string(rng_.Below(2));
      const Key key{c.collection, c.record_id};
      if (roll < 35) {
        const int writes = 1 + static_cast<int>(rng_.Below(2));
        for (int i = 0; i < writes; ++i) {
          switch (rng_.Below(4)) {
            case 0:
              c.fields["grade"] = Pick(kGrades);
              break;
            case 1:
              c.fields["tier"] = Pick(kTiers);
              break;
            case 2:
              c.fields["region"] = Pick(kRegions);
              break;
            default:
              c.fields["credit_level"] = Pick(kCredit);
              break;
          }
        }
      } else if (roll < 60) {
        FieldWrite w = rng_.Percent(10) ? Val(nullptr) : Text(node, "note");
        w.base = Base(node, key, "notes");
        c.fields["notes"] = std::move(w);
      } else if (roll < 82) {
        c.fields["tags"] = SetEdit(node, key, "tags");
      } else if (roll < 92) {
        c.op = Change::Op::kDelete;
      } else {
        c.recreate = true;
        c.fields["kind"] = Val("company");
        c.fields["name"] = Text(node, "name");
        c.fields["grade"] = Pick(kGrades);
      }
    } else if (kind < 63) {
      c.collection = "contacts";
      c.record_id = "k0";
      const Key key{c.collection, c.record_id};
      if (roll < 35) {
        c.fields[rng_.Percent(50) ? "name" : "title"] =
            rng_.Percent(50) ? Text(node, "name") : Pick(kTitles);
      } else if (roll < 65) {
        FieldWrite w = Text(node, "relationship");
        w.base = Base(node, key, "relationship_notes");
        c.fields["relationship_notes"] = std::move(w);
      } else if (roll < 82) {
        c.op = Change::Op::kDelete;
      } else {
        c.recreate = true;
        c.fields["customer"] = Val("c0");
        c.fields["name"] = Text(node, "name");
      }
    } else if (kind < 80) {
      c.collection = "projects";
      c.record_id = "p0";
      const Key key{c.collection, c.record_id};
      if (roll < 50) {
        if (rng_.Percent(50)) c.fields["stage"] = Text(node, "stage");
        if (rng_.Percent(60)) c.fields["labels"] = SetEdit(node, key, "labels");
        if (rng_.Percent(40)) {
          FieldWrite w = Text(node, "memo");
          w.base = Base(node, key, "memo");
          c.fields["memo"] = std::move(w);
        }
        if (rng_.Percent(30)) {
          c.fields["opened_by"] = Val(node.id);
          c.fields["opened_on"] = Val(rng_.Percent(50) ? json("2025-03-01") : json());
        }
      } else if (roll < 75) {
        c.op = Change::Op::kDelete;
      } else {
        c.recreate = true;
        c.fields["stage"] = Text(node, "stage");
        if (rng_.Percent(50)) c.fields["labels"] = SetEdit(node, key, "labels");
      }
    } else {
      c.collection = "visits";
      c.record_id = "v" + std::to_string(rng_.Below(2));
      if (roll < 65) {
        c.fields["customer"] = Val("c0");
        c.fields["rep"] = Val(node.id);
        c.fields["summary"] = Text(node, "summary");
        if (rng_.Percent(50)) c.fields["outcome"] = Text(node, "outcome");
      } else if (roll < 85) {
        c.op = Change::Op::kDelete;
      } else {
        c.recreate = true;
        c.fields["summary"] = Text(node, "summary");
      }
    }
    changes_.push_back(std::move(c));
    return Receive(&node, changes_.size() - 1);
  }

  Rng rng_;
  ManualClock* time_ = nullptr;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<Change> changes_;
};

void Count(const std::vector<Change>& changes, const Replica& final_state, Coverage* coverage) {
  for (const auto& [key, state] : final_state) {
    const CollectionDef& c = *PropertySchema().Collection(key.first);
    const bool alive = Materialize(c, state).has_value();
    if (!Conflicts(c, key.second, state).empty()) ++coverage->open_conflicts;
    for (const auto& [field, review] : state.reviews) {
      for (const auto& [version, base] : review.replaced) {
        if (base.size() >= 2) ++coverage->resolved_conflicts;
      }
    }
    if (state.deleted && alive && c.delete_rule == DeleteRule::kUpdateWins &&
        !(state.recreated && *state.deleted < *state.recreated)) {
      ++coverage->resurrected;
    }
    if (state.deleted && !alive && c.delete_rule == DeleteRule::kDeleteWins) {
      for (const Change& ch : changes) {
        if (ch.record_id == key.second && ch.op == Change::Op::kUpsert && !ch.recreate &&
            *state.deleted < ch.version) {
          ++coverage->stayed_deleted_despite_later_update;
          break;
        }
      }
    }
    if (alive && state.recreated && state.deleted && *state.deleted < *state.recreated) {
      ++coverage->recreated;
    }
    for (const auto& [field, set] : state.sets) {
      for (const auto& [element, tag] : set.removed) {
        if (set.adds.count(element) != 0) ++coverage->add_beat_remove;
      }
    }
  }
  std::map<std::string, int> visit_upserts;
  for (const Change& ch : changes) {
    if (ch.collection == "visits" && ch.op == Change::Op::kUpsert) ++visit_upserts[ch.record_id];
  }
  for (const auto& [id, n] : visit_upserts) {
    if (n >= 2) ++coverage->append_only_ignored;
  }
  // Bases naming a version above the editor's own: clock skew at work (the editor's Observe
  // refused the far-future head, so its own clock stayed behind).
  for (const Change& ch : changes) {
    for (const auto& [field, write] : ch.fields) {
      for (const Version& b : write.base) {
        if (ch.version < b) ++coverage->out_of_order_bases;
      }
    }
  }
}

uint64_t EnvNumber(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

TEST_CASE("replicas that merged the same changes are identical, in any order, with replays") {
  const uint64_t seed =
      EnvNumber("FIELDSYNC_MERGE_SEED",
                static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  const uint64_t histories = EnvNumber("FIELDSYNC_MERGE_HISTORIES", 2000);
  std::printf("merge convergence: %llu histories, FIELDSYNC_MERGE_SEED=%llu\n",
              static_cast<unsigned long long>(histories), static_cast<unsigned long long>(seed));
  INFO("replay with FIELDSYNC_MERGE_SEED=" << seed);
  // Skewed clocks make the HLC warn; the warnings are expected here and would flood the output.
  SetLogSink([](LogLevel, std::string_view, std::string_view) {});
  struct RestoreLog {
    ~RestoreLog() { SetLogSink(nullptr); }
  } restore_log;

  constexpr int64_t kMarch2025Micros = int64_t{1740787200} * 1000 * 1000;
  Coverage coverage;
  size_t total_changes = 0;
  Rng seeds(seed);
  for (uint64_t h = 0; h < histories; ++h) {
    INFO("history " << h);
    ManualClock time(kMarch2025Micros);
    History history(seeds.Next(), &time);
    std::string error;
    if (!history.Run(&error)) FAIL("a merge failed while editing: " << error);
    const std::vector<Change>& changes = history.changes();
    total_changes += changes.size();
    Rng& rng = history.rng();

    // The reference: everything in its original order.
    Replica reference;
    for (const Change& c : changes) {
      Status s = Deliver(c, &reference);
      if (!s.ok()) FAIL(s.ToString());
    }

    // Several random orders, with duplicates sprinkled in and a replayed stretch at the end.
    for (int order = 0; order < 3; ++order) {
      std::vector<size_t> sequence(changes.size());
      for (size_t i = 0; i < sequence.size(); ++i) sequence[i] = i;
      rng.Shuffle(&sequence);
      const size_t duplicates = rng.Below(changes.size() / 3 + 1);
      for (size_t d = 0; d < duplicates; ++d) {
        const size_t copy = rng.Pick(sequence);  // a copy: insert may reallocate
        const size_t at = rng.Below(sequence.size() + 1);
        sequence.insert(sequence.begin() + static_cast<std::ptrdiff_t>(at), copy);
      }
      const size_t replay_from = rng.Below(sequence.size());
      const size_t replay_len = rng.Below(sequence.size() - replay_from + 1);
      for (size_t i = replay_from; i < replay_from + replay_len; ++i) {
        sequence.push_back(sequence[i]);
      }
      Replica replica;
      std::set<size_t> seen;
      for (size_t index : sequence) {
        MergeOutcome outcome;
        Status s = Deliver(changes[index], &replica, &outcome);
        if (!s.ok()) FAIL(s.ToString());
        if (!seen.insert(index).second &&
            (outcome.alive_changed || !outcome.changed_fields.empty())) {
          FAIL("replaying change " << changes[index].change_id << " reported a change");
        }
      }
      const std::string diff = Difference(reference, replica);
      if (!diff.empty()) FAIL("order " << order << ": " << diff);
    }

    // The gossiping replicas themselves, once they have everything.
    Result<std::vector<Replica>> nodes = history.CompleteNodes();
    if (!nodes.ok()) FAIL(nodes.status().ToString());
    for (const Replica& node : *nodes) {
      const std::string diff = Difference(reference, node);
      if (!diff.empty()) FAIL("a gossiping replica: " << diff);
    }

    // Storage keeps the state exactly.
    for (const auto& [key, state] : reference) {
      const std::string text = RecordStateToJson(state).dump();
      Result<RecordState> back = RecordStateFromJson(json::parse(text));
      if (!back.ok() || !(*back == state))
        FAIL("JSON round trip of " << key.second << ": " << text);
    }
    Count(changes, reference, &coverage);
  }
  std::printf(
      "merge convergence: %zu changes; records with open conflicts %d, resolutions %d, "
      "resurrected %d, stayed deleted despite a later update %d, re-created %d, add beat remove "
      "%d, append-only rewrites ignored %d, bases naming higher versions %d\n",
      total_changes, coverage.open_conflicts, coverage.resolved_conflicts, coverage.resurrected,
      coverage.stayed_deleted_despite_later_update, coverage.recreated, coverage.add_beat_remove,
      coverage.append_only_ignored, coverage.out_of_order_bases);
  if (histories >= 500) {
    CHECK(coverage.open_conflicts > 0);
    CHECK(coverage.resolved_conflicts > 0);
    CHECK(coverage.resurrected > 0);
    CHECK(coverage.stayed_deleted_despite_later_update > 0);
    CHECK(coverage.recreated > 0);
    CHECK(coverage.add_beat_remove > 0);
    CHECK(coverage.append_only_ignored > 0);
  }
}

}  // namespace
}  // namespace fieldsync::sync
