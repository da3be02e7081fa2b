// tests/core/crash_test.cc: a process killed at any moment leaves a database that opens, passes
// Verify() and holds everything it committed.
//
// Real files and real processes, no mocks: fieldsync_crash_child (crash_child.cc) does the work
// and dies by SIGKILL.
//
//   writer tests      the child commits transactions and acknowledges each on stdout after
//                     COMMIT returns; it is killed after a random 5-80 ms, many times over on the
//                     same database, so every child also recovers from its predecessor's crash.
//                     After each kill a copy of the files (the live ones stay untouched for the
//                     next child) is opened, verified, and checked against the acknowledgements
//                     and against the child's `log` table, from which the exact expected content
//                     of every row follows.
//   key-change tests  deterministic fault injection: the child kills itself just before the N-th
//                     write, sync or truncate of the encrypting VFS, or rename/sync/remove of the
//                     Env, during Store::ChangeKey or Store::RotateDataKey, for N = 1, 2, ...
//                     until the operation completes. Each N starts from a fresh copy of the same
//                     prepared database.
//   creation tests    the same, for Store::Create: the path must stay usable afterwards.
//
// The random delays come from a seeded PRNG. The seed is printed; FIELDSYNC_CRASH_SEED=<seed>
// repeats a run. A kill only loses what the process had not yet handed to the kernel, so these
// tests cover process crashes; power loss is FaultEnv's business.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "fieldsync/store.h"
#include "test_util.h"

namespace fieldsync {
namespace {

using std::chrono::milliseconds;
using testing::FileExists;
using testing::TempDir;
using testing::TestKey;

// ---- running the child ----------------------------------------------------------------------

struct ChildRun {
  int status = 0;          // from waitpid
  bool timed_out = false;  // still running when its time was up, so we killed it
  std::string out;         // everything it wrote to stdout

  bool Killed() const { return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL; }
  bool ExitedCleanly() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
  std::string Describe() const {
    std::string how = WIFEXITED(status)     ? "exited " + std::to_string(WEXITSTATUS(status))
                      : WIFSIGNALED(status) ? "killed by signal " + std::to_string(WTERMSIG(status))
                                            : "status " + std::to_string(status);
    const size_t tail = out.size() > 300 ? out.size() - 300 : 0;
    return how + (timed_out ? " (our kill)" : "") + "; stdout ends: " + out.substr(tail);
  }
};

// Runs fieldsync_crash_child with `args`, kills it with SIGKILL after `kill_after` unless it has
// ended by itself, and collects its stdout. Its stderr stays ours, so its errors show in the log.
ChildRun RunChild(const std::vector<std::string>& args, milliseconds kill_after) {
  std::vector<std::string> words = {FIELDSYNC_CRASH_CHILD};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);

  int fds[2];
  REQUIRE(pipe2(fds, O_CLOEXEC) == 0);
  const auto deadline = std::chrono::steady_clock::now() + kill_after;
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);

  ChildRun run;
  char buf[4096];
  bool eof = false;
  while (!eof) {
    const auto left =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now())
            .count();
    if (left <= 0) break;
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;  // timeout or EINTR: recheck
    const ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n > 0) {
      run.out.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      eof = true;  // the child has exited (or closed stdout, which it never does)
    }
  }
  if (!eof) {
    run.timed_out = true;
    kill(pid, SIGKILL);  // not yet reaped, so the pid cannot have been reused
  }
  for (;;) {
    const ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n > 0) {
      run.out.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(fds[0]);
  while (waitpid(pid, &run.status, 0) < 0 && errno == EINTR) {
  }
  return run;
}

std::string JournalArg(JournalMode mode) { return mode == JournalMode::kWal ? "wal" : "rollback"; }

StoreOptions Options(JournalMode mode) {
  StoreOptions options;
  options.journal_mode = mode;
  return options;
}

void CopyFile(const std::string& from, const std::string& to) {
  std::error_code error;
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing, error);
  REQUIRE_MESSAGE(!error, "cannot copy ", from, " to ", to, ": ", error.message());
}

// Copies a database with the companions a crash leaves behind. -shm is left out on purpose: it
// is a cache SQLite rebuilds from the WAL, and the copy must prove that the WAL alone suffices.
void CopyDatabase(const std::string& from, const TempDir& to_dir, const std::string& to) {
  for (const std::string& name : to_dir.Files()) std::remove(to_dir.File(name).c_str());
  for (const char* suffix : {"", "-wal", "-journal"}) {
    if (FileExists(from + suffix)) CopyFile(from + suffix, to + suffix);
  }
}

uint64_t CrashSeed() {
  if (const char* fixed = std::getenv("FIELDSYNC_CRASH_SEED")) {
    return std::strtoull(fixed, nullptr, 10);
  }
  return std::random_device{}() ^ (uint64_t{std::random_device{}()} << 32);
}

// Must stay identical to CrashPayload in crash_child.cc, which wrote every row with it.
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

void RequireVerified(Store& store) {
  Result<VerifyReport> report = store.Verify();
  REQUIRE_MESSAGE(report.ok(), "Verify: ", report.status().ToString());
  std::string errors;
  for (const std::string& e : report->integrity_errors) errors += e + "\n";
  REQUIRE_MESSAGE(errors.empty(), "integrity_check: ", errors);
}

// ---- a writer killed at random moments ------------------------------------------------------

constexpr int64_t kIdsPerTransaction = 1000;  // as in crash_child.cc

struct Ack {
  int64_t seq = 0;
  std::string digest;
};

// The acknowledgements in the child's stdout; a line cut short by the kill does not count.
std::vector<Ack> ParseAcks(const std::string& out) {
  std::vector<Ack> acks;
  size_t start = 0;
  for (size_t end; (end = out.find('\n', start)) != std::string::npos; start = end + 1) {
    std::istringstream line(out.substr(start, end - start));
    Ack ack;
    if (line >> ack.seq >> ack.digest) acks.push_back(ack);
  }
  return acks;
}

struct LogEntry {
  int64_t rows = 0;
  int64_t updated = 0;
  int64_t deleted = 0;
  std::string digest;
};

// Opens the database at `path`, verifies it, and checks that table t holds exactly what the
// transactions recorded in `log` produce, every row with the content its version implies, and
// that every acknowledged transaction is in `log` with the digest the child printed. Returns the
// last committed sequence number.
int64_t CheckWriterDatabase(const std::string& path, JournalMode mode,
                            const std::vector<Ack>& acks) {
  Result<std::unique_ptr<Store>> opened = Store::Open(path, TestKey(), Options(mode));
  REQUIRE_MESSAGE(opened.ok(), "reopen: ", opened.status().ToString());
  Store& store = **opened;
  RequireVerified(store);

  int64_t tables = 0;
  REQUIRE(store
              .Execute("SELECT count(*) FROM sqlite_schema WHERE name IN ('t', 'log')", {},
                       [&](const Row& row) {
                         tables = std::get<int64_t>(row.values[0]);
                         return true;
                       })
              .ok());
  REQUIRE_MESSAGE((tables == 0 || tables == 2), "only one of t and log exists");
  std::vector<LogEntry> log;  // log[seq - 1]
  std::string problem;
  if (tables == 2) {
    REQUIRE(store
                .Execute("SELECT seq, rows, updated, deleted, digest FROM log ORDER BY seq", {},
                         [&](const Row& row) {
                           const int64_t seq = std::get<int64_t>(row.values[0]);
                           if (seq != static_cast<int64_t>(log.size()) + 1) {
                             problem = "log jumps from " + std::to_string(log.size()) + " to " +
                                       std::to_string(seq);
                             return false;
                           }
                           log.push_back({std::get<int64_t>(row.values[1]),
                                          std::get<int64_t>(row.values[2]),
                                          std::get<int64_t>(row.values[3]),
                                          std::get<std::string>(row.values[4])});
                           return true;
                         })
                .ok());
  }
  REQUIRE_MESSAGE(problem.empty(), problem);
  const int64_t last = static_cast<int64_t>(log.size());

  // Replay the log: id -> the seq of the transaction that wrote the row last.
  std::map<int64_t, int64_t> expected;
  for (int64_t seq = 1; seq <= last; ++seq) {
    const LogEntry& e = log[static_cast<size_t>(seq - 1)];
    for (int64_t j = 0; j < e.rows; ++j) expected[seq * kIdsPerTransaction + j] = seq;
    if (e.updated != 0) {
      auto it = expected.find(e.updated);
      REQUIRE_MESSAGE(it != expected.end(), "log ", seq, " updated row ", e.updated,
                      " which no earlier transaction left");
      it->second = seq;
    }
    if (e.deleted != 0) {
      expected.erase(expected.lower_bound(e.deleted * kIdsPerTransaction),
                     expected.lower_bound((e.deleted + 1) * kIdsPerTransaction));
    }
  }

  if (tables == 2) {
    auto next = expected.begin();
    REQUIRE(store
                .Execute("SELECT id, payload FROM t ORDER BY id", {},
                         [&](const Row& row) {
                           const int64_t id = std::get<int64_t>(row.values[0]);
                           const auto& payload = std::get<std::string>(row.values[1]);
                           if (next == expected.end() || next->first > id) {
                             problem = "row " + std::to_string(id) +
                                       " exists but no committed transaction leaves it";
                             return false;
                           }
                           if (next->first < id) {
                             problem = "row " + std::to_string(next->first) + " (version " +
                                       std::to_string(next->second) + ") is missing";
                             return false;
                           }
                           long long pid = 0, version = 0;
                           size_t length = 0;
                           if (std::sscanf(payload.c_str(), "%lld/%lld/%zu:", &pid, &version,
                                           &length) != 3 ||
                               pid != id || version != next->second ||
                               payload != CrashPayload(id, version, length)) {
                             problem = "row " + std::to_string(id) + " should be version " +
                                       std::to_string(next->second) + " but holds " +
                                       payload.substr(0, 40) + "... (" +
                                       std::to_string(payload.size()) + " bytes)";
                             return false;
                           }
                           ++next;
                           return true;
                         })
                .ok());
    if (problem.empty() && next != expected.end()) {
      problem = "row " + std::to_string(next->first) + " (version " + std::to_string(next->second) +
                ") is missing";
    }
  }
  REQUIRE_MESSAGE(problem.empty(), problem);

  for (const Ack& ack : acks) {
    REQUIRE_MESSAGE(ack.seq <= last, "acknowledged transaction ", ack.seq,
                    " is lost: the log ends at ", last);
    REQUIRE_MESSAGE(log[static_cast<size_t>(ack.seq - 1)].digest == ack.digest, "transaction ",
                    ack.seq, " was acknowledged with digest ", ack.digest, " but the log holds ",
                    log[static_cast<size_t>(ack.seq - 1)].digest);
  }
  return last;
}

// Kills a writer `runs` times on one database and checks every crash left it consistent.
void KillWriterRepeatedly(JournalMode mode, int cache_kib, int runs) {
  const uint64_t seed = CrashSeed();
  MESSAGE("writer kills, ", JournalArg(mode), " mode, seed ", seed, " (FIELDSYNC_CRASH_SEED=", seed,
          " repeats it)");
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> delay_ms(5, 80);
  TempDir dir;
  TempDir check;
  const std::string path = dir.File("rep.db");
  const std::string copy = check.File("rep.db");
  // The first child creates the database and its tables and stops before any transaction.
  const ChildRun creator = RunChild(
      {"write", path, JournalArg(mode), std::to_string(cache_kib), "0"}, milliseconds(60000));
  REQUIRE_MESSAGE(creator.ExitedCleanly(), "creating the database: ", creator.Describe());

  int64_t last = 0;        // last committed transaction, from the previous check
  int unacknowledged = 0;  // kills that landed between a COMMIT and its acknowledgement
  int left_journal = 0;    // kills that left a rollback journal to recover from
  const auto start = std::chrono::steady_clock::now();
  // The kills must land in a database under real load (see the last check). On a starved machine
  // the planned rounds may commit too little in their few milliseconds each, so extra rounds with
  // a longer life run until they have: the amount of work, not the speed, is what is checked.
  constexpr int64_t kMinCommitted = 30;
  constexpr int kMaxExtraRuns = 40;
  constexpr int kExtraRunDelayMs = 300;
  int run = 0;
  while (++run <= runs || (last < kMinCommitted && run <= runs + kMaxExtraRuns)) {
    const int delay = run <= runs ? delay_ms(rng) : kExtraRunDelayMs;
    INFO("seed ", seed, ", run ", run, " (", runs, " planned), killed after ", delay, " ms");
    const ChildRun child =
        RunChild({"write", path, JournalArg(mode), std::to_string(cache_kib)}, milliseconds(delay));
    INFO("child: ", child.Describe());
    REQUIRE_MESSAGE((child.timed_out && child.Killed()), "the writer stopped by itself");

    const std::vector<Ack> acks = ParseAcks(child.out);
    for (size_t i = 0; i < acks.size(); ++i) {
      REQUIRE_MESSAGE(acks[i].seq == last + 1 + static_cast<int64_t>(i),
                      "the writer did not continue after the last committed transaction");
    }
    CopyDatabase(path, check, copy);
    const int64_t committed = CheckWriterDatabase(copy, mode, acks);
    const int64_t acknowledged = acks.empty() ? last : acks.back().seq;
    // At most the one transaction whose COMMIT had returned but whose line was not yet out.
    REQUIRE_MESSAGE(committed >= acknowledged, "committed ", committed, " < acknowledged ",
                    acknowledged);
    REQUIRE_MESSAGE(committed <= acknowledged + 1, "committed ", committed,
                    " is more than one past the acknowledged ", acknowledged);
    if (committed == acknowledged + 1) ++unacknowledged;
    if (FileExists(copy + "-journal")) ++left_journal;
    last = committed;
  }
  const int kills = run - 1;
  // The live files, recovered by nobody since the last kill, must pass the same checks.
  CHECK(CheckWriterDatabase(path, mode, {}) == last);
  const auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE(kills, " kills, ", last, " transactions committed, ", unacknowledged,
          " kills between COMMIT and acknowledgement, ", left_journal,
          " kills left a rollback journal, ", seconds, " s");
  // Proof that the kills hit a database under real load: well past the first large transaction
  // (7) and the first deletes (13) of crash_child.cc's workload. Rollback mode commits only a few
  // transactions per run (four fsyncs each), hence the modest bound.
  CHECK(last >= kMinCommitted);
}

TEST_CASE("a writer killed at random moments in WAL mode loses no acknowledged transaction") {
  KillWriterRepeatedly(JournalMode::kWal, /*cache_kib=*/0, /*runs=*/60);
}

TEST_CASE(
    "a writer killed at random moments in WAL mode with a small cache that spills uncommitted "
    "pages loses no acknowledged transaction") {
  KillWriterRepeatedly(JournalMode::kWal, /*cache_kib=*/16, /*runs=*/60);
}

TEST_CASE(
    "a writer killed at random moments in rollback-journal mode loses no acknowledged "
    "transaction") {
  KillWriterRepeatedly(JournalMode::kRollback, /*cache_kib=*/0, /*runs=*/50);
}

TEST_CASE(
    "a writer killed at random moments in rollback-journal mode with a small cache that spills "
    "into the database file loses no acknowledged transaction") {
  KillWriterRepeatedly(JournalMode::kRollback, /*cache_kib=*/64, /*runs=*/50);
}

// ---- a writer killed at each I/O operation of a spilling transaction ------------------------

// Deterministic counterpart of the random kills above, aimed at the hardest stretch: transaction
// 19, which deletes the 200 rows of transaction 7 through a 16 KiB cache, so it spills
// uncommitted pages, rewrites spilled frames in place and (in WAL mode) rewrites their checksums
// at commit. For each N the child starts from the same 18 committed transactions and dies just
// before the N-th I/O operation of transaction 19. The copy must hold 1..18 plus 19 if it was
// acknowledged (or had committed); then a new child recovers the live files and commits two more
// transactions, which must verify again: a frame left half-written must not poison later commits.
void KillSpillingWriterAtEveryStep(JournalMode mode) {
  const std::string cache_kib = "16";
  constexpr int64_t kPrepared = 18;
  TempDir prepared;
  const std::string base = prepared.File("rep.db");
  const ChildRun setup = RunChild(
      {"write", base, JournalArg(mode), cache_kib, std::to_string(kPrepared)}, milliseconds(60000));
  REQUIRE_MESSAGE(setup.ExitedCleanly(), "preparing: ", setup.Describe());

  TempDir work;
  TempDir check;
  const std::string path = work.File("rep.db");
  const std::string copy = check.File("rep.db");
  bool completed = false;
  int64_t n = 0;
  while (!completed) {
    ++n;
    REQUIRE_MESSAGE(n <= 5000, "the writer was still being killed at I/O operation 5000");
    CopyDatabase(base, work, path);
    const ChildRun child = RunChild(
        {"write", path, JournalArg(mode), cache_kib, "1", std::to_string(n)}, milliseconds(60000));
    INFO(JournalArg(mode), " mode, killed before I/O ", n, ": ", child.Describe());
    REQUIRE(!child.timed_out);
    completed = child.ExitedCleanly();
    REQUIRE_MESSAGE((completed || child.Killed()), "the child failed");

    const std::vector<Ack> acks = ParseAcks(child.out);
    CopyDatabase(path, check, copy);
    const int64_t committed = CheckWriterDatabase(copy, mode, acks);
    const int64_t acknowledged = acks.empty() ? kPrepared : acks.back().seq;
    REQUIRE(committed >= acknowledged);
    REQUIRE(committed <= acknowledged + 1);

    const ChildRun next =
        RunChild({"write", path, JournalArg(mode), cache_kib, "2"}, milliseconds(60000));
    REQUIRE_MESSAGE(next.ExitedCleanly(), "the writer after the kill: ", next.Describe());
    CHECK(CheckWriterDatabase(path, mode, ParseAcks(next.out)) == committed + 2);
  }
  MESSAGE("spilling writer in ", JournalArg(mode), " mode: killed at each of ", n - 1,
          " I/O operations");
  CHECK(n > 20);  // the hook fired inside the transactions, many times over
}

TEST_CASE(
    "a writer killed at each I/O operation of a transaction that spills and rewrites WAL frames "
    "loses nothing and later commits verify") {
  KillSpillingWriterAtEveryStep(JournalMode::kWal);
}

TEST_CASE(
    "a writer killed at each I/O operation of a transaction that spills into the database file "
    "in rollback-journal mode loses nothing and later commits verify") {
  KillSpillingWriterAtEveryStep(JournalMode::kRollback);
}

// ---- a creation killed at every I/O operation -----------------------------------------------

// Runs Store::Create in the child, killed before its N-th I/O operation for N = 1, 2, ... until
// it completes. Nothing was committed, so nothing can be lost; but the path must stay usable:
// it opens as an empty database that takes writes, or it can be created again.
void KillCreationAtEveryStep(JournalMode mode) {
  const StoreOptions options = Options(mode);
  bool completed = false;
  int n = 0;
  while (!completed) {
    ++n;
    REQUIRE_MESSAGE(n <= 100, "Create was still being killed at I/O operation 100");
    TempDir dir;
    const std::string path = dir.File("rep.db");
    const ChildRun child =
        RunChild({"create", path, std::to_string(n), JournalArg(mode)}, milliseconds(60000));
    INFO("create in ", JournalArg(mode), " mode, N = ", n, ": ", child.Describe());
    REQUIRE(!child.timed_out);
    completed = child.ExitedCleanly();
    REQUIRE_MESSAGE((completed || child.Killed()), "the child failed");

    Result<std::unique_ptr<Store>> store = Store::Open(path, TestKey(), options);
    if (!store.ok() && !completed) {
      const Status opened = store.status();
      store = Store::Create(path, TestKey(), options);
      REQUIRE_MESSAGE(store.ok(), "the killed creation left a path that neither opens (",
                      opened.ToString(), ") nor can be created again (", store.status().ToString(),
                      ")");
    }
    REQUIRE_MESSAGE(store.ok(), "open after a completed creation: ", store.status().ToString());
    RequireVerified(**store);
    const Status written = (*store)->Execute("CREATE TABLE t(x); INSERT INTO t VALUES (1)");
    REQUIRE_MESSAGE(written.ok(), "the first write: ", written.ToString());
    store = Store::Open(path, TestKey(), options);  // the old connection closes first
    REQUIRE_MESSAGE(store.ok(), store.status().ToString());
    CHECK(testing::CountRows(**store, "t") == 1);
    RequireVerified(**store);
  }
  MESSAGE("create in ", JournalArg(mode), " mode: killed at each of ", n - 1,
          " I/O operations, completed at N = ", n);
  CHECK(n > 1);  // the hook fired, so the kills really happened
}

TEST_CASE(
    "a database creation killed at each I/O operation in WAL mode leaves a path that opens or "
    "can be created again") {
  KillCreationAtEveryStep(JournalMode::kWal);
}

TEST_CASE(
    "a database creation killed at each I/O operation in rollback-journal mode leaves a path that "
    "opens or can be created again") {
  KillCreationAtEveryStep(JournalMode::kRollback);
}

// ---- a key change killed at every I/O operation ---------------------------------------------

// The same key syntax as the child's command line: raw:SEED or pass:PASSPHRASE.
std::unique_ptr<KeyProvider> KeyFromArg(const std::string& arg) {
  if (arg.rfind("raw:", 0) == 0) {
    return std::make_unique<RawKeyProvider>(
        TestKey(static_cast<uint8_t>(std::atoi(arg.c_str() + 4))));
  }
  return std::make_unique<PassphraseKeyProvider>(testing::CheapPassphrase(arg.substr(5)));
}

using Content = std::map<int64_t, std::string>;

// Creates a database holding rows of which some span overflow pages. In WAL mode the last
// transactions stay in the -wal (the closing connection skips its checkpoint), so the key change
// starts from a database whose committed data is partly in the WAL, as after a crash.
Content PrepareDatabase(const std::string& path, const KeyProvider& key, JournalMode mode) {
  Content content;
  {
    Result<std::unique_ptr<Store>> store = Store::Create(path, key, Options(mode));
    REQUIRE_MESSAGE(store.ok(), store.status().ToString());
    REQUIRE((*store)->Execute("CREATE TABLE t(id INTEGER PRIMARY KEY, payload TEXT)").ok());
    REQUIRE((*store)->Execute("BEGIN").ok());
    for (int64_t id = 1; id <= 24; ++id) {
      content[id] = CrashPayload(id, 1, id % 4 == 0 ? 5000 + 300 * id : 100 + 40 * id);
      REQUIRE((*store)->Execute("INSERT INTO t VALUES (?, ?)", {id, content[id]}).ok());
    }
    REQUIRE((*store)->Execute("COMMIT").ok());
  }
  {
    Result<std::unique_ptr<Store>> store = Store::Open(path, key, Options(mode));
    REQUIRE(store.ok());
    auto* db = static_cast<sqlite3*>((*store)->native_handle());
    REQUIRE(sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr) == SQLITE_OK);
    for (int64_t id = 1; id <= 6; ++id) {
      content[id] = CrashPayload(id, 2, 6000);
      REQUIRE((*store)->Execute("UPDATE t SET payload = ? WHERE id = ?", {content[id], id}).ok());
    }
    REQUIRE((*store)->Execute("DELETE FROM t WHERE id > 20").ok());
    for (int64_t id = 21; id <= 24; ++id) content.erase(id);
    for (int64_t id = 25; id <= 28; ++id) {
      content[id] = CrashPayload(id, 3, 4500);
      REQUIRE((*store)->Execute("INSERT INTO t VALUES (?, ?)", {id, content[id]}).ok());
    }
  }
  if (mode == JournalMode::kWal) {
    Result<uint64_t> wal = Env::Default()->FileSize(path + "-wal");
    REQUIRE_MESSAGE((wal.ok() && *wal > 0), "the prepared database should keep a -wal");
  }
  return content;
}

void RequireContent(Store& store, const Content& expected) {
  Content actual;
  REQUIRE(store
              .Execute("SELECT id, payload FROM t ORDER BY id", {},
                       [&](const Row& row) {
                         actual[std::get<int64_t>(row.values[0])] =
                             std::get<std::string>(row.values[1]);
                         return true;
                       })
              .ok());
  REQUIRE_MESSAGE(actual.size() == expected.size(), "rows: ", actual.size(), ", expected ",
                  expected.size());
  REQUIRE_MESSAGE(actual == expected, "row contents differ from the committed ones");
}

// The operation and what it does to the header.
enum class KeyOp { kChangeKey, kRotateDataKey };

// Runs `op` from old_key to new_key in the child, killed before its N-th I/O operation for
// N = 1, 2, ... until it completes, each time on a fresh copy of one prepared database.
void KillKeyChangeAtEveryStep(KeyOp op, JournalMode mode, const std::string& old_arg,
                              const std::string& new_arg, const std::string& third_arg) {
  const std::string op_arg = op == KeyOp::kChangeKey ? "passwd" : "rekey";
  const std::unique_ptr<KeyProvider> old_key = KeyFromArg(old_arg);
  const std::unique_ptr<KeyProvider> new_key = KeyFromArg(new_arg);
  const std::unique_ptr<KeyProvider> third_key = KeyFromArg(third_arg);
  const StoreOptions options = Options(mode);
  TempDir prepared;
  const std::string source = prepared.File("rep.db");
  const Content content = PrepareDatabase(source, *old_key, mode);
  const Result<StoreInfo> before = Store::ReadInfo(source);
  REQUIRE(before.ok());

  // Far more than either operation needs on this small database; reaching it means the child
  // never completes, which is a failure in itself.
  constexpr int kMaxIo = 1000;
  bool completed = false;
  bool new_key_seen = false;
  int killed_under_old = 0;
  int killed_under_new = 0;
  std::set<std::string> kill_points;  // "rename env", "sync wal", ...
  int n = 0;
  const auto start = std::chrono::steady_clock::now();
  while (!completed) {
    ++n;
    REQUIRE_MESSAGE(n <= kMaxIo, op_arg, " was still being killed at I/O operation ", kMaxIo);
    TempDir run_dir;
    const std::string path = run_dir.File("rep.db");
    CopyDatabase(source, run_dir, path);
    const ChildRun child = RunChild(
        {op_arg, path, std::to_string(n), JournalArg(mode), old_arg, new_arg}, milliseconds(60000));
    INFO(op_arg, " in ", JournalArg(mode), " mode, N = ", n, ": ", child.Describe());
    REQUIRE(!child.timed_out);
    completed = child.ExitedCleanly();
    REQUIRE_MESSAGE((completed || child.Killed()), "the child failed");
    if (!completed) {
      const size_t at = child.out.find("killed at I/O ");
      REQUIRE(at != std::string::npos);
      const size_t colon = child.out.find(": ", at);
      kill_points.insert(child.out.substr(colon + 2, child.out.find('\n', colon) - colon - 2));
    }

    const Result<StoreInfo> info = Store::ReadInfo(path);
    REQUIRE_MESSAGE(info.ok(), info.status().ToString());
    Result<std::unique_ptr<Store>> with_old = Store::Open(path, *old_key, options);
    Result<std::unique_ptr<Store>> with_new = Store::Open(path, *new_key, options);
    REQUIRE_MESSAGE(with_old.ok() != with_new.ok(),
                    "exactly one key must open it; old: ", with_old.status().ToString(),
                    ", new: ", with_new.status().ToString());
    const bool is_new = with_new.ok();
    const Status& refused = is_new ? with_old.status() : with_new.status();
    REQUIRE_MESSAGE(refused.code() == StatusCode::kWrongKey, refused.ToString());
    REQUIRE_MESSAGE((is_new || !completed), "a completed ", op_arg, " left the old key in use");
    // Operations past the switch cannot undo it: a later N never brings the old key back.
    REQUIRE_MESSAGE((is_new || !new_key_seen), "the old key opens again after an earlier kill");
    new_key_seen = is_new;
    if (!completed) ++(is_new ? killed_under_new : killed_under_old);

    CHECK(info->database_id == before->database_id);
    CHECK(info->key_generation == before->key_generation + (is_new ? 1 : 0));
    if (op == KeyOp::kRotateDataKey && is_new) {
      CHECK_MESSAGE(info->data_key_id != before->data_key_id, "rotation kept the data key");
    } else {
      CHECK(info->data_key_id == before->data_key_id);
    }
    std::unique_ptr<Store> store = std::move(is_new ? *with_new : *with_old);
    RequireVerified(*store);
    RequireContent(*store, content);

    // Whatever the killed attempt left behind must not stand in the way of the next change.
    const Status again = op == KeyOp::kChangeKey ? store->ChangeKey(*third_key)
                                                 : store->RotateDataKey(third_key.get());
    REQUIRE_MESSAGE(again.ok(), "the next ", op_arg, " after the kill: ", again.ToString());
    store.reset();
    CHECK_FALSE(FileExists(path + ".rekey-tmp"));
    Result<std::unique_ptr<Store>> with_third = Store::Open(path, *third_key, options);
    REQUIRE_MESSAGE(with_third.ok(), with_third.status().ToString());
    CHECK(Store::Open(path, *old_key, options).status().code() == StatusCode::kWrongKey);
    CHECK(Store::Open(path, *new_key, options).status().code() == StatusCode::kWrongKey);
    const Result<StoreInfo> after = Store::ReadInfo(path);
    REQUIRE(after.ok());
    if (op == KeyOp::kRotateDataKey) CHECK(after->data_key_id != info->data_key_id);
    RequireVerified(**with_third);
    RequireContent(**with_third, content);
  }
  std::string points;
  for (const std::string& p : kill_points) points += " [" + p + "]";
  MESSAGE(op_arg, " in ", JournalArg(mode), " mode: killed at each of ", n - 1,
          " I/O operations, completed at N = ", n, ", in ",
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
          " s; kinds:", points);
  // The kills must straddle the switch, or the window that matters was never hit.
  CHECK(killed_under_old > 0);
  CHECK(killed_under_new > 0);
  if (op == KeyOp::kRotateDataKey) {
    // The Env is wrapped too, so the rename and the directory sync were each a kill point.
    CHECK(kill_points.count("rename env") == 1);
    CHECK(kill_points.count("sync_dir env") == 1);
  }
}

TEST_CASE(
    "a passphrase change killed at each I/O operation in WAL mode leaves exactly one of the two "
    "passphrases opening all the committed data") {
  KillKeyChangeAtEveryStep(KeyOp::kChangeKey, JournalMode::kWal, "pass:old passphrase",
                           "pass:new passphrase", "pass:third passphrase");
}

TEST_CASE(
    "a passphrase change killed at each I/O operation in rollback-journal mode leaves exactly "
    "one of the two passphrases opening all the committed data") {
  KillKeyChangeAtEveryStep(KeyOp::kChangeKey, JournalMode::kRollback, "pass:old passphrase",
                           "pass:new passphrase", "pass:third passphrase");
}

TEST_CASE(
    "a data-key rotation killed at each I/O operation in WAL mode leaves the old or the new "
    "database, never a mix") {
  KillKeyChangeAtEveryStep(KeyOp::kRotateDataKey, JournalMode::kWal, "raw:7", "raw:8", "raw:9");
}

TEST_CASE(
    "a data-key rotation killed at each I/O operation in rollback-journal mode leaves the old or "
    "the new database, never a mix") {
  KillKeyChangeAtEveryStep(KeyOp::kRotateDataKey, JournalMode::kRollback, "raw:7", "raw:8",
                           "raw:9");
}

}  // namespace
}  // namespace fieldsync
