// bench/sync_workload.cc: generated changes, direct seeding and the direct-write baseline of
// `fieldsync-bench sync` (see the header).
#include "sync_workload.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <utility>

#include "fieldsync/schema.h"
#include "fieldsync/sync/wire_format.h"

namespace fieldsync::bench {
namespace {

using nlohmann::json;

constexpr const char* kSurnames[] = {"张", "王", "李", "赵", "刘", "陈", "杨", "黄", "周", "吴"};
constexpr const char* kGiven[] = {"伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军"};
constexpr const char* kCompanies[] = {"明辉贸易", "华信电子", "东方物流", "江南纺织", "海天食品",
                                      "星辰软件", "金桥建材", "瑞丰医药", "远航机械", "新源能源"};
constexpr const char* kCities[] = {"上海市浦东新区", "杭州市西湖区", "南京市鼓楼区",
                                   "苏州市工业园区", "宁波市鄞州区"};
constexpr const char* kStreets[] = {"张江路", "文三路", "中山北路", "星湖街", "天童南路"};
constexpr const char* kGrades[] = {"A", "B", "C", "D", "E"};
constexpr const char* kStages[] = {"lead", "prospect", "active", "silent", "lost"};
constexpr const char* kTiers[] = {"key", "special", "general"};
constexpr const char* kChannels[] = {"in_person", "phone", "meeting", "video"};
constexpr const char* kSentences[] = {"客户对新产品线很感兴趣，希望下周安排演示。",
                                      "讨论了年度框架协议的价格条款。",
                                      "采购总监提出交货周期需要缩短到两周以内。",
                                      "客户反馈上一批货物包装有破损，需要跟进处理。",
                                      "介绍了我们的售后服务体系，客户比较满意。",
                                      "对方预算有限，建议先从小批量试用开始。",
                                      "约定月底前提交正式报价单。",
                                      "客户正在比较三家供应商，我们的优势是本地服务。"};

std::string Sql(sqlite3* db, int rc, const char* what) {
  return std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

// One connection with the server's pragmas, closed on scope exit.
class Connection {
 public:
  std::string Open(const std::string& path) {
    int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr);
    if (rc != SQLITE_OK) return Sql(db_, rc, "open");
    sqlite3_busy_timeout(db_, 10000);
    // The server's pragmas (sqlite_backend.cc), so the baseline differs only in what it skips.
    return Exec(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-32768; "
        "PRAGMA wal_autocheckpoint=4000;");
  }
  ~Connection() {
    for (auto& [sql, stmt] : stmts_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }
  std::string Exec(const char* sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
    if (rc == SQLITE_OK) return "";
    std::string msg = std::string(sql) + ": " + (err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    return msg;
  }
  // A prepared statement, reset and kept for reuse.
  sqlite3_stmt* Prepare(const char* sql, std::string* error) {
    auto it = stmts_.find(sql);
    if (it != stmts_.end()) {
      sqlite3_reset(it->second);
      sqlite3_clear_bindings(it->second);
      return it->second;
    }
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      *error = Sql(db_, rc, sql);
      return nullptr;
    }
    stmts_[sql] = stmt;
    return stmt;
  }
  std::string Done(sqlite3_stmt* stmt) {
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) return "";
    return Sql(db_, rc, "step");
  }
  sqlite3* db() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
  std::map<const char*, sqlite3_stmt*> stmts_;
};

void BindText(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}

std::string Column(sqlite3_stmt* s, int i) {
  const unsigned char* p = sqlite3_column_text(s, i);
  return p ? std::string(reinterpret_cast<const char*>(p),
                         static_cast<size_t>(sqlite3_column_bytes(s, i)))
           : std::string();
}

constexpr char kInsertApplied[] =
    "INSERT INTO applied_changes(tenant, change_id, digest) VALUES(?, ?, ?)";
constexpr char kUpsertRecord[] =
    "INSERT INTO records(tenant, collection, record_id, state, materialized, owner, customer) "
    "VALUES(?, ?, ?, ?, ?, ?, ?) ON CONFLICT(tenant, collection, record_id) DO UPDATE SET "
    "state = excluded.state, materialized = excluded.materialized, owner = excluded.owner, "
    "customer = excluded.customer";
constexpr char kInsertFeed[] =
    "INSERT INTO feed(tenant, seq, collection, record_id, node, change, scope) "
    "VALUES(?, ?, ?, ?, ?, ?, ?)";
constexpr char kDrawSeq[] = "UPDATE tenants SET next_seq = next_seq + ? WHERE tenant = ?";
constexpr char kFirstSeq[] = "SELECT next_seq FROM tenants WHERE tenant = ?";

// Writes one row's three statements; "" or an error.
std::string WriteRow(Connection& c, const std::string& tenant, const PushedRow& r) {
  std::string error;
  sqlite3_stmt* s = c.Prepare(kInsertApplied, &error);
  if (!s) return error;
  BindText(s, 1, tenant), BindText(s, 2, r.change_id), BindText(s, 3, r.digest);
  if (!(error = c.Done(s)).empty()) return error;
  s = c.Prepare(kUpsertRecord, &error);
  if (!s) return error;
  BindText(s, 1, tenant), BindText(s, 2, r.collection), BindText(s, 3, r.record_id);
  BindText(s, 4, r.state_json);
  if (r.materialized_null) {
    sqlite3_bind_null(s, 5);
  } else {
    BindText(s, 5, r.materialized_json);
  }
  BindText(s, 6, r.owner), BindText(s, 7, r.customer);
  if (!(error = c.Done(s)).empty()) return error;
  s = c.Prepare(kInsertFeed, &error);
  if (!s) return error;
  BindText(s, 1, tenant), sqlite3_bind_int64(s, 2, r.seq), BindText(s, 3, r.collection);
  BindText(s, 4, r.record_id), BindText(s, 5, r.node), BindText(s, 6, r.change_json);
  BindText(s, 7, r.scope_json);
  return c.Done(s);
}

std::string WriteBatches(Connection& c, const std::string& tenant,
                         const std::vector<PushedRow>& rows, size_t batch) {
  for (size_t first = 0; first < rows.size(); first += batch) {
    const size_t end = std::min(rows.size(), first + batch);
    std::string error = c.Exec("BEGIN IMMEDIATE");
    if (!error.empty()) return error;
    sqlite3_stmt* s = c.Prepare(kDrawSeq, &error);
    if (!s) return error;
    sqlite3_bind_int64(s, 1, static_cast<int64_t>(end - first));
    BindText(s, 2, tenant);
    error = c.Done(s);
    for (size_t i = first; i < end && error.empty(); ++i) error = WriteRow(c, tenant, rows[i]);
    if (error.empty()) error = c.Exec("COMMIT");
    if (!error.empty()) {
      (void)c.Exec("ROLLBACK");
      return error;
    }
  }
  return "";
}

}  // namespace

uint64_t SyncGenerator::Next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t SyncGenerator::NextHlc() { return Hlc::FromParts(next_ms_++, 0).packed(); }

std::string SyncGenerator::Uuid() {
  const uint64_t a = Next(), b = Next();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

std::string SyncGenerator::Phone() {
  char buf[24];
  std::snprintf(buf, sizeof buf, "+86138%08u", static_cast<unsigned>(Below(100000000)));
  return buf;
}

std::string SyncGenerator::ChineseText(size_t min_bytes, size_t max_bytes) {
  const size_t target = min_bytes + Below(static_cast<uint32_t>(max_bytes - min_bytes + 1));
  std::string out;
  while (out.size() < target) out += Pick(kSentences);
  return out;
}

sync::Change SyncGenerator::NewCustomer(const std::string& owner, const std::string& node) {
  sync::Change c;
  c.change_id = Uuid();
  c.collection = "customers";
  c.record_id = Uuid();
  c.version = sync::Version{Hlc(NextHlc()), node};
  const bool person = Below(3) == 0;
  const std::string company = std::string(Pick(kCompanies)) + "有限公司";
  c.fields["kind"].value = person ? "person" : "company";
  c.fields["name"].value =
      person ? std::string(Pick(kSurnames)) + Pick(kGiven) : std::string(Pick(kCompanies));
  c.fields["company"].value = company;
  c.fields["phones"].value = json::array({Phone()});
  c.fields["grade"].value = Pick(kGrades);
  c.fields["lifecycle_stage"].value = Pick(kStages);
  c.fields["address"].value =
      std::string(Pick(kCities)) + Pick(kStreets) + std::to_string(1 + Below(300)) + "号";
  c.fields["owner_rep"].value = owner;
  c.fields["notes"].value = ChineseText(30, 120);
  return c;
}

sync::Change SyncGenerator::Visit(const std::string& customer, const std::string& rep,
                                  const std::string& node) {
  sync::Change c;
  c.change_id = Uuid();
  c.collection = "visits";
  c.record_id = Uuid();
  c.version = sync::Version{Hlc(NextHlc()), node};
  char start[40];
  std::snprintf(start, sizeof start, "2026-%02u-%02uT%02u:%02u:00.000Z", 1 + Below(11),
                1 + Below(28), 8 + Below(10), Below(60));
  c.fields["customer"].value = customer;
  c.fields["rep"].value = rep;
  c.fields["start"].value = start;
  c.fields["channel"].value = Pick(kChannels);
  c.fields["summary"].value = ChineseText(200, 600);
  return c;
}

sync::Change SyncGenerator::Edit(const std::string& customer, const std::string& node) {
  sync::Change c;
  c.change_id = Uuid();
  c.collection = "customers";
  c.record_id = customer;
  c.version = sync::Version{Hlc(NextHlc()), node};
  const int n = 1 + static_cast<int>(Below(3));
  for (int i = 0; i < n; ++i) {
    switch (Below(5)) {
      case 0:
        c.fields["grade"].value = Pick(kGrades);
        break;
      case 1:
        c.fields["lifecycle_stage"].value = Pick(kStages);
        break;
      case 2:
        c.fields["address"].value =
            std::string(Pick(kCities)) + Pick(kStreets) + std::to_string(1 + Below(300)) + "号";
        break;
      case 3:
        c.fields["phones"].value = json::array({Phone()});
        break;
      default:
        c.fields["tier"].value = Pick(kTiers);
    }
  }
  return c;
}

std::string SyncGenerator::EditPatch(int fields) {
  json patch = json::object();
  static constexpr const char* kFields[] = {"grade", "lifecycle_stage", "tier"};
  for (int i = 0; i < fields && i < 3; ++i) {
    const char* f = kFields[i];
    patch[f] = i == 0 ? Pick(kGrades) : i == 1 ? Pick(kStages) : Pick(kTiers);
  }
  return patch.dump();
}

std::string SeedDirect(const std::string& path, const std::string& tenant,
                       const std::vector<SeedChange>& changes, size_t batch) {
  const Schema schema = Schema::FieldSales();
  Connection c;
  std::string error = c.Open(path);
  if (!error.empty()) return error;
  sqlite3_stmt* s = c.Prepare(kFirstSeq, &error);
  if (!s) return error;
  BindText(s, 1, tenant);
  if (sqlite3_step(s) != SQLITE_ROW) return "SeedDirect: no tenant " + tenant;
  int64_t seq = sqlite3_column_int64(s, 0);
  sqlite3_reset(s);

  std::vector<PushedRow> rows;
  rows.reserve(std::min(batch, changes.size()));
  for (size_t first = 0; first < changes.size(); first += batch) {
    const size_t end = std::min(changes.size(), first + batch);
    rows.clear();
    for (size_t i = first; i < end; ++i) {
      sync::Change change = changes[i].change;
      change.author = changes[i].author;
      const CollectionDef* def = schema.Collection(change.collection);
      if (def == nullptr) return "SeedDirect: unknown collection " + change.collection;
      sync::RecordState state;
      Result<sync::MergeOutcome> merged = sync::Merge(*def, change, &state);
      if (!merged.ok()) return "SeedDirect: Merge: " + merged.status().ToString();
      PushedRow r;
      r.seq = seq++;
      r.collection = change.collection;
      r.record_id = change.record_id;
      r.node = change.version.node;
      r.change_json = sync::EncodeChange(change);
      r.scope_json = json(changes[i].scope_keys).dump();
      r.change_id = change.change_id;
      r.digest = sync::ChangeDigest(change);
      r.state_json = sync::RecordStateToJson(state).dump();
      std::optional<json> visible = sync::Materialize(*def, state);
      r.materialized_null = !visible.has_value();
      if (visible) r.materialized_json = visible->dump();
      r.owner = changes[i].owner;
      r.customer = changes[i].customer;
      rows.push_back(std::move(r));
    }
    error = WriteBatches(c, tenant, rows, batch);
    if (!error.empty()) return "SeedDirect: " + error;
  }
  return "";
}

std::string ReadPushedRows(const std::string& path, const std::string& tenant,
                           std::vector<PushedRow>* rows) {
  Connection c;
  std::string error = c.Open(path);
  if (!error.empty()) return error;
  sqlite3_stmt* s = c.Prepare(
      "SELECT f.seq, f.collection, f.record_id, f.node, f.change, f.scope, "
      "r.state, r.materialized, r.owner, r.customer FROM feed f JOIN records r "
      "ON r.tenant = f.tenant AND r.collection = f.collection AND r.record_id = f.record_id "
      "WHERE f.tenant = ? ORDER BY f.seq",
      &error);
  if (!s) return error;
  BindText(s, 1, tenant);
  while (sqlite3_step(s) == SQLITE_ROW) {
    PushedRow r;
    r.seq = sqlite3_column_int64(s, 0);
    r.collection = Column(s, 1);
    r.record_id = Column(s, 2);
    r.node = Column(s, 3);
    r.change_json = Column(s, 4);
    r.scope_json = Column(s, 5);
    r.state_json = Column(s, 6);
    r.materialized_null = sqlite3_column_type(s, 7) == SQLITE_NULL;
    r.materialized_json = Column(s, 7);
    r.owner = Column(s, 8);
    r.customer = Column(s, 9);
    json change = json::parse(r.change_json, nullptr, false);
    if (!change.is_object() || !change.contains("i")) return "feed row without a change id";
    r.change_id = change["i"].get<std::string>();
    rows->push_back(std::move(r));
  }
  sqlite3_stmt* d =
      c.Prepare("SELECT digest FROM applied_changes WHERE tenant = ? AND change_id = ?", &error);
  if (!d) return error;
  for (PushedRow& r : *rows) {
    sqlite3_reset(d);
    BindText(d, 1, tenant);
    BindText(d, 2, r.change_id);
    if (sqlite3_step(d) != SQLITE_ROW) return "no digest for change " + r.change_id;
    r.digest = Column(d, 0);
  }
  return "";
}

std::string DirectWrite(const std::string& path, const std::string& tenant,
                        const std::vector<PushedRow>& rows, size_t batch) {
  Connection c;
  std::string error = c.Open(path);
  if (!error.empty()) return error;
  return WriteBatches(c, tenant, rows, batch);
}

}  // namespace fieldsync::bench
