// tests/core/validator_test.cc: record validation and normalization against the field-sales
// schema: every field type, every rule, the bad inputs reps really type, and Chinese text.
#include "model/validator.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "fieldsync/log.h"
#include "fieldsync/schema.h"

namespace fieldsync::model {
namespace {

using nlohmann::json;

struct Outcome {
  Result<json> result = Status::Internal("not run");
  std::vector<FieldError> errors;

  bool ok() const { return result.ok(); }
  const json& value() const { return result.value(); }
  // The problem reported for `field`, or "" if none.
  std::string ProblemFor(const std::string& field) const {
    for (const FieldError& e : errors) {
      if (e.field == field) return e.problem;
    }
    return "";
  }
};

Outcome Check(const Validator& v, const std::string& collection, const std::string& text,
              bool is_patch = false) {
  Outcome out;
  Result<json> parsed = ParseRecordJson(text);
  REQUIRE_MESSAGE(parsed.ok(), parsed.status().message());
  const CollectionDef* c = Schema::FieldSales().Collection(collection);
  REQUIRE(c != nullptr);
  out.result = v.Normalize(*c, *parsed, is_patch, &out.errors);
  if (out.result.ok()) CHECK(out.errors.empty());
  return out;
}

const Validator& CnValidator() {
  static const Validator v(&Schema::FieldSales(), "CN");
  return v;
}

// A customer record holding the required fields plus `extra` members ("" for none).
std::string Customer(const std::string& extra) {
  return R"({"kind": "company", "name": "上海明辉贸易有限公司")" +
         (extra.empty() ? std::string() : ", " + extra) + "}";
}

Outcome CheckCustomer(const std::string& extra) {
  return Check(CnValidator(), "customers", Customer(extra));
}

// Normalizes one value of a customers field, expecting success.
json Normalized(const std::string& field, const std::string& value_json) {
  Outcome o = CheckCustomer("\"" + field + "\": " + value_json);
  REQUIRE_MESSAGE(o.ok(), o.result.status().message());
  return o.value()[field];
}

// The problem reported for one value of a customers field, expecting failure.
std::string Problem(const std::string& field, const std::string& value_json,
                    const std::string& reported_as = "") {
  Outcome o = CheckCustomer("\"" + field + "\": " + value_json);
  REQUIRE_FALSE(o.ok());
  CHECK(o.result.status().code() == StatusCode::kInvalidArgument);
  const std::string problem = o.ProblemFor(reported_as.empty() ? field : reported_as);
  CHECK_MESSAGE(!problem.empty(), o.result.status().message());
  return problem;
}

std::string VisitWith(const std::string& field, const std::string& value_json) {
  return R"({"customer": "c1", "rep": "李娜", "start": "2024-03-15T09:30:00+08:00", ")" + field +
         "\": " + value_json + "}";
}

// ---- Whole records ----------------------------------------------------------------------------

TEST_CASE("a valid customer with Chinese text is accepted and normalized") {
  Outcome o = CheckCustomer(R"("id": "ignored", "company": "上海明辉贸易有限公司",
      "industry": "软件和信息技术服务业", "scale": "medium", "region": "华东",
      "address": "上海市浦东新区世纪大道100号", "postal_code": "200120",
      "website": "https://www.minghui.com.cn", "phones": ["138 0013 8000", "(021) 6888 1234"],
      "emails": ["Zhang.Wei@MingHui.com.cn"], "source_channel": "exhibition",
      "lifecycle_stage": "prospect", "grade": "B", "tier": "key", "credit_level": "AA",
      "payment_terms": "月结30天", "core_need": "降低系统运维成本",
      "pain_points": "现有系统操作复杂，员工培训耗时多", "budget_range": "20-30万元",
      "decision_cycle": "2个月", "owner_rep": "张伟", "tags": ["高价值", "VIP"],
      "notes": "客户重视员工培训，每年6月举办技术分享会", "custom": {"erp_code": "SH-0042"})");
  REQUIRE_MESSAGE(o.ok(), o.result.status().message());
  const json& r = o.value();
  CHECK(r["name"] == "上海明辉贸易有限公司");
  CHECK(r["phones"] == json::array({"+8613800138000", "+862168881234"}));
  CHECK(r["emails"] == json::array({"zhang.wei@minghui.com.cn"}));
  CHECK(r["tags"] == json::array({"VIP", "高价值"}));
  CHECK(r["custom"]["erp_code"] == "SH-0042");
  CHECK_FALSE(r.contains("id"));  // the caller handles the id
}

TEST_CASE("a missing required field is refused by name") {
  Outcome o = Check(CnValidator(), "customers", R"({"name": "张伟"})");
  REQUIRE_FALSE(o.ok());
  CHECK(o.ProblemFor("kind") == "is required");
  CHECK(o.result.status().message() == "invalid customers record: kind: is required");

  Outcome visit = Check(CnValidator(), "visits", R"({"customer": "c1"})");
  REQUIRE_FALSE(visit.ok());
  CHECK(visit.ProblemFor("rep") == "is required");
  CHECK(visit.ProblemFor("start") == "is required");
}

TEST_CASE("a required text field that is blank counts as missing") {
  CHECK(Problem("name", R"("   ")") == "is required and cannot be empty");
  CHECK(Problem("name", "\"\\u3000\"") == "is required and cannot be empty");  // 全角空格
  Outcome o = Check(CnValidator(), "customers", R"({"kind": "person", "name": null})");
  REQUIRE_FALSE(o.ok());
  CHECK(o.ProblemFor("name") == "is required");
}

TEST_CASE("every bad field is reported together, in declaration order, and nothing is returned") {
  Outcome o = Check(CnValidator(), "customers", R"({"kind": "company", "wechat": "mh2024",
      "phones": ["1380013800"], "emails": ["zhangwei.minghui.com"], "grade": "F",
      "satisfaction": 3})");
  REQUIRE_FALSE(o.ok());
  REQUIRE(o.errors.size() == 6);
  CHECK(o.errors[0].field == "name");
  CHECK(o.errors[1].field == "phones[0]");
  CHECK(o.errors[2].field == "emails[0]");
  CHECK(o.errors[3].field == "grade");
  // Unknown fields come after the declared ones, by name.
  CHECK(o.errors[4].field == "satisfaction");
  CHECK(o.errors[5].field == "wechat");
  const std::string& msg = o.result.status().message();
  CHECK(msg.rfind("invalid customers record: name: is required; phones[0]: ", 0) == 0);
  CHECK(msg.find("grade: 'F' is not one of: A, B, C, D, E") != std::string::npos);
}

TEST_CASE("unknown fields are refused and a top-level id is ignored") {
  CHECK(Problem("wechat", R"("mh2024")") == "is not a field of customers");
  Outcome o = CheckCustomer(R"("id": 42)");
  REQUIRE(o.ok());
  CHECK_FALSE(o.value().contains("id"));
}

TEST_CASE("the errors list is filled on failure and cleared on success") {
  std::vector<FieldError> errors{{"stale", "left over"}};
  Result<json> record = ParseRecordJson(Customer(""));
  REQUIRE(record.ok());
  CHECK(CnValidator()
            .Normalize(*Schema::FieldSales().Collection("customers"), *record, false, &errors)
            .ok());
  CHECK(errors.empty());
  // And it may be null.
  CHECK(CnValidator()
            .Normalize(*Schema::FieldSales().Collection("customers"), json::object(), false)
            .status()
            .code() == StatusCode::kInvalidArgument);
}

TEST_CASE("a record that is not an object is refused as a whole") {
  std::vector<FieldError> errors;
  Result<json> r = CnValidator().Normalize(*Schema::FieldSales().Collection("customers"),
                                           json::array({1, 2}), false, &errors);
  REQUIRE_FALSE(r.ok());
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].field.empty());
  CHECK(r.status().message() ==
        "invalid customers record: a record must be a JSON object, got an array");
}

TEST_CASE("a collection from another schema is refused") {
  Result<Schema> other =
      Schema::Parse(R"({"collections": {"x": {"fields": {"a": {"type": "text"}}}}})");
  REQUIRE(other.ok());
  Result<json> r = CnValidator().Normalize(*other->Collection("x"), json{{"a", "b"}}, false);
  CHECK_FALSE(r.ok());
}

TEST_CASE("DescribeFieldErrors names the collection and each field") {
  CHECK(DescribeFieldErrors("customers", {{"phones[1]", "bad"}, {"grade", "worse"}}) ==
        "invalid customers record: phones[1]: bad; grade: worse");
  CHECK(DescribeFieldErrors("orders", {{"", "a record must be a JSON object, got null"}}) ==
        "invalid orders record: a record must be a JSON object, got null");
}

// ---- Patches --------------------------------------------------------------------------------

TEST_CASE("a patch is checked field by field and need not hold required fields") {
  Outcome o = Check(CnValidator(), "customers", R"({"grade": "A", "phones": ["13800138000"]})",
                    /*is_patch=*/true);
  REQUIRE_MESSAGE(o.ok(), o.result.status().message());
  CHECK(o.value() == json{{"grade", "A"}, {"phones", json::array({"+8613800138000"})}});

  Outcome bad = Check(CnValidator(), "customers", R"({"grade": "a"})", true);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.errors.size() == 1);
}

TEST_CASE("null in a patch clears an optional field but cannot clear a required one") {
  Outcome clear = Check(CnValidator(), "customers", R"({"grade": null, "tags": null})", true);
  REQUIRE(clear.ok());
  CHECK(clear.value().contains("grade"));
  CHECK(clear.value()["grade"].is_null());
  CHECK(clear.value()["tags"].is_null());

  Outcome required = Check(CnValidator(), "customers", R"({"name": null, "kind": null})", true);
  REQUIRE_FALSE(required.ok());
  CHECK(required.ProblemFor("name") == "is required and cannot be cleared");
  CHECK(required.ProblemFor("kind") == "is required and cannot be cleared");
}

TEST_CASE("null for an optional field of a full record is the same as leaving it out") {
  Outcome o = CheckCustomer(R"("grade": null)");
  REQUIRE(o.ok());
  CHECK_FALSE(o.value().contains("grade"));
}

// ---- Text and UTF-8 ---------------------------------------------------------------------------

TEST_CASE("text that is not UTF-8 is refused naming the field, without failing the parse") {
  const std::string bad = std::string("\xC3\x28");  // a lead byte without its continuation
  Result<json> parsed = ParseRecordJson(R"({"kind": "person", "name": ")" + bad +
                                        R"(", "notes": "ok", "tags": ["x)" + bad + R"("]})");
  REQUIRE_MESSAGE(parsed.ok(), parsed.status().message());
  std::vector<FieldError> errors;
  Result<json> r = CnValidator().Normalize(*Schema::FieldSales().Collection("customers"), *parsed,
                                           false, &errors);
  REQUIRE_FALSE(r.ok());
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].field == "name");
  CHECK(errors[0].problem == "is not valid UTF-8 text");
  CHECK(errors[1].field == "tags[0]");
  CHECK(errors[1].problem == "is not valid UTF-8 text");
  // The message is itself valid UTF-8: it can go to a UI or through JSON.
  CHECK_NOTHROW((void)json(r.status().message()).dump());
}

TEST_CASE("every kind of ill-formed UTF-8 is caught") {
  const std::string cases[] = {
      "\xC3\x28",          // missing continuation
      "\xA0\xA1",          // continuation bytes without a lead
      "\xC0\xAF",          // overlong '/'
      "\xED\xA0\x80",      // UTF-16 surrogate
      "\xF4\x90\x80\x80",  // past U+10FFFF
      "\xE5\xBC",          // truncated 张 at the end of the string
      "\xFF",              // never valid
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    CAPTURE(i);
    const std::string& bad = cases[i];
    Result<json> parsed = ParseRecordJson(R"({"notes": "张)" + bad + R"(伟"})");
    REQUIRE_MESSAGE(parsed.ok(), parsed.status().message());
    Outcome o;
    o.result = CnValidator().Normalize(*Schema::FieldSales().Collection("customers"), *parsed, true,
                                       &o.errors);
    REQUIRE_FALSE(o.ok());
    CHECK(o.ProblemFor("notes") == "is not valid UTF-8 text");
  }
}

TEST_CASE("invalid UTF-8 in records built without ParseRecordJson is caught too") {
  json record = {{"kind", "person"},
                 {"name", std::string("\xE5\xBC")},
                 {"custom", {{"k", std::string("\xFF")}}}};
  std::vector<FieldError> errors;
  Result<json> r = CnValidator().Normalize(*Schema::FieldSales().Collection("customers"), record,
                                           false, &errors);
  REQUIRE_FALSE(r.ok());
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].field == "name");
  CHECK(errors[1].field == "custom");
  CHECK(errors[1].problem == "contains text that is not valid UTF-8");
}

TEST_CASE("an invalid UTF-8 key is reported as an unknown field with a printable name") {
  Result<json> parsed = ParseRecordJson(std::string(R"({"na)") + "\xFF" + R"(me": "x"})");
  REQUIRE(parsed.ok());
  Outcome o;
  o.result = CnValidator().Normalize(*Schema::FieldSales().Collection("customers"), *parsed, true,
                                     &o.errors);
  REQUIRE_FALSE(o.ok());
  REQUIRE(o.errors.size() == 1);
  CHECK(o.errors[0].problem == "is not a field of customers");
  CHECK_NOTHROW((void)json(o.errors[0].field).dump());
}

TEST_CASE("the invalid-text marker typed literally is refused as well") {
  CHECK(Problem("notes", "\"a\\ufdd0b\"") == "is not valid UTF-8 text");
}

TEST_CASE("text is NFC-normalized") {
  // "café" typed with a combining acute accent becomes the precomposed é.
  CHECK(Normalized("notes", R"("cafe\u0301")") == "caf\u00e9");
  CHECK(Normalized("notes", R"("caf\u00e9")") == "caf\u00e9");
  // Hangul jamo compose; CJK ideographs are already NFC and pass unchanged.
  CHECK(Normalized("notes", R"("\u1100\u1161")") == "\uAC00");
  CHECK(Normalized("notes", R"("张伟：上海明辉")") == "张伟：上海明辉");
}

TEST_CASE("text length is counted in characters, not bytes") {
  std::string two_hundred;
  for (int i = 0; i < 200; ++i) two_hundred += "明";  // 600 bytes
  CHECK(Normalized("name", "\"" + two_hundred + "\"") == two_hundred);
  CHECK(Problem("name", "\"" + two_hundred + "辉\"") == "is too long: 201 characters, at most 200");
  // Fields without a max_length get the default 10,000.
  const std::string ten_k(10000, 'a');
  CHECK(Normalized("notes", "\"" + ten_k + "\"") == ten_k);
  CHECK(Problem("notes", "\"" + ten_k + "a\"") == "is too long: 10001 characters, at most 10000");
}

TEST_CASE("text keeps line breaks and tabs but refuses other control characters") {
  CHECK(Normalized("notes", R"("第一行\n第二行\tend")") == "第一行\n第二行\tend");
  CHECK(Problem("notes", R"("bell\u0007")") == "contains a control character (U+0007)");
  CHECK(Problem("notes", R"("nul\u0000")") == "contains a control character (U+0000)");
}

TEST_CASE("a wrong JSON type says what was expected and what was given") {
  CHECK(Problem("name", "123") == "expected a string, got a number");
  CHECK(Problem("grade", "1") == "expected a string, got a number");
  CHECK(Problem("phones", R"("13800138000")") ==
        "expected an array of phone numbers, got a string");
  CHECK(Problem("phones", "[13800138000]", "phones[0]") ==
        "expected a phone number as a string, got a number");
  CHECK(Problem("tags", R"("VIP")") == "expected an array of strings, got a string");
  CHECK(Problem("website", "true") == "expected a URL as a string, got a boolean");
  CHECK(Problem("notes", R"({"a": 1})") == "expected a string, got an object");
}

// ---- Enums ----------------------------------------------------------------------------------

TEST_CASE("an unknown enum value is refused listing the allowed ones") {
  CHECK(Problem("grade", R"("F")") == "'F' is not one of: A, B, C, D, E");
  CHECK(Problem("grade", R"("a")") == "'a' is not one of: A, B, C, D, E");  // case matters
  CHECK(Problem("kind", R"("公司")") == "'公司' is not one of: person, company");
  CHECK(Problem("lifecycle_stage", R"("dormant")") ==
        "'dormant' is not one of: lead, prospect, active, silent, lost");
  for (const char* grade : {"A", "B", "C", "D", "E"})
    CHECK(Normalized("grade", "\"" + std::string(grade) + "\"") == grade);
  CHECK(Normalized("source_channel", R"("cold_visit")") == "cold_visit");
  CHECK(Normalized("credit_level", R"("AAA")") == "AAA");
}

TEST_CASE("a bad value quoted in a message is cut short") {
  const std::string problem = Problem("grade", "\"" + std::string(100, 'x') + "\"");
  CHECK(problem.find(std::string(40, 'x') + "…'") != std::string::npos);
  CHECK(problem.find(std::string(41, 'x')) == std::string::npos);
}

// ---- Phones ---------------------------------------------------------------------------------

TEST_CASE("phones in the usual Chinese formats normalize to E.164") {
  CHECK(Normalized("phones", R"(["13800138000"])") == json::array({"+8613800138000"}));
  CHECK(Normalized("phones", R"(["138 0013 8000"])") == json::array({"+8613800138000"}));
  CHECK(Normalized("phones", R"(["+86 138-0013-8000"])") == json::array({"+8613800138000"}));
  CHECK(Normalized("phones", R"(["(010) 6552 9988"])") == json::array({"+861065529988"}));
  CHECK(Normalized("phones", R"(["010-65529988"])") == json::array({"+861065529988"}));
  CHECK(Normalized("phones", R"(["0086 138 0013 8000"])") == json::array({"+8613800138000"}));
  CHECK(Normalized("phones", R"(["  13800138000  "])") == json::array({"+8613800138000"}));
}

TEST_CASE("phones typed with full-width digits normalize") {
  CHECK(Normalized("phones", R"(["１３８００１３８０００"])") == json::array({"+8613800138000"}));
  CHECK(Normalized("phones", R"(["＋８６ １３８ ００１３ ８０００"])") ==
        json::array({"+8613800138000"}));
}

TEST_CASE("a phone with missing digits is refused, naming the element and the region") {
  Outcome o = CheckCustomer(R"("phones": ["13800138000", "1380013800"])");
  REQUIRE_FALSE(o.ok());
  REQUIRE(o.errors.size() == 1);
  CHECK(o.errors[0].field == "phones[1]");
  CHECK(o.errors[0].problem == "'1380013800' is not a valid phone number (region CN)");
  CHECK(o.result.status().message() ==
        "invalid customers record: phones[1]: '1380013800' is not a valid phone number "
        "(region CN)");
}

TEST_CASE("phone numbers that are not numbers at all are refused") {
  for (const char* bad :
       {"", "   ", "abc", "12", "138001380001234567", "+999 1234 5678", "(010) 6552 998"}) {
    CAPTURE(bad);
    CHECK(Problem("phones", std::string("[\"") + bad + "\"]", "phones[0]")
              .find("is not a valid phone number (region CN)") != std::string::npos);
  }
}

TEST_CASE("a foreign number given with its country code is fine with region CN") {
  CHECK(Normalized("phones", R"(["+1 650-253-0000"])") == json::array({"+16502530000"}));
  CHECK(Normalized("phones", R"(["+852 2123 4567"])") == json::array({"+85221234567"}));
  // Without +1 it is read as a Chinese number, and is not a valid one.
  CHECK_FALSE(Problem("phones", R"(["(650) 253-0000"])", "phones[0]").empty());
}

TEST_CASE("the default region decides how numbers without a country code are read") {
  const Validator us(&Schema::FieldSales(), "US");
  Outcome o = Check(us, "customers", Customer(R"("phones": ["(650) 253-0000"])"));
  REQUIRE_MESSAGE(o.ok(), o.result.status().message());
  CHECK(o.value()["phones"] == json::array({"+16502530000"}));
  Outcome cn_number = Check(us, "customers", Customer(R"("phones": ["1380013800"])"));
  REQUIRE_FALSE(cn_number.ok());
  CHECK(cn_number.ProblemFor("phones[0]") ==
        "'1380013800' is not a valid phone number (region US)");

  const Validator lower(&Schema::FieldSales(), "cn");
  CHECK(lower.default_region() == "CN");
  CHECK(Check(lower, "customers", Customer(R"("phones": ["13800138000"])")).ok());
}

TEST_CASE("the same phone typed twice is kept once, first occurrence first") {
  CHECK(Normalized("phones", R"(["(010) 6552 9988", "138 0013 8000", "+86 10 6552 9988"])") ==
        json::array({"+861065529988", "+8613800138000"}));
  CHECK(Normalized("phones", "[]") == json::array());
}

TEST_CASE("a phone with an extension is refused rather than losing the extension") {
  CHECK(Problem("phones", R"(["010 6552 9988 ext. 801"])", "phones[0]").find("has an extension") !=
        std::string::npos);
}

TEST_CASE("phones normalize correctly from many threads at once") {
  const Validator& v = CnValidator();
  const CollectionDef& customers = *Schema::FieldSales().Collection("customers");
  const json record = {{"kind", "person"},
                       {"name", "张伟"},
                       {"phones", {"138 0013 8000", "(010) 6552 9988", "+1 650-253-0000"}}};
  const json bad = {{"kind", "person"}, {"name", "张伟"}, {"phones", {"1380013800"}}};
  std::vector<int> failures(8, 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < failures.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        Result<json> r = v.Normalize(customers, record, false);
        if (!r.ok() ||
            (*r)["phones"] != json::array({"+8613800138000", "+861065529988", "+16502530000"})) {
          ++failures[t];
        }
        if (v.Normalize(customers, bad, false).ok()) ++failures[t];
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int f : failures) CHECK(f == 0);
}

TEST_CASE("the validator logs nothing, not even the values it refuses") {
  std::vector<std::string> logged;
  SetLogSink(
      [&logged](LogLevel, std::string_view, std::string_view msg) { logged.emplace_back(msg); });
  (void)CheckCustomer(R"("phones": ["1380013800"], "emails": ["bad"], "name": 5)");
  SetLogSink(nullptr);
  CHECK(logged.empty());
}

// ---- Emails and URLs ------------------------------------------------------------------------

TEST_CASE("emails are trimmed and lowercased") {
  CHECK(Normalized("emails", R"([" Zhang.Wei@MingHui.COM.cn "])") ==
        json::array({"zhang.wei@minghui.com.cn"}));
  CHECK(Normalized("emails", R"(["li+sales@example.com", "LI+SALES@example.com"])") ==
        json::array({"li+sales@example.com"}));
  // Internationalized addresses keep their non-ASCII characters.
  CHECK(Normalized("emails", R"(["张伟@例子.中国"])") == json::array({"张伟@例子.中国"}));
  Outcome contact = Check(CnValidator(), "contacts",
                          R"({"customer": "c1", "name": "王芳", "email": "WANG@QQ.COM"})");
  REQUIRE(contact.ok());
  CHECK(contact.value()["email"] == "wang@qq.com");
}

TEST_CASE("emails typed with a Chinese input method's full-width characters are folded") {
  CHECK(Normalized("emails", R"(["ｚｈａｎｇ＠ｍｉｎｇｈｕｉ．ｃｎ"])") ==
        json::array({"zhang@minghui.cn"}));
  CHECK(Normalized("emails", R"(["zhang@minghui。com"])") == json::array({"zhang@minghui.com"}));
}

TEST_CASE("malformed emails are refused with the reason") {
  struct Case {
    const char* email;
    const char* reason;
  };
  const Case cases[] = {
      {"zhangwei.minghui.com", "exactly one @"},
      {"zhang@@minghui.com", "exactly one @"},
      {"a@b@minghui.com", "exactly one @"},
      {"@minghui.com", "nothing before the @"},
      {"zhang@minghui", "domain"},
      {"zhang@.minghui.com", "domain"},
      {"zhang@minghui..com", "domain"},
      {"zhang@minghui.com.", "domain"},
      {"zhang wei@minghui.com", "space"},
      {"zhang@ming hui.com", "space"},
      {"zhang,wei@minghui.com", "space or a character"},
      {".zhang@minghui.com", "dot"},
      {"zhang..wei@minghui.com", "dot"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.email);
    const std::string problem =
        Problem("emails", std::string("[\"") + c.email + "\"]", "emails[0]");
    CHECK(problem.find(std::string("'") + c.email + "' is not a valid email address") == 0);
    CHECK(problem.find(c.reason) != std::string::npos);
  }
  const std::string long_local(250, 'a');
  CHECK(Problem("emails", "[\"" + long_local + "@qq.com\"]", "emails[0]").find("254") !=
        std::string::npos);
  CHECK(Problem("emails", "[5]", "emails[0]") ==
        "expected an email address as a string, got a number");
}

TEST_CASE("urls must be http or https with a host, scheme and host are lowercased") {
  CHECK(Normalized("website", R"("https://www.MingHui.com.cn/About?x=Y#Top")") ==
        "https://www.minghui.com.cn/About?x=Y#Top");
  CHECK(Normalized("website", R"("HTTP://Example.COM")") == "http://example.com");
  CHECK(Normalized("website", R"("http://example.com:8080/p")") == "http://example.com:8080/p");
  CHECK(Normalized("website", R"(" https://明辉.中国/ ")") == "https://明辉.中国/");
  CHECK(Problem("website", R"("www.minghui.com")").find("must start with http:// or https://") !=
        std::string::npos);
  CHECK(Problem("website", R"("ftp://minghui.com")").find("must start with http") !=
        std::string::npos);
  CHECK(Problem("website", R"("https://")").find("no host") != std::string::npos);
  CHECK(Problem("website", R"("https:///path")").find("no host") != std::string::npos);
  CHECK(Problem("website", R"("http://ming hui.com")").find("space") != std::string::npos);
  CHECK(Problem("website", R"("http://minghui.com:80a")").find("port") != std::string::npos);
}

// ---- Numbers --------------------------------------------------------------------------------

TEST_CASE("integers are range-checked and must be whole numbers") {
  for (int s = 1; s <= 5; ++s) {
    Outcome o = Check(CnValidator(), "visits", VisitWith("satisfaction", std::to_string(s)));
    REQUIRE_MESSAGE(o.ok(), o.result.status().message());
    CHECK(o.value()["satisfaction"] == s);
  }
  Outcome zero = Check(CnValidator(), "visits", VisitWith("satisfaction", "0"));
  CHECK(zero.ProblemFor("satisfaction") == "must be between 1 and 5, got 0");
  Outcome six = Check(CnValidator(), "visits", VisitWith("satisfaction", "6"));
  CHECK(six.ProblemFor("satisfaction") == "must be between 1 and 5, got 6");
  Outcome half = Check(CnValidator(), "visits", VisitWith("satisfaction", "4.5"));
  CHECK(half.ProblemFor("satisfaction") == "expected an integer, got 4.5");
  Outcome text = Check(CnValidator(), "visits", VisitWith("satisfaction", R"("5")"));
  CHECK(text.ProblemFor("satisfaction") == "expected an integer, got a string");
  // 5.0, as JavaScript clients may send it, is the integer 5.
  Outcome js = Check(CnValidator(), "visits", VisitWith("satisfaction", "5.0"));
  REQUIRE(js.ok());
  CHECK(js.value()["satisfaction"].is_number_integer());
  CHECK(js.value()["satisfaction"] == 5);
}

TEST_CASE("integers without a range accept the whole 64-bit range") {
  Result<Schema> s =
      Schema::Parse(R"({"collections": {"c": {"fields": {"n": {"type": "integer"}}}}})");
  REQUIRE(s.ok());
  const Validator v(&*s, "CN");
  const CollectionDef& c = *s->Collection("c");
  CHECK((*v.Normalize(c, json::parse(R"({"n": -9223372036854775808})"), false))["n"] == INT64_MIN);
  CHECK((*v.Normalize(c, json::parse(R"({"n": 9223372036854775807})"), false))["n"] == INT64_MAX);
  CHECK_FALSE(v.Normalize(c, json::parse(R"({"n": 9223372036854775808})"), false).ok());
}

// Normalizes an order amount, expecting success.
std::string Amount(const std::string& value_json) {
  Outcome o = Check(CnValidator(), "orders",
                    R"({"customer": "c1", "date": "2024-03-20", "amount": )" + value_json + "}");
  REQUIRE_MESSAGE(o.ok(), o.result.status().message());
  REQUIRE(o.value()["amount"].is_string());
  return o.value()["amount"].get<std::string>();
}

std::string AmountProblem(const std::string& value_json) {
  Outcome o = Check(CnValidator(), "orders",
                    R"({"customer": "c1", "date": "2024-03-20", "amount": )" + value_json + "}");
  REQUIRE_FALSE(o.ok());
  return o.ProblemFor("amount");
}

TEST_CASE("money and decimals become canonical strings without an exponent") {
  CHECK(Amount("12345.5") == "12345.5");
  CHECK(Amount("12345.50") == "12345.5");
  CHECK(Amount(R"("12345.50")") == "12345.5");
  CHECK(Amount(R"(" 150000 ")") == "150000");
  CHECK(Amount("150000") == "150000");
  CHECK(Amount("0.1") == "0.1");
  CHECK(Amount(R"("0.10")") == "0.1");
  CHECK(Amount(R"("000123.4500")") == "123.45");
  CHECK(Amount(R"("-0.00")") == "0");
  CHECK(Amount(R"("-25.5")") == "-25.5");  // a refund
  CHECK(Amount(R"("+7")") == "7");
  CHECK(Amount(R"(".5")") == "0.5");
  CHECK(Amount(R"("5.")") == "5");
  CHECK(Amount(R"("1.5e3")") == "1500");
  CHECK(Amount(R"("15E-4")") == "0.0015");
  CHECK(Amount("1e20") == "100000000000000000000");
  CHECK(Amount("1.5e-7") == "0.00000015");
  CHECK(Amount("18446744073709551615") == "18446744073709551615");
  CHECK(Amount(R"("１２３４５.５")") == "12345.5");  // full-width digits from an IME
  // Exact decimal strings keep digits a double would lose.
  CHECK(Amount(R"("12345678901234567890.12")") == "12345678901234567890.12");
}

TEST_CASE("money that is not a number is refused") {
  for (const char* bad : {R"("NaN")", R"("nan")", R"("inf")", R"("-Infinity")", R"("12,345")",
                          R"("¥100")", R"("100元")", R"("abc")", R"("")", R"("1e")", R"("--1")",
                          R"("1.2.3")", R"(".")", R"("0x10")"}) {
    CAPTURE(bad);
    CHECK(AmountProblem(bad).find("is not a decimal number") != std::string::npos);
  }
  CHECK(AmountProblem("true") == "expected a number or a numeric string, got a boolean");
  CHECK(AmountProblem("[1]") == "expected a number or a numeric string, got an array");
  CHECK(AmountProblem(R"("1e999999999")").find("more than 40 digits") != std::string::npos);
  CHECK(AmountProblem(R"("1e-50")").find("more than 40 digits") != std::string::npos);
  CHECK(AmountProblem("1e300").find("more than 40 digits") != std::string::npos);
}

TEST_CASE("non-finite numbers are refused even when built in code") {
  const json record = {{"customer", "c1"},
                       {"date", "2024-03-20"},
                       {"amount", std::numeric_limits<double>::quiet_NaN()}};
  std::vector<FieldError> errors;
  CHECK_FALSE(CnValidator()
                  .Normalize(*Schema::FieldSales().Collection("orders"), record, false, &errors)
                  .ok());
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].problem == "is not a finite number");
}

TEST_CASE("decimal ranges are enforced") {
  Result<Schema> s = Schema::Parse(
      R"({"collections": {"c": {"fields": {"rate": {"type": "decimal", "min": 0, "max": 1}}}}})");
  REQUIRE(s.ok());
  const Validator v(&*s, "CN");
  const CollectionDef& c = *s->Collection("c");
  CHECK((*v.Normalize(c, json::parse(R"({"rate": "0.25"})"), false))["rate"] == "0.25");
  std::vector<FieldError> errors;
  CHECK_FALSE(v.Normalize(c, json::parse(R"({"rate": "1.5"})"), false, &errors).ok());
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].problem == "must be between 0 and 1, got 1.5");
}

// ---- Booleans, dates, times, places ---------------------------------------------------------

TEST_CASE("booleans must be JSON true or false") {
  Outcome yes = Check(CnValidator(), "visits", VisitWith("complaint", "true"));
  REQUIRE(yes.ok());
  CHECK(yes.value()["complaint"] == true);
  for (const char* bad : {R"("true")", "1", R"("是")"}) {
    CAPTURE(bad);
    Outcome o = Check(CnValidator(), "visits", VisitWith("complaint", bad));
    CHECK(o.ProblemFor("complaint").find("expected true or false, got") == 0);
  }
}

TEST_CASE("dates must be real calendar dates in YYYY-MM-DD") {
  auto contact = [](const std::string& birthday) {
    return Check(CnValidator(), "contacts",
                 R"({"customer": "c1", "name": "王芳", "birthday": )" + birthday + "}");
  };
  CHECK(contact(R"("1985-06-18")").value()["birthday"] == "1985-06-18");
  CHECK(contact(R"("2024-02-29")").value()["birthday"] == "2024-02-29");          // leap year
  CHECK(contact(R"("２０００-０２-２９")").value()["birthday"] == "2000-02-29");  // 400-year rule
  CHECK(contact(R"("2023-02-29")").ProblemFor("birthday") ==
        "'2023-02-29' is not a real calendar date");
  CHECK(contact(R"("1900-02-29")").ProblemFor("birthday") ==
        "'1900-02-29' is not a real calendar date");
  CHECK(contact(R"("2024-04-31")").ProblemFor("birthday") ==
        "'2024-04-31' is not a real calendar date");
  CHECK(contact(R"("2024-13-01")").ProblemFor("birthday") ==
        "'2024-13-01' is not a real calendar date");
  CHECK(contact(R"("0000-01-01")").ProblemFor("birthday") ==
        "'0000-01-01' is not a real calendar date");
  for (const char* bad : {R"("2024/03/15")", R"("2024-3-5")", R"("15-03-2024")",
                          R"("2024年3月15日")", R"("2024-03-15T00:00:00Z")", R"("")"}) {
    CAPTURE(bad);
    CHECK(contact(bad).ProblemFor("birthday").find("is not a date in the form YYYY-MM-DD") !=
          std::string::npos);
  }
  CHECK(contact("19850618").ProblemFor("birthday") ==
        "expected a date string \"YYYY-MM-DD\", got a number");
}

std::string Start(const std::string& value) {
  Outcome o = Check(CnValidator(), "visits", VisitWith("end", "\"" + value + "\""));
  REQUIRE_MESSAGE(o.ok(), o.result.status().message());
  return o.value()["end"].get<std::string>();
}

std::string StartProblem(const std::string& value) {
  Outcome o = Check(CnValidator(), "visits", VisitWith("end", "\"" + value + "\""));
  REQUIRE_FALSE(o.ok());
  return o.ProblemFor("end");
}

TEST_CASE("datetimes are converted to UTC with milliseconds") {
  CHECK(Start("2024-03-15T09:30:00+08:00") == "2024-03-15T01:30:00.000Z");
  CHECK(Start("2024-03-15T09:30:00Z") == "2024-03-15T09:30:00.000Z");
  CHECK(Start("2024-03-15t09:30:00z") == "2024-03-15T09:30:00.000Z");
  CHECK(Start("2024-03-15 09:30:00+08:00") == "2024-03-15T01:30:00.000Z");
  CHECK(Start("2024-03-15T09:30:00.5Z") == "2024-03-15T09:30:00.500Z");
  CHECK(Start("2024-03-15T09:30:00.123456789Z") == "2024-03-15T09:30:00.123Z");  // truncated
  CHECK(Start("2024-01-01T07:59:59.999+08:00") == "2023-12-31T23:59:59.999Z");   // across a year
  CHECK(Start("2024-02-28T20:00:00-05:30") == "2024-02-29T01:30:00.000Z");       // into a leap day
  CHECK(Start("2024-03-15T09:30:00-00:00") == "2024-03-15T09:30:00.000Z");
  Outcome required = Check(CnValidator(), "visits", VisitWith("summary", R"("ok")"));
  REQUIRE(required.ok());
  CHECK(required.value()["start"] == "2024-03-15T01:30:00.000Z");
}

TEST_CASE("datetimes without an offset or with impossible values are refused") {
  CHECK(StartProblem("2024-03-15T09:30:00") ==
        "'2024-03-15T09:30:00' has no time zone offset (add Z for UTC or e.g. +08:00)");
  for (const char* bad :
       {"2024-03-15", "2024-03-15T09:30Z", "2024-03-15T9:30:00Z", "2024-03-15T09:30:00+0800",
        "2024-03-15T09:30:00.Z", "2024-03-15T09:30:00 +08:00", "2024-03-15T09:30:00+08:00 extra",
        "1710466200000", "2024-03-15T09:30:00+24:00"}) {
    CAPTURE(bad);
    CHECK(StartProblem(bad).find("is not an RFC 3339 date-time") != std::string::npos);
  }
  for (const char* bad : {"2024-02-30T09:30:00Z", "2024-03-15T24:00:00Z", "2024-03-15T09:60:00Z",
                          "2024-12-31T23:59:60Z"}) {
    CAPTURE(bad);
    CHECK(StartProblem(bad).find("is not a real date and time") != std::string::npos);
  }
  CHECK(StartProblem("0001-01-01T00:00:00+08:00").find("outside the years") != std::string::npos);
}

TEST_CASE("geo points need lat and lon in range and nothing else") {
  Outcome ok =
      Check(CnValidator(), "visits", VisitWith("location", R"({"lat": 31.2304, "lon": 121.4737})"));
  REQUIRE(ok.ok());
  CHECK(ok.value()["location"] == json{{"lat", 31.2304}, {"lon", 121.4737}});
  struct Case {
    const char* value;
    const char* problem;
  };
  const Case cases[] = {
      {R"({"lat": 91, "lon": 0})", "lat must be a number from -90 to 90, got 91"},
      {R"({"lat": 0, "lon": -180.5})", "lon must be a number from -180 to 180, got -180.5"},
      {R"({"lat": "31.2", "lon": 121.4})", "lat must be a number from -90 to 90, got a string"},
      {R"({"lat": 31.2})", "needs lon"},
      {R"({"lat": 31.2, "lon": 121.4, "alt": 5})",
       "has an unknown member 'alt' (only lat and lon)"},
      {R"([31.2, 121.4])", "expected an object {\"lat\": ..., \"lon\": ...}, got an array"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.value);
    CHECK(Check(CnValidator(), "visits", VisitWith("location", c.value)).ProblemFor("location") ==
          c.problem);
  }
}

// ---- String sets and JSON -------------------------------------------------------------------

TEST_CASE("string sets are trimmed, deduplicated and sorted") {
  CHECK(Normalized("tags", R"(["重点客户", "VIP", " VIP ", "华东", "VIP", "A类"])") ==
        json::array({"A类", "VIP", "华东", "重点客户"}));
  CHECK(Normalized("tags", "[]") == json::array());
}

TEST_CASE("string set elements are checked one by one") {
  Outcome o = CheckCustomer(
      R"("tags": ["ok", 5, "", "ok", "this tag is much longer than fifty characters, which is too long"])");
  REQUIRE_FALSE(o.ok());
  CHECK(o.ProblemFor("tags[1]") == "expected a string, got a number");
  CHECK(o.ProblemFor("tags[2]") == "must not be empty");
  CHECK(o.ProblemFor("tags[4]").find("is too long") == 0);
  CHECK(o.errors.size() == 3);
}

TEST_CASE("json fields take any JSON value") {
  CHECK(Normalized("custom", R"({"erp_id": 42, "标签": ["x", null], "ok": true})") ==
        json::parse(R"({"erp_id": 42, "标签": ["x", null], "ok": true})"));
  CHECK(Normalized("custom", "[1, 2]") == json::array({1, 2}));
  CHECK(Normalized("custom", "3.5") == 3.5);
  Outcome o = Check(CnValidator(), "orders", R"({"customer": "c1", "date": "2024-03-20",
      "amount": "150000.00", "currency": "CNY",
      "products": [{"sku": "OPS-1", "name": "运维外包服务", "quantity": 1, "unit_price": "150000"}]})");
  REQUIRE_MESSAGE(o.ok(), o.result.status().message());
  CHECK(o.value()["products"][0]["name"] == "运维外包服务");
  CHECK(o.value()["amount"] == "150000");
}

// ---- Full records of each collection --------------------------------------------------------

TEST_CASE("contacts, visits and orders validate their own fields") {
  Outcome contact = Check(CnValidator(), "contacts", R"({"customer": "c1", "name": "王芳",
      "title": "采购总监", "phones": ["139 1234 5678"], "decision_role": "purchaser",
      "birthday": "1985-06-18", "preferences": "喜欢喝茶", "relationship_notes": "老乡"})");
  REQUIRE_MESSAGE(contact.ok(), contact.result.status().message());
  CHECK(contact.value()["phones"] == json::array({"+8613912345678"}));
  Outcome role = Check(CnValidator(), "contacts",
                       R"({"customer": "c1", "name": "王芳", "decision_role": "boss"})");
  CHECK(role.ProblemFor("decision_role") ==
        "'boss' is not one of: decision_maker, influencer, purchaser, user");

  Outcome visit = Check(CnValidator(), "visits", R"({"customer": "c1", "contact": "p1",
      "rep": "张伟", "start": "2024-03-20T14:00:00+08:00", "end": "2024-03-20T15:30:00+08:00",
      "channel": "in_person", "location": {"lat": 31.23, "lon": 121.47},
      "summary": "确认Q2采购需求", "outcome": "要求增加多语言支持", "satisfaction": 4,
      "complaint": false, "next_action": "提供多语言功能方案", "next_action_due": "2024-04-05",
      "next_action_owner": "张伟"})");
  REQUIRE_MESSAGE(visit.ok(), visit.result.status().message());
  CHECK(visit.value()["end"] == "2024-03-20T07:30:00.000Z");
  Outcome channel = Check(CnValidator(), "visits", VisitWith("channel", R"("wechat")"));
  CHECK(channel.ProblemFor("channel") ==
        "'wechat' is not one of: in_person, phone, email, meeting, video");

  Outcome order = Check(CnValidator(), "orders", R"({"customer": "c1", "date": "2024-03-20"})");
  CHECK(order.ProblemFor("amount") == "is required");
}

// ---- Host extensions --------------------------------------------------------------------------

TEST_CASE("fields and collections a host adds are validated like built-in ones") {
  Result<Schema> ext = Schema::FieldSales().Extended(R"({"collections": {
      "customers": {"fields": {"wechat_id": {"type": "text", "max_length": 20},
                               "region_code": {"type": "enum", "values": ["华东", "华南", "华北"]}}},
      "quotes": {"fields": {"customer": {"type": "text", "required": true, "references": "customers"},
                            "total": {"type": "money", "required": true}}}}})");
  REQUIRE_MESSAGE(ext.ok(), ext.status().message());
  const Validator v(&*ext, "CN");
  const CollectionDef& customers = *ext->Collection("customers");
  Result<json> ok = v.Normalize(
      customers, json::parse(Customer(R"("wechat_id": "minghui_2024", "region_code": "华东")")),
      false);
  REQUIRE_MESSAGE(ok.ok(), ok.status().message());
  CHECK((*ok)["region_code"] == "华东");
  std::vector<FieldError> errors;
  CHECK_FALSE(
      v.Normalize(customers, json::parse(Customer(R"("region_code": "西北")")), false, &errors)
          .ok());
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].problem == "'西北' is not one of: 华东, 华南, 华北");

  Result<json> quote = v.Normalize(*ext->Collection("quotes"),
                                   json::parse(R"({"customer": "c1", "total": 99.9})"), false);
  REQUIRE(quote.ok());
  CHECK((*quote)["total"] == "99.9");
}

// ---- ParseRecordJson ------------------------------------------------------------------------

TEST_CASE("malformed record JSON is refused with the position") {
  Result<json> r = ParseRecordJson(R"({"name": "张伟", "grade": })");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  CHECK(r.status().message().rfind("malformed JSON: ", 0) == 0);
  CHECK(r.status().message().find("line 1, column") != std::string::npos);
  CHECK(r.status().message().find("json.exception") == std::string::npos);
  CHECK_FALSE(ParseRecordJson("").ok());
  CHECK_FALSE(ParseRecordJson(R"({"a": 1} trailing)").ok());
  CHECK_FALSE(ParseRecordJson(R"({"a": "\ud800"})").ok());  // a lone surrogate escape
}

TEST_CASE("record JSON that is not an object is refused") {
  for (const char* text : {"[]", "\"张伟\"", "42", "null", "true"}) {
    CAPTURE(text);
    Result<json> r = ParseRecordJson(text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
    CHECK(r.status().message().find("a record must be a JSON object") == 0);
  }
}

TEST_CASE("absurdly nested record JSON is refused before parsing") {
  std::string deep = "{\"custom\": ";
  for (int i = 0; i < 100; ++i) deep += "[";
  for (int i = 0; i < 100; ++i) deep += "]";
  deep += "}";
  Result<json> r = ParseRecordJson(deep);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("nested more than 64 levels") != std::string::npos);
  // Brackets inside strings do not count.
  CHECK(ParseRecordJson("{\"notes\": \"" + std::string(100, '[') + "\\\"\"}").ok());
}

TEST_CASE("valid UTF-8 passes ParseRecordJson untouched") {
  Result<json> r = ParseRecordJson(R"({"name": "张伟 😀 café", "notes": "\u4e0a\u6d77"})");
  REQUIRE(r.ok());
  CHECK((*r)["name"] == "张伟 😀 café");
  CHECK((*r)["notes"] == "上海");
}

}  // namespace
}  // namespace fieldsync::model
