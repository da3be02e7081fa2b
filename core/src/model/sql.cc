// model/sql.cc: the statement cache; see sql.h.
#include "model/sql.h"

namespace fieldsync::model {

StatementCache::~StatementCache() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
}

Result<sqlite3_stmt*> StatementCache::Get(const char* sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) return it->second;
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return SqliteStatus(db_, rc, "prepare");
  statements_.emplace(sql, stmt);
  return stmt;
}

Status StatementCache::Exec(const char* sql) {
  Result<sqlite3_stmt*> stmt = Get(sql);
  if (!stmt.ok()) return stmt.status();
  Stmt s(*stmt);
  int rc = s.Step();
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return SqliteStatus(db_, rc, "execute");
  return Status::OK();
}

}  // namespace fieldsync::model
