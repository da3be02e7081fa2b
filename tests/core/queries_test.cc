// tests/core/queries_test.cc: Timeline, Agenda and Classify on a real encrypted store, with rows
// written straight into fs_records, and the query plans checked for index use.
#include "query/queries.h"

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fieldsync/store.h"
#include "model/tables.h"
#include "test_util.h"

namespace fieldsync {
namespace {

using nlohmann::json;

constexpr int64_t kDayMs = 24LL * 3600 * 1000;

// ms since the epoch of "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS", UTC.
int64_t Ms(const std::string& iso) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  std::sscanf(iso.c_str(), "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &s);
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

// Monday 2025-06-16, 12:00 in Beijing.
const int64_t kNow = Ms("2025-06-16T04:00:00");

// The UTC date `days` before kNow.
std::string DaysAgo(int days) {
  const std::time_t t = static_cast<std::time_t>((kNow - days * kDayMs) / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
  return buf;
}

// A visit start `days` before kNow's date, at 02:00 UTC (10:00 in Beijing) unless told.
std::string StartDaysAgo(int days, const std::string& time = "02:00:00.000") {
  return DaysAgo(days) + "T" + time + "Z";
}

// A store with the tables and query indexes; rows go straight into fs_records.
class QueryDb {
 public:
  QueryDb() {
    auto s = Store::Create(dir_.File("q.db"), testing::TestKey());
    REQUIRE(s.ok());
    store_ = std::move(*s);
    REQUIRE(store_->Execute(model::kCreateTables).ok());
    REQUIRE(query::CreateQueryIndexes(db()).ok());
  }

  sqlite3* db() const { return static_cast<sqlite3*>(store_->native_handle()); }
  Store& store() { return *store_; }

  void Put(const std::string& collection, const std::string& id, const json& data,
           int64_t updated_ms, bool deleted = false) {
    Status s = store_->Execute(
        "INSERT INTO fs_records(collection, id, data, versions, deleted, updated_hlc, "
        "schema_version) VALUES (?, ?, ?, '{}', ?, ?, 1)",
        {collection, id, data.dump(), int64_t{deleted ? 1 : 0}, int64_t{updated_ms << 16}});
    REQUIRE_MESSAGE(s.ok(), s.ToString());
  }

  // A customer last changed `changed_days_ago` days before now.
  void Customer(const std::string& id, const std::string& name, const std::string& grade,
                const std::string& owner, int changed_days_ago = 1, bool deleted = false) {
    json data = {{"kind", "company"}, {"name", name}, {"owner_rep", owner}};
    if (!grade.empty()) data["grade"] = grade;
    Put("customers", id, data, kNow - changed_days_ago * kDayMs, deleted);
  }

  void Visit(const std::string& id, const std::string& customer, const std::string& rep,
             const std::string& start, json extra = json::object(), bool deleted = false) {
    json data = {{"customer", customer},
                 {"rep", rep},
                 {"start", start},
                 {"channel", "visit"},
                 {"summary", "拜访"}};
    data.update(extra);
    Put("visits", id, data, Ms(start.substr(0, 19)), deleted);
  }

  void Order(const std::string& id, const std::string& customer, const std::string& date,
             const std::string& amount, bool deleted = false) {
    Put("orders", id,
        {{"customer", customer}, {"date", date}, {"amount", amount}, {"currency", "CNY"}}, Ms(date),
        deleted);
  }

 private:
  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

json TimelineOf(QueryDb& q, const std::string& customer) {
  Result<std::string> r = query::Timeline(q.db(), customer);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return json::parse(*r);
}

json AgendaOf(QueryDb& q, const std::string& rep, const AgendaOptions& options = {}) {
  Result<std::string> r = query::Agenda(q.db(), rep, kNow, options);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return json::parse(*r);
}

// Classification by customer id.
std::map<std::string, json> ClassifyAll(QueryDb& q, const ClassificationOptions& options = {}) {
  Result<std::string> r = query::Classify(q.db(), kNow, options);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  std::map<std::string, json> out;
  for (const json& c : json::parse(*r)) out[c["customer"].get<std::string>()] = c;
  return out;
}

std::vector<std::string> Ids(const json& items, const char* field) {
  std::vector<std::string> ids;
  for (const json& item : items) ids.push_back(item[field].get<std::string>());
  return ids;
}

// ---- Timeline --------------------------------------------------------------------------------

TEST_CASE("timeline lists a customer's visits, orders and contacts, most recent first") {
  QueryDb q;
  q.Customer("cust-mh", "上海明辉贸易有限公司", "A", "rep-li");
  q.Visit("v-old", "cust-mh", "rep-li", "2025-05-01T06:30:00.000Z");
  q.Visit("v-jun10", "cust-mh", "rep-li", "2025-06-10T02:00:00.000Z",
          {{"outcome", "确认Q3采购需求"}, {"satisfaction", 4}});
  q.Order("o-jun10", "cust-mh", "2025-06-10", "12345.5");
  q.Order("o-jun12", "cust-mh", "2025-06-12", "80000");
  q.Put("contacts", "k-wang", {{"customer", "cust-mh"}, {"name", "王经理"}, {"title", "采购总监"}},
        Ms("2025-06-14T08:00:00") + 123);

  json t = TimelineOf(q, "cust-mh");
  REQUIRE(t.size() == 5);
  CHECK(Ids(t, "id") ==
        std::vector<std::string>{"k-wang", "o-jun12", "v-jun10", "o-jun10", "v-old"});
  CHECK(Ids(t, "kind") == std::vector<std::string>{"contact", "order", "visit", "order", "visit"});
  // A contact is placed at its last change; a bare order date sorts after that day's visits.
  CHECK(t[0]["at"] == "2025-06-14T08:00:00.123Z");
  CHECK(t[1]["at"] == "2025-06-12");
  CHECK(t[2]["at"] == "2025-06-10T02:00:00.000Z");
  CHECK(t[0]["record"]["name"] == "王经理");
  CHECK(t[0]["record"]["id"] == "k-wang");
  CHECK(t[2]["record"]["outcome"] == "确认Q3采购需求");
  CHECK(t[3]["record"]["amount"] == "12345.5");
}

TEST_CASE("timeline leaves out deleted records and other customers' records") {
  QueryDb q;
  q.Customer("cust-mh", "上海明辉贸易有限公司", "A", "rep-li");
  q.Customer("cust-cc", "北京长城科技", "C", "rep-li");
  q.Visit("v-live", "cust-mh", "rep-li", StartDaysAgo(3));
  q.Visit("v-deleted", "cust-mh", "rep-li", StartDaysAgo(2), json::object(), /*deleted=*/true);
  q.Order("o-deleted", "cust-mh", DaysAgo(1), "500", /*deleted=*/true);
  q.Put("contacts", "k-deleted", {{"customer", "cust-mh"}, {"name", "李娜"}}, kNow, true);
  q.Visit("v-other", "cust-cc", "rep-li", StartDaysAgo(1));
  q.Order("o-other", "cust-cc", DaysAgo(1), "900");
  q.Put("contacts", "k-other", {{"customer", "cust-cc"}, {"name", "赵工"}}, kNow);

  json t = TimelineOf(q, "cust-mh");
  CHECK(Ids(t, "id") == std::vector<std::string>{"v-live"});
  CHECK(Ids(TimelineOf(q, "cust-cc"), "id") ==
        std::vector<std::string>{"k-other", "v-other", "o-other"});
}

TEST_CASE("timeline of a missing or deleted customer is NotFound, of an empty id refused") {
  QueryDb q;
  q.Customer("cust-gone", "广州已注销商行", "D", "rep-li", 1, /*deleted=*/true);
  q.Visit("v-orphan", "cust-gone", "rep-li", StartDaysAgo(1));
  CHECK(query::Timeline(q.db(), "cust-gone").status().IsNotFound());
  CHECK(query::Timeline(q.db(), "cust-none").status().IsNotFound());
  CHECK(query::Timeline(q.db(), "").status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("timeline of a customer with no history is an empty array") {
  QueryDb q;
  q.Customer("cust-new", "深圳新客户电子", "", "rep-li");
  CHECK(TimelineOf(q, "cust-new") == json::array());
}

// ---- Agenda: next actions --------------------------------------------------------------------

TEST_CASE("agenda lists next actions due today and overdue ones, the longest overdue first") {
  QueryDb q;
  q.Customer("c1", "上海明辉贸易有限公司", "A", "rep-li");
  q.Customer("c2", "北京长城科技", "C", "rep-li");
  q.Customer("c3", "杭州西湖茶业", "B", "rep-li");
  q.Customer("c4", "成都天府物流", "B", "rep-li");
  q.Customer("c5", "南京金陵制药", "A", "rep-li");
  q.Customer("c6", "武汉江城建材", "A", "rep-zhang");
  q.Visit("v1", "c1", "rep-li", StartDaysAgo(5),
          {{"next_action", "发送报价单"},
           {"next_action_due", DaysAgo(0)},
           {"next_action_owner", "rep-li"}});
  q.Visit("v2", "c2", "rep-li", StartDaysAgo(20),
          {{"next_action", "安排技术交流"},
           {"next_action_due", DaysAgo(10)},
           {"next_action_owner", "rep-li"}});
  q.Visit("v3", "c3", "rep-li", StartDaysAgo(4),
          {{"next_action", "回访试用情况"},
           {"next_action_due", DaysAgo(1)},
           {"next_action_owner", "rep-li"}});
  // Due tomorrow: not on today's agenda.
  q.Visit("v4", "c4", "rep-li", StartDaysAgo(2),
          {{"next_action", "寄样品"},
           {"next_action_due", DaysAgo(-1)},
           {"next_action_owner", "rep-li"}});
  // Written by rep-li without an owner: rep-li's own action.
  q.Visit("v5", "c5", "rep-li", StartDaysAgo(3),
          {{"next_action", "确认合同条款"}, {"next_action_due", DaysAgo(0)}});
  // Written by rep-li for rep-zhang: rep-zhang's.
  q.Visit("v6", "c6", "rep-li", StartDaysAgo(3),
          {{"next_action", "催收货款"},
           {"next_action_due", DaysAgo(2)},
           {"next_action_owner", "rep-zhang"}});

  json a = AgendaOf(q, "rep-li");
  CHECK(a["rep"] == "rep-li");
  CHECK(a["today"] == "2025-06-16");
  CHECK(Ids(a["due"], "visit") == std::vector<std::string>{"v1", "v5"});
  CHECK(Ids(a["overdue"], "visit") == std::vector<std::string>{"v2", "v3"});
  CHECK(a["due"][0]["customer"] == "c1");
  CHECK(a["due"][0]["name"] == "上海明辉贸易有限公司");
  CHECK(a["due"][0]["next_action"] == "发送报价单");
  CHECK(a["due"][0]["days_overdue"] == 0);
  CHECK(a["overdue"][0]["next_action_due"] == DaysAgo(10));
  CHECK(a["overdue"][0]["days_overdue"] == 10);
  CHECK(a["overdue"][1]["days_overdue"] == 1);

  json zhang = AgendaOf(q, "rep-zhang");
  CHECK(Ids(zhang["overdue"], "visit") == std::vector<std::string>{"v6"});
  CHECK(zhang["due"].empty());
}

TEST_CASE("agenda drops a next action superseded by a later visit to the customer") {
  QueryDb q;
  q.Customer("c1", "上海明辉贸易有限公司", "A", "rep-li");
  q.Customer("c2", "北京长城科技", "C", "rep-li");
  q.Customer("c3", "苏州园林设计院", "B", "rep-li");
  // c1: the follow-up visit has no next action, so nothing is open.
  q.Visit("v1a", "c1", "rep-li", StartDaysAgo(10),
          {{"next_action", "发送报价单"}, {"next_action_due", DaysAgo(3)}});
  q.Visit("v1b", "c1", "rep-wang", StartDaysAgo(2));
  // c2: the follow-up replaces the action; the old one is not listed as overdue.
  q.Visit("v2a", "c2", "rep-li", StartDaysAgo(10),
          {{"next_action", "安排演示"}, {"next_action_due", DaysAgo(5)}});
  q.Visit("v2b", "c2", "rep-li", StartDaysAgo(1),
          {{"next_action", "签订合同"}, {"next_action_due", DaysAgo(0)}});
  // c3: a deleted follow-up supersedes nothing.
  q.Visit("v3a", "c3", "rep-li", StartDaysAgo(10),
          {{"next_action", "回访"}, {"next_action_due", DaysAgo(4)}});
  q.Visit("v3b", "c3", "rep-li", StartDaysAgo(1), json::object(), /*deleted=*/true);

  json a = AgendaOf(q, "rep-li");
  CHECK(Ids(a["due"], "visit") == std::vector<std::string>{"v2b"});
  CHECK(Ids(a["overdue"], "visit") == std::vector<std::string>{"v3a"});
}

TEST_CASE("agenda leaves out deleted visits and visits of deleted customers") {
  QueryDb q;
  q.Customer("c1", "上海明辉贸易有限公司", "A", "rep-li");
  q.Customer("c-gone", "广州已注销商行", "B", "rep-li", 1, /*deleted=*/true);
  q.Visit("v1", "c1", "rep-li", StartDaysAgo(3),
          {{"next_action", "发送报价单"}, {"next_action_due", DaysAgo(0)}}, /*deleted=*/true);
  q.Visit("v2", "c-gone", "rep-li", StartDaysAgo(3),
          {{"next_action", "结清尾款"}, {"next_action_due", DaysAgo(1)}});
  json a = AgendaOf(q, "rep-li");
  CHECK(a["due"].empty());
  CHECK(a["overdue"].empty());
}

// ---- Agenda: not contacted -------------------------------------------------------------------

TEST_CASE("agenda lists the rep's customers not contacted within their grade's cadence") {
  QueryDb q;
  // Each grade one day inside its cadence and exactly at it: A 7, B 14, C 30, D 90.
  const struct {
    const char* grade;
    int cadence;
  } grades[] = {{"A", 7}, {"B", 14}, {"C", 30}, {"D", 90}};
  for (const auto& g : grades) {
    const std::string in = std::string("in-") + g.grade, at = std::string("at-") + g.grade;
    q.Customer(in, std::string("客户") + g.grade + "甲", g.grade, "rep-li", 400);
    q.Customer(at, std::string("客户") + g.grade + "乙", g.grade, "rep-li", 400);
    // Late in the UTC day: calendar days count, not 24-hour periods.
    q.Visit("v-" + in, in, "rep-li", StartDaysAgo(g.cadence - 1, "23:59:00.000"));
    q.Visit("v-" + at, at, "rep-li", StartDaysAgo(g.cadence, "23:59:00.000"));
  }
  // E is never due, however long ago.
  q.Customer("e", "客户E", "E", "rep-li", 2000);
  q.Visit("v-e", "e", "rep-li", StartDaysAgo(1000));
  // No grade: no cadence.
  q.Customer("no-grade", "无等级客户", "", "rep-li", 2000);
  // Visited by another rep: that counts as contact.
  q.Customer("by-wang", "上海明辉贸易有限公司", "A", "rep-li", 400);
  q.Visit("v-wang", "by-wang", "rep-wang", StartDaysAgo(2));
  // A deleted visit is no contact; the live one 8 days ago is the last.
  q.Customer("deleted-visit", "北京长城科技", "A", "rep-li", 400);
  q.Visit("v-live", "deleted-visit", "rep-li", StartDaysAgo(8));
  q.Visit("v-gone", "deleted-visit", "rep-li", StartDaysAgo(1), json::object(), true);
  // Never visited: counts from the record's last change.
  q.Customer("never-old", "天津港口物流", "C", "rep-li", 40);
  q.Customer("never-new", "重庆山城火锅", "C", "rep-li", 10);
  // Not rep-li's, or deleted.
  q.Customer("other-rep", "广州羊城贸易", "A", "rep-zhang", 400);
  q.Customer("deleted", "已删除客户", "A", "rep-li", 400, /*deleted=*/true);

  json a = AgendaOf(q, "rep-li");
  std::set<std::string> listed;
  for (const json& n : a["not_contacted"]) listed.insert(n["customer"].get<std::string>());
  CHECK(listed ==
        std::set<std::string>{"at-A", "at-B", "at-C", "at-D", "deleted-visit", "never-old"});

  // Most past its cadence first: never-old is 10 days past, deleted-visit 1, the rest 0 (by grade).
  CHECK(Ids(a["not_contacted"], "customer") ==
        std::vector<std::string>{"never-old", "deleted-visit", "at-A", "at-B", "at-C", "at-D"});
  const json& never = a["not_contacted"][0];
  CHECK(never["last_contact"].is_null());
  CHECK(never["days_since_contact"] == 40);
  CHECK(never["grade"] == "C");
  CHECK(never["cadence_days"] == 30);
  CHECK(never["name"] == "天津港口物流");
  const json& late = a["not_contacted"][1];
  CHECK(late["last_contact"] == StartDaysAgo(8));
  CHECK(late["days_since_contact"] == 8);
  CHECK(late["grade"] == "A");
}

TEST_CASE("agenda cadence is configurable and a cadence of 0 turns a grade off") {
  QueryDb q;
  q.Customer("a", "上海明辉贸易有限公司", "A", "rep-li", 400);
  q.Customer("c", "北京长城科技", "C", "rep-li", 400);
  q.Customer("e", "客户E", "E", "rep-li", 400);
  q.Visit("v-a", "a", "rep-li", StartDaysAgo(3));
  q.Visit("v-c", "c", "rep-li", StartDaysAgo(20));
  q.Visit("v-e", "e", "rep-li", StartDaysAgo(60));

  CHECK(AgendaOf(q, "rep-li")["not_contacted"].empty());

  AgendaOptions options;
  options.cadence_days[0] = 3;   // A every three days
  options.cadence_days[2] = 0;   // C never
  options.cadence_days[4] = 60;  // E every two months
  json a = AgendaOf(q, "rep-li", options);
  CHECK(Ids(a["not_contacted"], "customer") == std::vector<std::string>{"a", "e"});
  CHECK(a["not_contacted"][0]["cadence_days"] == 3);

  options.cadence_days[1] = -1;
  CHECK(query::Agenda(q.db(), "rep-li", kNow, options).status().code() ==
        StatusCode::kInvalidArgument);
}

TEST_CASE("agenda refuses an empty rep and a negative time") {
  QueryDb q;
  CHECK(query::Agenda(q.db(), "", kNow, {}).status().code() == StatusCode::kInvalidArgument);
  CHECK(query::Agenda(q.db(), "rep-li", -1, {}).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("agenda today is the UTC date of now") {
  QueryDb q;
  Result<std::string> r = query::Agenda(q.db(), "rep-li", Ms("2025-06-16T23:59:59") + 999, {});
  REQUIRE(r.ok());
  CHECK(json::parse(*r)["today"] == "2025-06-16");
  r = query::Agenda(q.db(), "rep-li", Ms("2025-06-17"), {});
  REQUIRE(r.ok());
  CHECK(json::parse(*r)["today"] == "2025-06-17");
}

// ---- Classification: ABC ---------------------------------------------------------------------

TEST_CASE("ABC classes follow the Pareto shares of the trailing 12-month order amount") {
  QueryDb q;
  q.Customer("big", "上海明辉贸易有限公司", "A", "rep-li");
  q.Customer("mid", "北京长城科技", "B", "rep-li");
  q.Customer("small", "杭州西湖茶业", "C", "rep-li");
  q.Customer("none", "成都天府物流", "C", "rep-li");
  q.Customer("old", "南京金陵制药", "B", "rep-li");
  q.Order("o1", "big", DaysAgo(10), "400");
  q.Order("o2", "big", DaysAgo(365), "300");  // the first day of the window
  q.Order("o3", "mid", DaysAgo(100), "200");
  q.Order("o4", "small", DaysAgo(5), "99.5");
  q.Order("o5", "small", DaysAgo(6), "0.5");
  q.Order("o6", "big", DaysAgo(366), "100000");  // a day too old
  q.Order("o7", "old", DaysAgo(400), "5000");
  q.Order("o8", "mid", DaysAgo(2), "100000", /*deleted=*/true);

  auto c = ClassifyAll(q);
  CHECK(c["big"]["amount_12m"] == 700.0);
  CHECK(c["big"]["orders_12m"] == 2);
  CHECK(c["big"]["abc"] == "A");
  CHECK(c["mid"]["abc"] == "B");
  CHECK(c["small"]["abc"] == "C");
  CHECK(c["none"]["abc"] == "C");
  CHECK(c["old"]["abc"] == "C");
  CHECK(c["old"]["amount_12m"] == 0.0);

  ClassificationOptions wide;
  wide.a_share = 0.9;
  wide.b_share = 1.0;
  auto w = ClassifyAll(q, wide);
  CHECK(w["big"]["abc"] == "A");
  CHECK(w["mid"]["abc"] == "A");
  CHECK(w["small"]["abc"] == "B");
  CHECK(w["none"]["abc"] == "C");
}

TEST_CASE("ABC puts the largest customer in A even when it alone exceeds the A share") {
  QueryDb q;
  q.Customer("whale", "中国石化华东分公司", "A", "rep-li");
  q.Customer("s1", "北京长城科技", "C", "rep-li");
  q.Customer("s2", "杭州西湖茶业", "C", "rep-li");
  q.Order("o1", "whale", DaysAgo(30), "950");
  q.Order("o2", "s1", DaysAgo(30), "30");
  q.Order("o3", "s2", DaysAgo(30), "20");
  auto c = ClassifyAll(q);
  CHECK(c["whale"]["abc"] == "A");
  CHECK(c["s1"]["abc"] == "C");  // 98% cumulative: past b_share
  CHECK(c["s2"]["abc"] == "C");
}

TEST_CASE("classification rejects inconsistent shares and negative days") {
  QueryDb q;
  ClassificationOptions o;
  o.a_share = 0.95;
  o.b_share = 0.9;
  CHECK(query::Classify(q.db(), kNow, o).status().code() == StatusCode::kInvalidArgument);
  o = {};
  o.b_share = 1.5;
  CHECK(query::Classify(q.db(), kNow, o).status().code() == StatusCode::kInvalidArgument);
  o = {};
  o.lost_after_days = -1;
  CHECK(query::Classify(q.db(), kNow, o).status().code() == StatusCode::kInvalidArgument);
  CHECK(query::Classify(q.db(), -5, {}).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("classification lists every live customer ordered by name") {
  QueryDb q;
  q.Customer("id-3", "上海明辉贸易有限公司", "A", "rep-li");
  q.Customer("id-1", "北京长城科技", "C", "rep-li");
  q.Customer("id-2", "Acme China", "", "rep-zhang");
  q.Customer("id-4", "已删除客户", "A", "rep-li", 1, /*deleted=*/true);
  Result<std::string> r = query::Classify(q.db(), kNow, {});
  REQUIRE(r.ok());
  json all = json::parse(*r);
  // Code point order: Latin first, then 上 (U+4E0A) before 北 (U+5317).
  CHECK(Ids(all, "customer") == std::vector<std::string>{"id-2", "id-3", "id-1"});
  CHECK(all[1]["name"] == "上海明辉贸易有限公司");
}

// ---- Classification: lifecycle ---------------------------------------------------------------

TEST_CASE("lifecycle suggestions change at the configured day boundaries") {
  QueryDb q;
  // Last visit or order this many days ago (defaults: active <= 90, silent > 90, lost > 365).
  const struct {
    const char* id;
    int days;
    bool by_order;
    const char* expected;
  } cases[] = {
      {"d0", 0, false, "active"},        {"d90", 90, false, "active"},
      {"d91", 91, false, "silent"},      {"d365", 365, true, "silent"},
      {"d366", 366, false, "lost"},      {"d90-order", 90, true, "active"},
      {"d400-order", 400, true, "lost"},
  };
  for (const auto& c : cases) {
    q.Customer(c.id, std::string("客户") + c.id, "B", "rep-li", 1000);
    if (c.by_order) {
      q.Order(std::string("o-") + c.id, c.id, DaysAgo(c.days), "1000");
    } else {
      q.Visit(std::string("v-") + c.id, c.id, "rep-li", StartDaysAgo(c.days));
    }
  }
  // The latest of visit and order counts.
  q.Customer("mixed", "客户mixed", "B", "rep-li", 1000);
  q.Order("o-mixed", "mixed", DaysAgo(200), "10");
  q.Visit("v-mixed", "mixed", "rep-li", StartDaysAgo(30));
  // A deleted visit is no activity.
  q.Customer("ghost", "客户ghost", "B", "rep-li", 1000);
  q.Visit("v-ghost", "ghost", "rep-li", StartDaysAgo(1), json::object(), /*deleted=*/true);
  q.Visit("v-ghost-old", "ghost", "rep-li", StartDaysAgo(120));
  // Never visited nor ordered: new while recently created, then silent, then lost.
  q.Customer("new90", "新客户甲", "", "rep-li", 90);
  q.Customer("new91", "新客户乙", "", "rep-li", 91);
  q.Customer("new400", "新客户丙", "", "rep-li", 400);

  auto c = ClassifyAll(q);
  for (const auto& e : cases) {
    CAPTURE(e.id);
    CHECK(c[e.id]["lifecycle"] == e.expected);
    CHECK(c[e.id]["days_since_activity"] == e.days);
  }
  CHECK(c["mixed"]["lifecycle"] == "active");
  CHECK(c["mixed"]["last_activity"] == DaysAgo(30));
  CHECK(c["ghost"]["lifecycle"] == "silent");
  CHECK(c["new90"]["lifecycle"] == "new");
  CHECK(c["new90"]["last_activity"].is_null());
  CHECK(c["new91"]["lifecycle"] == "silent");
  CHECK(c["new400"]["lifecycle"] == "lost");

  ClassificationOptions tight;
  tight.active_within_days = 30;
  tight.silent_after_days = 30;
  tight.lost_after_days = 180;
  auto t = ClassifyAll(q, tight);
  CHECK(t["mixed"]["lifecycle"] == "active");  // 30 days
  CHECK(t["d90"]["lifecycle"] == "silent");
  CHECK(t["ghost"]["lifecycle"] == "silent");  // 120 days
  CHECK(t["d365"]["lifecycle"] == "lost");
  CHECK(t["new90"]["lifecycle"] == "silent");
}

// ---- Classification: RFM ---------------------------------------------------------------------

TEST_CASE("RFM scores rank customers with orders by quintile, others score 1") {
  QueryDb q;
  // Five buyers: r1 ordered longest ago, least often, least; r5 the opposite.
  for (int i = 1; i <= 5; ++i) {
    const std::string id = "r" + std::to_string(i);
    q.Customer(id, "客户" + id, "B", "rep-li");
    for (int k = 0; k < i; ++k) {
      // The latest order of r_i is 60 - 10 * i days ago.
      q.Order(id + "-o" + std::to_string(k), id, DaysAgo(60 - 10 * i + k),
              std::to_string(1000 * i));
    }
  }
  q.Customer("never", "从未下单客户", "C", "rep-li");
  q.Customer("lapsed", "两年前客户", "C", "rep-li");
  q.Order("lapsed-o", "lapsed", DaysAgo(700), "99999");

  auto c = ClassifyAll(q);
  for (int i = 1; i <= 5; ++i) {
    const std::string id = "r" + std::to_string(i);
    CAPTURE(id);
    CHECK(c[id]["rfm"] == json{{"r", i}, {"f", i}, {"m", i}});
  }
  CHECK(c["never"]["rfm"] == json{{"r", 1}, {"f", 1}, {"m", 1}});
  CHECK(c["lapsed"]["rfm"] == json{{"r", 1}, {"f", 1}, {"m", 1}});
}

TEST_CASE("RFM gives equal values the same score and spreads ten buyers two per quintile") {
  QueryDb q;
  // Ten buyers, one order each on the same day; amounts 100..1000.
  for (int i = 1; i <= 10; ++i) {
    const std::string id = "b" + std::to_string(i);
    q.Customer(id, "客户" + std::to_string(100 + i), "C", "rep-li");
    q.Order("o" + std::to_string(i), id, DaysAgo(7), std::to_string(100 * i));
  }
  auto c = ClassifyAll(q);
  const int expected_m[] = {1, 1, 2, 2, 3, 3, 4, 4, 5, 5};
  for (int i = 1; i <= 10; ++i) {
    const std::string id = "b" + std::to_string(i);
    CAPTURE(id);
    CHECK(c[id]["rfm"]["m"] == expected_m[i - 1]);
    CHECK(c[id]["rfm"]["r"] == 1);  // all ordered on the same day: nobody stands out
    CHECK(c[id]["rfm"]["f"] == 1);
  }
}

TEST_CASE("queries report SQL errors as Internal with SQLite's message") {
  sqlite3* bare = nullptr;
  REQUIRE(sqlite3_open(":memory:", &bare) == SQLITE_OK);
  Result<std::string> r = query::Classify(bare, kNow, {});
  CHECK(r.status().code() == StatusCode::kInternal);
  CHECK(r.status().message().find("no such table: fs_records") != std::string::npos);
  CHECK(query::Timeline(bare, "c1").status().code() == StatusCode::kInternal);
  CHECK(query::Agenda(bare, "rep-li", kNow, {}).status().code() == StatusCode::kInternal);
  sqlite3_close(bare);
}

// ---- Indexes ---------------------------------------------------------------------------------

// The SQL of every statement a call runs, as prepared.
class StatementRecorder {
 public:
  explicit StatementRecorder(sqlite3* db) : db_(db) {
    sqlite3_trace_v2(db_, SQLITE_TRACE_STMT, &StatementRecorder::OnTrace, this);
  }
  ~StatementRecorder() { sqlite3_trace_v2(db_, 0, nullptr, nullptr); }
  const std::set<std::string>& sql() const { return sql_; }

 private:
  static int OnTrace(unsigned, void* self, void* stmt, void*) {
    const char* sql = sqlite3_sql(static_cast<sqlite3_stmt*>(stmt));
    if (sql != nullptr) static_cast<StatementRecorder*>(self)->sql_.insert(sql);
    return 0;
  }
  sqlite3* db_;
  std::set<std::string> sql_;
};

// The detail lines of EXPLAIN QUERY PLAN for sql.
std::vector<std::string> PlanOf(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &stmt, nullptr) ==
          SQLITE_OK);
  std::vector<std::string> lines;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    lines.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3)));
  }
  sqlite3_finalize(stmt);
  return lines;
}

// Runs `call`, then checks that none of its statements scans fs_records without an index and that
// together they use every index in `expected`.
template <typename Call>
void CheckPlans(QueryDb& q, Call call, const std::set<std::string>& expected) {
  std::set<std::string> statements;
  {
    StatementRecorder recorder(q.db());
    call();
    statements = recorder.sql();
  }
  REQUIRE(!statements.empty());
  std::set<std::string> used;
  for (const std::string& sql : statements) {
    for (const std::string& line : PlanOf(q.db(), sql)) {
      CAPTURE(sql);
      CAPTURE(line);
      // "SCAN fs_records" or "SCAN v" alone is a full table scan; "SCAN ... USING INDEX" walks
      // an index (a GROUP BY over one) and is fine.
      if (line.rfind("SCAN ", 0) == 0) CHECK(line.find("USING") != std::string::npos);
      for (const std::string& index : expected) {
        if (line.find("INDEX " + index) != std::string::npos) used.insert(index);
      }
    }
  }
  for (const std::string& index : expected) {
    CAPTURE(index);
    CHECK(used.count(index) == 1);
  }
}

TEST_CASE("index: the queries use the expression indexes instead of scanning fs_records") {
  QueryDb q;
  q.Customer("c1", "上海明辉贸易有限公司", "A", "rep-li");
  q.Visit("v1", "c1", "rep-li", StartDaysAgo(3),
          {{"next_action", "发送报价单"}, {"next_action_due", DaysAgo(0)}});
  q.Order("o1", "c1", DaysAgo(3), "100");
  q.Put("contacts", "k1", {{"customer", "c1"}, {"name", "王经理"}}, kNow);

  CheckPlans(q, [&] { CHECK(query::Timeline(q.db(), "c1").ok()); },
             {"fs_q_visits_by_customer", "fs_q_orders_by_customer", "fs_q_contacts_by_customer"});
  CheckPlans(q, [&] { CHECK(query::Agenda(q.db(), "rep-li", kNow, {}).ok()); },
             {"fs_q_next_actions", "fs_q_visits_by_customer", "fs_q_customers_by_owner"});
  CheckPlans(q, [&] { CHECK(query::Classify(q.db(), kNow, {}).ok()); },
             {"fs_q_visits_by_customer", "fs_q_orders_by_customer"});
}

TEST_CASE("index: CreateQueryIndexes is idempotent") {
  QueryDb q;
  CHECK(query::CreateQueryIndexes(q.db()).ok());
  int64_t n = -1;
  REQUIRE(q.store()
              .Execute("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name LIKE "
                       "'fs_q_%'",
                       {},
                       [&](const Row& row) {
                         n = std::get<int64_t>(row.values[0]);
                         return true;
                       })
              .ok());
  CHECK(n == 5);
}

}  // namespace
}  // namespace fieldsync
