// fieldsync-demo: a sales rep's field day, offline, on the encrypted field-sales database.
//
// Creates a fieldsync::Database (the data model of docs/schema.md on the encrypted store) in a
// fresh temporary directory, keyed by a demo passphrase that is never printed. Two reps, rep-li
// and rep-wang, record their day without a network: customers (Chinese companies and a private
// dealer, grades A to E, phones typed the way reps type them), contacts, visits with summaries
// and next actions, and orders. A bad phone number and an unknown grade are refused, naming both
// fields, and nothing is written. The database is closed, a wrong passphrase is refused, and it
// is reopened with the right one. Then it prints, as aligned tables for a sales manager:
//   - the customer list, each phone as typed and as stored (E.164);
//   - search results for a name (张伟), pinyin initials (zw), a traditional form (客戶 finds
//     客户通) and a phone fragment;
//   - rep-li's agenda: next actions due today, overdue ones, and customers not contacted within
//     their grade's cadence;
//   - one customer's timeline of visits, orders and contacts;
//   - the edits waiting to be synced (count and age of the oldest);
//   - the header facts (Store::ReadInfo, readable without the key);
//   - a search of the raw bytes of the database file and its WAL for every name, phone number
//     and visit summary: none appears in the clear.
// Finally it destroys the database and removes the directory (--keep keeps them for
// fieldsync-cli).
//
// Dates are relative to the real clock (a visit "3 days ago", a next action due "today"), and
// the agenda is asked at a fixed time of today, 12:00 Beijing time, so what lands where is the
// same whatever day it runs. The agenda's "today" is the UTC date (see core/src/query).
//
// Exits 0 on success; on any unexpected error prints `error: <code>: <message>` and exits 1.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "fieldsync/calendar.h"
#include "fieldsync/clock.h"
#include "fieldsync/database.h"
#include "fieldsync/env.h"
#include "fieldsync/key_provider.h"
#include "fieldsync/secret.h"
#include "fieldsync/status.h"
#include "fieldsync/store.h"

namespace {

using fieldsync::Database;
using fieldsync::Result;
using fieldsync::Status;
using fieldsync::Store;
using Json = nlohmann::ordered_json;

// Only for this demo; a real app asks the user or gets a key from the platform keystore.
constexpr std::string_view kDemoPassphrase = "demo: lantern-orchard-47-tide";

constexpr int64_t kMsPerDay = 86400000;
constexpr int64_t kMsPerHour = 3600000;
constexpr int kNoDue = -1000;  // a visit without a next action due date

// ---- The field day ---------------------------------------------------------------------------

struct CustomerSeed {
  const char* name;  // also how the demo refers to the customer below
  const char* kind;
  const char* company;
  const char* region;
  const char* grade;
  const char* owner_rep;
  const char* phone;  // as the rep typed it
};

const CustomerSeed kCustomers[] = {
    {"明辉贸易", "company", "上海明辉贸易有限公司", "华东", "A", "rep-li", "138 0013 8000"},
    {"华信科技", "company", "北京华信科技有限公司", "华北", "B", "rep-li", "(010) 6552 9988"},
    {"瑞丰物流", "company", "深圳市瑞丰物流有限公司", "华南", "A", "rep-li", "0755-8632 1100"},
    {"客户通", "company", "杭州客户通网络科技有限公司", "华东", "B", "rep-li", "+86 137 5566 1200"},
    {"周文斌", "person", "苏州文斌五金商行", "华东", "C", "rep-li", "136-2231-7788"},
    {"锦程建材", "company", "成都锦程建材有限公司", "西南", "E", "rep-li", "188 0280 3344"},
    {"恒达电子", "company", "广州恒达电子有限公司", "华南", "C", "rep-wang", "+86 139-1024-5678"},
    {"青禾食品", "company", "杭州青禾食品有限公司", "华东", "D", "rep-wang", "0571 8702 3456"},
};

struct ContactSeed {
  const char* customer;
  const char* name;
  const char* title;
  const char* decision_role;
  const char* phone;
  const char* email;
};

const ContactSeed kContacts[] = {
    {"明辉贸易", "张伟", "采购总监", "decision_maker", "139 1761 2233",
     "zhangwei@minghui-trade.cn"},
    {"华信科技", "王芳", "总经理", "decision_maker", "135 0101 8866", "wangfang@huaxin-tech.cn"},
    {"瑞丰物流", "刘洋", "运营经理", "influencer", "+86 186-2000-4512", "liuyang@ruifeng56.cn"},
    {"客户通", "陈静", "行政主管", "purchaser", "137 1888 0021", "chenjing@kehutong.cn"},
};

struct VisitSeed {
  const char* customer;
  const char* contact;  // nullptr: nobody in particular
  const char* rep;
  int days_ago;
  const char* time;  // Beijing time
  const char* channel;
  const char* summary;
  const char* outcome;      // nullptr: none
  const char* next_action;  // nullptr: none
  int due_in_days;          // kNoDue: no due date; 0: today; -1: yesterday
};

const VisitSeed kVisits[] = {
    {"明辉贸易", "张伟", "rep-li", 20, "15:00", "phone", "电话回访，确认下半年采购计划",
     "计划三季度扩建仓库", nullptr, kNoDue},
    {"明辉贸易", "张伟", "rep-li", 3, "10:00", "in_person", "介绍新款重型货架，张总关心交货期",
     "同意试用两组样品", "送样品并报价", 0},
    {"华信科技", "王芳", "rep-li", 9, "14:30", "meeting", "演示仓储管理方案，王总要求分期付款",
     nullptr, "提交分期付款方案", -1},
    {"瑞丰物流", "刘洋", "rep-li", 12, "09:30", "in_person", "季度回顾，货架使用正常", "暂无新需求",
     nullptr, kNoDue},
    {"客户通", "陈静", "rep-li", 2, "16:00", "video", "视频沟通办公家具需求", nullptr,
     "发送产品目录", 5},
    {"周文斌", nullptr, "rep-li", 45, "11:00", "phone", "电话问候，周老板近期不进货", nullptr,
     nullptr, kNoDue},
    {"恒达电子", nullptr, "rep-wang", 1, "10:30", "in_person", "拜访工厂，了解产线改造计划",
     nullptr, "约技术交流会", 0},
};

struct OrderSeed {
  const char* customer;
  int days_ago;
  const char* amount;
  const char* products;  // JSON
};

const OrderSeed kOrders[] = {
    {"明辉贸易", 40, "128000",
     R"([{"sku":"HS-200","name":"重型货架","quantity":40,"unit_price":"3200"}])"},
    {"瑞丰物流", 75, "45600.5",
     R"([{"sku":"LS-120","name":"轻型货架","quantity":60,"unit_price":"760"},)"
     R"({"sku":"TR-01","name":"周转箱","quantity":1,"unit_price":"0.5"}])"},
};

// ---- Output ----------------------------------------------------------------------------------

int Fail(const Status& status) {
  std::fprintf(stderr, "error: %s: %s\n", fieldsync::StatusCodeName(status.code()),
               status.message().c_str());
  return 1;
}

// Terminal columns taken by a UTF-8 string: East Asian wide characters take two.
size_t DisplayWidth(std::string_view s) {
  size_t width = 0;
  for (size_t i = 0; i < s.size();) {
    const auto lead = static_cast<unsigned char>(s[i]);
    uint32_t cp = lead;
    size_t len = 1;
    if (lead >= 0xF0) {
      cp = lead & 0x07u;
      len = 4;
    } else if (lead >= 0xE0) {
      cp = lead & 0x0Fu;
      len = 3;
    } else if (lead >= 0xC0) {
      cp = lead & 0x1Fu;
      len = 2;
    }
    for (size_t k = 1; k < len && i + k < s.size(); ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3Fu);
    }
    i += len;
    const bool wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
                      (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                      (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
                      (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x20000 && cp <= 0x3FFFD);
    width += wide ? 2 : 1;
  }
  return width;
}

std::string PadRight(std::string_view s, size_t width) {
  std::string out(s);
  for (size_t w = DisplayWidth(s); w < width; ++w) out += ' ';
  return out;
}

using Table = std::vector<std::vector<std::string>>;

// A header row, a rule and the rows, columns aligned by display width, indented by `indent`.
void PrintTable(const std::vector<std::string>& columns, const Table& rows,
                const std::string& indent = "  ") {
  std::vector<size_t> widths;
  for (const std::string& c : columns) widths.push_back(DisplayWidth(c));
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
  }
  auto print_row = [&](const std::vector<std::string>& cells) {
    std::string line = indent;
    for (size_t i = 0; i < cells.size(); ++i) {
      // The last column is not padded: no trailing spaces.
      line += i + 1 < cells.size() ? PadRight(cells[i], widths[i]) + "  " : cells[i];
    }
    std::printf("%s\n", line.c_str());
  };
  print_row(columns);
  std::vector<std::string> rule;
  for (size_t w : widths) rule.push_back(std::string(w, '-'));
  print_row(rule);
  for (const auto& row : rows) print_row(row);
}

void PrintSection(const char* number, const char* chinese, const char* english) {
  std::printf("\n%s  %s  %s\n", number, chinese, english);
}

std::string Hex(const uint8_t* p, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 0x0F];
  }
  return out;
}

// "128000" → "128,000", "45600.5" → "45,600.5" (a canonical decimal string, see docs/schema.md).
std::string GroupThousands(const std::string& amount) {
  const size_t start = !amount.empty() && amount[0] == '-' ? 1 : 0;
  const size_t point = std::min(amount.find('.'), amount.size());
  std::string out = amount.substr(0, start);
  for (size_t i = start; i < point; ++i) {
    if (i > start && (point - i) % 3 == 0) out += ',';
    out += amount[i];
  }
  return out + amount.substr(point);
}

// ---- JSON ------------------------------------------------------------------------------------

Result<Json> ParseJson(const std::string& text, const char* what) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::Internal(std::string(what) + " is not JSON: " + text);
  return j;
}

std::string Str(const Json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t Int(const Json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

std::string Joined(const Json& j, const char* key) {
  std::string out;
  const auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const Json& v : *it) {
    if (!v.is_string()) continue;
    out += (out.empty() ? "" : ", ") + v.get<std::string>();
  }
  return out;
}

// ---- Dates -----------------------------------------------------------------------------------

using fieldsync::calendar::DaysFromCivil;
using fieldsync::calendar::FloorDiv;

std::string DateOf(int64_t days) { return fieldsync::calendar::FormatDate(days); }

// Parses the digits of text[pos, pos + n); nullopt if any is not a digit.
std::optional<int64_t> Digits(std::string_view text, size_t pos, size_t n) {
  if (pos + n > text.size()) return std::nullopt;
  int64_t v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    v = v * 10 + (text[i] - '0');
  }
  return v;
}

std::optional<int64_t> DayOf(std::string_view date) {
  const auto y = Digits(date, 0, 4), m = Digits(date, 5, 2), d = Digits(date, 8, 2);
  if (!y || !m || !d) return std::nullopt;
  return DaysFromCivil(*y, *m, *d);
}

// A stored UTC datetime ("2024-03-15T01:30:00.000Z") as Beijing time ("2024-03-15 09:30"); a
// bare date is returned as it is.
std::string BeijingTime(const std::string& utc) {
  const std::optional<int64_t> day = DayOf(utc);
  const auto hh = Digits(utc, 11, 2), mm = Digits(utc, 14, 2);
  if (!day || !hh || !mm) return utc;
  const int64_t minutes = *day * 1440 + (*hh + 8) * 60 + *mm;
  const int64_t local_day = FloorDiv(minutes, 1440);
  const int64_t in_day = minutes - local_day * 1440;
  char buf[64];
  std::snprintf(buf, sizeof buf, " %02lld:%02lld", static_cast<long long>(in_day / 60),
                static_cast<long long>(in_day % 60));
  return DateOf(local_day) + buf;
}

// "今天", "昨天", "3 天前", "5 天后" for a date relative to `today`.
std::string Relative(int64_t day, int64_t today) {
  const int64_t diff = today - day;
  if (diff == 0) return "今天";
  if (diff == 1) return "昨天";
  if (diff == -1) return "明天";
  return diff > 0 ? std::to_string(diff) + " 天前" : std::to_string(-diff) + " 天后";
}

std::string DateWithRelative(const std::string& date, int64_t today) {
  const std::optional<int64_t> day = DayOf(date);
  return day ? date + "（" + Relative(*day, today) + "）" : date;
}

// ---- Labels ----------------------------------------------------------------------------------

std::string Label(std::string_view value) {
  static const std::map<std::string_view, const char*> kLabels = {
      {"in_person", "面谈"},    {"phone", "电话"},       {"email", "邮件"},
      {"meeting", "会议"},      {"video", "视频"},       {"decision_maker", "决策者"},
      {"influencer", "影响者"}, {"purchaser", "采购者"}, {"user", "使用者"},
      {"company", "企业"},      {"person", "个人"},      {"customers", "客户"},
      {"contacts", "联系人"},   {"name", "名称"},        {"phones", "电话"},
      {"emails", "邮箱"},       {"visit", "拜访"},       {"order", "订单"},
      {"contact", "联系人"},
  };
  const auto it = kLabels.find(value);
  return it != kLabels.end() ? it->second : std::string(value);
}

// The name of the field a search hit matched, in Chinese.
std::string FieldLabel(const std::string& field) {
  if (field == "company") return "公司全称";
  if (field == "email") return "邮箱";
  return Label(field);
}

// ---- The demo --------------------------------------------------------------------------------

// What the demo wrote: the ids the database gave its records, and how many there are.
struct Written {
  std::map<std::string, std::string> customer_ids;  // name → id
  std::map<std::string, std::string> contact_ids;   // name → id
  std::map<std::string, std::string> names_by_id;   // customer id → name
  int records = 0;
};

Result<std::string> IdOf(const std::map<std::string, std::string>& ids, const char* name) {
  const auto it = ids.find(name);
  if (it == ids.end()) return Status::Internal(std::string("the demo has no record ") + name);
  return it->second;
}

Status PutRecord(Database& db, const char* collection, const Json& record, std::string* id,
                 Written* w) {
  Result<std::string> put = db.Put(collection, record.dump());
  if (!put.ok()) return put.status().WithContext(collection);
  if (id != nullptr) *id = *put;
  ++w->records;
  return Status::OK();
}

Status WriteFieldDay(Database& db, int64_t today, Written* w) {
  for (const CustomerSeed& c : kCustomers) {
    const Json record = {{"kind", c.kind},     {"name", c.name},   {"company", c.company},
                         {"region", c.region}, {"grade", c.grade}, {"owner_rep", c.owner_rep},
                         {"phones", {c.phone}}};
    std::string id;
    FIELDSYNC_RETURN_IF_ERROR(PutRecord(db, "customers", record, &id, w));
    w->customer_ids[c.name] = id;
    w->names_by_id[id] = c.name;
  }
  for (const ContactSeed& c : kContacts) {
    Result<std::string> customer = IdOf(w->customer_ids, c.customer);
    if (!customer.ok()) return customer.status();
    const Json record = {{"customer", *customer}, {"name", c.name},
                         {"title", c.title},      {"decision_role", c.decision_role},
                         {"phones", {c.phone}},   {"email", c.email}};
    std::string id;
    FIELDSYNC_RETURN_IF_ERROR(PutRecord(db, "contacts", record, &id, w));
    w->contact_ids[c.name] = id;
  }
  for (const VisitSeed& v : kVisits) {
    Result<std::string> customer = IdOf(w->customer_ids, v.customer);
    if (!customer.ok()) return customer.status();
    Json record = {{"customer", *customer},
                   {"rep", v.rep},
                   {"start", DateOf(today - v.days_ago) + "T" + v.time + ":00+08:00"},
                   {"channel", v.channel},
                   {"summary", v.summary}};
    if (v.contact != nullptr) {
      Result<std::string> contact = IdOf(w->contact_ids, v.contact);
      if (!contact.ok()) return contact.status();
      record["contact"] = *contact;
    }
    if (v.outcome != nullptr) record["outcome"] = v.outcome;
    if (v.next_action != nullptr) record["next_action"] = v.next_action;
    if (v.due_in_days != kNoDue) record["next_action_due"] = DateOf(today + v.due_in_days);
    FIELDSYNC_RETURN_IF_ERROR(PutRecord(db, "visits", record, nullptr, w));
  }
  for (const OrderSeed& o : kOrders) {
    Result<std::string> customer = IdOf(w->customer_ids, o.customer);
    if (!customer.ok()) return customer.status();
    Result<Json> products = ParseJson(o.products, "an order's products");
    if (!products.ok()) return products.status();
    const Json record = {{"customer", *customer},
                         {"date", DateOf(today - o.days_ago)},
                         {"amount", o.amount},
                         {"currency", "CNY"},
                         {"products", *products}};
    FIELDSYNC_RETURN_IF_ERROR(PutRecord(db, "orders", record, nullptr, w));
  }
  return Status::OK();
}

// A rep types a mobile number with a digit missing and a grade that does not exist: the record
// is refused with both fields named, and nothing is written.
Status ShowBadInputRefused(Database& db) {
  const Json record = {{"kind", "company"},
                       {"name", "宏远机电"},
                       {"phones", {"138 0013 800"}},
                       {"grade", "A+"},
                       {"owner_rep", "rep-li"}};
  Result<fieldsync::PendingSummary> before = db.Pending();
  if (!before.ok()) return before.status();
  Result<std::string> put = db.Put("customers", record.dump());
  if (put.ok()) return Status::Internal("a customer with a bad phone and grade was written");
  const Status& s = put.status();
  if (s.code() != fieldsync::StatusCode::kInvalidArgument ||
      s.message().find("phones[0]") == std::string::npos ||
      s.message().find("grade") == std::string::npos) {
    return s;
  }
  Result<fieldsync::PendingSummary> after = db.Pending();
  if (!after.ok()) return after.status();
  if (after->count != before->count) return Status::Internal("a refused record was queued");

  std::printf("\n  错误输入被拒绝，字段逐一指出，什么都没有写入：\n");
  std::printf("    录入     %s\n", record.dump().c_str());
  // The message is "invalid customers record: <field>: <why>; <field>: <why>": one per line.
  const std::string& msg = s.message();
  const size_t colon = msg.find(": ");
  std::printf("    拒绝     %s: %s\n", fieldsync::StatusCodeName(s.code()),
              msg.substr(0, colon == std::string::npos ? msg.size() : colon + 1).c_str());
  for (size_t pos = colon == std::string::npos ? msg.size() : colon + 2; pos < msg.size();) {
    const size_t end = std::min(msg.find("; ", pos), msg.size());
    std::printf("               %s\n", msg.substr(pos, end - pos).c_str());
    pos = end + 2;
  }
  return Status::OK();
}

Status ShowWrongPassphraseIsRefused(const std::string& path) {
  const fieldsync::PassphraseKeyProvider wrong("not the demo passphrase");
  Result<std::unique_ptr<Database>> db = Database::Open(path, wrong);
  if (db.ok()) return Status::Internal("a wrong passphrase opened the database");
  if (!db.status().IsWrongKey()) return db.status();
  std::printf("  用错误口令打开：被拒绝（%s）\n", fieldsync::StatusCodeName(db.status().code()));
  return Status::OK();
}

Status ShowCustomers(Database& db, const Written& w) {
  std::vector<std::pair<std::string, std::vector<std::string>>> rows;  // (sort key, cells)
  for (const CustomerSeed& c : kCustomers) {
    Result<std::string> id = IdOf(w.customer_ids, c.name);
    if (!id.ok()) return id.status();
    Result<std::string> text = db.Get("customers", *id);
    if (!text.ok()) return text.status();
    Result<Json> r = ParseJson(*text, "a customer");
    if (!r.ok()) return r.status();
    rows.push_back({Str(*r, "grade"),
                    {Str(*r, "grade"), Str(*r, "name"), Label(Str(*r, "kind")), Str(*r, "company"),
                     Str(*r, "region"), Str(*r, "owner_rep"), c.phone, Joined(*r, "phones")}});
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  Table table;
  for (auto& row : rows) table.push_back(std::move(row.second));
  PrintTable(
      {"等级", "客户", "类型", "公司全称", "区域", "负责人", "电话（录入）", "电话（E.164）"},
      table);
  return Status::OK();
}

Status ShowSearch(Database& db, const Written& w, const char* query, const char* what) {
  Result<std::vector<fieldsync::SearchHit>> hits = db.Search(query);
  if (!hits.ok()) return hits.status();
  std::printf("\n  搜索“%s”（%s）：%zu 条结果\n", query, what, hits->size());
  if (hits->empty()) return Status::Internal(std::string("no hit for ") + query);
  Table table;
  for (const fieldsync::SearchHit& h : *hits) {
    Result<Json> r = ParseJson(h.record_json, "a search hit");
    if (!r.ok()) return r.status();
    std::string customer;
    if (h.collection == "contacts") {
      const auto it = w.names_by_id.find(Str(*r, "customer"));
      customer = it != w.names_by_id.end() ? it->second : Str(*r, "customer");
    } else {
      customer = Str(*r, "company");
    }
    const std::string title = Str(*r, "title");
    table.push_back({Label(h.collection), Str(*r, "name") + (title.empty() ? "" : "，" + title),
                     customer, FieldLabel(h.field), Joined(*r, "phones")});
  }
  PrintTable({"类别", "名称", "所属客户 / 公司", "匹配字段", "电话"}, table, "    ");
  return Status::OK();
}

Status ShowAgenda(Database& db, const char* rep, int64_t now_ms, int64_t today) {
  Result<std::string> text = db.Agenda(rep, now_ms);
  if (!text.ok()) return text.status();
  Result<Json> agenda = ParseJson(*text, "the agenda");
  if (!agenda.ok()) return agenda.status();
  std::printf("  %s，今天 %s（UTC 日期），按北京时间中午 12:00 查询\n", rep,
              Str(*agenda, "today").c_str());

  auto actions = [&](const char* key, const char* title, bool overdue) {
    const Json& list = (*agenda)[key];
    std::printf("\n  %s：%zu 项\n", title, list.size());
    if (list.empty()) return;
    Table table;
    for (const Json& a : list) {
      std::vector<std::string> row = {Str(a, "name"), Str(a, "grade"), Str(a, "next_action"),
                                      DateWithRelative(Str(a, "next_action_due"), today)};
      if (overdue) row.push_back(std::to_string(Int(a, "days_overdue")) + " 天");
      table.push_back(std::move(row));
    }
    std::vector<std::string> columns = {"客户", "等级", "下一步", "截止日期"};
    if (overdue) columns.push_back("逾期");
    PrintTable(columns, table, "    ");
  };
  actions("due", "今天到期 due today", false);
  actions("overdue", "已逾期 overdue", true);

  const Json& neglected = (*agenda)["not_contacted"];
  std::printf("\n  超过等级拜访周期未联系 not contacted within cadence：%zu 个客户\n",
              neglected.size());
  if (!neglected.empty()) {
    Table table;
    for (const Json& n : neglected) {
      const std::string last = Str(n, "last_contact");
      table.push_back(
          {Str(n, "name"), Str(n, "grade"), "每 " + std::to_string(Int(n, "cadence_days")) + " 天",
           last.empty() ? "从未" : DateWithRelative(BeijingTime(last).substr(0, 10), today),
           std::to_string(Int(n, "days_since_contact")) + " 天"});
    }
    PrintTable({"客户", "等级", "拜访周期", "上次联系", "已隔"}, table, "    ");
  }
  const size_t total = (*agenda)["due"].size() + (*agenda)["overdue"].size() + neglected.size();
  if (total == 0) return Status::Internal("rep-li's agenda is empty");
  return Status::OK();
}

// The lines a timeline entry shows: what happened, then the visit's outcome and next action.
std::vector<std::string> TimelineLines(const std::string& kind, const Json& r, int64_t today) {
  if (kind == "visit") {
    std::vector<std::string> lines = {Label(Str(r, "channel")) + "，" + Str(r, "rep") + "：" +
                                      Str(r, "summary")};
    if (!Str(r, "outcome").empty()) lines.push_back("结果：" + Str(r, "outcome"));
    if (!Str(r, "next_action").empty()) {
      std::string next = "下一步：" + Str(r, "next_action");
      if (!Str(r, "next_action_due").empty()) {
        next += "，截止 " + DateWithRelative(Str(r, "next_action_due"), today);
      }
      lines.push_back(next);
    }
    return lines;
  }
  if (kind == "order") {
    std::string text = GroupThousands(Str(r, "amount")) + " " + Str(r, "currency") + "：";
    const auto products = r.find("products");
    if (products != r.end() && products->is_array()) {
      bool first = true;
      for (const Json& p : *products) {
        text += (first ? "" : "、") + Str(p, "name") + " × " + std::to_string(Int(p, "quantity"));
        first = false;
      }
    }
    return {text};
  }
  return {Str(r, "name") + "，" + Str(r, "title") + "，" + Label(Str(r, "decision_role")) + "，" +
          Joined(r, "phones")};
}

Status ShowTimeline(Database& db, const Written& w, const char* name, int64_t today) {
  Result<std::string> id = IdOf(w.customer_ids, name);
  if (!id.ok()) return id.status();
  Result<std::string> text = db.Timeline(*id);
  if (!text.ok()) return text.status();
  Result<Json> timeline = ParseJson(*text, "the timeline");
  if (!timeline.ok()) return timeline.status();
  if (timeline->empty()) return Status::Internal(std::string("empty timeline for ") + name);
  std::printf("  %s，最近的在前：%zu 条\n", name, timeline->size());
  Table table;
  for (const Json& e : *timeline) {
    const std::string at = Str(e, "at");
    const std::optional<int64_t> day = DayOf(at);
    const std::string kind = Str(e, "kind");
    const std::vector<std::string> lines = TimelineLines(kind, e["record"], today);
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i == 0) {
        table.push_back({kind == "order" ? at : BeijingTime(at), day ? Relative(*day, today) : "",
                         Label(kind), lines[i]});
      } else {
        table.push_back({"", "", "", lines[i]});
      }
    }
  }
  PrintTable({"时间（北京）", "距今", "类型", "内容"}, table);
  return Status::OK();
}

Status ShowPending(std::unique_ptr<Database>& db) {
  Result<fieldsync::PendingSummary> pending = db->Pending();
  if (!pending.ok()) return pending.status();
  if (pending->count == 0) return Status::Internal("no edit is waiting to be synced");
  std::printf("  %lld 个修改在本机排队等待同步，最早的一个已等待 %lld 秒。\n",
              static_cast<long long>(pending->count),
              static_cast<long long>(pending->oldest_age_s));
  // Clearing the database would lose them: it is refused unless forced.
  Status cleared = Database::Clear(db, /*force=*/false);
  if (cleared.ok()) return Status::Internal("the database was cleared with edits pending");
  if (cleared.code() != fieldsync::StatusCode::kFailedPrecondition || !db) return cleared;
  std::printf("  同步之前清除数据库被拒绝（Database::Clear）：%s: %s\n",
              fieldsync::StatusCodeName(cleared.code()), cleared.message().c_str());
  return Status::OK();
}

Status ShowInfo(const std::string& path) {
  Result<fieldsync::StoreInfo> info = Store::ReadInfo(path);
  if (!info.ok()) return info.status();
  const fieldsync::StoreInfo& i = *info;
  std::printf("  格式版本  format version  %d\n", i.format_version);
  std::printf("  加密算法  cipher          %s\n", i.cipher.c_str());
  std::printf("  页大小    page size       %d 字节（每页保留 %d 字节）\n", i.page_size,
              i.reserve_bytes);
  std::printf("  页数      page count      %llu\n", static_cast<unsigned long long>(i.page_count));
  std::printf("  密钥派生  key derivation  %s", fieldsync::KekKindName(i.kek.kind));
  if (i.kek.kind == fieldsync::KekKind::kPassphraseScrypt) {
    std::printf("（N=%llu, r=%u, p=%u）", static_cast<unsigned long long>(i.kek.scrypt_n),
                i.kek.scrypt_r, i.kek.scrypt_p);
  }
  std::printf("\n  密钥代数  key generation  %llu\n",
              static_cast<unsigned long long>(i.key_generation));
  return Status::OK();
}

// "+86 139-1024-5678" → {"+8613910245678", "13910245678"}; "(010) 6552 9988" →
// {"+861065529988", "01065529988"}: a Chinese number as a rep typed it, as stored (E.164) and
// as its national digits.
std::vector<std::string> PhoneForms(std::string_view typed) {
  std::string digits;
  for (char ch : typed) {
    if (ch >= '0' && ch <= '9') digits += ch;
  }
  std::string national = !typed.empty() && typed[0] == '+' ? digits.substr(2) : digits;
  if (!national.empty() && national[0] == '0') national.erase(0, 1);
  const bool mobile = national.size() == 11 && national[0] == '1';
  return {"+86" + national, (mobile ? "" : "0") + national};
}

// What must never appear in the clear on disk: every name, company, email, phone number and
// visit summary the demo wrote, and pinyin the search index derives from names.
std::vector<std::string> SecretsOnDisk() {
  std::vector<std::string> needles;
  auto add_phone = [&](const char* typed) {
    for (std::string& form : PhoneForms(typed)) needles.push_back(std::move(form));
  };
  for (const CustomerSeed& c : kCustomers) {
    needles.push_back(c.name);
    needles.push_back(c.company);
    add_phone(c.phone);
  }
  for (const ContactSeed& c : kContacts) {
    needles.push_back(c.name);
    needles.push_back(c.email);
    add_phone(c.phone);
  }
  for (const VisitSeed& v : kVisits) needles.push_back(v.summary);
  for (const char* pinyin : {"zhangwei", "wangfang", "minghuimaoyi", "kehutong"}) {
    needles.push_back(pinyin);
  }
  return needles;
}

// Reads the database's files byte by byte and looks for every string of SecretsOnDisk() in
// them; adds a row per file to `table`. Internal if any is found.
Status CheckNoPlaintext(const std::string& path, const char* moment, Table* table) {
  const std::vector<std::string> needles = SecretsOnDisk();
  fieldsync::Env* env = fieldsync::Env::Default();
  for (const std::string& file : {path, path + "-wal", path + "-journal"}) {
    if (!env->FileExists(file)) continue;
    Result<std::string> bytes = env->ReadFile(file);
    if (!bytes.ok()) return bytes.status();
    for (const std::string& needle : needles) {
      if (bytes->find(needle) != std::string::npos) {
        return Status::Internal("found in plaintext in " + file + ": " + needle);
      }
    }
    table->push_back({moment, std::filesystem::path(file).filename().string(),
                      std::to_string(bytes->size()) + " 字节", "0 处"});
  }
  return Status::OK();
}

// A new, empty, uniquely named directory under the system temporary directory.
Result<std::string> MakeTempDir() {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path base = fs::temp_directory_path(ec);
  if (ec) return Status::IOError("no temporary directory: " + ec.message());
  for (int attempt = 0; attempt < 16; ++attempt) {
    uint8_t suffix[6];
    Status s = fieldsync::SecureRandom(suffix, sizeof suffix);
    if (!s.ok()) return s;
    const fs::path dir = base / ("fieldsync-demo-" + Hex(suffix, sizeof suffix));
    if (fs::create_directory(dir, ec)) return dir.string();
    if (ec) return Status::IOError("cannot create " + dir.string() + ": " + ec.message());
  }
  return Status::IOError("cannot find a free temporary directory name under " + base.string());
}

Status RunDemo(const std::string& path, int64_t today, int64_t now_ms, Written* w) {
  const fieldsync::PassphraseKeyProvider key(kDemoPassphrase);
  Table raw_bytes;  // the raw-bytes check, made once before closing and once at the end

  PrintSection("1", "外出拜访，离线录入", "writing offline");
  {
    Result<std::unique_ptr<Database>> db = Database::Create(path, key);
    if (!db.ok()) return db.status();
    FIELDSYNC_RETURN_IF_ERROR(WriteFieldDay(**db, today, w));
    std::printf(
        "  rep-li 和 rep-wang 录入 %zu 个客户、%zu 个联系人、%zu 次拜访、%zu 个订单（共 %d 条）。\n"
        "  每条先校验、规范化（电话转为 E.164），再和它的待同步记录在同一事务里写入。\n",
        std::size(kCustomers), std::size(kContacts), std::size(kVisits), std::size(kOrders),
        w->records);
    FIELDSYNC_RETURN_IF_ERROR(ShowBadInputRefused(**db));
    FIELDSYNC_RETURN_IF_ERROR(CheckNoPlaintext(path, "写入后、关闭前", &raw_bytes));
  }
  std::printf("\n  关闭数据库。\n");
  FIELDSYNC_RETURN_IF_ERROR(ShowWrongPassphraseIsRefused(path));

  Result<std::unique_ptr<Database>> opened = Database::Open(path, key);
  if (!opened.ok()) return opened.status();
  Database& db = **opened;
  std::printf("  用正确口令重新打开：以下内容都从加密文件读回。\n");

  PrintSection("2", "客户列表", "customers, best grade first");
  FIELDSYNC_RETURN_IF_ERROR(ShowCustomers(db, *w));

  PrintSection("3", "搜索", "search: names, pinyin, traditional characters, phone fragments");
  FIELDSYNC_RETURN_IF_ERROR(ShowSearch(db, *w, "张伟", "姓名"));
  FIELDSYNC_RETURN_IF_ERROR(ShowSearch(db, *w, "zw", "拼音首字母"));
  FIELDSYNC_RETURN_IF_ERROR(ShowSearch(db, *w, "客戶", "繁体字"));
  FIELDSYNC_RETURN_IF_ERROR(ShowSearch(db, *w, "6552 9988", "电话片段"));

  PrintSection("4", "今日待办", "rep-li's agenda");
  FIELDSYNC_RETURN_IF_ERROR(ShowAgenda(db, "rep-li", now_ms, today));

  PrintSection("5", "客户时间线", "a customer's timeline");
  FIELDSYNC_RETURN_IF_ERROR(ShowTimeline(db, *w, "明辉贸易", today));

  PrintSection("6", "待同步", "edits waiting for sync");
  FIELDSYNC_RETURN_IF_ERROR(ShowPending(*opened));

  PrintSection("7", "文件头", "header facts, Store::ReadInfo, readable without the key");
  FIELDSYNC_RETURN_IF_ERROR(ShowInfo(path));

  PrintSection("8", "磁盘上的原始字节", "raw bytes on disk");
  FIELDSYNC_RETURN_IF_ERROR(CheckNoPlaintext(path, "重新打开后", &raw_bytes));
  std::printf(
      "  逐字节查找 %zu 个字符串：客户名称、公司全称、联系人、邮箱、电话（E.164 和国内写法）、\n"
      "  拜访摘要、姓名拼音，例如“%s”“%s”“%s”。\n",
      SecretsOnDisk().size(), kCustomers[0].company, kContacts[0].name, kVisits[1].summary);
  PrintTable({"时间点", "文件", "大小", "明文出现"}, raw_bytes);
  return Status::OK();
}

int Run(bool keep) {
  Result<std::string> dir = MakeTempDir();
  if (!dir.ok()) return Fail(dir.status());
  const std::string path = *dir + "/field_day.db";

  // Today (UTC) from the real clock; the agenda is asked at 12:00 Beijing time (04:00 UTC).
  const int64_t real_now_ms = fieldsync::Clock::System()->WallMicros() / 1000;
  const int64_t today = FloorDiv(real_now_ms, kMsPerDay);
  const int64_t now_ms = today * kMsPerDay + 4 * kMsPerHour;

  std::printf("fieldsync 演示：销售代表离线的一天  (a rep's field day, offline)\n");
  std::printf("  数据库  %s（口令加密，口令不显示）\n", path.c_str());
  std::printf("  今天    %s；拜访、订单和待办日期都相对今天生成\n", DateOf(today).c_str());

  Written written;
  Status s = RunDemo(path, today, now_ms, &written);

  if (s.ok()) PrintSection("9", "销毁", "destroy");
  if (keep) {
    std::printf("  保留 %s（--keep）；演示口令见 demo/field_day.cc。\n", path.c_str());
  } else {
    Status destroyed = Store::Destroy(path);
    std::error_code ec;
    std::filesystem::remove_all(*dir, ec);
    if (s.ok()) s = destroyed;
    if (s.ok()) std::printf("  销毁密钥材料并删除数据库，删除目录 %s。\n", dir->c_str());
  }
  return s.ok() ? 0 : Fail(s);
}

}  // namespace

int main(int argc, char** argv) {
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--keep") {
      keep = true;
    } else {
      std::fprintf(stderr, "error: invalid_argument: unknown argument '%s' (usage: %s [--keep])\n",
                   argv[i], argv[0]);
      return 2;
    }
  }
  return Run(keep);
}
