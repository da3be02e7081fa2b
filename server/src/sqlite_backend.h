// server/src/sqlite_backend.h: the embedded storage backend, one plain SQLite file.
//
// The file is opened in WAL mode (readers never block the writer and see a consistent snapshot)
// with a busy timeout, so several server processes can share it; writes are serialized by SQLite's
// single writer lock, which is also what orders the feed (backend.h, THE FEED). All SQL is
// parameterized. Connections are pooled: a session borrows one and returns it when destroyed.
//
// Thread safety: SqliteBackend is safe for concurrent use; each session belongs to one thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backend.h"

struct sqlite3;

namespace fieldsync::server {

struct SqliteBackendOptions {
  int busy_timeout_ms = 10000;  // a writer waits this long for the lock before Unavailable
  size_t max_idle_connections = 8;
};

class SqliteBackend final : public Backend {
 public:
  // Opens (creating if needed) the database at `path` and its tables.
  static Result<std::unique_ptr<SqliteBackend>> Open(const std::string& path,
                                                     SqliteBackendOptions options = {});
  ~SqliteBackend() override;

  Result<std::unique_ptr<BackendSession>> OpenSession() override;

  // Used by sessions to hand their connection back.
  void Release(sqlite3* db);

 private:
  SqliteBackend(std::string path, SqliteBackendOptions options)
      : path_(std::move(path)), options_(options) {}
  Result<sqlite3*> Connect();

  const std::string path_;
  const SqliteBackendOptions options_;
  std::mutex mu_;
  std::vector<sqlite3*> idle_;  // GUARDED_BY(mu_)
};

}  // namespace fieldsync::server
