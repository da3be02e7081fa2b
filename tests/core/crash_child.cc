// tests/core/crash_child.cc: fieldsync_crash_child, the process tests/core/crash_test.cc kills.
//
// USAGE
//   fieldsync_crash_child write DB wal|rollback [CACHE_KIB [MAX_TRANSACTIONS [KILL_AT]]]
//     Opens DB (creating it if missing) with testing::TestKey(), creates its tables if missing
//     and commits transactions until it is killed (or MAX_TRANSACTIONS are done, then exits 0).
//     With KILL_AT > 0 it kills itself just before the KILL_AT-th I/O operation of its
//     transactions, as passwd/rekey below do; done without it, it prints "done after K I/O
//     operations" last.
//     Transaction `seq` inserts rows seq*1000+j (200 of them in every 7th transaction, otherwise
//     1-4 of up to 16 KB), updates one row of a recent transaction, deletes the rows of
//     transaction seq-12 and records itself in
//       log(seq INTEGER PRIMARY KEY, rows, updated, deleted, digest TEXT)
//     in the same transaction. Only after COMMIT returns OK it prints "SEQ DIGEST" on stdout and
//     flushes: that line is the acknowledgement the parent holds the database to. Every payload
//     is CrashPayload(id, version, length) (duplicated in crash_test.cc), so the parent can check
//     each row's content and, from `log` alone, which rows must exist at which version.
//
//   fieldsync_crash_child passwd DB N wal|rollback OLD_KEY NEW_KEY
//   fieldsync_crash_child rekey DB N wal|rollback OLD_KEY NEW_KEY
//     Opens DB with OLD_KEY, then runs Store::ChangeKey(NEW_KEY) or Store::RotateDataKey(&NEW_KEY)
//     and kills itself (SIGKILL) just before its N-th I/O operation: a write, sync or truncate
//     seen by the encrypting VFS, or a rename, sync, remove or write through the Store's Env.
//     Before dying it prints "killed at I/O N: OP FILE_KIND". When the operation completes with
//     fewer than N operations it prints "done after K I/O operations" and exits 0.
//     KEY is raw:SEED (testing::TestKey(SEED)) or pass:PASSPHRASE (testing::CheapPassphrase).
//
//   fieldsync_crash_child create DB N wal|rollback
//     Runs Store::Create(DB, testing::TestKey()), killed at its N-th I/O operation as above.
//
// EXIT STATUS: 0 done, 2 usage error, 3 a Store call failed (the message is on stderr).
#include <signal.h>

#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "fieldsync/env.h"
#include "fieldsync/store.h"
#include "test_util.h"
#include "vfs/encrypted_vfs.h"

namespace fieldsync {
namespace {

// ---- the writer's workload ------------------------------------------------------------------

constexpr int64_t kIdsPerTransaction = 1000;  // transaction seq owns ids [seq*1000, seq*1000+1000)
constexpr int64_t kDeleteLag = 12;            // transaction seq deletes what seq-12 inserted
constexpr int64_t kUpdateWindow = 8;          // and updates a row of one of the 8 before it
constexpr int64_t kLargeEvery = 7;            // every 7th transaction writes 200 rows

// Must stay identical to CrashPayload in crash_test.cc, which checks every row with it.
std::string CrashPayload(int64_t id, int64_t version, size_t length) {
  std::string out =
      std::to_string(id) + "/" + std::to_string(version) + "/" + std::to_string(length) + ":";
  uint64_t x = static_cast<uint64_t>(id) * 0x9E3779B97F4A7C15u ^ static_cast<uint64_t>(version);
  while (out.size() < length) {
    x = x * 6364136223846793005u + 1442695040888963407u;
    out.push_back(static_cast<char>('a' + (x >> 59) % 26));
  }
  return out;
}

struct SplitMix {
  uint64_t state;
  uint64_t Next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
  }
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }
};

// A third of the rows fit easily in a page, a third take most of one, a third overflow onto
// two to four pages, so one transaction writes many pages.
size_t PayloadLength(SplitMix& rng) {
  switch (rng.Below(3)) {
    case 0:
      return 40 + rng.Below(300);
    case 1:
      return 300 + rng.Below(3000);
    default:
      return 4200 + rng.Below(12000);
  }
}

struct Fnv {
  uint64_t h = 14695981039346656037u;
  void Add(const std::string& s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211u;
    h = (h ^ 0xff) * 1099511628211u;  // separator, so ("ab","c") != ("a","bc")
  }
  std::string Hex() const {
    char buf[17];
    std::snprintf(buf, sizeof(buf), "%016" PRIx64, h);
    return buf;
  }
};

[[noreturn]] void Fail(const std::string& what, const Status& s) {
  std::fprintf(stderr, "fieldsync_crash_child: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(3);
}

void Must(const Status& s, const std::string& what) {
  if (!s.ok()) Fail(what, s);
}

StoreOptions OptionsFor(const std::string& journal) {
  StoreOptions options;
  options.journal_mode = journal == "rollback" ? JournalMode::kRollback : JournalMode::kWal;
  return options;
}

// ---- dying at the N-th I/O operation (write KILL_AT, create, passwd, rekey) ---------------

int64_t g_kill_at = 0;  // 0: disarmed
int64_t g_io_count = 0;

void CountIo(const char* op, const char* file_kind) {
  if (g_kill_at == 0) return;
  if (++g_io_count == g_kill_at) {
    std::printf("killed at I/O %" PRId64 ": %s %s\n", g_io_count, op, file_kind);
    std::fflush(stdout);
    raise(SIGKILL);
  }
}

int RunWriter(const std::string& path, const std::string& journal, int cache_kib,
              int64_t max_transactions, int64_t kill_at) {
  StoreOptions options = OptionsFor(journal);
  if (cache_kib > 0) options.cache_size_kib = cache_kib;
  const RawKeyProvider key = testing::TestKey();
  Result<std::unique_ptr<Store>> opened = testing::FileExists(path)
                                              ? Store::Open(path, key, options)
                                              : Store::Create(path, key, options);
  if (!opened.ok()) Fail("open " + path, opened.status());
  Store& store = **opened;
  Must(store.Execute("BEGIN IMMEDIATE;"
                     "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, payload TEXT);"
                     "CREATE TABLE IF NOT EXISTS log(seq INTEGER PRIMARY KEY, rows INTEGER,"
                     " updated INTEGER, deleted INTEGER, digest TEXT);"
                     "COMMIT"),
       "create tables");
  int64_t seq = 0;
  Must(store.Execute("SELECT coalesce(max(seq), 0) FROM log", {},
                     [&](const Row& row) {
                       seq = std::get<int64_t>(row.values[0]);
                       return true;
                     }),
       "read log");

  if (kill_at > 0) {
    vfs::SetIoHookForTesting(&CountIo);
    g_kill_at = kill_at;
  }
  for (int64_t done = 0; done != max_transactions; ++done) {
    ++seq;
    SplitMix rng{static_cast<uint64_t>(seq)};
    Fnv digest;
    // Large transactions write many pages, enough to spill a small cache.
    const bool large = seq % kLargeEvery == 0;
    const int64_t rows = large ? 200 : 1 + static_cast<int64_t>(rng.Below(4));
    Must(store.Execute("BEGIN IMMEDIATE"), "begin");
    for (int64_t j = 0; j < rows; ++j) {
      const int64_t id = seq * kIdsPerTransaction + j;
      const size_t length = large ? 60 + rng.Below(400) : PayloadLength(rng);
      std::string payload = CrashPayload(id, seq, length);
      digest.Add("I" + std::to_string(id) + "=" + payload);
      Must(store.Execute("INSERT INTO t(id, payload) VALUES (?, ?)", {id, std::move(payload)}),
           "insert");
    }
    int64_t updated = 0;
    if (seq > 1) {
      // A recent transaction's first row: always present, since deletes lag further behind.
      const int64_t back =
          1 +
          static_cast<int64_t>(rng.Below(static_cast<size_t>(std::min(seq - 1, kUpdateWindow))));
      updated = (seq - back) * kIdsPerTransaction;
      std::string payload = CrashPayload(updated, seq, PayloadLength(rng));
      digest.Add("U" + std::to_string(updated) + "=" + payload);
      Must(store.Execute("UPDATE t SET payload = ? WHERE id = ?", {std::move(payload), updated}),
           "update");
    }
    const int64_t deleted = seq > kDeleteLag ? seq - kDeleteLag : 0;
    if (deleted > 0) {
      digest.Add("D" + std::to_string(deleted));
      Must(store.Execute("DELETE FROM t WHERE id >= ? AND id < ?",
                         {deleted * kIdsPerTransaction, (deleted + 1) * kIdsPerTransaction}),
           "delete");
    }
    const std::string hex = digest.Hex();
    Must(
        store.Execute("INSERT INTO log(seq, rows, updated, deleted, digest) VALUES (?, ?, ?, ?, ?)",
                      {seq, rows, updated, deleted, hex}),
        "insert log");
    Must(store.Execute("COMMIT"), "commit");
    std::printf("%" PRId64 " %s\n", seq, hex.c_str());
    std::fflush(stdout);
  }
  if (kill_at > 0) {
    g_kill_at = 0;
    std::printf("done after %" PRId64 " I/O operations\n", g_io_count);
    std::fflush(stdout);
  }
  return 0;
}

// ---- key changes killed at the N-th I/O operation --------------------------------------------

// Env::Default() with every mutating call counted, so a rotation can also die around the rename
// of the re-encrypted copy and the directory sync that follows.
class CountingEnv : public Env {
 public:
  bool FileExists(const std::string& path) override { return base_->FileExists(path); }
  Result<uint64_t> FileSize(const std::string& path) override { return base_->FileSize(path); }
  Result<std::string> ReadFile(const std::string& path) override { return base_->ReadFile(path); }
  Result<std::string> ReadFileRange(const std::string& path, uint64_t offset, size_t n) override {
    return base_->ReadFileRange(path, offset, n);
  }
  Status WriteFileRange(const std::string& path, uint64_t offset, std::string_view data) override {
    CountIo("write_range", "env");
    return base_->WriteFileRange(path, offset, data);
  }
  Status WriteFileAtomic(const std::string& path, std::string_view data) override {
    CountIo("write_atomic", "env");
    return base_->WriteFileAtomic(path, data);
  }
  Status RenameFile(const std::string& from, const std::string& to) override {
    CountIo("rename", "env");
    return base_->RenameFile(from, to);
  }
  Status RemoveFile(const std::string& path) override {
    CountIo("remove", "env");
    return base_->RemoveFile(path);
  }
  Status SyncFile(const std::string& path) override {
    CountIo("sync_file", "env");
    return base_->SyncFile(path);
  }
  Status SyncDir(const std::string& dir) override {
    CountIo("sync_dir", "env");
    return base_->SyncDir(dir);
  }
  Status CreateDir(const std::string& path) override {
    CountIo("create_dir", "env");
    return base_->CreateDir(path);
  }
  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    return base_->ListDir(dir);
  }
  Result<std::string> AbsolutePath(const std::string& path) override {
    return base_->AbsolutePath(path);
  }
  void SleepMicros(int64_t micros) override { base_->SleepMicros(micros); }

 private:
  Env* base_ = Env::Default();
};

std::unique_ptr<KeyProvider> ParseKey(const std::string& arg) {
  if (arg.rfind("raw:", 0) == 0) {
    const int seed = std::atoi(arg.c_str() + 4);
    return std::make_unique<RawKeyProvider>(testing::TestKey(static_cast<uint8_t>(seed)));
  }
  if (arg.rfind("pass:", 0) == 0) {
    return std::make_unique<PassphraseKeyProvider>(testing::CheapPassphrase(arg.substr(5)));
  }
  return nullptr;
}

int RunKeyChange(const std::string& mode, const std::string& path, int64_t kill_at,
                 const std::string& journal, const KeyProvider& old_key,
                 const KeyProvider& new_key) {
  CountingEnv env;
  StoreOptions options = OptionsFor(journal);
  options.env = &env;
  Result<std::unique_ptr<Store>> store = Store::Open(path, old_key, options);
  if (!store.ok()) Fail("open " + path, store.status());
  vfs::SetIoHookForTesting(&CountIo);
  g_kill_at = kill_at;
  Status s = mode == "passwd" ? (*store)->ChangeKey(new_key) : (*store)->RotateDataKey(&new_key);
  // Closing may checkpoint; that is not part of the operation under test.
  g_kill_at = 0;
  if (!s.ok()) Fail(mode, s);
  std::printf("done after %" PRId64 " I/O operations\n", g_io_count);
  std::fflush(stdout);
  return 0;
}

int RunCreate(const std::string& path, int64_t kill_at, const std::string& journal) {
  CountingEnv env;
  StoreOptions options = OptionsFor(journal);
  options.env = &env;
  vfs::SetIoHookForTesting(&CountIo);
  g_kill_at = kill_at;
  Result<std::unique_ptr<Store>> store = Store::Create(path, testing::TestKey(), options);
  g_kill_at = 0;
  if (!store.ok()) Fail("create " + path, store.status());
  std::printf("done after %" PRId64 " I/O operations\n", g_io_count);
  std::fflush(stdout);
  return 0;
}

int Usage() {
  std::fprintf(stderr,
               "usage: fieldsync_crash_child write DB wal|rollback [CACHE_KIB [MAX_TRANSACTIONS "
               "[KILL_AT]]]\n"
               "       fieldsync_crash_child create DB N wal|rollback\n"
               "       fieldsync_crash_child passwd|rekey DB N wal|rollback OLD_KEY NEW_KEY\n"
               "       (KEY: raw:SEED or pass:PASSPHRASE)\n");
  return 2;
}

int Main(const std::vector<std::string>& args) {
  if (args.size() >= 3 && args.size() <= 6 && args[0] == "write") {
    const int cache_kib = args.size() >= 4 ? std::atoi(args[3].c_str()) : 0;
    const int64_t max_transactions = args.size() >= 5 ? std::atoll(args[4].c_str()) : -1;
    const int64_t kill_at = args.size() == 6 ? std::atoll(args[5].c_str()) : 0;
    return RunWriter(args[1], args[2], cache_kib, max_transactions, kill_at);
  }
  if (args.size() == 4 && args[0] == "create") {
    const int64_t kill_at = std::atoll(args[2].c_str());
    if (kill_at <= 0) return Usage();
    return RunCreate(args[1], kill_at, args[3]);
  }
  if (args.size() == 6 && (args[0] == "passwd" || args[0] == "rekey")) {
    const int64_t kill_at = std::atoll(args[2].c_str());
    std::unique_ptr<KeyProvider> old_key = ParseKey(args[4]);
    std::unique_ptr<KeyProvider> new_key = ParseKey(args[5]);
    if (kill_at <= 0 || !old_key || !new_key) return Usage();
    return RunKeyChange(args[0], args[1], kill_at, args[3], *old_key, *new_key);
  }
  return Usage();
}

}  // namespace
}  // namespace fieldsync

int main(int argc, char** argv) {
  return fieldsync::Main(std::vector<std::string>(argv + 1, argv + argc));
}
