// model/outbox.cc: appending and summarizing outbox changes; see outbox.h.
#include "model/outbox.h"

namespace fieldsync::model {
namespace {

// Whether json_patch (RFC 7396) of a row's fields with `fields` gives what replacing each entry
// would: true unless a value is null (the patch would delete the old value) or an object (the
// patch would merge into the old one).
bool MergePatchable(const nlohmann::json& fields) {
  for (const auto& item : fields.items()) {
    auto v = item.value().find("v");
    if (v == item.value().end() || v->is_null() || v->is_object()) return false;
  }
  return true;
}

}  // namespace

Status AppendChange(StatementCache& sql, const Change& change) {
  if (!change.is_delete && !change.recreate) {
    // Only the record's newest row may absorb the change, and only while it is an unsent upsert
    // (a re-creation row included: it keeps its flag): merging into an older row would reorder
    // the record's changes. A re-creation itself always gets a row of its own, or its flag would
    // be lost in the older row. fs_outbox_record makes this one index probe, whatever the length
    // of the outbox.
    Result<sqlite3_stmt*> newest = sql.Get(
        "SELECT seq, fields, state, op FROM fs_outbox WHERE collection = ?1 AND record_id = ?2 "
        "ORDER BY seq DESC LIMIT 1");
    if (!newest.ok()) return newest.status();
    Stmt n(*newest);
    n.Bind(1, change.collection).Bind(2, change.record_id);
    int rc = n.Step();
    if (rc == SQLITE_ROW && n.Text(2) == "pending" && n.Text(3) == "upsert") {
      const int64_t seq = n.Int(0);
      if (MergePatchable(change.fields)) {
        // Each entry {"v", "hlc"} replaces the row's entry member by member, inside SQLite.
        Result<sqlite3_stmt*> patch = sql.Get(
            "UPDATE fs_outbox SET fields = json_patch(fields, ?1), schema_version = ?2 "
            "WHERE seq = ?3");
        if (!patch.ok()) return patch.status();
        Stmt u(*patch);
        u.Bind(1, change.fields.dump()).Bind(2, int64_t{change.schema_version}).Bind(3, seq);
        rc = u.Step();
        return rc == SQLITE_DONE ? Status::OK() : SqliteStatus(sql.db(), rc, "outbox");
      }
      nlohmann::json fields = nlohmann::json::parse(n.Text(1));
      for (const auto& [name, value] : change.fields.items()) fields[name] = value;
      Result<sqlite3_stmt*> update =
          sql.Get("UPDATE fs_outbox SET fields = ?1, schema_version = ?2 WHERE seq = ?3");
      if (!update.ok()) return update.status();
      Stmt u(*update);
      u.Bind(1, fields.dump()).Bind(2, int64_t{change.schema_version}).Bind(3, seq);
      rc = u.Step();
      return rc == SQLITE_DONE ? Status::OK() : SqliteStatus(sql.db(), rc, "outbox");
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqliteStatus(sql.db(), rc, "outbox");
  }
  Result<sqlite3_stmt*> insert = sql.Get(
      "INSERT INTO fs_outbox(change_id, collection, record_id, op, fields, node, "
      "schema_version, created_ms, recreate) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  if (!insert.ok()) return insert.status();
  Stmt i(*insert);
  i.Bind(1, change.change_id)
      .Bind(2, change.collection)
      .Bind(3, change.record_id)
      .Bind(4, change.is_delete ? "delete" : "upsert")
      .Bind(5, change.fields.dump())
      .Bind(6, change.node)
      .Bind(7, int64_t{change.schema_version})
      .Bind(8, change.now_ms)
      .Bind(9, int64_t{change.recreate ? 1 : 0});
  int rc = i.Step();
  return rc == SQLITE_DONE ? Status::OK() : SqliteStatus(sql.db(), rc, "outbox");
}

Result<PendingSummary> SummarizePending(StatementCache& sql, int64_t now_ms) {
  Result<sqlite3_stmt*> q = sql.Get("SELECT count(*), min(created_ms) FROM fs_outbox");
  if (!q.ok()) return q.status();
  Stmt s(*q);
  int rc = s.Step();
  if (rc != SQLITE_ROW) return SqliteStatus(sql.db(), rc, "pending");
  PendingSummary summary;
  summary.count = s.Int(0);
  if (!s.IsNull(1)) summary.oldest_age_s = std::max<int64_t>(0, (now_ms - s.Int(1)) / 1000);
  return summary;
}

Result<int64_t> UnsentChangesOf(StatementCache& sql, const std::string& collection,
                                const std::string& record_id) {
  Result<sqlite3_stmt*> q =
      sql.Get("SELECT count(*) FROM fs_outbox WHERE collection = ?1 AND record_id = ?2");
  if (!q.ok()) return q.status();
  Stmt s(*q);
  s.Bind(1, collection).Bind(2, record_id);
  int rc = s.Step();
  if (rc != SQLITE_ROW) return SqliteStatus(sql.db(), rc, "outbox");
  return s.Int(0);
}

Result<std::vector<DeadLetter>> ListDeadLetters(StatementCache& sql) {
  Result<sqlite3_stmt*> q = sql.Get(
      "SELECT seq, change_id, collection, record_id, reason, failed_ms FROM fs_dead_letters "
      "ORDER BY seq");
  if (!q.ok()) return q.status();
  Stmt s(*q);
  std::vector<DeadLetter> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    DeadLetter d;
    d.seq = s.Int(0);
    d.change_id = s.Text(1);
    d.collection = s.Text(2);
    d.record_id = s.Text(3);
    d.reason = s.Text(4);
    d.failed_at_ms = s.Int(5);
    out.push_back(std::move(d));
  }
  if (rc != SQLITE_DONE) return SqliteStatus(sql.db(), rc, "dead letters");
  return out;
}

}  // namespace fieldsync::model
