// bench/model_bench.cc: `fieldsync-bench model`: the field-sales data model (fieldsync::Database)
// against raw SQLite doing the same work in the same run.
//
//   fieldsync-bench model [--json FILE] [--quick] [--repeat N] [--customers N] [--batches N]
//                         [--single N] [--queries N] [--open-size-mb N] [--dir DIR]
//
// Workloads, each repeated (default 5 times; the open workload 7) and each interleaved with its
// baseline operation by operation, so a busy phase of the shared machine falls on both alike:
//   batched_edits  20 Database::Apply calls of 1,000 edits, on a new database holding 10,000
//                  customers put locally (so all of them have a pending outbox entry, as on a
//                  device that has not synced yet): one edit in four a put of a new customer (each
//                  of its fields counts as a field edit), the others an update of 1-3 fields of an
//                  existing customer. Baseline: one plain-SQLite transaction per batch writing one
//                  JSON row per record (a put inserts the JSON; an update applies the patch with
//                  json_patch). Reported in field edits per second; ratio = our time / raw time.
//                  The JSON also gives the cost of the first and last tenth of the batches, which
//                  shows whether an edit's cost grows with the data.
//   single_edit    Database::Update of 1-3 fields committed alone, on the batched database;
//                  p50 and p95 per repetition. Baseline: one autocommit json_patch UPDATE.
//                  Both run synchronous=FULL, so each is a durable commit (one fsync each).
//   search.KIND    Database::Search (limit 20, records included) over 100,000 customers, for five
//                  kinds of query (model_workload.h); p50 and p95 per kind and repetition.
//                  Baseline: the naive app's full scan, instr() on name, company, phones and
//                  emails of a plain table of the same customers (model_baseline.h).
//   open.*         Database::Open of a ~1 GB database (the search database grown with visit
//                  reports) plus one Get, with a raw host key (HKDF, no scrypt); the same with the
//                  OS page cache dropped first; with a passphrase (scrypt, a fixed ~100 ms by
//                  design, reported on its own line). Baseline: sqlite3_open_v2 with the same
//                  pragmas plus the same point read on a plaintext ~1 GB file. "No full scan at
//                  open" is shown two ways: the bytes the process reads during an open
//                  (/proc/self/io rchar) against the file size, and the open time at 1 GB against
//                  the open time of the same database at its size before growing.
// Building the databases is untimed (their build rates are printed for information).
//
// Output: a table on stdout (min, median and spread of the per-repetition values, the baseline's
// median, ratio = ours / baseline on medians (for throughput: our time / raw time), the target
// from the issue), and with --json the list of entries of bench_stats.h plus target,
// meets_target and per-workload extras. Exit status 1 when a workload failed; a missed target is
// reported, not an error: this is a benchmark, never a timed test.
//
// Disk: the open workload needs about twice --open-size-mb free (our file and the plaintext one);
// it checks first and skips itself otherwise. Everything goes in a temporary directory under --dir
// (default $TMPDIR or /tmp), removed at the end.
#include "model_bench.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_files.h"
#include "bench_stats.h"
#include "fieldsync/database.h"
#include "fieldsync/key_provider.h"
#include "model_baseline.h"
#include "model_workload.h"

namespace fieldsync::bench {
namespace {

// A fixed benchmark key and passphrase; never used for real data.
constexpr uint8_t kModelKey[kKeySize] = {
    0x8a, 0x13, 0x5f, 0xc2, 0x77, 0x0e, 0xd9, 0x41, 0x2b, 0x96, 0x3c, 0xe5, 0x58, 0xa0, 0x1d, 0x6f,
    0xb4, 0x07, 0x92, 0x4e, 0xf1, 0x6a, 0x35, 0xcd, 0x80, 0x1b, 0xe8, 0x53, 0x2f, 0x9c, 0x74, 0xd6};
constexpr char kPassphrase[] = "fieldsync-bench model: not a real passphrase";

constexpr size_t kBatchSize = 1000;  // edits per Apply, as a sync pull or an import writes them
constexpr size_t kPutEvery = 4;      // one edit in four is a put of a new customer
constexpr int kSearchLimit = 20;
constexpr int kWarmupQueries = 10;  // per kind and side, untimed: the reader pool's connection
// The page caches: Database's defaults (writer 2,000 KiB, readers 16 MiB), given to the baseline
// connections that do the same jobs.
constexpr int kWriterCacheKib = 2000;
constexpr int kReaderCacheKib = 16 * 1024;
constexpr size_t kVisitBatch = 500;

constexpr double kTargetFieldEditsPerS = 100000;
constexpr double kTargetBatchedRatio = 3;
constexpr double kTargetSingleP50Ms = 2;
constexpr double kTargetSearchP95Ms = 10;
constexpr double kTargetOpenMs = 100;

struct Options {
  int repeats = 5;
  int open_repeats = 7;
  size_t seed_customers = 10000;
  size_t batches = 20;
  size_t single_edits = 1000;
  size_t customers = 100000;
  size_t queries = 200;
  size_t open_size_mb = 1024;
  std::string dir;
  std::string json_path;
  std::string only;  // "edits" or "search"; empty runs every workload
};

// One row of the report: a value per repetition for us and for the baseline.
struct Line {
  Line() = default;
  Line(std::string name_, std::string unit_, std::string baseline_, std::vector<double> ours_ = {},
       std::vector<double> base_ = {})
      : name(std::move(name_)),
        unit(std::move(unit_)),
        baseline(std::move(baseline_)),
        ours(std::move(ours_)),
        base(std::move(base_)) {}

  std::string name;  // JSON name, "model.batched_edits"
  std::string unit;
  std::string baseline;  // what the baseline is
  std::vector<double> ours, base;
  bool higher_is_better = false;  // throughput: the ratio is then base / ours (a cost ratio)
  std::string target;             // for the table, "" when none
  std::optional<bool> meets;
  nlohmann::json extras = nlohmann::json::object();
};

class Stopwatch {
 public:
  Stopwatch() : wall_(std::chrono::steady_clock::now()), cpu_(std::clock()) {}
  double Ms() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall_)
        .count();
  }
  double CpuMs() const {
    return 1000.0 * static_cast<double>(std::clock() - cpu_) / CLOCKS_PER_SEC;
  }

 private:
  std::chrono::steady_clock::time_point wall_;
  std::clock_t cpu_;
};

// Nearest-rank percentile, p in (0, 1].
double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::min(v.size(), std::max<size_t>(rank, 1)) - 1];
}

double Median(const std::vector<double>& v) { return Summarize(v).median; }

void Progress(const std::string& line) {
  std::fprintf(stderr, "  %s\n", line.c_str());
  std::fflush(stderr);
}

std::string Mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

// Bytes and read calls of this process so far (/proc/self/io: rchar counts every byte returned by
// read/pread, page cache hits included, so it sees a scan whether or not the disk does).
struct IoCounters {
  uint64_t rchar = 0;
  uint64_t syscr = 0;
  bool ok = false;
};

IoCounters ReadIo() {
  IoCounters io;
  std::ifstream f("/proc/self/io");
  std::string key;
  uint64_t value = 0;
  while (f >> key >> value) {
    if (key == "rchar:") io.rchar = value, io.ok = true;
    if (key == "syscr:") io.syscr = value;
  }
  return io;
}

// Evicts a closed database file from the OS page cache, so the next open reads the device.
void DropOsCache(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

uint64_t FileBytes(const std::string& path) {
  std::error_code ec;
  uint64_t size = std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}

// A single integer from SQL on the writer connection (count(*), page_count).
Result<int64_t> WriterInt(Database& db, const std::string& sql) {
  int64_t value = -1;
  Status s = db.writer_store().Execute(sql, {}, [&](const Row& row) {
    if (auto* v = std::get_if<int64_t>(&row.values[0])) value = *v;
    return false;
  });
  if (!s.ok()) return s;
  return value;
}

std::vector<Edit> ToEdits(const std::vector<ModelEdit>& edits, size_t begin, size_t end) {
  std::vector<Edit> out;
  out.reserve(end - begin);
  for (size_t i = begin; i < end; ++i) {
    Edit e;
    e.kind = edits[i].put ? Edit::Kind::kPut : Edit::Kind::kUpdate;
    e.collection = "customers";
    e.id = edits[i].id;
    e.json = edits[i].json;
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<ModelEdit> PutsOf(const std::vector<ModelCustomer>& customers) {
  std::vector<ModelEdit> out;
  out.reserve(customers.size());
  for (const ModelCustomer& c : customers) out.push_back({true, c.id, c.json, c.fields});
  return out;
}

// Both sides of one workload: our Database and the plain file.
struct Pair {
  std::string ours_path, plain_path;
  std::unique_ptr<Database> ours;
  std::unique_ptr<PlainModelDb> plain;

  void Close() {
    ours.reset();
    plain.reset();
  }
  void Remove() {
    Close();
    RemoveDatabaseFiles(ours_path);
    RemoveDatabaseFiles(plain_path);
  }
};

std::string CreatePair(const std::string& dir, const std::string& stem, int plain_cache_kib,
                       const KeyProvider& key, Pair* pair) {
  pair->ours_path = dir + "/" + stem + ".db";
  pair->plain_path = dir + "/" + stem + "-plain.db";
  Result<std::unique_ptr<Database>> db = Database::Create(pair->ours_path, key);
  if (!db.ok()) return "Database::Create: " + db.status().ToString();
  pair->ours = std::move(*db);
  std::string error;
  pair->plain = PlainModelDb::Open(pair->plain_path, true, plain_cache_kib, &error);
  return error;
}

// Puts `edits` (all puts) into both sides, kBatchSize per transaction; untimed.
std::string Load(Pair& pair, const std::vector<ModelEdit>& edits) {
  for (size_t first = 0; first < edits.size(); first += kBatchSize) {
    const size_t end = std::min(edits.size(), first + kBatchSize);
    Result<std::vector<std::string>> ids = pair.ours->Apply(ToEdits(edits, first, end));
    if (!ids.ok()) return "Apply: " + ids.status().ToString();
    std::string error = pair.plain->ApplyBatch(edits, first, end);
    if (!error.empty()) return error;
  }
  return "";
}

// ---- batched edits and single edits -----------------------------------------------------------

std::string RunEdits(const Options& o, const std::string& dir, const KeyProvider& key,
                     std::vector<Line>* lines) {
  ModelGenerator gen(kModelSeed);
  std::vector<ModelCustomer> seed;
  std::vector<std::string> existing;
  for (size_t i = 0; i < o.seed_customers; ++i) {
    seed.push_back(gen.Customer());
    existing.push_back(seed.back().id);
  }
  const std::vector<ModelEdit> seed_puts = PutsOf(seed);
  const std::vector<ModelEdit> edits = gen.Edits(o.batches * kBatchSize, kPutEvery, &existing);
  std::vector<std::vector<Edit>> batches;
  int64_t field_edits = 0;
  size_t puts = 0;
  for (const ModelEdit& e : edits) field_edits += e.fields, puts += e.put ? 1 : 0;
  for (size_t first = 0; first < edits.size(); first += kBatchSize) {
    batches.push_back(ToEdits(edits, first, std::min(edits.size(), first + kBatchSize)));
  }

  Line batched{"model.batched_edits", "field edits/s",
               "raw sqlite " + std::string(sqlite3_libversion()) +
                   ": one JSON row per record, put = INSERT, update = json_patch UPDATE, same "
                   "batches, same pragmas"};
  batched.higher_is_better = true;
  std::vector<double> ours_ms, base_ms, ours_cpu, base_cpu, first_batches_ms, last_batches_ms;
  int64_t outbox_rows = 0;
  Pair kept;  // the last repetition's databases, for single edits
  for (int rep = 0; rep < o.repeats; ++rep) {
    Pair pair;
    std::string error =
        CreatePair(dir, "edits-r" + std::to_string(rep), kWriterCacheKib, key, &pair);
    if (error.empty()) error = Load(pair, seed_puts);
    double ours_total = 0, base_total = 0, ours_cpu_total = 0, base_cpu_total = 0;
    std::vector<double> ours_batch_ms;  // per batch, to show whether cost grows with the data
    for (size_t b = 0; b < batches.size() && error.empty(); ++b) {
      const size_t first = b * kBatchSize;
      const size_t end = std::min(edits.size(), first + kBatchSize);
      for (int side = 0; side < 2 && error.empty(); ++side) {
        const bool ours_now = (side == 0) == ((b + static_cast<size_t>(rep)) % 2 == 0);
        Stopwatch t;
        if (ours_now) {
          Result<std::vector<std::string>> ids = pair.ours->Apply(batches[b]);
          ours_batch_ms.push_back(t.Ms());
          ours_total += ours_batch_ms.back(), ours_cpu_total += t.CpuMs();
          if (!ids.ok()) error = "Apply: " + ids.status().ToString();
        } else {
          error = pair.plain->ApplyBatch(edits, first, end);
          base_total += t.Ms(), base_cpu_total += t.CpuMs();
        }
      }
    }
    if (!error.empty()) {
      pair.Remove();
      return "batched_edits: " + error;
    }
    // Both sides must hold the same customers.
    Result<int64_t> ours_count =
        WriterInt(*pair.ours, "SELECT count(*) FROM fs_records WHERE collection = 'customers'");
    int64_t plain_count = -1;
    error = pair.plain->QueryInt("SELECT count(*) FROM records", &plain_count);
    if (!ours_count.ok() || !error.empty() || *ours_count != plain_count ||
        plain_count != static_cast<int64_t>(seed.size() + puts)) {
      pair.Remove();
      return "batched_edits: the two sides hold different customer counts";
    }
    Result<int64_t> outbox = WriterInt(*pair.ours, "SELECT count(*) FROM fs_outbox");
    outbox_rows = outbox.ok() ? *outbox : -1;
    // Mean of the first and of the last tenth of the batches (at least one each).
    const size_t tenth = std::max<size_t>(1, ours_batch_ms.size() / 10);
    double head = 0, tail = 0;
    for (size_t i = 0; i < tenth; ++i) {
      head += ours_batch_ms[i] / static_cast<double>(tenth);
      tail += ours_batch_ms[ours_batch_ms.size() - 1 - i] / static_cast<double>(tenth);
    }
    first_batches_ms.push_back(head), last_batches_ms.push_back(tail);
    ours_ms.push_back(ours_total), base_ms.push_back(base_total);
    ours_cpu.push_back(ours_cpu_total), base_cpu.push_back(base_cpu_total);
    batched.ours.push_back(static_cast<double>(field_edits) / (ours_total / 1000));
    batched.base.push_back(static_cast<double>(field_edits) / (base_total / 1000));
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  "batched_edits rep %d/%d: fieldsync %.0f ms (first batches %.1f ms each, last "
                  "%.1f ms), raw %.0f ms",
                  rep + 1, o.repeats, ours_total, head, tail, base_total);
    Progress(buf);
    if (rep + 1 == o.repeats) {
      kept = std::move(pair);
    } else {
      pair.Remove();
    }
  }
  const double ours_rate = Median(batched.ours);
  const std::optional<double> cost = MedianRatio(ours_ms, base_ms);
  batched.target = ">=100k/s, r<=3";
  batched.meets = ours_rate >= kTargetFieldEditsPerS && cost && *cost <= kTargetBatchedRatio;
  batched.extras["target"] = {{"min_field_edits_per_s", kTargetFieldEditsPerS},
                              {"max_ratio", kTargetBatchedRatio}};
  batched.extras["edits"] = edits.size();
  batched.extras["edits_per_batch"] = kBatchSize;
  batched.extras["puts"] = puts;
  batched.extras["updates"] = edits.size() - puts;
  batched.extras["field_edits"] = field_edits;
  batched.extras["seed_customers"] = seed.size();
  batched.extras["ms_samples"] = ours_ms;
  batched.extras["baseline_ms_samples"] = base_ms;
  batched.extras["us_per_edit"] = Median(ours_ms) * 1000 / static_cast<double>(edits.size());
  batched.extras["baseline_us_per_edit"] =
      Median(base_ms) * 1000 / static_cast<double>(edits.size());
  batched.extras["first_batches_ms_per_batch"] = Median(first_batches_ms);
  batched.extras["last_batches_ms_per_batch"] = Median(last_batches_ms);
  batched.extras["outbox_rows_at_end"] = outbox_rows;
  AddCpuTimes(batched.extras, ours_cpu, base_cpu);
  batched.extras["what"] =
      "Database::Apply: validation and normalization, per-field HLC versions, outbox entry, "
      "search index, AES-256-GCM pages; one transaction per batch";
  lines->push_back(std::move(batched));

  // Single edits, on the last repetition's databases (seed customers plus the batches' puts).
  Line p50{"model.single_edit.p50", "ms",
           "raw sqlite: one autocommit json_patch UPDATE, synchronous=FULL"};
  Line p95{"model.single_edit.p95", "ms", p50.baseline};
  std::vector<std::pair<std::string, std::string>> patches;
  for (size_t i = 0; i < o.single_edits * static_cast<size_t>(o.repeats); ++i) {
    int fields = 0;
    std::string id = existing[gen.Below(static_cast<uint32_t>(existing.size()))];
    patches.emplace_back(std::move(id), gen.Patch(&fields));
  }
  for (int rep = 0; rep < o.repeats; ++rep) {
    std::vector<double> ours_lat, base_lat;
    for (size_t i = 0; i < o.single_edits; ++i) {
      const auto& [id, patch] = patches[static_cast<size_t>(rep) * o.single_edits + i];
      for (int side = 0; side < 2; ++side) {
        const bool ours_now = (side == 0) == (i % 2 == 0);
        Stopwatch t;
        if (ours_now) {
          Status s = kept.ours->Update("customers", id, patch);
          ours_lat.push_back(t.Ms());
          if (!s.ok()) {
            kept.Remove();
            return "single_edit: Update: " + s.ToString();
          }
        } else {
          std::string error = kept.plain->UpdateOne(id, patch);
          base_lat.push_back(t.Ms());
          if (!error.empty()) {
            kept.Remove();
            return "single_edit: " + error;
          }
        }
      }
    }
    p50.ours.push_back(Percentile(ours_lat, 0.5)), p50.base.push_back(Percentile(base_lat, 0.5));
    p95.ours.push_back(Percentile(ours_lat, 0.95)), p95.base.push_back(Percentile(base_lat, 0.95));
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  "single_edit rep %d/%d: fieldsync p50 %.2f p95 %.2f ms, raw p50 %.2f p95 %.2f ms",
                  rep + 1, o.repeats, p50.ours.back(), p95.ours.back(), p50.base.back(),
                  p95.base.back());
    Progress(buf);
  }
  kept.Remove();
  p50.target = "<=2 ms";
  p50.meets = Median(p50.ours) <= kTargetSingleP50Ms;
  p50.extras["target"] = kTargetSingleP50Ms;
  for (Line* l : {&p50, &p95}) {
    l->extras["edits_per_repeat"] = o.single_edits;
    l->extras["what"] =
        "Database::Update of 1-3 fields committed alone (WAL, synchronous=FULL: one fsync per "
        "commit, which dominates)";
  }
  lines->push_back(std::move(p50));
  lines->push_back(std::move(p95));
  return "";
}

// ---- search
// ---------------------------------------------------------------------------------------

struct SearchState {
  std::vector<ModelCustomer> customers;
  Pair pair;  // closed after the search workload; the open workload grows the same files
};

std::string RunSearch(const Options& o, const std::string& dir, const KeyProvider& key,
                      SearchState* state, std::vector<Line>* lines) {
  ModelGenerator gen(kModelSeed + 1);
  for (size_t i = 0; i < o.customers; ++i) state->customers.push_back(gen.Customer());
  Pair& pair = state->pair;
  std::string error = CreatePair(dir, "search", kReaderCacheKib, key, &pair);
  if (!error.empty()) return "search: " + error;
  {
    // Untimed build; its rates are printed because an import or a first sync does exactly this.
    const std::vector<ModelEdit> puts = PutsOf(state->customers);
    Stopwatch t;
    for (size_t first = 0; first < puts.size() && error.empty(); first += kBatchSize) {
      Result<std::vector<std::string>> ids =
          pair.ours->Apply(ToEdits(puts, first, std::min(puts.size(), first + kBatchSize)));
      if (!ids.ok()) error = "Apply: " + ids.status().ToString();
    }
    const double ours_ms = t.Ms();
    Stopwatch tp;
    for (size_t first = 0; first < puts.size() && error.empty(); first += kBatchSize) {
      error = pair.plain->InsertCustomers(state->customers, first,
                                          std::min(puts.size(), first + kBatchSize));
    }
    if (!error.empty()) return "search build: " + error;
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "search: built %zu customers: fieldsync %.1f s (%.0f records/s), plain table "
                  "%.1f s",
                  puts.size(), ours_ms / 1000, static_cast<double>(puts.size()) / (ours_ms / 1000),
                  tp.Ms() / 1000);
    Progress(buf);
  }

  std::vector<std::vector<std::string>> queries(kQueryKindCount);
  for (size_t k = 0; k < kQueryKindCount; ++k) {
    for (size_t i = 0; i < o.queries; ++i) queries[k].push_back(gen.Query(k, state->customers));
  }
  int hits = 0;
  for (size_t k = 0; k < kQueryKindCount; ++k) {
    for (int i = 0; i < kWarmupQueries && i < static_cast<int>(queries[k].size()); ++i) {
      (void)pair.ours->Search(queries[k][static_cast<size_t>(i)], kSearchLimit);
      (void)pair.plain->Search(queries[k][static_cast<size_t>(i)], kSearchLimit, &hits);
    }
  }

  std::vector<Line> p50s(kQueryKindCount), p95s(kQueryKindCount);
  std::vector<double> ours_hits(kQueryKindCount), base_hits(kQueryKindCount);
  std::vector<size_t> ours_misses(kQueryKindCount), base_misses(kQueryKindCount);
  for (int rep = 0; rep < o.repeats; ++rep) {
    std::string progress = "search rep " + std::to_string(rep + 1) + "/" +
                           std::to_string(o.repeats) + " p95 ms (fieldsync/scan):";
    for (size_t k = 0; k < kQueryKindCount; ++k) {
      std::vector<double> ours_lat, base_lat;
      for (size_t i = 0; i < queries[k].size(); ++i) {
        const std::string& q = queries[k][i];
        for (int side = 0; side < 2; ++side) {
          const bool ours_now = (side == 0) == ((i + static_cast<size_t>(rep)) % 2 == 0);
          Stopwatch t;
          if (ours_now) {
            Result<std::vector<SearchHit>> r = pair.ours->Search(q, kSearchLimit);
            ours_lat.push_back(t.Ms());
            if (!r.ok()) return "search: Search(" + q + "): " + r.status().ToString();
            if (rep == 0) {
              ours_hits[k] += static_cast<double>(r->size());
              ours_misses[k] += r->empty() ? 1 : 0;
            }
          } else {
            error = pair.plain->Search(q, kSearchLimit, &hits);
            base_lat.push_back(t.Ms());
            if (!error.empty()) return "search: " + error;
            if (rep == 0) {
              base_hits[k] += hits;
              base_misses[k] += hits == 0 ? 1 : 0;
            }
          }
        }
      }
      p50s[k].ours.push_back(Percentile(ours_lat, 0.5));
      p50s[k].base.push_back(Percentile(base_lat, 0.5));
      p95s[k].ours.push_back(Percentile(ours_lat, 0.95));
      p95s[k].base.push_back(Percentile(base_lat, 0.95));
      char buf[80];
      std::snprintf(buf, sizeof buf, " %s %.2f/%.1f", QueryKindName(k), p95s[k].ours.back(),
                    p95s[k].base.back());
      progress += buf;
    }
    Progress(progress);
  }
  pair.Close();

  const std::string baseline =
      "raw sqlite: full scan of a plain table of the same customers, instr() on name, company, "
      "phones, emails";
  for (size_t k = 0; k < kQueryKindCount; ++k) {
    const double n = static_cast<double>(queries[k].size());
    for (Line* l : {&p50s[k], &p95s[k]}) {
      l->unit = "ms";
      l->baseline = baseline;
      l->extras["query_kind"] = QueryKindName(k);
      l->extras["queries_per_repeat"] = queries[k].size();
      l->extras["customers"] = state->customers.size();
      l->extras["example_queries"] = std::vector<std::string>(
          queries[k].begin(), queries[k].begin() + std::min<size_t>(5, queries[k].size()));
      l->extras["mean_hits"] = ours_hits[k] / n;
      l->extras["baseline_mean_hits"] = base_hits[k] / n;
      l->extras["queries_without_hits"] = ours_misses[k];
      l->extras["baseline_queries_without_hits"] = base_misses[k];
      l->extras["limit"] = kSearchLimit;
    }
    p50s[k].name = std::string("model.search.") + QueryKindName(k) + ".p50";
    p95s[k].name = std::string("model.search.") + QueryKindName(k) + ".p95";
    p95s[k].target = "<=10 ms";
    p95s[k].meets = Median(p95s[k].ours) <= kTargetSearchP95Ms;
    p95s[k].extras["target"] = kTargetSearchP95Ms;
    lines->push_back(std::move(p50s[k]));
    lines->push_back(std::move(p95s[k]));
    if (ours_misses[k] > 0) {
      return std::string("search: ") + std::to_string(ours_misses[k]) + " " + QueryKindName(k) +
             " queries drawn from the data found nothing";
    }
  }
  return "";
}

// ---- open
// -----------------------------------------------------------------------------------------

struct OpenSamples {
  std::vector<double> ours_ms, base_ms;
  std::vector<double> ours_read, base_read;    // bytes read (rchar) per open
  std::vector<double> ours_calls, base_calls;  // read calls (syscr) per open
};

// n opens of each side, alternating, each followed by one point read of `customer_id`.
std::string MeasureOpens(const Pair& pair, const KeyProvider& key, const std::string& customer_id,
                         bool drop_cache, int n, OpenSamples* out) {
  for (int i = 0; i < n; ++i) {
    for (int side = 0; side < 2; ++side) {
      const bool ours_now = (side == 0) == (i % 2 == 0);
      if (drop_cache) DropOsCache(ours_now ? pair.ours_path : pair.plain_path);
      const IoCounters before = ReadIo();
      Stopwatch t;
      double ms = 0;
      if (ours_now) {
        Result<std::unique_ptr<Database>> db = Database::Open(pair.ours_path, key);
        if (!db.ok()) return "Database::Open: " + db.status().ToString();
        Result<std::string> record = (*db)->Get("customers", customer_id);
        ms = t.Ms();
        if (!record.ok()) return "Get: " + record.status().ToString();
      } else {
        std::string error;
        std::unique_ptr<PlainModelDb> db =
            PlainModelDb::Open(pair.plain_path, false, kWriterCacheKib, &error);
        if (!db) return error;
        size_t bytes = 0;
        error = db->GetCustomer(customer_id, &bytes);
        ms = t.Ms();
        if (!error.empty()) return error;
        if (bytes == 0) return "the plain file lost customer " + customer_id;
      }
      const IoCounters after = ReadIo();
      (ours_now ? out->ours_ms : out->base_ms).push_back(ms);
      (ours_now ? out->ours_read : out->base_read)
          .push_back(static_cast<double>(after.rchar - before.rchar));
      (ours_now ? out->ours_calls : out->base_calls)
          .push_back(static_cast<double>(after.syscr - before.syscr));
    }
  }
  return "";
}

// Appends visit reports to both sides until each holds at least `target` bytes; untimed.
std::string Grow(Pair& pair, const KeyProvider& key, const std::vector<ModelCustomer>& customers,
                 uint64_t target) {
  ModelGenerator gen(kModelSeed + 2);
  Result<std::unique_ptr<Database>> db = Database::Open(pair.ours_path, key);
  if (!db.ok()) return "Database::Open: " + db.status().ToString();
  Stopwatch t;
  size_t visits = 0;
  for (uint64_t size = 0; size < target;) {
    std::vector<Edit> batch;
    for (size_t i = 0; i < kVisitBatch; ++i) {
      Edit e;
      e.kind = Edit::Kind::kPut;
      e.collection = "visits";
      const std::string& customer =
          customers[gen.Below(static_cast<uint32_t>(customers.size()))].id;
      e.json = gen.Visit(customer, &e.id);
      batch.push_back(std::move(e));
    }
    Result<std::vector<std::string>> ids = (*db)->Apply(batch);
    if (!ids.ok()) return "Apply(visits): " + ids.status().ToString();
    visits += batch.size();
    Result<int64_t> pages = WriterInt(**db, "PRAGMA page_count");
    if (!pages.ok()) return pages.status().ToString();
    size = static_cast<uint64_t>(*pages) * 4096;
  }
  db->reset();
  const double ours_s = t.Ms() / 1000;

  std::string error;
  std::unique_ptr<PlainModelDb> plain =
      PlainModelDb::Open(pair.plain_path, false, kWriterCacheKib, &error);
  if (!plain) return error;
  Stopwatch tp;
  size_t plain_visits = 0;
  for (uint64_t size = 0; size < target && error.empty();) {
    std::vector<std::pair<std::string, std::string>> batch;
    for (size_t i = 0; i < kVisitBatch; ++i) {
      std::string id;
      const std::string& customer =
          customers[gen.Below(static_cast<uint32_t>(customers.size()))].id;
      std::string json = gen.Visit(customer, &id);
      batch.emplace_back(std::move(id), std::move(json));
    }
    error = plain->InsertVisits(batch);
    plain_visits += batch.size();
    if (error.empty()) error = plain->SizeBytes(&size);
  }
  plain.reset();
  if (!error.empty()) return error;
  char buf[220];
  std::snprintf(buf, sizeof buf,
                "open: grew to %s with %zu visit reports in %.1f s (fieldsync, %.0f visits/s); "
                "plaintext %s with %zu in %.1f s",
                Mib(FileBytes(pair.ours_path)).c_str(), visits, ours_s,
                static_cast<double>(visits) / ours_s, Mib(FileBytes(pair.plain_path)).c_str(),
                plain_visits, tp.Ms() / 1000);
  Progress(buf);
  return "";
}

Line OpenLine(const std::string& name, const std::string& baseline, const OpenSamples& s,
              uint64_t ours_bytes, uint64_t plain_bytes) {
  Line l{name, "ms", baseline, s.ours_ms, s.base_ms};
  l.extras["file_bytes"] = ours_bytes;
  l.extras["baseline_file_bytes"] = plain_bytes;
  l.extras["read_bytes_per_open"] = Median(s.ours_read);
  l.extras["baseline_read_bytes_per_open"] = Median(s.base_read);
  l.extras["read_calls_per_open"] = Median(s.ours_calls);
  l.extras["baseline_read_calls_per_open"] = Median(s.base_calls);
  return l;
}

std::string RunOpen(const Options& o, const KeyProvider& key, SearchState* state,
                    std::vector<Line>* lines) {
  Pair& pair = state->pair;
  const std::string customer_id = state->customers.front().id;
  const uint64_t small_bytes = FileBytes(pair.ours_path);
  const uint64_t small_plain_bytes = FileBytes(pair.plain_path);
  OpenSamples small;
  std::string error = MeasureOpens(pair, key, customer_id, false, o.open_repeats, &small);
  if (!error.empty()) return "open (small): " + error;

  const uint64_t target = uint64_t{o.open_size_mb} << 20;
  std::error_code ec;
  const std::filesystem::space_info space = std::filesystem::space(pair.ours_path, ec);
  const uint64_t needed = 2 * target + (uint64_t{512} << 20);
  if (ec || space.available < needed) {
    return "open: needs " + Mib(needed) + " free for two " + Mib(target) +
           " databases; skipped (use --open-size-mb or --dir)";
  }
  error = Grow(pair, key, state->customers, target);
  if (!error.empty()) return "open (grow): " + error;
  const uint64_t big_bytes = FileBytes(pair.ours_path);
  const uint64_t big_plain_bytes = FileBytes(pair.plain_path);

  OpenSamples warm, cold, pass;
  error = MeasureOpens(pair, key, customer_id, false, o.open_repeats, &warm);
  if (error.empty()) error = MeasureOpens(pair, key, customer_id, true, o.open_repeats, &cold);
  if (!error.empty()) return "open: " + error;

  // The same file rewrapped under a passphrase (ChangeKey touches only the header).
  PassphraseKeyProvider passphrase(kPassphrase);
  {
    Result<std::unique_ptr<Database>> db = Database::Open(pair.ours_path, key);
    if (!db.ok()) return "open: " + db.status().ToString();
    Status s = (*db)->writer_store().ChangeKey(passphrase);
    if (!s.ok()) return "open: ChangeKey: " + s.ToString();
  }
  error = MeasureOpens(pair, passphrase, customer_id, false, o.open_repeats, &pass);
  if (!error.empty()) return "open (passphrase): " + error;
  std::vector<double> kdf_ms;
  {
    Result<KekSpec> spec = passphrase.NewSpec();
    if (!spec.ok()) return "open: " + spec.status().ToString();
    for (int i = 0; i < o.open_repeats; ++i) {
      Stopwatch t;
      Result<SecretBytes> kek = passphrase.DeriveKek(*spec);
      kdf_ms.push_back(t.Ms());
      if (!kek.ok()) return "open: " + kek.status().ToString();
    }
  }
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "open: %s raw key %.1f ms, cold %.1f ms, passphrase %.1f ms (scrypt alone %.1f ms)",
                Mib(big_bytes).c_str(), Median(warm.ours_ms), Median(cold.ours_ms),
                Median(pass.ours_ms), Median(kdf_ms));
  Progress(buf);

  const std::string plain_label =
      "raw sqlite: sqlite3_open_v2 + the same pragmas + the same point read, plaintext " +
      Mib(big_plain_bytes);
  const std::string what = "Database::Open + Get of one customer, ";
  Line raw = OpenLine("model.open.raw_key", plain_label, warm, big_bytes, big_plain_bytes);
  raw.target = "<=100 ms";
  raw.meets = Median(warm.ours_ms) <= kTargetOpenMs;
  raw.extras["target"] = kTargetOpenMs;
  raw.extras["what"] = what + "raw host key (HKDF), OS page cache warm";
  Line cold_line = OpenLine("model.open.raw_key_cold", plain_label + ", OS cache dropped", cold,
                            big_bytes, big_plain_bytes);
  cold_line.target = "<=100 ms";
  cold_line.meets = Median(cold.ours_ms) <= kTargetOpenMs;
  cold_line.extras["target"] = kTargetOpenMs;
  cold_line.extras["what"] = what +
                             "raw host key, file evicted from the OS page cache "
                             "(posix_fadvise DONTNEED) before each open, both sides";
  Line pass_line = OpenLine("model.open.passphrase", plain_label, pass, big_bytes, big_plain_bytes);
  pass_line.extras["scrypt_ms"] = Median(kdf_ms);
  pass_line.extras["scrypt_ms_samples"] = kdf_ms;
  pass_line.extras["open_minus_scrypt_ms"] = Median(pass.ours_ms) - Median(kdf_ms);
  pass_line.extras["what"] =
      what + "passphrase: scrypt N=2^15 r=8 (about 100 ms by design, see docs/security.md)";
  // No full scan: bytes read by an open of the 1 GB file, against the file's size.
  Line read{"model.open.read_bytes", "bytes", "raw sqlite open + point read, plaintext",
            warm.ours_read, warm.base_read};
  read.target = "<<file";
  read.meets = Median(warm.ours_read) < 0.01 * static_cast<double>(big_bytes);
  read.extras["file_bytes"] = big_bytes;
  read.extras["share_of_file"] = Median(warm.ours_read) / static_cast<double>(big_bytes);
  read.extras["small_db_read_bytes"] = Median(small.ours_read);
  read.extras["small_db_file_bytes"] = small_bytes;
  read.extras["what"] =
      "bytes returned by read()/pread() during one open + Get (/proc/self/io rchar); a full "
      "scan would read about file_bytes";
  // Flat: the same database before and after growing it.
  Line flat{"model.open.size_growth", "ms",
            "fieldsync open of the same database at " + Mib(small_bytes) + ", before growing",
            warm.ours_ms, small.ours_ms};
  flat.target = "~1";
  flat.meets = MedianRatio(warm.ours_ms, small.ours_ms).value_or(99) < 1.5;
  flat.extras["file_bytes"] = big_bytes;
  flat.extras["baseline_file_bytes"] = small_bytes;
  flat.extras["size_ratio"] = static_cast<double>(big_bytes) / static_cast<double>(small_bytes);
  flat.extras["plain_small_ms"] = Median(small.base_ms);
  flat.extras["plain_small_file_bytes"] = small_plain_bytes;
  flat.extras["what"] = "open time at 1 GB / open time at the small size: flat means no scan";
  for (Line* l : {&raw, &cold_line, &pass_line, &read, &flat}) lines->push_back(std::move(*l));
  return "";
}

// ---- report
// ---------------------------------------------------------------------------------------

std::string Number(double v) {
  char buf[32];
  const double a = std::fabs(v);
  std::snprintf(buf, sizeof buf,
                a >= 1000 ? "%.0f"
                : a >= 10 ? "%.1f"
                : a >= 1  ? "%.2f"
                          : "%.3f",
                v);
  return buf;
}

nlohmann::json Entry(const Line& l) {
  nlohmann::json e = MakeEntry(l.name, l.unit, l.baseline, l.ours, l.base);
  if (l.higher_is_better) {
    // A cost ratio, like every other line: our time / raw time = raw rate / our rate.
    std::optional<double> ratio = MedianRatio(l.base, l.ours);
    std::vector<double> paired = PairedRatios(l.base, l.ours);
    Summary r = Summarize(paired);
    Summary v = Summarize(l.ours);
    Summary b = Summarize(l.base);
    e["ratio"] = ratio ? nlohmann::json(*ratio) : nlohmann::json(nullptr);
    e["ratio_per_repeat"] = paired;
    e["ratio_min"] = r.count ? nlohmann::json(r.min) : nlohmann::json(nullptr);
    e["ratio_max"] = r.count ? nlohmann::json(r.max) : nlohmann::json(nullptr);
    e["ratio_of_min"] =
        (v.count && b.count && v.max > 0) ? nlohmann::json(b.max / v.max) : nlohmann::json(nullptr);
    e["ratio_meaning"] = "cost ratio: our time / baseline time (baseline rate / our rate)";
  }
  for (auto it = l.extras.begin(); it != l.extras.end(); ++it) e[it.key()] = it.value();
  if (l.meets) e["meets_target"] = *l.meets;
  return e;
}

void PrintTable(const std::vector<Line>& lines) {
  std::printf("\n%-32s %-13s %10s %10s %7s %10s %8s  %-15s %s\n", "workload", "unit", "min",
              "median", "spread", "base med.", "ratio", "target", "met");
  for (const Line& l : lines) {
    Summary v = Summarize(l.ours);
    Summary b = Summarize(l.base);
    std::optional<double> ratio =
        l.higher_is_better ? MedianRatio(l.base, l.ours) : MedianRatio(l.ours, l.base);
    char spread[16];
    std::snprintf(spread, sizeof spread, "%.1f%%", 100 * v.spread());
    std::string name = l.name.substr(std::strlen("model."));
    std::printf("%-32s %-13s %10s %10s %7s %10s %8s  %-15s %s\n", name.c_str(), l.unit.c_str(),
                v.count ? Number(v.min).c_str() : "-", v.count ? Number(v.median).c_str() : "-",
                spread, b.count ? Number(b.median).c_str() : "-",
                ratio ? Number(*ratio).c_str() : "-", l.target.c_str(),
                l.meets ? (*l.meets ? "yes" : "NO") : "");
  }
}

int Usage() {
  std::fprintf(
      stderr,
      "usage: fieldsync-bench model [--json FILE] [--quick] [--repeat N] [--customers N]\n"
      "                             [--batches N] [--single N] [--queries N] [--open-size-mb N]\n"
      "                             [--dir DIR] [--only edits|search]\n"
      "  --json FILE        also write the results as a JSON list\n"
      "  --quick            a smoke run: 3 repetitions, 10,000 customers, 5 batches, 100 single\n"
      "                     edits, 50 queries per kind, a 64 MiB open database\n"
      "  --repeat N         repetitions of each workload (default 5; the open workload N + 2)\n"
      "  --customers N      customers in the search database (default 100,000)\n"
      "  --batches N        batches of 1,000 edits per batched_edits repetition (default 20)\n"
      "  --single N         single edits per repetition (default 1,000)\n"
      "  --queries N        queries per kind and repetition (default 200)\n"
      "  --open-size-mb N   size the open workload grows its database to (default 1024; 0 skips\n"
      "                     the open workload)\n"
      "  --dir DIR          where the temporary databases go (default $TMPDIR or /tmp)\n"
      "  --only WORKLOAD    run only the batched and single edits (edits) or search (search)\n");
  return 2;
}

}  // namespace

int RunModel(int argc, char** argv) {
  Options o;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    auto count = [&](size_t* out) {
      const char* v = value();
      if (!v) return false;
      *out = std::strtoul(v, nullptr, 10);
      return true;
    };
    const char* v = nullptr;
    if (arg == "--json" && (v = value())) {
      o.json_path = v;
    } else if (arg == "--dir" && (v = value())) {
      o.dir = v;
    } else if (arg == "--only" && (v = value())) {
      o.only = v;
      if (o.only != "edits" && o.only != "search") return Usage();
    } else if (arg == "--quick") {
      o.repeats = 3;
      o.open_repeats = 5;
      o.seed_customers = 2000;
      o.batches = 5;
      o.single_edits = 100;
      o.customers = 10000;
      o.queries = 50;
      o.open_size_mb = 64;
    } else if (arg == "--repeat" && (v = value())) {
      o.repeats = std::atoi(v);
      o.open_repeats = o.repeats + 2;
    } else if ((arg == "--customers" && count(&o.customers)) ||
               (arg == "--batches" && count(&o.batches)) ||
               (arg == "--single" && count(&o.single_edits)) ||
               (arg == "--queries" && count(&o.queries)) ||
               (arg == "--open-size-mb" && count(&o.open_size_mb))) {
    } else {
      return Usage();
    }
  }
  if (o.repeats < 1 || o.customers < 100 || o.batches < 1 || o.single_edits < 1 || o.queries < 1) {
    return Usage();
  }
  if (o.dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    o.dir = (tmp && *tmp) ? tmp : "/tmp";
  }
  TempDir dir;
  if (!dir.Make(o.dir, "model")) {
    std::fprintf(stderr, "fieldsync-bench: cannot create a temporary directory under %s\n",
                 o.dir.c_str());
    return 1;
  }
  std::printf(
      "fieldsync-bench model: %d repetitions; batched: %zu x %zu edits on %zu customers; "
      "single: %zu; search: %zu customers, %zu queries per kind; open: %zu MiB; SQLite %s\n",
      o.repeats, o.batches, kBatchSize, o.seed_customers, o.single_edits, o.customers, o.queries,
      o.open_size_mb, sqlite3_libversion());
  std::fflush(stdout);

  RawKeyProvider key(kModelKey, sizeof kModelKey);
  std::vector<Line> lines;
  std::vector<std::string> problems;
  std::string error;
  if (o.only.empty() || o.only == "edits") error = RunEdits(o, dir.path(), key, &lines);
  if (!error.empty()) problems.push_back(error);
  SearchState search;
  if (o.only.empty() || o.only == "search") {
    error = RunSearch(o, dir.path(), key, &search, &lines);
    if (!error.empty()) problems.push_back(error);
  }
  if (o.only.empty() && error.empty() && o.open_size_mb > 0) {
    error = RunOpen(o, key, &search, &lines);
    if (!error.empty()) problems.push_back(error);
  }
  search.pair.Remove();

  PrintTable(lines);
  std::printf(
      "\nmin, median, spread: over the repetitions of one workload (spread = (max - min) / "
      "median); for p50/p95 lines each\nrepetition gives one percentile over its operations. "
      "base med. = the baseline's median. ratio = ours / baseline\non medians, a cost ratio (> 1 "
      "= slower); for batched_edits, our time / raw time. Every baseline ran in this run,\n"
      "interleaved with ours operation by operation. Baselines (raw SQLite %s, plain file, no "
      "shim, same pragmas):\n"
      "  batched_edits, single_edit: one JSON row per record (put = INSERT of the JSON, update = "
      "json_patch UPDATE), no\n    validation, versions, outbox or index.\n"
      "  search.*: full scan of a plain table of the same customers with instr() on name, "
      "company, phones, emails (finds\n    no pinyin, so its hit counts differ).\n"
      "  open.*: sqlite3_open_v2 + pragmas + one point read on a plaintext file of about the "
      "same size. read_bytes: bytes\n    read during one open (/proc/self/io). size_growth: our "
      "open at full size vs the same database before growing.\n",
      sqlite3_libversion());
  for (const std::string& p : problems) std::printf("PROBLEM: %s\n", p.c_str());

  if (!o.json_path.empty()) {
    nlohmann::json out = nlohmann::json::array();
    for (const Line& l : lines) out.push_back(Entry(l));
    std::ofstream f(o.json_path);
    f << out.dump(2) << "\n";
    if (!f) {
      std::fprintf(stderr, "fieldsync-bench: cannot write %s\n", o.json_path.c_str());
      return 1;
    }
    std::printf("JSON written to %s\n", o.json_path.c_str());
  }
  return problems.empty() ? 0 : 1;
}

}  // namespace fieldsync::bench
