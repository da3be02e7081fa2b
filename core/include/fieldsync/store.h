// fieldsync/store.h: an encrypted local SQLite database, the storage under everything else.
//
// A Store is one connection to a database file whose every page, on disk and in its WAL or
// rollback journal, is encrypted and authenticated with AES-256-GCM by core's VFS shim (see
// docs/security.md for the file format). The stock system SQLite does the database work.
//
//   PassphraseKeyProvider key("correct horse");
//   Result<std::unique_ptr<Store>> s = Store::Create("rep.db", key);
//   FIELDSYNC_RETURN_IF_ERROR((*s)->Execute("CREATE TABLE t(x)"));
//
// Errors: WrongKey when the key does not open the database (found from the header, before any
// page is read); Corruption when a page fails authentication (tampered, moved between positions,
// or copied from another database: the message says which) or the file is damaged; IOError for
// OS failures; Unavailable when another connection holds a lock past the busy timeout.
//
// Thread safety: a Store is one SQLite connection; use it from one thread at a time. Open several
// Stores on the same path for concurrent readers and a writer (WAL: readers never block the
// writer). Static functions are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fieldsync/env.h"
#include "fieldsync/key_provider.h"
#include "fieldsync/status.h"

namespace fieldsync {

enum class JournalMode {
  kWal,       // default: write-ahead log, readers never wait for the writer
  kRollback,  // rollback journal (journal_mode=DELETE)
};

enum class SyncMode {
  kFull,    // default: every commit is on stable storage when Execute returns
  kNormal,  // WAL only: a power loss may drop the last commits, never corrupts
};

struct StoreOptions {
  Env* env = nullptr;  // nullptr: Env::Default()
  JournalMode journal_mode = JournalMode::kWal;
  SyncMode sync_mode = SyncMode::kFull;
  int busy_timeout_ms = 5000;
  // Page cache size per connection, in KiB (SQLite's default is 2000 KiB).
  int cache_size_kib = 2000;
};

// A SQL value. Blobs are std::vector<uint8_t>.
using Blob = std::vector<uint8_t>;
using Value = std::variant<std::monostate, int64_t, double, std::string, Blob>;

struct Row {
  const std::vector<std::string>* columns = nullptr;  // column names, shared by all rows
  std::vector<Value> values;
};

// Called once per result row; return false to stop early (Execute then returns OK).
using RowCallback = std::function<bool(const Row& row)>;

// Non-secret facts about a database file, readable without its key.
struct StoreInfo {
  int format_version = 0;
  std::string cipher;  // "AES-256-GCM"
  int page_size = 0;
  int reserve_bytes = 0;
  uint64_t page_count = 0;      // pages in the main file (WAL not included)
  uint64_t wal_bytes = 0;       // size of the -wal file, 0 if absent
  std::string database_id;      // hex
  std::string data_key_id;      // hex; changes when the data key is rotated
  uint64_t key_generation = 0;  // bumps on every passphrase change or rotation
  KekSpec kek;                  // salt is not secret but is not printed by the CLI
};

// Result of Verify(): every page authenticated, then PRAGMA integrity_check.
struct VerifyReport {
  uint64_t pages_authenticated = 0;
  uint64_t wal_frames_authenticated = 0;
  std::vector<std::string> integrity_errors;  // empty when integrity_check says "ok"
};

class Store {
 public:
  // Creates a new database (AlreadyExists if path exists) keyed by `key`.
  static Result<std::unique_ptr<Store>> Create(const std::string& path, const KeyProvider& key,
                                               const StoreOptions& options = {});
  // Opens an existing database (NotFound if absent, WrongKey if `key` does not open it).
  static Result<std::unique_ptr<Store>> Open(const std::string& path, const KeyProvider& key,
                                             const StoreOptions& options = {});
  // Reads the header of a database file; needs no key and reveals no secret.
  static Result<StoreInfo> ReadInfo(const std::string& path, Env* env = nullptr);
  // Shreds the wrapped key material (making every page unrecoverable), then deletes the database
  // and its -wal, -shm and -journal files. FailedPrecondition if this process has it open.
  static Status Destroy(const std::string& path, Env* env = nullptr);

  // Another connection to the same database and key, without deriving the key again: for a
  // pool of reader connections beside one writer.
  Result<std::unique_ptr<Store>> OpenSibling() const;

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Runs one or more SQL statements. `params` bind to the ?-placeholders of a single statement
  // (InvalidArgument if params are given with several statements). Rows of every statement go to
  // on_row when given.
  Status Execute(std::string_view sql, const std::vector<Value>& params = {},
                 const RowCallback& on_row = nullptr);

  // Rewraps the data key under the KEK of `new_key`. Touches only the header: constant time in
  // the database size. A crash part-way leaves a database that opens with exactly one of the old
  // and new keys.
  Status ChangeKey(const KeyProvider& new_key);

  // Generates a new data key and re-encrypts every page into a fresh file that atomically
  // replaces this one; also switches to `new_key` when given. Needs exclusive use of the
  // database (Unavailable otherwise) and free space for a second copy. A crash part-way leaves
  // the old or the new database, never a mix.
  Status RotateDataKey(const KeyProvider* new_key = nullptr);

  // Authenticates every page of the main file and every WAL frame, then runs integrity_check.
  // A page that fails authentication is an error (Corruption); integrity problems are reported.
  Result<VerifyReport> Verify();

  Result<StoreInfo> Info();

  const std::string& path() const { return path_; }
  // The underlying sqlite3* for core's own modules; not for hosts.
  void* native_handle() const { return db_; }

 private:
  struct KeyState;
  Store(std::string path, StoreOptions options);
  static Result<std::unique_ptr<Store>> OpenImpl(const std::string& path, const KeyProvider& key,
                                                 const StoreOptions& options, bool create);
  // Opens the SQLite connection through the encrypting VFS and applies the pragmas.
  Status Connect(bool creating);
  void ScrubStaleSlot();

  std::string path_;
  StoreOptions options_;
  void* db_ = nullptr;         // sqlite3*
  bool counted_open_ = false;  // listed among the paths this process has open
  std::shared_ptr<KeyState> key_state_;
};

}  // namespace fieldsync
