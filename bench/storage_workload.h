// bench/storage_workload.h: the storage benchmark's data set and workloads, on the SQLite C API
// only.
//
// Everything here talks to a sqlite3* through the C API and nothing else, so the same source is
// compiled into fieldsync-bench (system SQLite 3.40.1, plaintext vs fieldsync::Store) and into
// fieldsync-bench-sqlcipher (SQLCipher 3.4.1 on SQLite 3.15.2, keyed vs unkeyed). The SQL therefore
// stays within what SQLite 3.15 understands: no upsert, no FTS5, no window functions.
//
// One repetition (RunStorageSequence) on a fresh database file runs, in order:
//   insert_batched  N customer rows (default 100,000), 1,000 per transaction, one prepared INSERT
//   read_warm       10,000 point reads by primary key at random; timed after an untimed pass over
//                   the same keys, so every page they touch is in SQLite's page cache
//   read_cold       close, reopen (untimed), then 10,000 point reads of other random keys: SQLite's
//                   page cache starts empty, so every page is read through the VFS (and decrypted);
//                   the OS page cache stays warm unless drop_os_cache is set
//   scan_full       close, reopen (untimed), SELECT sum(length(notes)) over every row: a cold scan
//   commit_single   1,000 autocommit statements on that connection, alternating an INSERT of a new
//                   row and an UPDATE of an existing one; each is its own durable commit
// Every workload returns a checksum of what it read or changed, so variants that should do the same
// work can be checked to have done it.
//
// Thread safety: none needed; the benchmark is single-threaded. A StorageVariant holds at most one
// open connection at a time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "sqlite_api.h"

namespace fieldsync::bench {

// One row of table customers; sizes aim at a realistic CRM record (about 300-500 bytes).
struct CustomerRow {
  std::string id;  // UUID-shaped, random: inserts land all over the primary-key index
  std::string name;
  std::string company;
  std::string phone;  // E.164 mainland mobile, "+86138..."
  std::string email;
  std::string region;
  std::string industry;
  std::string grade;  // "A".."E"
  std::string notes;  // 100-300 bytes of UTF-8 mixing Chinese and Latin text
  int64_t updated_at = 0;

  size_t ByteSize() const;
};

inline constexpr uint64_t kDatasetSeed = 0x6669656c6473796eULL;  // "fieldsyn"
inline constexpr size_t kDefaultRows = 100000;
inline constexpr size_t kBatchSize = 1000;
inline constexpr size_t kPointReads = 10000;
inline constexpr size_t kSingleCommits = 1000;
// Large enough to hold the whole 100k-row database, the same for every variant.
inline constexpr int kCacheSizeKib = 200000;
inline constexpr int kPageSize = 4096;

// The rows and key sequences of one benchmark; generated before any timing, identical in both
// binaries for the same row count (fixed seed, own PRNG, no std:: distributions).
struct StorageDataset {
  std::vector<CustomerRow> rows;       // inserted by insert_batched
  std::vector<CustomerRow> new_rows;   // inserted by commit_single, one per commit
  std::vector<uint32_t> warm_keys;     // indexes into rows
  std::vector<uint32_t> cold_keys;     // indexes into rows, a different sequence
  std::vector<uint32_t> update_keys;   // indexes into rows updated by commit_single
  std::vector<std::string> new_notes;  // the notes those updates write
  double average_row_bytes = 0;
};

StorageDataset MakeStorageDataset(size_t rows, uint64_t seed = kDatasetSeed);

enum Workload : size_t {
  kInsertBatched = 0,
  kReadWarm,
  kReadCold,
  kScanFull,
  kCommitSingle,
  kWorkloadCount,
};

struct WorkloadInfo {
  const char* name;         // JSON name, "storage.insert_batched"
  const char* short_name;   // table label, "insert_batched"
  double target_ratio;      // encrypted/plaintext ceiling from the issue; 0 when none
  const char* description;  // one line for the report
};

const std::array<WorkloadInfo, kWorkloadCount>& Workloads();

// Pragmas every variant runs after its own setup (a key, a VFS): WAL, synchronous=FULL, the shared
// cache size, temp_store=MEMORY, mmap_size=0, and page_size=4096 when the file is new. Returns an
// empty string on success, else a message.
std::string ApplyCommonPragmas(sqlite3* db, bool new_database);

// Runs one SQL statement that may return a single value; the value as text in *out when given.
std::string ExecSql(sqlite3* db, const std::string& sql, std::string* out = nullptr);

// How one variant opens connections. Each call returns a configured handle (ApplyCommonPragmas
// already run) or nullptr with *error set; Close() closes the handle last returned.
class StorageVariant {
 public:
  virtual ~StorageVariant();
  virtual std::string Name() const = 0;
  virtual sqlite3* Create(const std::string& path, std::string* error) = 0;
  virtual sqlite3* Reopen(const std::string& path, std::string* error) = 0;
  virtual void Close() = 0;
};

// The stock library with no VFS shim and no reserved bytes: the plaintext baseline.
class PlainSqliteVariant : public StorageVariant {
 public:
  explicit PlainSqliteVariant(std::string name) : name_(std::move(name)) {}
  ~PlainSqliteVariant() override;
  std::string Name() const override { return name_; }
  sqlite3* Create(const std::string& path, std::string* error) override;
  sqlite3* Reopen(const std::string& path, std::string* error) override;
  void Close() override;

 private:
  sqlite3* Open(const std::string& path, bool create, std::string* error);
  std::string name_;
  sqlite3* db_ = nullptr;
};

struct Measurement {
  double ms = 0;      // wall time
  double cpu_ms = 0;  // CPU time of the process (user + system) over the same interval
  uint64_t checksum = 0;
  std::string error;  // non-empty: this workload failed or was skipped
};

// Facts about a finished database, read before it is deleted.
struct DatabaseFacts {
  int page_size = 0;
  int64_t page_count = 0;
  uint64_t file_bytes = 0;
};

// One repetition of all workloads for one variant on a new database at path (which must not exist).
std::array<Measurement, kWorkloadCount> RunStorageSequence(StorageVariant& variant,
                                                           const StorageDataset& data,
                                                           const std::string& path,
                                                           bool drop_os_cache,
                                                           DatabaseFacts* facts);

struct StorageRunOptions {
  int repeats = 5;
  // Index of the first repetition: a caller that interleaves several runs (fieldsync-bench runs
  // one repetition of its own variants, then one of the SQLCipher peer's, and so on) passes the
  // running index so the order alternates across calls. total_repetitions only labels progress.
  int first_repetition = 0;
  int total_repetitions = 0;  // 0: first_repetition + repeats
  std::string dir;            // parent of the temporary directory; empty: $TMPDIR or /tmp
  bool drop_os_cache = false;
  std::function<void(const std::string&)> progress;  // one line per repetition; may be empty
};

struct VariantResult {
  std::string name;
  std::array<std::vector<double>, kWorkloadCount> ms;      // [workload][repetition], wall time
  std::array<std::vector<double>, kWorkloadCount> cpu_ms;  // the same runs, process CPU time
  std::array<std::string, kWorkloadCount> errors;          // first error seen, if any
  std::array<uint64_t, kWorkloadCount> checksums{};        // from the first repetition
  DatabaseFacts facts;                                     // from the first repetition
};

// Runs `repeats` repetitions of every variant, interleaved (repetition r, counted from
// first_repetition, runs the variants in order when r is even and in reverse when odd) so slow
// phases of the machine hit all of them. Each repetition uses a fresh file in a new temporary
// directory, which is removed at the end. checksums and facts come from the first repetition.
// Returns an empty vector and sets *error when the temporary directory cannot be made.
std::vector<VariantResult> RunStorageBenchmark(const std::vector<StorageVariant*>& variants,
                                               const StorageDataset& data,
                                               const StorageRunOptions& options,
                                               std::string* error);

}  // namespace fieldsync::bench
