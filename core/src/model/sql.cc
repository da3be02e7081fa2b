// model/sql.cc: the statement cache; see sql.h.
#include "model/sql.h"

#include "vfs/encrypted_vfs.h"

namespace fieldsync::model {

Status SqliteStatus(sqlite3* db, int rc, std::string_view context) {
  if (db != nullptr && (sqlite3_extended_errcode(db) & 0xff) == (rc & 0xff)) {
    rc = sqlite3_extended_errcode(db);
  }
  std::string detail = vfs::TakeLastError();
  std::string message =
      std::string(context) + ": " + (detail.empty() ? sqlite3_errmsg(db) : detail);
  switch (rc & 0xff) {
    case SQLITE_IOERR:
      return rc == SQLITE_IOERR_DATA ? Status::Corruption(message) : Status::IOError(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::Corruption(message);
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
      return Status::IOError(message);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable(message);
    case SQLITE_CONSTRAINT:
      return Status::AlreadyExists(message);
    default:
      return Status::Internal(message);
  }
}

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
