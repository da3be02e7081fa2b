// server/src/sqlite_backend.h: the embedded storage backend, one plain SQLite file.
//
// The file is opened in WAL mode (readers never block the writer and see a consistent snapshot)
// with a busy timeout, so several server processes can share it; writes are serialized by SQLite's
// single writer lock, which is also what orders the feed (backend.h, THE FEED). All SQL is
// parameterized. Connections are pooled with their prepared statements: a session borrows one and
// returns it when destroyed.
//
// Thread safety: SqliteBackend is safe for concurrent use; each session belongs to one thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backend.h"

namespace fieldsync::server {

class SqliteConnection;  // a connection and its prepared statements (sqlite_backend.cc)

struct SqliteBackendOptions {
  int busy_timeout_ms = 10000;  // a writer waits this long for the lock before Unavailable
  size_t max_idle_connections = 8;
  int cache_kib = 32 * 1024;  // page cache per connection (PRAGMA cache_size)
};

class SqliteBackend final : public Backend {
 public:
  // Opens (creating if needed) the database at `path` and its tables.
  static Result<std::unique_ptr<SqliteBackend>> Open(const std::string& path,
                                                     SqliteBackendOptions options = {});
  ~SqliteBackend() override;

  Result<std::unique_ptr<BackendSession>> OpenSession() override;

  // Used by sessions to hand their connection back (closed if the pool is full).
  void Release(std::unique_ptr<SqliteConnection> conn);

 private:
  SqliteBackend(std::string path, SqliteBackendOptions options);
  Result<std::unique_ptr<SqliteConnection>> Connect();

  const std::string path_;
  const SqliteBackendOptions options_;
  std::mutex mu_;
  std::vector<std::unique_ptr<SqliteConnection>> idle_;  // GUARDED_BY(mu_)
};

}  // namespace fieldsync::server
