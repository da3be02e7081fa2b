// query/queries.cc: Timeline, Agenda and Classify, answered from fs_records (see queries.h).
//
// INDEXES
//   CreateQueryIndexes() adds partial expression indexes on fs_records (see kCreateIndexes). A
//   partial index serves a query only when the query's WHERE repeats the index's WHERE terms
//   (collection = '<literal>' AND deleted = 0) and uses the very same expressions, so the SQL
//   below spells them exactly as the indexes do; queries_test.cc checks the plans with EXPLAIN
//   QUERY PLAN. Literal collection names are constants of the code, never input: every input is
//   bound with sqlite3_bind_*.
//
// DATES
//   "Today" is the UTC date of now_ms. Reps work in China (UTC+8), so between 00:00 and 08:00
//   Beijing time "today" is still yesterday; per-rep time zones are a later concern. Day counts
//   are differences of UTC calendar dates, not of 24-hour periods: a customer visited on Monday
//   at any hour is "7 days since contact" all of the following Monday. Dates and datetimes are
//   ISO text and compare as text. Records dated after today (a skewed device clock, an order
//   booked ahead) are not dropped; their day counts are clamped to 0.
//
// TIMELINE
//   Visits are placed at their `start`, orders at their `date` (a bare date sorts as the start
//   of its UTC day, i.e. after that day's visits), contacts at the time of the record's last
//   change (physical part of updated_hlc, as "YYYY-MM-DDTHH:MM:SS.sssZ"): a contact has no date
//   of its own, and its addition or edit is news on the customer's page. Ties go by kind, then
//   id, so the order is deterministic. NotFound when the customer itself is missing or deleted.
//
// AGENDA
//   A next action belongs to `next_action_owner`, or when that is absent to the visit's `rep`
//   (whoever wrote the action without naming an owner took it on). Visits are append-only, so a
//   next action is closed by recording the follow-up: only the latest live visit of a customer
//   (by start, then rowid) carries that customer's open next action, and an earlier visit's
//   action is superseded even when the later visit names none. "due": next_action_due is today;
//   "overdue": before today. "not_contacted": customers whose owner_rep is the rep and whose
//   grade has a cadence (options.cadence_days, 0 = never; customers without a grade have none)
//   with days_since_contact >= cadence, where the last contact is the latest live visit by any
//   rep. A never-visited customer counts from the record's last change (updated_hlc): the store
//   keeps no creation time, so an edit restarts the count.
//
// CLASSIFICATION
//   The trailing 12 months are the orders dated from today - 365 days on. Amounts are summed as
//   REAL (CAST of the canonical decimal text): exact enough to rank customers, not for
//   accounting; currencies are not converted (one currency per install is assumed).
//   ABC: customers by amount, largest first (ties by name, then id); a customer whose cumulative
//   share of the total is <= a_share is A, <= b_share B, otherwise C. Two exceptions: a customer
//   with no amount is C, and the largest customer is always A, so that one dominant customer
//   (say 95% of the total) is not classed C. A customer straddling a boundary falls on the far
//   side of it.
//   Lifecycle, by days since the last live visit or order: active while <= active_within_days,
//   lost when > lost_after_days, silent when > silent_after_days, active in between (a config
//   gap). Without any visit or order, the record's last change stands in for its creation: "new"
//   while within active_within_days, then silent, then lost.
//   RFM among the customers with an order in the window (others get 1/1/1): recency = days since
//   the last order, frequency = orders in the window, monetary = amount in the window. Each is
//   scored 1 + floor(5 * p) capped at 5, where p is the share of the other customers strictly
//   worse (the percent rank): the best gets 5, the worst 1, equal values score alike.
//   The array is ordered by name in code point order (not pinyin), then id.
//
// Thread safety: the functions use only the given connection.
#include "query/queries.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "fieldsync/calendar.h"

namespace fieldsync::query {
namespace {

using nlohmann::json;

constexpr int64_t kMsPerDay = 86400000;
constexpr int kTrailingDays = 365;

// Each index's WHERE is repeated verbatim by the queries that use it.
constexpr char kCreateIndexes[] = R"sql(
CREATE INDEX IF NOT EXISTS fs_q_visits_by_customer
  ON fs_records(json_extract(data, '$.customer'), json_extract(data, '$.start'))
  WHERE collection = 'visits' AND deleted = 0;
CREATE INDEX IF NOT EXISTS fs_q_orders_by_customer
  ON fs_records(json_extract(data, '$.customer'), json_extract(data, '$.date'))
  WHERE collection = 'orders' AND deleted = 0;
CREATE INDEX IF NOT EXISTS fs_q_contacts_by_customer
  ON fs_records(json_extract(data, '$.customer'))
  WHERE collection = 'contacts' AND deleted = 0;
CREATE INDEX IF NOT EXISTS fs_q_next_actions
  ON fs_records(coalesce(json_extract(data, '$.next_action_owner'), json_extract(data, '$.rep')),
                json_extract(data, '$.next_action_due'))
  WHERE collection = 'visits' AND deleted = 0;
CREATE INDEX IF NOT EXISTS fs_q_customers_by_owner
  ON fs_records(json_extract(data, '$.owner_rep'))
  WHERE collection = 'customers' AND deleted = 0;
)sql";

constexpr char kCustomerStateSql[] =
    "SELECT deleted FROM fs_records WHERE collection = 'customers' AND id = ?1";

constexpr char kTimelineSql[] = R"sql(
SELECT 'visit', id, json_extract(data, '$.start'), data, updated_hlc FROM fs_records
  WHERE collection = 'visits' AND deleted = 0 AND json_extract(data, '$.customer') = ?1
UNION ALL
SELECT 'order', id, json_extract(data, '$.date'), data, updated_hlc FROM fs_records
  WHERE collection = 'orders' AND deleted = 0 AND json_extract(data, '$.customer') = ?1
UNION ALL
SELECT 'contact', id, NULL, data, updated_hlc FROM fs_records
  WHERE collection = 'contacts' AND deleted = 0 AND json_extract(data, '$.customer') = ?1
)sql";

// ?1 rep, ?2 today. The NOT EXISTS keeps only the latest live visit of each customer.
constexpr char kNextActionsSql[] = R"sql(
SELECT v.id, json_extract(v.data, '$.customer'), json_extract(v.data, '$.next_action'),
       json_extract(v.data, '$.next_action_due'), json_extract(v.data, '$.start'),
       json_extract(c.data, '$.name'), json_extract(c.data, '$.grade')
FROM fs_records AS v
LEFT JOIN fs_records AS c
  ON c.collection = 'customers' AND c.id = json_extract(v.data, '$.customer')
WHERE v.collection = 'visits' AND v.deleted = 0
  AND coalesce(json_extract(v.data, '$.next_action_owner'), json_extract(v.data, '$.rep')) = ?1
  AND json_extract(v.data, '$.next_action_due') <= ?2
  AND coalesce(c.deleted, 0) = 0
  AND NOT EXISTS (
    SELECT 1 FROM fs_records AS l
    WHERE l.collection = 'visits' AND l.deleted = 0
      AND json_extract(l.data, '$.customer') = json_extract(v.data, '$.customer')
      AND json_extract(l.data, '$.start') >= json_extract(v.data, '$.start')
      AND (json_extract(l.data, '$.start') > json_extract(v.data, '$.start') OR l.rid > v.rid))
)sql";

// ?1 rep.
constexpr char kOwnedCustomersSql[] = R"sql(
SELECT c.id, json_extract(c.data, '$.name'), json_extract(c.data, '$.grade'), c.updated_hlc,
       (SELECT max(json_extract(v.data, '$.start')) FROM fs_records AS v
         WHERE v.collection = 'visits' AND v.deleted = 0
           AND json_extract(v.data, '$.customer') = +c.id)
FROM fs_records AS c
WHERE c.collection = 'customers' AND c.deleted = 0 AND json_extract(c.data, '$.owner_rep') = ?1
)sql";

// ?1 first day of the trailing window. One pass over the customers, each fact an index seek;
// "+c.id" drops the column's TEXT affinity, which would otherwise keep the comparison off the
// expression index (an indexed expression has no affinity).
constexpr char kClassifySql[] = R"sql(
SELECT c.id, json_extract(c.data, '$.name'), c.updated_hlc,
  (SELECT max(json_extract(v.data, '$.start')) FROM fs_records AS v
    WHERE v.collection = 'visits' AND v.deleted = 0
      AND json_extract(v.data, '$.customer') = +c.id),
  (SELECT max(json_extract(o.data, '$.date')) FROM fs_records AS o
    WHERE o.collection = 'orders' AND o.deleted = 0
      AND json_extract(o.data, '$.customer') = +c.id),
  (SELECT count(*) FROM fs_records AS o
    WHERE o.collection = 'orders' AND o.deleted = 0
      AND json_extract(o.data, '$.customer') = +c.id AND json_extract(o.data, '$.date') >= ?1),
  (SELECT total(CAST(json_extract(o.data, '$.amount') AS REAL)) FROM fs_records AS o
    WHERE o.collection = 'orders' AND o.deleted = 0
      AND json_extract(o.data, '$.customer') = +c.id AND json_extract(o.data, '$.date') >= ?1)
FROM fs_records AS c
WHERE c.collection = 'customers' AND c.deleted = 0
ORDER BY json_extract(c.data, '$.name'), c.id
)sql";

// ---- Dates ---------------------------------------------------------------------------------

using calendar::DaysFromCivil;
using calendar::FloorDiv;
using calendar::FormatDate;

std::string FormatDateTime(int64_t ms) {
  const int64_t days = FloorDiv(ms, kMsPerDay);
  const int64_t in_day = ms - days * kMsPerDay;
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%sT%02lld:%02lld:%02lld.%03lldZ", FormatDate(days).c_str(),
                static_cast<long long>(in_day / 3600000),
                static_cast<long long>(in_day / 60000 % 60),
                static_cast<long long>(in_day / 1000 % 60), static_cast<long long>(in_day % 1000));
  return buf;
}

// The day number of text starting "YYYY-MM-DD" (a date or a datetime), if it does.
std::optional<int64_t> ParseDay(std::string_view text) {
  if (text.size() < 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  int64_t parts[3] = {0, 0, 0};
  const size_t starts[3] = {0, 5, 8};
  const size_t lengths[3] = {4, 2, 2};
  for (int i = 0; i < 3; ++i) {
    for (size_t j = 0; j < lengths[i]; ++j) {
      const char ch = text[starts[i] + j];
      if (ch < '0' || ch > '9') return std::nullopt;
      parts[i] = parts[i] * 10 + (ch - '0');
    }
  }
  if (parts[1] < 1 || parts[1] > 12 || parts[2] < 1 || parts[2] > 31) return std::nullopt;
  return DaysFromCivil(parts[0], parts[1], parts[2]);
}

int64_t PhysicalMs(int64_t hlc) { return static_cast<int64_t>(static_cast<uint64_t>(hlc) >> 16); }

// ---- SQLite --------------------------------------------------------------------------------

Status SqlError(sqlite3* db, std::string_view what) {
  const int code = sqlite3_extended_errcode(db);
  std::string msg = std::string(what) + ": " + sqlite3_errmsg(db);
  if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED) {
    return Status::Unavailable(std::move(msg));
  }
  return Status::Internal(std::move(msg));
}

// A prepared statement that finalizes itself. Bound text is copied into the statement
// (SQLITE_TRANSIENT is an old-style cast, which this code base builds without).
class Statement {
 public:
  Statement() = default;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(stmt_); }

  Status Prepare(sqlite3* db, const char* sql, std::string_view what) {
    db_ = db;
    what_ = what;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      return SqlError(db, what_);
    }
    return Status::OK();
  }

  Status BindText(int index, std::string_view text) {
    bound_.emplace_back(text);
    const std::string& kept = bound_.back();
    if (sqlite3_bind_text(stmt_, index, kept.data(), static_cast<int>(kept.size()),
                          SQLITE_STATIC) != SQLITE_OK) {
      return SqlError(db_, what_);
    }
    return Status::OK();
  }

  // True with a row, false when done.
  Result<bool> Step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqlError(db_, what_);
  }

  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Real(int col) const { return sqlite3_column_double(stmt_, col); }
  std::optional<std::string> Text(int col) const {
    const unsigned char* text = sqlite3_column_text(stmt_, col);
    if (text == nullptr) return std::nullopt;
    return std::string(reinterpret_cast<const char*>(text),
                       static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
  }
  std::string TextOr(int col, std::string fallback = {}) const {
    std::optional<std::string> t = Text(col);
    return t ? std::move(*t) : std::move(fallback);
  }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  std::string what_;
  std::deque<std::string> bound_;  // a deque: growing it never moves the bound bytes
};

json NullOr(const std::optional<std::string>& text) { return text ? json(*text) : json(nullptr); }

std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Grade "A".."E" to 0..4; -1 for anything else.
int GradeIndex(const std::optional<std::string>& grade) {
  if (!grade || grade->size() != 1 || (*grade)[0] < 'A' || (*grade)[0] > 'E') return -1;
  return (*grade)[0] - 'A';
}

// ---- Timeline ------------------------------------------------------------------------------

struct TimelineEntry {
  std::string kind;
  std::string id;
  std::string at;
  json record;
};

// ---- Agenda --------------------------------------------------------------------------------

struct NextAction {
  std::string visit;
  std::optional<std::string> customer, text, name, grade;
  std::string due;
  int64_t days_overdue = 0;
};

bool MoreUrgentAction(const NextAction& a, const NextAction& b) {
  if (a.due != b.due) return a.due < b.due;  // the longest overdue first
  const int ga = GradeIndex(a.grade), gb = GradeIndex(b.grade);
  if (ga != gb) return (ga < 0 ? 5 : ga) < (gb < 0 ? 5 : gb);  // A first, no grade last
  if (a.name != b.name) return a.name.value_or("") < b.name.value_or("");
  return a.visit < b.visit;
}

json ActionJson(const NextAction& a) {
  return json{{"visit", a.visit},
              {"customer", NullOr(a.customer)},
              {"name", NullOr(a.name)},
              {"grade", NullOr(a.grade)},
              {"next_action", NullOr(a.text)},
              {"next_action_due", a.due},
              {"days_overdue", a.days_overdue}};
}

struct Neglected {
  std::string customer;
  std::optional<std::string> name, last_contact;
  std::string grade;
  int cadence = 0;
  int64_t days = 0;
};

// ---- Classification ------------------------------------------------------------------------

struct CustomerFacts {
  std::string id;
  std::optional<std::string> name;
  int64_t changed_day = 0;
  int64_t orders = 0;
  double amount = 0;
  std::optional<int64_t> last_order_in_window;  // day number
  std::optional<int64_t> last_activity;         // day number
  char abc = 'C';
  int r = 1, f = 1, m = 1;
};

// Scores values (higher is better) 1..5 by percent rank: 1 + floor(5 * below / (n - 1)),
// capped at 5, where below counts the values strictly lower. One value scores 1.
std::vector<int> QuintileScores(const std::vector<double>& values) {
  std::vector<double> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  const int64_t n = static_cast<int64_t>(values.size());
  std::vector<int> scores;
  scores.reserve(values.size());
  for (double v : values) {
    const int64_t below = std::lower_bound(sorted.begin(), sorted.end(), v) - sorted.begin();
    const int64_t score = n > 1 ? 1 + std::min<int64_t>(4, 5 * below / (n - 1)) : 1;
    scores.push_back(static_cast<int>(score));
  }
  return scores;
}

}  // namespace

Status CreateQueryIndexes(sqlite3* db) {
  if (db == nullptr) return Status::InvalidArgument("CreateQueryIndexes: no database");
  char* err = nullptr;
  if (sqlite3_exec(db, kCreateIndexes, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = std::string("CreateQueryIndexes: ") + (err ? err : sqlite3_errmsg(db));
    sqlite3_free(err);
    const int code = sqlite3_extended_errcode(db) & 0xff;
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED) return Status::Unavailable(std::move(msg));
    return Status::Internal(std::move(msg));
  }
  return Status::OK();
}

Result<std::string> Timeline(sqlite3* db, std::string_view customer_id) {
  if (db == nullptr) return Status::InvalidArgument("Timeline: no database");
  if (customer_id.empty()) return Status::InvalidArgument("Timeline: empty customer id");

  {
    Statement state;
    FIELDSYNC_RETURN_IF_ERROR(state.Prepare(db, kCustomerStateSql, "Timeline customer"));
    FIELDSYNC_RETURN_IF_ERROR(state.BindText(1, customer_id));
    Result<bool> row = state.Step();
    if (!row.ok()) return row.status();
    if (!*row || state.Int(0) != 0) {
      return Status::NotFound("Timeline: no customer " + std::string(customer_id));
    }
  }

  Statement stmt;
  FIELDSYNC_RETURN_IF_ERROR(stmt.Prepare(db, kTimelineSql, "Timeline"));
  FIELDSYNC_RETURN_IF_ERROR(stmt.BindText(1, customer_id));
  std::vector<TimelineEntry> entries;
  for (;;) {
    Result<bool> row = stmt.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    TimelineEntry e;
    e.kind = stmt.TextOr(0);
    e.id = stmt.TextOr(1);
    e.at = e.kind == "contact" ? FormatDateTime(PhysicalMs(stmt.Int(4))) : stmt.TextOr(2);
    e.record = json::parse(stmt.TextOr(3), nullptr, /*allow_exceptions=*/false);
    if (!e.record.is_object()) {
      return Status::Corruption("Timeline: " + e.kind + " " + e.id + " holds no JSON object");
    }
    e.record["id"] = e.id;
    entries.push_back(std::move(e));
  }
  // Most recent first; an entry without a time sorts last.
  std::sort(entries.begin(), entries.end(), [](const TimelineEntry& a, const TimelineEntry& b) {
    if (a.at != b.at) return a.at > b.at;
    if (a.kind != b.kind) return a.kind < b.kind;
    return a.id < b.id;
  });
  json out = json::array();
  for (TimelineEntry& e : entries) {
    out.push_back(json{{"kind", e.kind},
                       {"id", e.id},
                       {"at", e.at.empty() ? json(nullptr) : json(e.at)},
                       {"record", std::move(e.record)}});
  }
  return Dump(out);
}

Result<std::string> Agenda(sqlite3* db, std::string_view rep, int64_t now_ms,
                           const AgendaOptions& options) {
  if (db == nullptr) return Status::InvalidArgument("Agenda: no database");
  if (rep.empty()) return Status::InvalidArgument("Agenda: empty rep");
  if (now_ms < 0) return Status::InvalidArgument("Agenda: now_ms before 1970");
  for (int cadence : options.cadence_days) {
    if (cadence < 0) return Status::InvalidArgument("Agenda: negative cadence_days");
  }
  const int64_t today_day = FloorDiv(now_ms, kMsPerDay);
  const std::string today = FormatDate(today_day);

  std::vector<NextAction> due, overdue;
  {
    Statement stmt;
    FIELDSYNC_RETURN_IF_ERROR(stmt.Prepare(db, kNextActionsSql, "Agenda next actions"));
    FIELDSYNC_RETURN_IF_ERROR(stmt.BindText(1, rep));
    FIELDSYNC_RETURN_IF_ERROR(stmt.BindText(2, today));
    for (;;) {
      Result<bool> row = stmt.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      NextAction a;
      a.visit = stmt.TextOr(0);
      a.customer = stmt.Text(1);
      a.text = stmt.Text(2);
      a.due = stmt.TextOr(3);
      a.name = stmt.Text(5);
      a.grade = stmt.Text(6);
      std::optional<int64_t> due_day = ParseDay(a.due);
      a.days_overdue = due_day ? std::max<int64_t>(0, today_day - *due_day) : 0;
      (a.due == today ? due : overdue).push_back(std::move(a));
    }
  }
  std::sort(due.begin(), due.end(), MoreUrgentAction);
  std::sort(overdue.begin(), overdue.end(), MoreUrgentAction);

  std::vector<Neglected> neglected;
  {
    Statement stmt;
    FIELDSYNC_RETURN_IF_ERROR(stmt.Prepare(db, kOwnedCustomersSql, "Agenda customers"));
    FIELDSYNC_RETURN_IF_ERROR(stmt.BindText(1, rep));
    for (;;) {
      Result<bool> row = stmt.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      const std::optional<std::string> grade = stmt.Text(2);
      const int g = GradeIndex(grade);
      if (g < 0 || options.cadence_days[g] == 0) continue;
      Neglected n;
      n.customer = stmt.TextOr(0);
      n.name = stmt.Text(1);
      n.grade = *grade;
      n.cadence = options.cadence_days[g];
      n.last_contact = stmt.Text(4);
      std::optional<int64_t> since = n.last_contact ? ParseDay(*n.last_contact) : std::nullopt;
      if (!since) since = FloorDiv(PhysicalMs(stmt.Int(3)), kMsPerDay);
      n.days = std::max<int64_t>(0, today_day - *since);
      if (n.days >= n.cadence) neglected.push_back(std::move(n));
    }
  }
  // Most past its cadence first, then the higher grade.
  std::sort(neglected.begin(), neglected.end(), [](const Neglected& a, const Neglected& b) {
    const int64_t late_a = a.days - a.cadence, late_b = b.days - b.cadence;
    if (late_a != late_b) return late_a > late_b;
    if (a.grade != b.grade) return a.grade < b.grade;
    if (a.name != b.name) return a.name.value_or("") < b.name.value_or("");
    return a.customer < b.customer;
  });

  json out = {{"rep", std::string(rep)},
              {"today", today},
              {"due", json::array()},
              {"overdue", json::array()},
              {"not_contacted", json::array()}};
  for (const NextAction& a : due) out["due"].push_back(ActionJson(a));
  for (const NextAction& a : overdue) out["overdue"].push_back(ActionJson(a));
  for (const Neglected& n : neglected) {
    out["not_contacted"].push_back(json{{"customer", n.customer},
                                        {"name", NullOr(n.name)},
                                        {"grade", n.grade},
                                        {"cadence_days", n.cadence},
                                        {"last_contact", NullOr(n.last_contact)},
                                        {"days_since_contact", n.days}});
  }
  return Dump(out);
}

Result<std::string> Classify(sqlite3* db, int64_t now_ms, const ClassificationOptions& options) {
  if (db == nullptr) return Status::InvalidArgument("Classify: no database");
  if (now_ms < 0) return Status::InvalidArgument("Classify: now_ms before 1970");
  if (!(options.a_share >= 0 && options.a_share <= options.b_share && options.b_share <= 1)) {
    return Status::InvalidArgument("Classify: need 0 <= a_share <= b_share <= 1");
  }
  if (options.active_within_days < 0 || options.silent_after_days < 0 ||
      options.lost_after_days < 0) {
    return Status::InvalidArgument("Classify: negative lifecycle days");
  }
  const int64_t today_day = FloorDiv(now_ms, kMsPerDay);
  const std::string window_start = FormatDate(today_day - kTrailingDays);

  std::vector<CustomerFacts> customers;
  {
    Statement stmt;
    FIELDSYNC_RETURN_IF_ERROR(stmt.Prepare(db, kClassifySql, "Classify"));
    FIELDSYNC_RETURN_IF_ERROR(stmt.BindText(1, window_start));
    for (;;) {
      Result<bool> row = stmt.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      CustomerFacts c;
      c.id = stmt.TextOr(0);
      c.name = stmt.Text(1);
      c.changed_day = FloorDiv(PhysicalMs(stmt.Int(2)), kMsPerDay);
      const std::optional<std::string> last_visit = stmt.Text(3);
      const std::optional<std::string> last_order = stmt.Text(4);
      const std::optional<int64_t> visit_day = last_visit ? ParseDay(*last_visit) : std::nullopt;
      const std::optional<int64_t> order_day = last_order ? ParseDay(*last_order) : std::nullopt;
      c.last_activity = visit_day;
      if (order_day && (!visit_day || *order_day > *visit_day)) c.last_activity = order_day;
      c.orders = stmt.Int(5);
      c.amount = stmt.Real(6);
      // Dates compare as text, so the latest order is in the window exactly when it counts there.
      if (c.orders > 0) c.last_order_in_window = order_day;
      customers.push_back(std::move(c));
    }
  }

  // ABC. `customers` is in name order, so a stable sort breaks amount ties by name, then id.
  {
    std::vector<size_t> order(customers.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return customers[a].amount > customers[b].amount; });
    double total = 0;
    for (const CustomerFacts& c : customers) total += std::max(0.0, c.amount);
    // Tolerates the rounding of a REAL sum, so 700 of 1000 is exactly a 0.7 share.
    const double slack = total * 1e-9;
    double cumulative = 0;
    for (size_t rank = 0; rank < order.size(); ++rank) {
      CustomerFacts& c = customers[order[rank]];
      if (!(c.amount > 0)) {
        c.abc = 'C';
        continue;
      }
      cumulative += c.amount;
      if (rank == 0 || cumulative <= options.a_share * total + slack) {
        c.abc = 'A';
      } else if (cumulative <= options.b_share * total + slack) {
        c.abc = 'B';
      } else {
        c.abc = 'C';
      }
    }
  }

  // RFM among customers with an order in the window; higher is better for all three inputs.
  {
    std::vector<size_t> buyers;
    std::vector<double> recency, frequency, monetary;
    for (size_t i = 0; i < customers.size(); ++i) {
      const CustomerFacts& c = customers[i];
      if (c.orders == 0) continue;
      buyers.push_back(i);
      const int64_t days =
          c.last_order_in_window ? std::max<int64_t>(0, today_day - *c.last_order_in_window) : 0;
      recency.push_back(-static_cast<double>(days));
      frequency.push_back(static_cast<double>(c.orders));
      monetary.push_back(c.amount);
    }
    const std::vector<int> r = QuintileScores(recency);
    const std::vector<int> f = QuintileScores(frequency);
    const std::vector<int> m = QuintileScores(monetary);
    for (size_t k = 0; k < buyers.size(); ++k) {
      CustomerFacts& c = customers[buyers[k]];
      c.r = r[k];
      c.f = f[k];
      c.m = m[k];
    }
  }

  json out = json::array();
  for (const CustomerFacts& c : customers) {
    const char* lifecycle;
    std::optional<int64_t> days_since_activity;
    if (c.last_activity) {
      const int64_t days = std::max<int64_t>(0, today_day - *c.last_activity);
      days_since_activity = days;
      if (days <= options.active_within_days) {
        lifecycle = "active";
      } else if (days > options.lost_after_days) {
        lifecycle = "lost";
      } else if (days > options.silent_after_days) {
        lifecycle = "silent";
      } else {
        lifecycle = "active";
      }
    } else {
      const int64_t days = std::max<int64_t>(0, today_day - c.changed_day);
      if (days <= options.active_within_days) {
        lifecycle = "new";
      } else if (days > options.lost_after_days) {
        lifecycle = "lost";
      } else {
        lifecycle = "silent";
      }
    }
    out.push_back(json{
        {"customer", c.id},
        {"name", NullOr(c.name)},
        {"abc", std::string(1, c.abc)},
        {"lifecycle", lifecycle},
        {"rfm", {{"r", c.r}, {"f", c.f}, {"m", c.m}}},
        {"amount_12m", c.amount},
        {"orders_12m", c.orders},
        {"last_activity", c.last_activity ? json(FormatDate(*c.last_activity)) : json(nullptr)},
        {"days_since_activity", days_since_activity ? json(*days_since_activity) : json(nullptr)},
    });
  }
  return Dump(out);
}

}  // namespace fieldsync::query
