// tests/core/schema_test.cc: the schema format, the built-in field-sales schema (which must match
// docs/schema.md field for field) and host extensions.
#include "fieldsync/schema.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <thread>
#include <vector>

namespace fieldsync {
namespace {

std::vector<std::string> FieldNames(const CollectionDef& c) {
  std::vector<std::string> names;
  for (const FieldDef& f : c.fields) names.push_back(f.name);
  return names;
}

const FieldDef& Field(const Schema& s, const char* collection, const char* field) {
  const CollectionDef* c = s.Collection(collection);
  REQUIRE(c != nullptr);
  const FieldDef* f = c->Field(field);
  REQUIRE_MESSAGE(f != nullptr, collection << "." << field);
  return *f;
}

// Parses `json`, expecting failure, and returns the message.
std::string ParseError(const std::string& json) {
  Result<Schema> r = Schema::Parse(json);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  return r.status().message();
}

// A one-collection schema whose only field "f" has the given attributes.
std::string OneField(const std::string& attributes) {
  return R"({"version": 1, "collections": {"things": {"fields": {"f": )" + attributes + "}}}}";
}

TEST_CASE("the built-in schema declares the documented collections and field names in order") {
  const Schema& s = Schema::FieldSales();
  std::vector<std::string> collections;
  for (const CollectionDef& c : s.collections()) collections.push_back(c.name);
  CHECK(collections == std::vector<std::string>{"customers", "contacts", "visits", "orders"});
  CHECK(s.version() >= 1);

  CHECK(FieldNames(*s.Collection("customers")) == std::vector<std::string>{"kind",
                                                                           "name",
                                                                           "company",
                                                                           "industry",
                                                                           "scale",
                                                                           "region",
                                                                           "address",
                                                                           "postal_code",
                                                                           "website",
                                                                           "phones",
                                                                           "emails",
                                                                           "source_channel",
                                                                           "lifecycle_stage",
                                                                           "grade",
                                                                           "tier",
                                                                           "credit_level",
                                                                           "payment_terms",
                                                                           "core_need",
                                                                           "pain_points",
                                                                           "budget_range",
                                                                           "decision_cycle",
                                                                           "owner_rep",
                                                                           "tags",
                                                                           "notes",
                                                                           "custom"});
  CHECK(FieldNames(*s.Collection("contacts")) ==
        std::vector<std::string>{"customer", "name", "title", "phones", "email", "decision_role",
                                 "birthday", "preferences", "relationship_notes"});
  CHECK(FieldNames(*s.Collection("visits")) ==
        std::vector<std::string>{"customer", "contact", "rep", "start", "end", "channel",
                                 "location", "summary", "outcome", "satisfaction", "complaint",
                                 "next_action", "next_action_due", "next_action_owner"});
  CHECK(FieldNames(*s.Collection("orders")) ==
        std::vector<std::string>{"customer", "date", "amount", "currency", "products"});
}

TEST_CASE("built-in customers fields have the documented types, values and rules") {
  const Schema& s = Schema::FieldSales();
  const FieldDef& kind = Field(s, "customers", "kind");
  CHECK(kind.type == FieldType::kEnum);
  CHECK(kind.required);
  CHECK(kind.enum_values == std::vector<std::string>{"person", "company"});

  const FieldDef& name = Field(s, "customers", "name");
  CHECK(name.type == FieldType::kText);
  CHECK(name.required);
  CHECK(name.searchable);
  CHECK(Field(s, "customers", "company").searchable);

  const FieldDef& phones = Field(s, "customers", "phones");
  CHECK(phones.type == FieldType::kPhone);
  CHECK(phones.repeated);
  CHECK(phones.searchable);
  const FieldDef& emails = Field(s, "customers", "emails");
  CHECK(emails.type == FieldType::kEmail);
  CHECK(emails.repeated);
  CHECK(Field(s, "customers", "website").type == FieldType::kUrl);

  CHECK(Field(s, "customers", "scale").enum_values ==
        std::vector<std::string>{"large", "medium", "small", "micro"});
  CHECK(Field(s, "customers", "source_channel").enum_values ==
        std::vector<std::string>{"referral", "exhibition", "web", "cold_visit", "advertising",
                                 "partner", "other"});
  CHECK(Field(s, "customers", "lifecycle_stage").enum_values ==
        std::vector<std::string>{"lead", "prospect", "active", "silent", "lost"});
  CHECK(Field(s, "customers", "grade").enum_values ==
        std::vector<std::string>{"A", "B", "C", "D", "E"});
  CHECK(Field(s, "customers", "tier").enum_values ==
        std::vector<std::string>{"key", "special", "general"});

  const FieldDef& credit = Field(s, "customers", "credit_level");
  CHECK(credit.type == FieldType::kEnum);
  CHECK(credit.sensitivity == Sensitivity::kConfidential);
  CHECK(credit.merge == MergeRule::kServerOnly);
  CHECK_FALSE(credit.required);

  const FieldDef& tags = Field(s, "customers", "tags");
  CHECK(tags.type == FieldType::kStringSet);
  CHECK(tags.merge == MergeRule::kAddWinsSet);
  CHECK(Field(s, "customers", "notes").merge == MergeRule::kReview);
  CHECK(Field(s, "customers", "notes").type == FieldType::kText);
  CHECK(Field(s, "customers", "custom").type == FieldType::kJson);
  CHECK(Field(s, "customers", "owner_rep").type == FieldType::kText);
  CHECK(Field(s, "customers", "name").merge == MergeRule::kLastWriterWins);

  for (const char* text_field :
       {"industry", "region", "address", "postal_code", "core_need", "pain_points",
        "decision_cycle", "payment_terms", "budget_range"}) {
    CAPTURE(text_field);
    CHECK(Field(s, "customers", text_field).type == FieldType::kText);
  }
  CHECK(s.Collection("customers")->delete_rule == DeleteRule::kUpdateWins);
  CHECK_FALSE(s.Collection("customers")->append_only);
}

TEST_CASE("the confidential built-in fields are exactly credit level, payment terms and budget") {
  std::set<std::string> confidential;
  for (const CollectionDef& c : Schema::FieldSales().collections()) {
    for (const FieldDef& f : c.fields) {
      if (f.sensitivity == Sensitivity::kConfidential) confidential.insert(c.name + "." + f.name);
    }
  }
  CHECK(confidential == std::set<std::string>{"customers.budget_range", "customers.credit_level",
                                              "customers.payment_terms"});
}

TEST_CASE("built-in contacts, visits and orders have the documented types and rules") {
  const Schema& s = Schema::FieldSales();
  const FieldDef& customer = Field(s, "contacts", "customer");
  CHECK(customer.required);
  CHECK(customer.references == "customers");
  CHECK(Field(s, "contacts", "name").required);
  CHECK(Field(s, "contacts", "name").searchable);
  CHECK(Field(s, "contacts", "phones").type == FieldType::kPhone);
  CHECK(Field(s, "contacts", "phones").repeated);
  CHECK(Field(s, "contacts", "email").type == FieldType::kEmail);
  CHECK_FALSE(Field(s, "contacts", "email").repeated);
  CHECK(Field(s, "contacts", "decision_role").enum_values ==
        std::vector<std::string>{"decision_maker", "influencer", "purchaser", "user"});
  CHECK(Field(s, "contacts", "birthday").type == FieldType::kDate);
  CHECK(Field(s, "contacts", "relationship_notes").merge == MergeRule::kReview);
  CHECK(s.Collection("contacts")->delete_rule == DeleteRule::kDeleteWins);

  const CollectionDef& visits = *s.Collection("visits");
  CHECK(visits.append_only);
  for (const FieldDef& f : visits.fields) {
    CAPTURE(f.name);
    CHECK(f.merge == MergeRule::kAppendOnly);
  }
  CHECK(Field(s, "visits", "customer").references == "customers");
  CHECK(Field(s, "visits", "contact").references == "contacts");
  CHECK(Field(s, "visits", "rep").required);
  CHECK(Field(s, "visits", "start").type == FieldType::kDateTime);
  CHECK(Field(s, "visits", "start").required);
  CHECK(Field(s, "visits", "end").type == FieldType::kDateTime);
  CHECK(Field(s, "visits", "channel").enum_values ==
        std::vector<std::string>{"in_person", "phone", "email", "meeting", "video"});
  CHECK(Field(s, "visits", "location").type == FieldType::kGeoPoint);
  const FieldDef& satisfaction = Field(s, "visits", "satisfaction");
  CHECK(satisfaction.type == FieldType::kInteger);
  CHECK(satisfaction.min == 1);
  CHECK(satisfaction.max == 5);
  CHECK(Field(s, "visits", "complaint").type == FieldType::kBool);
  CHECK(Field(s, "visits", "next_action_due").type == FieldType::kDate);

  CHECK(Field(s, "orders", "customer").references == "customers");
  CHECK(Field(s, "orders", "date").type == FieldType::kDate);
  CHECK(Field(s, "orders", "date").required);
  CHECK(Field(s, "orders", "amount").type == FieldType::kMoney);
  CHECK(Field(s, "orders", "amount").required);
  CHECK(Field(s, "orders", "currency").type == FieldType::kText);
  CHECK(Field(s, "orders", "products").type == FieldType::kJson);
  CHECK(s.Collection("orders")->delete_rule == DeleteRule::kDeleteWins);
}

TEST_CASE("FieldSales is parsed once and shared by all threads") {
  std::vector<const Schema*> seen(8, nullptr);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < seen.size(); ++i) {
    threads.emplace_back([&seen, i] { seen[i] = &Schema::FieldSales(); });
  }
  for (std::thread& t : threads) t.join();
  for (const Schema* s : seen) CHECK(s == &Schema::FieldSales());
}

TEST_CASE("every field type and merge rule parses by its JSON name and prints back") {
  const char* types[] = {"text", "integer",   "decimal",    "money", "bool",
                         "date", "datetime",  "enum",       "phone", "email",
                         "url",  "geo_point", "string_set", "json"};
  for (const char* type : types) {
    CAPTURE(type);
    std::string attrs = std::string(R"({"type": ")") + type + "\"";
    if (std::string(type) == "enum") attrs += R"(, "values": ["x"])";
    Result<Schema> r = Schema::Parse(OneField(attrs + "}"));
    REQUIRE_MESSAGE(r.ok(), r.status().message());
    CHECK(std::string(FieldTypeName(r->Collection("things")->fields[0].type)) == type);
  }
  const char* rules[] = {"lww", "review", "server_only", "append_only"};
  for (const char* rule : rules) {
    CAPTURE(rule);
    Result<Schema> r =
        Schema::Parse(OneField(std::string(R"({"type": "text", "merge": ")") + rule + "\"}"));
    REQUIRE_MESSAGE(r.ok(), r.status().message());
    CHECK(std::string(MergeRuleName(r->Collection("things")->fields[0].merge)) == rule);
  }
  Result<Schema> set =
      Schema::Parse(OneField(R"({"type": "string_set", "merge": "add_wins_set"})"));
  REQUIRE(set.ok());
  CHECK(set->Collection("things")->fields[0].merge == MergeRule::kAddWinsSet);
}

TEST_CASE("all field attributes are read") {
  Result<Schema> r = Schema::Parse(R"({
    "version": 7,
    "collections": {
      "accounts": {"fields": {"name": {"type": "text"}}},
      "deals": {"delete_rule": "update_wins", "fields": {
        "account": {"type": "text", "required": true, "references": "accounts",
                    "searchable": true, "max_length": 40},
        "stage": {"type": "enum", "values": ["open", "won"], "sensitivity": "confidential",
                  "merge": "review"},
        "phones": {"type": "phone", "repeated": true},
        "amount": {"type": "decimal", "min": 0, "max": 1000000.5}}}}})");
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->version() == 7);
  const CollectionDef& deals = *r->Collection("deals");
  CHECK(deals.delete_rule == DeleteRule::kUpdateWins);
  CHECK(r->Collection("accounts")->delete_rule == DeleteRule::kDeleteWins);
  const FieldDef& account = *deals.Field("account");
  CHECK(account.required);
  CHECK(account.references == "accounts");
  CHECK(account.searchable);
  CHECK(account.max_length == 40);
  const FieldDef& stage = *deals.Field("stage");
  CHECK(stage.sensitivity == Sensitivity::kConfidential);
  CHECK(stage.merge == MergeRule::kReview);
  CHECK(deals.Field("phones")->repeated);
  CHECK(deals.Field("amount")->min == 0);
  CHECK(deals.Field("amount")->max == 1000000.5);
  CHECK(deals.Field("nope") == nullptr);
  CHECK(r->Collection("nope") == nullptr);
}

TEST_CASE("fields keep their declaration order, not alphabetical order") {
  Result<Schema> r = Schema::Parse(
      R"({"collections": {"z": {"fields": {"zeta": {"type": "text"}, "alpha": {"type": "text"},
          "mu": {"type": "bool"}}}, "a": {"fields": {"x": {"type": "json"}}}}})");
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->version() == 1);  // the default
  CHECK(r->collections()[0].name == "z");
  CHECK(FieldNames(r->collections()[0]) == std::vector<std::string>{"zeta", "alpha", "mu"});
}

TEST_CASE("ToJson round-trips through Parse") {
  const Schema& s = Schema::FieldSales();
  const std::string json = s.ToJson();
  Result<Schema> again = Schema::Parse(json);
  REQUIRE_MESSAGE(again.ok(), again.status().message());
  CHECK(again->ToJson() == json);
  CHECK(again->version() == s.version());
  CHECK(Field(*again, "customers", "credit_level").merge == MergeRule::kServerOnly);
  CHECK(again->Collection("visits")->append_only);
  CHECK(Field(*again, "visits", "satisfaction").max == 5);
  // Integral bounds print as integers, as they were written.
  CHECK(json.find("\"max\": 5") != std::string::npos);
  CHECK(nlohmann::json::parse(json).is_object());
}

TEST_CASE("an unknown type is refused, naming the collection, field and attribute") {
  const std::string msg =
      ParseError(R"({"collections": {"customers": {"fields": {"phones": {"type": "phonee"}}}}})");
  CHECK(msg.find("collections.customers.fields.phones.type") != std::string::npos);
  CHECK(msg.find("phonee") != std::string::npos);
}

TEST_CASE("schema mistakes are refused with the attribute named") {
  struct Case {
    std::string attributes;
    std::string expected;  // part of the message
  };
  const Case cases[] = {
      {R"({"required": true})", "fields.f.type: missing"},
      {R"({"type": "enum"})", "fields.f.values: an enum needs its list of values"},
      {R"({"type": "enum", "values": []})", "an enum needs at least one value"},
      {R"({"type": "enum", "values": ["a", "a"]})", "fields.f.values[1]"},
      {R"({"type": "enum", "values": ["a", 3]})", "fields.f.values[1]: expected a string"},
      {R"({"type": "text", "values": ["a"]})", "only enum fields have values"},
      {R"({"type": "text", "requried": true})", "fields.f.requried: unknown attribute"},
      {R"({"type": "text", "required": "yes"})", "fields.f.required: expected true or false"},
      {R"({"type": "text", "merge": "newest"})", "fields.f.merge: unknown merge rule \"newest\""},
      {R"({"type": "text", "sensitivity": "secret"})", "fields.f.sensitivity: unknown sensitivity"},
      {R"({"type": "text", "merge": "add_wins_set"})", "add_wins_set applies only to string_set"},
      {R"({"type": "text", "required": true, "merge": "server_only"})",
       "server_only field cannot be required"},
      {R"({"type": "integer", "min": 1})", "min and max must be given together"},
      {R"({"type": "integer", "min": 5, "max": 1})", "min < max"},
      {R"({"type": "text", "min": 1, "max": 5})", "only integer, decimal and money"},
      {R"({"type": "integer", "max_length": 5})", "fields.f.max_length: only text"},
      {R"({"type": "text", "max_length": 0})", "fields.f.max_length: expected a positive integer"},
      {R"({"type": "string_set", "repeated": true})", "cannot be repeated"},
      {R"({"type": "bool", "searchable": true})", "fields.f.searchable"},
      {R"({"type": "integer", "references": "things"})", "fields.f.references: only text"},
      {R"({"type": "text", "references": "nowhere"})", "no collection named \"nowhere\""},
      {R"("text")", "collections.things.fields.f: expected an object of attributes"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.attributes);
    const std::string msg = ParseError(OneField(c.attributes));
    CHECK_MESSAGE(msg.find(c.expected) != std::string::npos, msg);
  }
}

TEST_CASE("names must be snake_case ASCII and id is reserved") {
  for (const char* bad : {"Name", "postalCode", "1st", "_x", "客户", "with-dash", "with space"}) {
    CAPTURE(bad);
    const std::string field_msg = ParseError(std::string(R"({"collections": {"c": {"fields": {")") +
                                             bad + R"(": {"type": "text"}}}}})");
    CHECK(field_msg.find("snake_case") != std::string::npos);
    const std::string coll_msg = ParseError(std::string(R"({"collections": {")") + bad +
                                            R"(": {"fields": {"x": {"type": "text"}}}}})");
    CHECK(coll_msg.find("snake_case") != std::string::npos);
  }
  const std::string msg =
      ParseError(R"({"collections": {"c": {"fields": {"id": {"type": "text"}}}}})");
  CHECK(msg.find("collections.c.fields.id") != std::string::npos);
  CHECK(msg.find("reserved") != std::string::npos);
  CHECK(Schema::Parse(R"({"collections": {"c2_x": {"fields": {"a_1": {"type": "text"}}}}})").ok());
}

TEST_CASE("collection mistakes are refused with the collection named") {
  CHECK(ParseError(R"({"collections": {"c": {"delete_rule": "server_wins",
                      "fields": {"a": {"type": "text"}}}}})")
            .find("collections.c.delete_rule: unknown delete rule") != std::string::npos);
  CHECK(ParseError(R"({"collections": {"c": {"fields": {}}}})")
            .find("collections.c.fields: a collection needs at least one field") !=
        std::string::npos);
  CHECK(ParseError(R"({"collections": {"c": {}}})").find("collections.c.fields: missing") !=
        std::string::npos);
  CHECK(ParseError(R"({"collections": {"c": {"append_only": true,
                      "fields": {"a": {"type": "text", "merge": "lww"}}}}})")
            .find("contradicts the collection's append_only") != std::string::npos);
  CHECK(ParseError(R"({"collections": {"c": {"owner": "me", "fields": {"a": {"type": "text"}}}}})")
            .find("collections.c.owner: unknown attribute") != std::string::npos);
  CHECK(ParseError(R"({"version": 0, "collections": {}})").find("version") != std::string::npos);
  CHECK(ParseError(R"({"version": 1})").find("collections: missing") != std::string::npos);
  CHECK(ParseError(R"({"collections": {}, "extra": 1})").find("extra: unknown member") !=
        std::string::npos);
  CHECK(ParseError(R"([1, 2])").find("expected a JSON object") != std::string::npos);
  CHECK(ParseError(R"({"collections": )").find("malformed JSON") != std::string::npos);
}

TEST_CASE("an append-only collection makes every field append-only, and says so once") {
  Result<Schema> r = Schema::Parse(R"({"collections": {"log": {"append_only": true,
      "fields": {"a": {"type": "text"}, "b": {"type": "integer", "merge": "append_only"}}}}})");
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  for (const FieldDef& f : r->Collection("log")->fields) CHECK(f.merge == MergeRule::kAppendOnly);
  CHECK(r->ToJson().find("\"merge\"") == std::string::npos);
}

TEST_CASE("every schema problem is reported at once") {
  const std::string msg = ParseError(R"({"collections": {"c": {"fields": {
      "a": {"type": "nope"}, "b": {"type": "enum"}, "C": {"type": "text"}}}}})");
  CHECK(msg.find("fields.a.type") != std::string::npos);
  CHECK(msg.find("fields.b.values") != std::string::npos);
  CHECK(msg.find("fields.C") != std::string::npos);
}

TEST_CASE("a host extension adds fields to built-in collections and new collections") {
  const Schema& base = Schema::FieldSales();
  Result<Schema> ext = base.Extended(R"({
    "version": 3,
    "collections": {
      "customers": {"fields": {"wechat_id": {"type": "text", "searchable": true}}},
      "quotes": {"delete_rule": "update_wins", "fields": {
        "customer": {"type": "text", "required": true, "references": "customers"},
        "total": {"type": "money", "required": true}}},
      "visits": {"fields": {"weather": {"type": "text"}}}}})");
  REQUIRE_MESSAGE(ext.ok(), ext.status().message());
  CHECK(ext->version() == 3);
  const FieldDef& wechat = Field(*ext, "customers", "wechat_id");
  CHECK(wechat.searchable);
  CHECK(ext->Collection("customers")->fields.back().name == "wechat_id");
  CHECK(ext->Collection("customers")->fields.size() ==
        base.Collection("customers")->fields.size() + 1);
  CHECK(Field(*ext, "quotes", "customer").references == "customers");
  CHECK(ext->Collection("quotes")->delete_rule == DeleteRule::kUpdateWins);
  // Fields added to an append-only collection are append-only too.
  CHECK(Field(*ext, "visits", "weather").merge == MergeRule::kAppendOnly);
  // The base is untouched.
  CHECK(base.Collection("customers")->Field("wechat_id") == nullptr);
  CHECK(base.Collection("quotes") == nullptr);
  // The result extends again, and round-trips.
  Result<Schema> again = Schema::Parse(ext->ToJson());
  REQUIRE(again.ok());
  CHECK(again->ToJson() == ext->ToJson());
}

TEST_CASE("an extension keeps the higher version") {
  Result<Schema> older = Schema::FieldSales().Extended(
      R"({"version": 1, "collections": {"customers": {"fields": {"x1": {"type": "text"}}}}})");
  REQUIRE(older.ok());
  CHECK(older->version() == Schema::FieldSales().version());
  Result<Schema> none = Schema::FieldSales().Extended(R"({"collections": {}})");
  REQUIRE(none.ok());
  CHECK(none->version() == Schema::FieldSales().version());
  CHECK(none->ToJson() == Schema::FieldSales().ToJson());
  // An unset extension (empty string) adds nothing.
  Result<Schema> empty = Schema::FieldSales().Extended(" \n");
  REQUIRE(empty.ok());
  CHECK(empty->ToJson() == Schema::FieldSales().ToJson());
}

TEST_CASE("an extension cannot change an existing field's type, merge rule or sensitivity") {
  const Schema& base = Schema::FieldSales();
  Result<Schema> type =
      base.Extended(R"({"collections": {"customers": {"fields": {"grade": {"type": "text"}}}}})");
  REQUIRE_FALSE(type.ok());
  CHECK(type.status().code() == StatusCode::kInvalidArgument);
  CHECK(type.status().message().find("collections.customers.fields.grade") != std::string::npos);
  CHECK(type.status().message().find("cannot change the type") != std::string::npos);
  CHECK(type.status().message().find("enum to text") != std::string::npos);

  Result<Schema> merge =
      base.Extended(R"({"collections": {"customers": {"fields": {"notes": {"type": "text"}}}}})");
  REQUIRE_FALSE(merge.ok());
  CHECK(merge.status().message().find("merge rule") != std::string::npos);

  Result<Schema> sensitivity = base.Extended(R"({"collections": {"customers": {"fields": {
      "payment_terms": {"type": "text", "max_length": 500}}}}})");
  REQUIRE_FALSE(sensitivity.ok());
  CHECK(sensitivity.status().message().find("sensitivity") != std::string::npos);

  Result<Schema> rule = base.Extended(
      R"({"collections": {"customers": {"delete_rule": "delete_wins", "fields": {}}}})");
  REQUIRE_FALSE(rule.ok());
  CHECK(rule.status().message().find("collections.customers.delete_rule") != std::string::npos);

  Result<Schema> required = base.Extended(R"({"collections": {"customers": {"fields": {
      "industry": {"type": "text", "max_length": 100, "required": true}}}}})");
  REQUIRE_FALSE(required.ok());
  CHECK(required.status().message().find("required") != std::string::npos);
}

TEST_CASE("an extension may repeat a field unchanged or add enum values, but not remove them") {
  const Schema& base = Schema::FieldSales();
  Result<Schema> same = base.Extended(R"({"collections": {"customers": {"fields": {
      "credit_level": {"type": "enum", "values": ["AAA", "AA", "A", "B", "C"],
                       "sensitivity": "confidential", "merge": "server_only"}}}}})");
  REQUIRE_MESSAGE(same.ok(), same.status().message());
  CHECK(same->ToJson() == base.ToJson());

  Result<Schema> more = base.Extended(R"({"collections": {"customers": {"fields": {
      "source_channel": {"type": "enum", "values": ["referral", "wechat", "douyin"]}}}}})");
  REQUIRE_MESSAGE(!more.ok(), "removing values must fail");
  CHECK(more.status().message().find("cannot remove the enum value \"exhibition\"") !=
        std::string::npos);

  Result<Schema> added = base.Extended(R"({"collections": {"customers": {"fields": {
      "source_channel": {"type": "enum", "values": ["referral", "exhibition", "web", "cold_visit",
                         "advertising", "partner", "other", "wechat", "douyin"]}}}}})");
  REQUIRE_MESSAGE(added.ok(), added.status().message());
  const std::vector<std::string>& values = Field(*added, "customers", "source_channel").enum_values;
  REQUIRE(values.size() == 9);
  CHECK(values[0] == "referral");
  CHECK(values[8] == "douyin");
}

TEST_CASE("an extension is checked like a schema, with references into the base allowed") {
  const Schema& base = Schema::FieldSales();
  CHECK(base.Extended(R"({"collections": {"deals": {"fields": {
      "contact": {"type": "text", "references": "contacts"}}}}})")
            .ok());
  Result<Schema> bad_ref = base.Extended(R"({"collections": {"deals": {"fields": {
      "partner": {"type": "text", "references": "partners"}}}}})");
  REQUIRE_FALSE(bad_ref.ok());
  CHECK(bad_ref.status().message().find("collections.deals.fields.partner.references") !=
        std::string::npos);
  Result<Schema> bad_type = base.Extended(
      R"({"collections": {"customers": {"fields": {"wechat": {"type": "wechat"}}}}})");
  REQUIRE_FALSE(bad_type.ok());
  CHECK(bad_type.status().message().find("collections.customers.fields.wechat.type") !=
        std::string::npos);
  CHECK_FALSE(base.Extended("not json").ok());
}

}  // namespace
}  // namespace fieldsync
