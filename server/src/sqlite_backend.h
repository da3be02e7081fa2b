// server/src/sqlite_backend.h: the embedded storage backend, one plain SQLite file.
//
// The file is opened in WAL mode (readers never block the writer and see a consistent snapshot)
// with a busy timeout, so several server processes can share it; writes are serialized by SQLite's
// single writer lock, which is also what orders the feed (backend.h, THE FEED). All SQL is
// parameterized. Connections are pooled with their prepared statements: a session borrows one and
// returns it when destroyed.
//
// CHECKPOINTS. Request connections do not checkpoint the WAL themselves: a commit that leaves the
// WAL above background_checkpoint_pages wakes a background thread, which checkpoints on its own
// connection while the next pushes run. Checkpoints copy pages and fsync the database file, a
// third of a large push's time when done inside it.
//
// Thread safety: SqliteBackend is safe for concurrent use; each session belongs to one thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "backend.h"

struct sqlite3;

namespace fieldsync::server {

class SqliteConnection;  // a connection and its prepared statements (sqlite_backend.cc)

struct SqliteBackendOptions {
  int busy_timeout_ms = 10000;  // a writer waits this long for the lock before Unavailable
  size_t max_idle_connections = 8;
  int cache_kib = 32 * 1024;  // page cache per connection (PRAGMA cache_size)
  // Reads of the database file through a shared memory map (PRAGMA mmap_size): a page outside
  // the connection's cache costs a memory access instead of a pread and a copy. 0: off.
  int64_t mmap_bytes = int64_t{1} << 30;
  // WAL pages after which a background thread checkpoints (PASSIVE: it never blocks readers or
  // the writer). A commit that finds the WAL above 8x this checkpoints itself, so the WAL stays
  // bounded when the thread cannot keep up. 0: SQLite's own checkpoint inside the committing
  // request, every 1,000 pages.
  int background_checkpoint_pages = 4000;
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
  // Called by SQLite after each commit on a request connection (sqlite3_wal_hook).
  static int OnWalCommit(void* backend, sqlite3* db, const char* name, int wal_pages);
  void CheckpointLoop();

  const std::string path_;
  const SqliteBackendOptions options_;
  std::mutex mu_;
  std::vector<std::unique_ptr<SqliteConnection>> idle_;  // GUARDED_BY(mu_)

  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_wanted_ = false;  // GUARDED_BY(checkpoint_mu_)
  bool stopping_ = false;           // GUARDED_BY(checkpoint_mu_)
  std::thread checkpointer_;
};

}  // namespace fieldsync::server
