// fieldsync-demo: a sales team's field day, end to end: three tablets working offline and syncing
// through a fieldsync server, on the embedded default (SQLite), with no external service.
//
// What it runs, in a fresh temporary directory:
//   - a fieldsync server in this process (the server library's HttpServer on 127.0.0.1, a free
//     port chosen by the OS) over a SQLite store; the admin functions create the tenant, the
//     team 华东一组 with manager 陈敏 and reps 李娜 and 王磊, and share the key account 明辉贸易
//     (owned by 李娜) with the team;
//   - three tablets, each its own passphrase-encrypted Database file with its own fixed clock
//     (ManualClock): the day is yesterday (Beijing date) at fixed hours, and the server reads
//     the story's clock too, so what wins and what lands on which agenda is the same on every
//     run;
//   - history from earlier weeks, a morning sync, then a day offline: new customers (Chinese
//     names, phones as typed), visits with next actions, a refused bad input, and both reps
//     editing the SAME customer's phone (last writer wins) and notes (kept as a conflict);
//   - an evening sync of every tablet with sync::Replicator over libcurl.
// What it prints, for a sales manager (Chinese, with English headings): the converged customer
// card, the notes conflict (both values, authors, times), each rep's agenda, the manager's list
// of the day's visits, search by Chinese and pinyin within each person's scope, and a check that
// no name or phone is in the clear in the tablets' files. Every expectation is checked; the
// demo ends with the list of checks.
//
// Exits 0 when every check passes; 1 if any fails or an operation returns an error
// (`error: <code>: <message>`); 2 on a bad argument. --keep keeps the directory. Passwords and
// passphrases are demo constants, never printed.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "admin.h"
#include "backend.h"
#include "console_table.h"
#include "fieldsync/calendar.h"
#include "fieldsync/clock.h"
#include "fieldsync/database.h"
#include "fieldsync/env.h"
#include "fieldsync/http_client.h"
#include "fieldsync/key_provider.h"
#include "fieldsync/secret.h"
#include "fieldsync/status.h"
#include "fieldsync/store.h"
#include "fieldsync/sync/merge.h"
#include "fieldsync/sync/replicator.h"
#include "http_server.h"
#include "sync_service.h"

namespace {

using fieldsync::Database;
using fieldsync::Result;
using fieldsync::Status;
using fieldsync::demo::PrintSection;
using fieldsync::demo::PrintTable;
using fieldsync::demo::Table;
using Json = nlohmann::ordered_json;

constexpr int64_t kMsPerMinute = 60000;
constexpr int64_t kMsPerHour = 60 * kMsPerMinute;
constexpr int64_t kMsPerDay = 24 * kMsPerHour;
constexpr int64_t kBeijingOffsetMs = 8 * kMsPerHour;

// Only for this demo; a real server gets passwords from its admins, a real tablet its key from
// the platform keystore.
constexpr std::string_view kDemoPassword = "demo: 华东-lantern-orchard-47";
constexpr std::string_view kDemoPassphrase = "demo: tablet-tide-93-";

constexpr char kTenant[] = "huadong";
constexpr char kTeam[] = "east1";
constexpr char kSharedCustomer[] = "C-0001";  // 明辉贸易: 李娜's key account, shared with the team

struct Person {
  const char* user;  // the login name; also owner_rep and a visit's rep
  const char* name;
  const char* role;
};

const Person kManager{"chen.min", "陈敏", "manager"};
const Person kLi{"li.na", "李娜", "rep"};
const Person kWang{"wang.lei", "王磊", "rep"};

int Fail(const Status& status) {
  std::fprintf(stderr, "error: %s: %s\n", fieldsync::StatusCodeName(status.code()),
               status.message().c_str());
  return 1;
}

// ---- Time: the field day is yesterday's Beijing date, at fixed hours --------------------------

using fieldsync::calendar::FloorDiv;

struct FieldDay {
  int64_t day = 0;  // days since 1970-01-01 of the Beijing date

  // Milliseconds since the epoch of `hh:mm` Beijing time, `offset` days from the field day.
  int64_t At(int64_t offset, int hh, int mm) const {
    return (day + offset) * kMsPerDay + (hh * 60 + mm) * kMsPerMinute - kBeijingOffsetMs;
  }
  std::string Date(int64_t offset = 0) const {
    return fieldsync::calendar::FormatDate(day + offset);
  }
};

// "2026-11-22T09:30:00+08:00": how a tablet writes a local time.
std::string BeijingIso(int64_t ms) {
  const int64_t local = ms + kBeijingOffsetMs;
  const int64_t day = FloorDiv(local, kMsPerDay);
  const int64_t minutes = (local - day * kMsPerDay) / kMsPerMinute;
  char buf[32];
  std::snprintf(buf, sizeof buf, "T%02d:%02d:00+08:00", static_cast<int>(minutes / 60),
                static_cast<int>(minutes % 60));
  return fieldsync::calendar::FormatDate(day) + buf;
}

// "09:30" or "11-05 09:30" (Beijing) for a time on or off the field day.
std::string BeijingShort(int64_t ms, const FieldDay& field_day) {
  const int64_t local = ms + kBeijingOffsetMs;
  const int64_t day = FloorDiv(local, kMsPerDay);
  const int64_t minutes = (local - day * kMsPerDay) / kMsPerMinute;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d:%02d", static_cast<int>(minutes / 60),
                static_cast<int>(minutes % 60));
  if (day == field_day.day) return buf;
  return fieldsync::calendar::FormatDate(day).substr(5) + " " + buf;
}

// A stored UTC datetime ("2026-11-22T01:30:00.000Z") as milliseconds; nullopt if not one.
std::optional<int64_t> ParseUtc(std::string_view text) {
  auto digits = [&](size_t pos, size_t n) -> std::optional<int64_t> {
    if (pos + n > text.size()) return std::nullopt;
    int64_t v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      v = v * 10 + (text[i] - '0');
    }
    return v;
  };
  const auto y = digits(0, 4), mo = digits(5, 2), d = digits(8, 2), h = digits(11, 2),
             mi = digits(14, 2);
  if (!y || !mo || !d || !h || !mi) return std::nullopt;
  return fieldsync::calendar::DaysFromCivil(*y, static_cast<int>(*mo), static_cast<int>(*d)) *
             kMsPerDay +
         *h * kMsPerHour + *mi * kMsPerMinute;
}

// ---- JSON ------------------------------------------------------------------------------------

Result<Json> ParseJson(const std::string& text, const char* what) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::Internal(std::string(what) + " is not JSON");
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

std::string Text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string out;
    for (const auto& e : v) out += (out.empty() ? "" : ", ") + Text(e);
    return out;
  }
  return v.dump();
}

std::string Label(std::string_view value) {
  static const std::map<std::string_view, const char*> kLabels = {
      {"in_person", "面谈"}, {"phone", "电话"},       {"email", "邮件"},  {"meeting", "会议"},
      {"video", "视频"},     {"company", "企业"},     {"person", "个人"}, {"rep", "销售代表"},
      {"manager", "经理"},   {"kind", "类型"},        {"name", "名称"},   {"region", "区域"},
      {"grade", "等级"},     {"owner_rep", "负责人"}, {"phones", "电话"}, {"notes", "备注"},
  };
  const auto it = kLabels.find(value);
  return it != kLabels.end() ? it->second : std::string(value);
}

// ---- Checks: every expectation of the story, printed at the end -----------------------------

class Checks {
 public:
  // Records `what` as passed or failed; returns `ok`.
  bool Expect(bool ok, std::string what) {
    items_.emplace_back(ok, std::move(what));
    if (!ok) std::printf("  ✗ 检查失败 CHECK FAILED: %s\n", items_.back().second.c_str());
    return ok;
  }
  size_t count() const { return items_.size(); }
  bool all_passed() const {
    return std::all_of(items_.begin(), items_.end(), [](const auto& i) { return i.first; });
  }
  void Print() const {
    Table rows;
    for (const auto& [ok, what] : items_) rows.push_back({ok ? "通过 ok" : "失败 FAILED", what});
    PrintTable({"结果", "检查 expectation"}, rows);
  }

 private:
  std::vector<std::pair<bool, std::string>> items_;
};

// ---- The server and the tablets --------------------------------------------------------------

// The fieldsync server, in this process: the same library fieldsync-server runs, so no second
// process to start, find a port for, or clean up after a failure; requests still go over real
// HTTP on 127.0.0.1.
// The story's "now": the time of the tablet that acted last, which the server reads as its clock.
std::atomic<int64_t> g_story_now_ms{0};

struct Server {
  std::unique_ptr<fieldsync::server::Backend> backend;
  std::unique_ptr<fieldsync::server::SyncService> service;
  std::unique_ptr<fieldsync::server::HttpServer> http;
  std::string url;

  ~Server() {
    if (http) http->Stop();
  }
};

Status StartServer(const std::string& dir, Server* server) {
  namespace srv = fieldsync::server;
  Result<std::unique_ptr<srv::Backend>> backend = srv::OpenBackend("sqlite:" + dir + "/server.db");
  if (!backend.ok()) return backend.status();
  server->backend = std::move(*backend);
  srv::Backend* b = server->backend.get();
  FIELDSYNC_RETURN_IF_ERROR(srv::AdminCreateTenant(b, kTenant, "华东办公家具有限公司"));
  FIELDSYNC_RETURN_IF_ERROR(srv::AdminAddTeam(b, kTenant, kTeam, "华东一组"));
  for (const Person* p : {&kManager, &kLi, &kWang}) {
    FIELDSYNC_RETURN_IF_ERROR(srv::AdminAddUser(b, kTenant, p->user, p->role, {kTeam},
                                                std::string(kDemoPassword) + p->user));
  }
  // Shared before it is first pushed: a feed entry keeps the scope its record had when it was
  // written, so only what is written after the share reaches the team.
  FIELDSYNC_RETURN_IF_ERROR(srv::AdminShareCustomer(b, kTenant, kSharedCustomer, kTeam));
  // The server lives in the story's time too: it reads the clock of the tablet that acted last
  // (g_story_now_ms), so each replicator measures a skew of about zero and the HLC of every edit
  // is the hour the story gives it.
  srv::ServiceOptions options;
  options.now_ms = [] { return g_story_now_ms.load(); };
  server->service =
      std::make_unique<srv::SyncService>(b, fieldsync::Schema::FieldSales(), std::move(options));
  server->http = std::make_unique<srv::HttpServer>(server->service.get());
  Result<int> port = server->http->Start("127.0.0.1", 0);
  if (!port.ok()) return port.status();
  server->url = "http://127.0.0.1:" + std::to_string(*port);
  return Status::OK();
}

// One person's tablet: an encrypted Database on its own clock, and its replicator. The clock
// is set before each action, so the HLC of every edit (and so what wins) is fixed.
struct Tablet {
  const Person* person = nullptr;
  std::string label;  // "李娜的平板"
  std::string path;
  fieldsync::ManualClock clock;
  std::unique_ptr<Database> db;
  std::unique_ptr<fieldsync::HttpClient> http;
  std::unique_ptr<fieldsync::sync::Replicator> repl;

  int64_t now_ms = 0;  // what `clock` reads, in milliseconds

  void SetTime(int64_t ms) {
    now_ms = ms;
    clock.SetWallMicros(ms * 1000);
    g_story_now_ms = ms;
  }
};

Result<std::unique_ptr<Tablet>> NewTablet(const std::string& dir, const Person& person,
                                          const std::string& url, int64_t start_ms) {
  auto t = std::make_unique<Tablet>();
  t->person = &person;
  t->label = std::string(person.name) + "的平板";
  t->path = dir + "/" + person.user + ".db";
  t->SetTime(start_ms);
  fieldsync::DatabaseOptions options;
  options.clock = &t->clock;
  const fieldsync::PassphraseKeyProvider key(std::string(kDemoPassphrase) + person.user);
  Result<std::unique_ptr<Database>> db = Database::Create(t->path, key, options);
  if (!db.ok()) return db.status().WithContext(t->label);
  t->db = std::move(*db);
  t->http = fieldsync::NewCurlHttpClient({});
  fieldsync::sync::ReplicatorOptions repl;
  repl.server_url = url;
  repl.user = person.user;
  repl.password = std::string(kDemoPassword) + person.user;
  repl.device_name = t->label;
  repl.device_platform = "android 14";
  t->repl = std::make_unique<fieldsync::sync::Replicator>(t->db.get(), t->http.get(), repl);
  return t;
}

// ---- Writing: what the tablets record, logged for the "offline day" table --------------------

struct Story {
  FieldDay day;
  std::map<std::string, std::string> names;  // customer and contact id → name
  Table day_log;                             // 时间, 谁, 做了什么
  Table sync_log;

  void Log(const Tablet& t, const std::string& what) {
    day_log.push_back({BeijingShort(t.now_ms, day), t.person->name, what});
  }
  std::string NameOf(const std::string& id) const {
    const auto it = names.find(id);
    return it != names.end() ? it->second : id;
  }
};

Result<std::string> AddCustomer(Tablet& t, Story& story, Json record, bool log = true) {
  record["owner_rep"] = t.person->user;
  Result<std::string> id = t.db->Put("customers", record.dump());
  if (!id.ok()) return id.status().WithContext("customer " + Str(record, "name"));
  story.names[*id] = Str(record, "name");
  if (log) {
    story.Log(t, "新客户 " + Str(record, "name") + "（" + Str(record, "grade") + " 级，电话 " +
                     Text(record["phones"]) + "）");
  }
  return id;
}

Result<std::string> AddContact(Tablet& t, Story& story, const std::string& customer, Json record) {
  record["customer"] = customer;
  Result<std::string> id = t.db->Put("contacts", record.dump());
  if (!id.ok()) return id.status().WithContext("contact " + Str(record, "name"));
  story.names[*id] = Str(record, "name");
  return id;
}

struct VisitSeed {
  const char* channel;
  const char* summary;
  const char* outcome;      // nullptr: none
  const char* next_action;  // nullptr: none
  int due_in_days;          // from the field day
};

Status AddVisit(Tablet& t, Story& story, const std::string& customer, const std::string& contact,
                const VisitSeed& v, bool log = true) {
  Json record = {{"customer", customer},
                 {"rep", t.person->user},
                 {"start", BeijingIso(t.now_ms)},
                 {"channel", v.channel},
                 {"summary", v.summary}};
  if (!contact.empty()) record["contact"] = contact;
  if (v.outcome != nullptr) record["outcome"] = v.outcome;
  if (v.next_action != nullptr) {
    record["next_action"] = v.next_action;
    record["next_action_due"] = story.day.Date(v.due_in_days);
  }
  Result<std::string> id = t.db->Put("visits", record.dump());
  if (!id.ok()) return id.status().WithContext("visit");
  if (log) {
    std::string what =
        "拜访 " + story.NameOf(customer) + "（" + Label(v.channel) + "）：" + v.summary;
    if (v.next_action != nullptr) what += std::string("；下一步：") + v.next_action;
    story.Log(t, what);
  }
  return Status::OK();
}

Status EditCustomer(Tablet& t, Story& story, const std::string& id, const Json& patch) {
  FIELDSYNC_RETURN_IF_ERROR(t.db->Update("customers", id, patch.dump()).WithContext(t.label));
  std::string what = "修改 " + story.NameOf(id) + "：";
  bool first = true;
  for (const auto& [field, value] : patch.items()) {
    what += (first ? "" : "，") + Label(field) + " → " + Text(value);
    first = false;
  }
  story.Log(t, what);
  return Status::OK();
}

// Earlier weeks: the customers each rep already had before the field day.
Status WriteHistory(Tablet& li, Tablet& wang, Story& story) {
  const FieldDay& d = story.day;
  li.SetTime(d.At(-60, 10, 0));
  Result<std::string> minghui = AddCustomer(li, story,
                                            {{"id", kSharedCustomer},
                                             {"kind", "company"},
                                             {"name", "明辉贸易"},
                                             {"company", "上海明辉贸易有限公司"},
                                             {"region", "华东"},
                                             {"grade", "A"},
                                             {"phones", {"021 6288 1000"}},
                                             {"notes", "老客户，每季度采购货架"}},
                                            false);
  if (!minghui.ok()) return minghui.status();
  Result<std::string> huaxin = AddCustomer(li, story,
                                           {{"kind", "company"},
                                            {"name", "华信科技"},
                                            {"company", "北京华信科技有限公司"},
                                            {"region", "华北"},
                                            {"grade", "B"},
                                            {"phones", {"(010) 6552 9988"}}},
                                           false);
  if (!huaxin.ok()) return huaxin.status();
  Result<std::string> zhou = AddCustomer(li, story,
                                         {{"kind", "person"},
                                          {"name", "周文斌"},
                                          {"company", "苏州文斌五金商行"},
                                          {"region", "华东"},
                                          {"grade", "C"},
                                          {"phones", {"136-2231-7788"}}},
                                         false);
  if (!zhou.ok()) return zhou.status();
  Result<std::string> zhang = AddContact(li, story, *minghui,
                                         {{"name", "张伟"},
                                          {"title", "采购总监"},
                                          {"decision_role", "decision_maker"},
                                          {"phones", {"139 1761 2233"}},
                                          {"email", "zhangwei@minghui-trade.cn"}});
  if (!zhang.ok()) return zhang.status();
  Result<std::string> wangfang =
      AddContact(li, story, *huaxin,
                 {{"name", "王芳"}, {"title", "总经理"}, {"decision_role", "decision_maker"}});
  if (!wangfang.ok()) return wangfang.status();
  li.SetTime(d.At(-45, 11, 0));
  FIELDSYNC_RETURN_IF_ERROR(AddVisit(
      li, story, *zhou, "", {"phone", "电话问候，周老板近期不进货", nullptr, nullptr, 0}, false));
  li.SetTime(d.At(-20, 15, 0));
  FIELDSYNC_RETURN_IF_ERROR(
      AddVisit(li, story, *minghui, *zhang,
               {"phone", "电话回访，确认下半年采购计划", "计划三季度扩建仓库", nullptr, 0}, false));
  li.SetTime(d.At(-9, 14, 30));
  FIELDSYNC_RETURN_IF_ERROR(AddVisit(
      li, story, *huaxin, *wangfang,
      {"meeting", "演示仓储管理方案，王总要求分期付款", nullptr, "提交分期付款方案", -1}, false));

  wang.SetTime(d.At(-60, 9, 0));
  Result<std::string> hengda = AddCustomer(wang, story,
                                           {{"kind", "company"},
                                            {"name", "恒达电子"},
                                            {"company", "广州恒达电子有限公司"},
                                            {"region", "华南"},
                                            {"grade", "C"},
                                            {"phones", {"+86 139-1024-5678"}}},
                                           false);
  if (!hengda.ok()) return hengda.status();
  wang.SetTime(d.At(-40, 10, 30));
  return AddVisit(wang, story, *hengda, "",
                  {"in_person", "拜访工厂，了解产线改造计划", nullptr, nullptr, 0}, false);
}

// A rep types a mobile number with a digit missing and a grade that does not exist: refused,
// both fields named, nothing queued.
Status TryBadInput(Tablet& t, Story& story, Checks& checks) {
  const Json record = {{"kind", "company"},
                       {"name", "宏远机电"},
                       {"phones", {"138 0013 800"}},
                       {"grade", "A+"},
                       {"owner_rep", t.person->user}};
  Result<fieldsync::PendingSummary> before = t.db->Pending();
  if (!before.ok()) return before.status();
  Result<std::string> put = t.db->Put("customers", record.dump());
  Result<fieldsync::PendingSummary> after = t.db->Pending();
  if (!after.ok()) return after.status();
  const std::string msg = put.ok() ? std::string() : put.status().message();
  checks.Expect(!put.ok() && put.status().code() == fieldsync::StatusCode::kInvalidArgument &&
                    msg.find("phones[0]") != std::string::npos &&
                    msg.find("grade") != std::string::npos && after->count == before->count,
                "录入错误被拒绝并指出字段，未写入 (bad phone and grade refused, nothing queued)");
  story.Log(t, "录入 宏远机电（电话 138 0013 800，等级 A+）→ 被拒绝：电话号码和等级无效，未保存");
  return Status::OK();
}

// The field day itself, offline on both reps' tablets. Returns the ids it created.
struct DayIds {
  std::string ruifeng, qinghe;
};

Status WriteFieldDay(Tablet& li, Tablet& wang, Story& story, Checks& checks, DayIds* ids) {
  const FieldDay& d = story.day;
  li.SetTime(d.At(0, 9, 30));
  const std::string zhang = [&] {
    for (const auto& [id, name] : story.names) {
      if (name == "张伟") return id;
    }
    return std::string();
  }();
  FIELDSYNC_RETURN_IF_ERROR(AddVisit(
      li, story, kSharedCustomer, zhang,
      {"in_person", "介绍新款重型货架，张总关心交货期", "同意试用两组样品", "送样品并报价", 0}));
  li.SetTime(d.At(0, 9, 45));
  FIELDSYNC_RETURN_IF_ERROR(
      EditCustomer(li, story, kSharedCustomer,
                   {{"phones", {"021 6288 1088"}},
                    {"notes", "前台说总机改号了；张总要样品先送两组，周五前报价"}}));

  wang.SetTime(d.At(0, 10, 10));
  Result<std::string> qinghe = AddCustomer(wang, story,
                                           {{"kind", "company"},
                                            {"name", "青禾食品"},
                                            {"company", "杭州青禾食品有限公司"},
                                            {"region", "华东"},
                                            {"grade", "D"},
                                            {"phones", {"0571 8702 3456"}}});
  if (!qinghe.ok()) return qinghe.status();
  ids->qinghe = *qinghe;
  FIELDSYNC_RETURN_IF_ERROR(AddVisit(
      wang, story, *qinghe, "", {"video", "视频沟通办公家具需求", nullptr, "约样板间参观", 0}));

  li.SetTime(d.At(0, 11, 0));
  FIELDSYNC_RETURN_IF_ERROR(TryBadInput(li, story, checks));
  li.SetTime(d.At(0, 11, 20));
  Result<std::string> ruifeng = AddCustomer(li, story,
                                            {{"kind", "company"},
                                             {"name", "瑞丰物流"},
                                             {"company", "深圳市瑞丰物流有限公司"},
                                             {"region", "华南"},
                                             {"grade", "A"},
                                             {"phones", {"0755-8632 1100"}}});
  if (!ruifeng.ok()) return ruifeng.status();
  ids->ruifeng = *ruifeng;
  FIELDSYNC_RETURN_IF_ERROR(
      AddVisit(li, story, *ruifeng, "",
               {"in_person", "首次拜访，新仓库需要重型货架", nullptr, "发送产品目录", 2}));

  // The customer calls 王磊, not 李娜: the same card, edited on a second tablet, later that day.
  wang.SetTime(d.At(0, 15, 30));
  return EditCustomer(
      wang, story, kSharedCustomer,
      {{"phones", {"021 6288 1099"}}, {"notes", "客户来电：采购部搬到新址，报价请直接发给张伟"}});
}

// ---- Sync ------------------------------------------------------------------------------------

Status SyncTablet(Tablet& t, Story& story, int64_t at_ms) {
  t.SetTime(at_ms);
  fieldsync::sync::SyncProgress p;
  Status s = t.repl->SyncOnce(&p);
  if (!s.ok()) return s.WithContext(t.label + " sync");
  story.sync_log.push_back({BeijingShort(at_ms, story.day), t.label,
                            std::to_string(p.changes_pushed), std::to_string(p.changes_refused),
                            std::to_string(p.changes_pulled),
                            std::to_string(p.bytes_sent + p.bytes_received)});
  return Status::OK();
}

void PrintSyncLog(Story& story) {
  PrintTable({"时间", "设备", "上传 pushed", "被拒 refused", "下载 pulled", "字节 bytes"},
             story.sync_log);
  story.sync_log.clear();
}

// ---- Reading: the card, the conflict, agendas, the manager's list ----------------------------

Result<nlohmann::json> CustomerCard(Tablet& t) {
  Result<std::string> text = t.db->Get("customers", kSharedCustomer);
  if (!text.ok()) return text.status().WithContext(t.label);
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded()) return Status::Internal("a customer is not JSON");
  return j;
}

// The open conflicts of the shared customer, from the tablet's stored merge state (what
// `fieldsync-cli conflicts` reads).
Result<std::vector<fieldsync::sync::Conflict>> ConflictsOf(Tablet& t) {
  std::vector<fieldsync::sync::Conflict> out;
  Status s = t.db->RunSyncTransaction([&](Database::SyncTransaction& txn) -> Status {
    Result<std::optional<std::string>> stored = txn.ReadSyncState("customers", kSharedCustomer);
    if (!stored.ok()) return stored.status();
    if (!stored->has_value()) return Status::OK();
    Result<fieldsync::sync::RecordState> state =
        fieldsync::sync::RecordStateFromJson(nlohmann::json::parse(**stored, nullptr, false));
    if (!state.ok()) return state.status();
    out = fieldsync::sync::Conflicts(*t.db->schema().Collection("customers"), kSharedCustomer,
                                     *state);
    return Status::OK();
  });
  if (!s.ok()) return s;
  return out;
}

Status ShowCard(std::vector<Tablet*> tablets, Story& story, Checks& checks) {
  std::vector<nlohmann::json> cards;
  for (Tablet* t : tablets) {
    Result<nlohmann::json> card = CustomerCard(*t);
    if (!card.ok()) return card.status();
    cards.push_back(std::move(*card));
  }
  const nlohmann::json& card = cards[0];
  Table rows;
  for (const char* field :
       {"name", "company", "kind", "grade", "region", "owner_rep", "phones", "notes"}) {
    std::string value = card.contains(field) ? Text(card[field]) : "";
    if (std::string_view(field) == "kind") value = Label(value);
    if (std::string_view(field) == "owner_rep") {
      for (const Person* p : {&kLi, &kWang, &kManager}) {
        if (value == p->user) value = std::string(p->name) + "（" + p->user + "）";
      }
    }
    rows.push_back({std::string_view(field) == "company" ? "公司全称" : Label(field), value});
  }
  std::printf("  %s（%s）\n", story.NameOf(kSharedCustomer).c_str(), kSharedCustomer);
  PrintTable({"字段", "内容"}, rows, "    ");
  bool identical = true;
  std::string who;
  for (size_t i = 0; i < tablets.size(); ++i) {
    identical = identical && cards[i] == card;
    who += (i ? " = " : "") + tablets[i]->label;
  }
  std::printf("\n  %s：逐字段%s。\n", who.c_str(),
              identical ? "相同 (identical)" : "不同 (DIFFER)");
  if (!identical) {
    for (size_t i = 0; i < tablets.size(); ++i) {
      std::printf("    %s: %s\n", tablets[i]->label.c_str(), cards[i].dump().c_str());
    }
  }
  checks.Expect(identical, "三台平板上的客户卡片逐字段一致 (the card converged on all tablets)");
  checks.Expect(card.value("phones", nlohmann::json()) == nlohmann::json({"+862162881099"}),
                "电话取当天较晚的修改（王磊 15:30）(later phone edit wins: +862162881099)");
  return Status::OK();
}

Status ShowConflict(Tablet& li, Tablet& wang, Story& story, Checks& checks) {
  Result<std::vector<fieldsync::sync::Conflict>> on_li = ConflictsOf(li);
  if (!on_li.ok()) return on_li.status();
  Result<std::vector<fieldsync::sync::Conflict>> on_wang = ConflictsOf(wang);
  if (!on_wang.ok()) return on_wang.status();
  Result<nlohmann::json> card = CustomerCard(li);
  if (!card.ok()) return card.status();
  const bool one_each = on_li->size() == 1 && on_wang->size() == 1;
  checks.Expect(one_each, "两台平板各记录一条冲突 (one open conflict on each rep's tablet)");
  if (!one_each) return Status::OK();
  const fieldsync::sync::Conflict& c = (*on_li)[0];
  checks.Expect(c.field == "notes" && c.id == (*on_wang)[0].id,
                "冲突在“备注”字段，两台平板上编号相同 (on notes, same conflict id on both)");
  std::set<std::string> authors;
  for (const auto& h : c.heads) authors.insert(h.author);
  checks.Expect(c.heads.size() == 2 && authors == std::set<std::string>{kLi.user, kWang.user},
                "冲突保留两人的两个版本 (both notes kept, by li.na and wang.lei)");
  checks.Expect(!c.heads.empty() && c.heads[0].value == (*card)["notes"],
                "卡片显示的是冲突中排在最前的版本 (the card shows the first head)");

  std::map<std::string, std::string> device_of = {{li.db->node_id(), li.label},
                                                  {wang.db->node_id(), wang.label}};
  std::printf("  %s 的“备注”被两人在离线时分别修改，两个版本都保留，等待处理：\n",
              story.NameOf(kSharedCustomer).c_str());
  std::printf("  冲突编号 conflict id：%s（每台平板上相同）\n\n", c.id.c_str());
  Table rows;
  for (size_t i = 0; i < c.heads.size(); ++i) {
    const auto& h = c.heads[i];
    std::string author = h.author;
    for (const Person* p : {&kLi, &kWang}) {
      if (author == p->user) author = p->name;
    }
    const auto dev = device_of.find(h.version.node);
    rows.push_back(
        {i == 0 ? "当前显示 shown" : "并存 also kept", Text(h.value), author,
         // To the nearest minute: the HLC is the tablet's clock corrected by the
         // skew (about zero) its replicator measured against the server.
         BeijingShort(static_cast<int64_t>(h.version.hlc.physical_ms()) + kMsPerMinute / 2,
                      story.day),
         dev != device_of.end() ? dev->second : h.version.node});
  }
  PrintTable({"状态", "备注内容", "作者", "修改时间", "设备"}, rows);
  std::printf(
      "\n  电话不同：电话按“最后修改者为准”合并，王磊 15:30 的修改晚于李娜 09:45 的修改，\n"
      "  所以卡片显示 021 6288 1099，不算冲突。备注是自由文本，谁也不该覆盖谁，所以两条都留着，\n"
      "  由负责人处理（fieldsync-cli conflicts / resolve）。\n");
  return Status::OK();
}

Result<Json> ShowAgenda(Tablet& t, Story& story) {
  // Asked at 18:30 Beijing time of the field day: still the same UTC date (see core/src/query).
  Result<std::string> text = t.db->Agenda(t.person->user, story.day.At(0, 18, 30));
  if (!text.ok()) return text.status();
  Result<Json> agenda = ParseJson(*text, "the agenda");
  if (!agenda.ok()) return agenda.status();
  std::printf("\n  %s（%s）的待办，%s\n", t.person->name, t.person->user, story.day.Date().c_str());
  Table rows;
  auto when = [&](const std::string& due) {
    if (due == story.day.Date()) return std::string("今天到期 due");
    return "逾期 overdue " + due;
  };
  for (const char* key : {"due", "overdue"}) {
    for (const Json& a : (*agenda)[key]) {
      std::string kind = when(Str(a, "next_action_due"));
      if (std::string_view(key) == "overdue") {
        kind = "已逾期 " + std::to_string(Int(a, "days_overdue")) + " 天 overdue";
      }
      rows.push_back({kind, Str(a, "name"), Str(a, "grade"), Str(a, "next_action_due"),
                      Str(a, "next_action")});
    }
  }
  for (const Json& n : (*agenda)["not_contacted"]) {
    rows.push_back({"超过拜访周期 cadence", Str(n, "name"), Str(n, "grade"), "",
                    "已 " + std::to_string(Int(n, "days_since_contact")) + " 天未联系（每 " +
                        std::to_string(Int(n, "cadence_days")) + " 天一次）"});
  }
  PrintTable({"类别", "客户", "等级", "截止", "事项"}, rows, "    ");
  return agenda;
}

bool AgendaHas(const Json& agenda, const char* key, const std::string& name,
               const std::string& action = "") {
  for (const Json& a : agenda[key]) {
    if (Str(a, "name") == name && (action.empty() || Str(a, "next_action") == action)) return true;
  }
  return false;
}

Status ShowAgendas(Tablet& li, Tablet& wang, Story& story, Checks& checks) {
  Result<Json> a = ShowAgenda(li, story);
  if (!a.ok()) return a.status();
  checks.Expect(AgendaHas(*a, "due", "明辉贸易", "送样品并报价") &&
                    AgendaHas(*a, "overdue", "华信科技", "提交分期付款方案") &&
                    AgendaHas(*a, "not_contacted", "周文斌") && !AgendaHas(*a, "due", "青禾食品"),
                "李娜的待办：明辉贸易今天到期、华信科技逾期、周文斌超期未联系 (li's agenda)");
  Result<Json> w = ShowAgenda(wang, story);
  if (!w.ok()) return w.status();
  checks.Expect(AgendaHas(*w, "due", "青禾食品", "约样板间参观") &&
                    AgendaHas(*w, "not_contacted", "恒达电子") && !AgendaHas(*w, "due", "明辉贸易"),
                "王磊的待办：青禾食品今天到期、恒达电子超期未联系 (wang's agenda)");
  return Status::OK();
}

// The manager's tablet holds every record of the team: its customers (Classify lists them all),
// and each customer's timeline gives the visits; the day's are kept, earliest first.
Status ShowManagerVisits(Tablet& chen, Story& story, Checks& checks) {
  Result<std::string> classified = chen.db->Classify(story.day.At(0, 18, 30));
  if (!classified.ok()) return classified.status();
  Result<Json> customers = ParseJson(*classified, "the classification");
  if (!customers.ok()) return customers.status();
  std::vector<std::pair<int64_t, std::vector<std::string>>> visits;
  std::set<std::string> reps;
  for (const Json& c : *customers) {
    Result<std::string> text = chen.db->Timeline(Str(c, "customer"));
    if (!text.ok()) return text.status();
    Result<Json> timeline = ParseJson(*text, "a timeline");
    if (!timeline.ok()) return timeline.status();
    for (const Json& e : *timeline) {
      const std::optional<int64_t> at = ParseUtc(Str(e, "at"));
      if (Str(e, "kind") != "visit" || !at) continue;
      if (FloorDiv(*at + kBeijingOffsetMs, kMsPerDay) != story.day.day) continue;
      const Json& r = e["record"];
      std::string rep = Str(r, "rep");
      reps.insert(rep);
      for (const Person* p : {&kLi, &kWang}) {
        if (rep == p->user) rep = p->name;
      }
      std::string next = Str(r, "next_action");
      if (!next.empty()) next += "（" + Str(r, "next_action_due").substr(5) + "）";
      visits.push_back({*at,
                        {BeijingShort(*at, story.day), rep, Str(c, "name"),
                         Label(Str(r, "channel")), Str(r, "summary"), next}});
    }
  }
  std::sort(visits.begin(), visits.end());
  Table rows;
  for (auto& v : visits) rows.push_back(std::move(v.second));
  std::printf("  陈敏的平板同步后，%s 全组的拜访（%zu 次，%zu 个客户）：\n\n",
              story.day.Date().c_str(), rows.size(), customers->size());
  PrintTable({"时间", "销售", "客户", "方式", "摘要", "下一步（截止）"}, rows);
  checks.Expect(rows.size() == 3 && reps == std::set<std::string>{kLi.user, kWang.user},
                "经理看到两位销售当天的全部 3 次拜访 (manager sees all 3 visits of both reps)");
  checks.Expect(customers->size() == 6,
                "经理的平板有全组 6 个客户 (the manager's tablet holds the team's 6 customers)");
  return Status::OK();
}

// Search by Chinese, pinyin initials and a phone fragment, each on the tablet of the person who
// would type it: what a tablet holds is what its owner may see.
Status ShowSearch(std::vector<Tablet*> tablets, Story& story, Checks& checks) {
  struct Query {
    Tablet* tablet;
    const char* text;
    const char* what;
    const char* expect;  // nullptr: nothing expected
  };
  Tablet* li = tablets[0];
  Tablet* wang = tablets[1];
  Tablet* chen = tablets[2];
  const Query queries[] = {
      {wang, "zw", "拼音首字母", "张伟"},          {wang, "明辉", "中文", "明辉贸易"},
      {chen, "qhsp", "拼音首字母", "青禾食品"},    {chen, "6288 1099", "电话片段", "明辉贸易"},
      {li, "青禾", "中文（别人的客户）", nullptr},
  };
  Table rows;
  for (const Query& q : queries) {
    Result<std::vector<fieldsync::SearchHit>> hits = q.tablet->db->Search(q.text);
    if (!hits.ok()) return hits.status();
    std::string found;
    bool has_expected = false;
    for (const fieldsync::SearchHit& h : *hits) {
      Result<Json> r = ParseJson(h.record_json, "a search hit");
      if (!r.ok()) return r.status();
      const std::string name = Str(*r, "name");
      if (q.expect != nullptr && name == q.expect) has_expected = true;
      std::string where =
          h.collection == "contacts" ? "联系人，" + story.NameOf(Str(*r, "customer")) : "客户";
      found += (found.empty() ? "" : "；") + name + "（" + where + "）";
    }
    rows.push_back({q.tablet->label, std::string("“") + q.text + "”", q.what,
                    found.empty() ? "（无结果：不在此人的范围内）" : found});
    if (q.expect != nullptr) {
      checks.Expect(has_expected, q.tablet->label + " 搜索“" + q.text + "”找到 " + q.expect);
    } else {
      checks.Expect(hits->empty(), q.tablet->label + " 搜索“" + q.text +
                                       "”无结果：别人的客户不会同步到这台平板 (scope)");
    }
  }
  PrintTable({"设备", "搜索", "方式", "结果"}, rows);
  return Status::OK();
}

// Every tablet file is read byte by byte for names, phones and notes: none may be in the clear.
Status ShowRawBytes(std::vector<Tablet*> tablets, Checks& checks) {
  const std::vector<std::string> needles = {"明辉贸易",
                                            "上海明辉贸易有限公司",
                                            "张伟",
                                            "青禾食品",
                                            "瑞丰物流",
                                            "+862162881099",
                                            "02162881099",
                                            "+8613917612233",
                                            "13917612233",
                                            "客户来电",
                                            "zhangwei@minghui-trade.cn",
                                            "zhangwei",
                                            "minghuimaoyi"};
  fieldsync::Env* env = fieldsync::Env::Default();
  Table rows;
  bool clean = true;
  for (Tablet* t : tablets) {
    for (const std::string& file : {t->path, t->path + "-wal"}) {
      if (!env->FileExists(file)) continue;
      Result<std::string> bytes = env->ReadFile(file);
      if (!bytes.ok()) return bytes.status();
      int found = 0;
      for (const std::string& n : needles) found += bytes->find(n) != std::string::npos ? 1 : 0;
      clean = clean && found == 0;
      rows.push_back({t->label, std::filesystem::path(file).filename().string(),
                      std::to_string(bytes->size()) + " 字节", std::to_string(found) + " 处"});
    }
  }
  std::printf(
      "  在每台平板的数据库文件里逐字节查找 %zu 个字符串（客户名、联系人、电话、备注、拼音）：\n\n",
      needles.size());
  PrintTable({"设备", "文件", "大小", "明文出现"}, rows);
  checks.Expect(clean, "平板文件里没有明文的客户资料 (no personal data in the clear on disk)");
  return Status::OK();
}

// ---- The demo --------------------------------------------------------------------------------

Status RunDemo(const std::string& dir, Checks& checks) {
  Story story;
  // Yesterday's Beijing date, so that the agendas' "due today" and "overdue" read naturally when
  // the demo runs; the server follows the story's clock (g_story_now_ms).
  const int64_t real_now_ms = fieldsync::Clock::System()->WallMicros() / 1000;
  story.day.day = FloorDiv(real_now_ms + kBeijingOffsetMs, kMsPerDay) - 1;

  PrintSection("1", "准备：服务器、团队和三台平板", "server, team and tablets");
  Server server;
  FIELDSYNC_RETURN_IF_ERROR(StartServer(dir, &server));
  std::printf("  fieldsync 服务器在本进程内运行：%s，数据存于 SQLite（%s/server.db）\n",
              server.url.c_str(), dir.c_str());
  std::printf(
      "  租户 %s（华东办公家具有限公司），小组 %s（华东一组）；重点客户 明辉贸易 共享给全组。\n\n",
      kTenant, kTeam);
  Table people;
  for (const Person* p : {&kManager, &kLi, &kWang}) {
    people.push_back(
        {p->name, p->user, Label(p->role), "华东一组", std::string(p->name) + "的平板"});
  }
  PrintTable({"姓名", "登录名", "角色", "小组", "设备（各自加密的本地数据库）"}, people);

  Result<std::unique_ptr<Tablet>> li = NewTablet(dir, kLi, server.url, story.day.At(-60, 8, 0));
  if (!li.ok()) return li.status();
  Result<std::unique_ptr<Tablet>> wang = NewTablet(dir, kWang, server.url, story.day.At(-60, 8, 0));
  if (!wang.ok()) return wang.status();
  Result<std::unique_ptr<Tablet>> chen =
      NewTablet(dir, kManager, server.url, story.day.At(-60, 8, 0));
  if (!chen.ok()) return chen.status();
  Tablet& L = **li;
  Tablet& W = **wang;
  Tablet& C = **chen;

  PrintSection("2", "早上出门前同步", "morning sync, " + story.day.Date());
  FIELDSYNC_RETURN_IF_ERROR(WriteHistory(L, W, story));
  std::printf("  前几周已有：李娜 3 个客户、2 个联系人、3 次拜访；王磊 1 个客户、1 次拜访。\n\n");
  FIELDSYNC_RETURN_IF_ERROR(SyncTablet(L, story, story.day.At(0, 8, 0)));
  FIELDSYNC_RETURN_IF_ERROR(SyncTablet(W, story, story.day.At(0, 8, 2)));
  FIELDSYNC_RETURN_IF_ERROR(SyncTablet(C, story, story.day.At(0, 8, 5)));
  PrintSyncLog(story);
  std::printf(
      "  王磊拿到了共享的明辉贸易（客户、联系人张伟和一次拜访），李娜的其他客户不在他的范围内。\n");

  PrintSection("3", "白天离线工作", "offline all day: nothing reaches the server");
  DayIds ids;
  FIELDSYNC_RETURN_IF_ERROR(WriteFieldDay(L, W, story, checks, &ids));
  std::stable_sort(story.day_log.begin(), story.day_log.end(),
                   [](const auto& a, const auto& b) { return a[0] < b[0]; });
  PrintTable({"时间", "谁", "做了什么（都存在本机，尚未同步）"}, story.day_log);
  Table pending;
  for (Tablet* t : {&L, &W}) {
    Result<fieldsync::PendingSummary> p = t->db->Pending();
    if (!p.ok()) return p.status();
    pending.push_back({t->label, std::to_string(p->count) + " 个修改等待同步"});
  }
  std::printf("\n");
  PrintTable({"设备", "待同步 pending"}, pending);

  PrintSection("4", "晚上回到有网络的地方，同步", "evening sync");
  FIELDSYNC_RETURN_IF_ERROR(SyncTablet(L, story, story.day.At(0, 18, 0)));
  FIELDSYNC_RETURN_IF_ERROR(SyncTablet(W, story, story.day.At(0, 18, 5)));
  FIELDSYNC_RETURN_IF_ERROR(SyncTablet(L, story, story.day.At(0, 18, 10)));
  FIELDSYNC_RETURN_IF_ERROR(SyncTablet(C, story, story.day.At(0, 18, 30)));
  PrintSyncLog(story);
  bool all_sent = true;
  for (Tablet* t : {&L, &W, &C}) {
    Result<fieldsync::PendingSummary> p = t->db->Pending();
    if (!p.ok()) return p.status();
    Result<std::vector<fieldsync::DeadLetter>> dead = t->db->DeadLetters();
    if (!dead.ok()) return dead.status();
    all_sent = all_sent && p->count == 0 && dead->empty();
  }
  checks.Expect(all_sent,
                "所有修改都已上传，没有被拒绝的修改 (every outbox empty, no dead letters)");

  PrintSection("5", "同步后的客户卡片", "the converged customer card");
  FIELDSYNC_RETURN_IF_ERROR(ShowCard({&L, &W, &C}, story, checks));

  PrintSection("6", "冲突记录", "the conflict on the notes");
  FIELDSYNC_RETURN_IF_ERROR(ShowConflict(L, W, story, checks));

  PrintSection("7", "每位销售的待办", "each rep's agenda");
  FIELDSYNC_RETURN_IF_ERROR(ShowAgendas(L, W, story, checks));

  PrintSection("8", "经理看全组当天的拜访", "the manager's list of the day's visits");
  FIELDSYNC_RETURN_IF_ERROR(ShowManagerVisits(C, story, checks));

  PrintSection("9", "搜索：中文、拼音、电话片段", "search, within each person's scope");
  FIELDSYNC_RETURN_IF_ERROR(ShowSearch({&L, &W, &C}, story, checks));

  PrintSection("10", "磁盘上的原始字节", "raw bytes of the tablets' files");
  FIELDSYNC_RETURN_IF_ERROR(ShowRawBytes({&L, &W, &C}, checks));
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
    FIELDSYNC_RETURN_IF_ERROR(fieldsync::SecureRandom(suffix, sizeof suffix));
    std::string name = "fieldsync-demo-";
    for (uint8_t b : suffix) {
      name += "0123456789abcdef"[b >> 4];
      name += "0123456789abcdef"[b & 0x0F];
    }
    const fs::path dir = base / name;
    if (fs::create_directory(dir, ec)) return dir.string();
    if (ec) return Status::IOError("cannot create " + dir.string() + ": " + ec.message());
  }
  return Status::IOError("cannot find a free temporary directory name under " + base.string());
}

int Run(bool keep) {
  Result<std::string> dir = MakeTempDir();
  if (!dir.ok()) return Fail(dir.status());
  std::printf("fieldsync 演示：一个销售小组的一天（离线工作，晚上同步）\n");
  std::printf("fieldsync demo: a sales team's field day, offline, synced through a server\n");

  Checks checks;
  Status s = RunDemo(*dir, checks);

  if (s.ok()) {
    PrintSection("11", "检查结果", "expectations");
    checks.Print();
  }
  if (keep) {
    std::printf("\n  保留 %s（--keep）。\n", dir->c_str());
  } else {
    for (const char* user : {kManager.user, kLi.user, kWang.user}) {
      const std::string path = *dir + "/" + user + ".db";
      if (fieldsync::Env::Default()->FileExists(path)) {
        Status destroyed = fieldsync::Store::Destroy(path);
        if (s.ok()) s = destroyed;
      }
    }
    std::error_code ec;
    std::filesystem::remove_all(*dir, ec);
  }
  if (!s.ok()) return Fail(s);
  if (!checks.all_passed()) {
    std::fprintf(stderr, "error: some expectations of the field day failed (see above)\n");
    return 1;
  }
  std::printf("\n  全部 %zu 项检查通过。all %zu checks passed.\n", checks.count(), checks.count());
  return 0;
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
