// model/sql.h: prepared statements on a raw SQLite connection, cached per connection.
//
// The write path runs the same few statements for every edit; preparing them once keeps an
// edit in the microseconds. Every statement is parameterized: values are bound, never spliced.
//
// Thread safety: a StatementCache belongs to one connection and is used by one thread at a time
// (the owner's lock).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "fieldsync/status.h"
#include "sqlite_status.h"

namespace fieldsync::model {

using fieldsync::SqliteStatus;  // sqlite_status.h: the one mapping

// A prepared statement checked out of a cache: reset and unbound when it goes out of scope.
class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Stmt() {
    if (stmt_ != nullptr) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Bind(int i, std::string_view text) {
    sqlite3_bind_text64(stmt_, i, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    return *this;
  }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Stmt& BindNull(int i) {
    sqlite3_bind_null(stmt_, i);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(stmt_); }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string Text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p == nullptr ? std::string() : std::string(p, sqlite3_column_bytes(stmt_, col));
  }

 private:
  sqlite3_stmt* stmt_;
};

class StatementCache {
 public:
  explicit StatementCache(sqlite3* db) : db_(db) {}
  ~StatementCache();
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;

  // The prepared statement for `sql` (a string literal: the cache keys on its address).
  Result<sqlite3_stmt*> Get(const char* sql);
  sqlite3* db() const { return db_; }

  // Runs a statement with no result rows; Status on failure.
  Status Exec(const char* sql);

 private:
  sqlite3* db_;
  std::map<const char*, sqlite3_stmt*> statements_;
};

}  // namespace fieldsync::model
