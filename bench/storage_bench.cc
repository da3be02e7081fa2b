// bench/storage_bench.cc: fieldsync-bench, the benchmark driver; `storage` is its first subcommand.
//
//   fieldsync-bench storage [--rows N] [--repeat N] [--json FILE] [--dir DIR]
//                           [--sqlcipher PATH | --no-sqlcipher] [--drop-os-cache]
//
// storage runs the workloads of storage_workload.h for two variants in the same run, interleaved:
//   plaintext  the system SQLite on a plain file: no VFS shim, no reserved bytes
//   fieldsync  fieldsync::Store::Create with a RawKeyProvider (AES-256-GCM pages via core's shim),
//              driven through the sqlite3* from native_handle()
// with the same pragmas (WAL, synchronous=FULL, cache 200,000 KiB, temp_store=MEMORY, mmap_size=0,
// page size 4096; the Store chooses its own page size and the report shows it). Between its own
// repetitions it runs one repetition at a time of fieldsync-bench-sqlcipher (a separate binary:
// SQLCipher exports the same symbols as SQLite) on the same rows, so machine noise falls on all
// four variants alike, and prints SQLCipher's keyed/unkeyed ratio beside ours.
//
// Output: a table on stdout (min, median and spread per variant; ratio = fieldsync median /
// plaintext median, with the range of the per-repetition ratios, the ratio of the fastest runs and
// the ratio of CPU times) and, with --json, the list of entries described in bench_stats.h plus
// target, meets_target, sqlcipher_* and vs_sqlcipher.
// Exit status 1 when a workload failed or the variants disagree on what they read; a missed target
// is reported, not an error: this is a benchmark, not a test.
//
// New subcommands (model, sync) go in kCommands below, each in its own file.
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_stats.h"
#include "fieldsync/key_provider.h"
#include "fieldsync/store.h"
#include "model_bench.h"
#include "storage_workload.h"
#include "sync_bench.h"

#ifndef FIELDSYNC_BENCH_SQLCIPHER_PEER
#define FIELDSYNC_BENCH_SQLCIPHER_PEER ""
#endif

namespace fieldsync::bench {
namespace {

// A fixed benchmark key; never used for real data.
constexpr uint8_t kBenchKey[kKeySize] = {
    0x2d, 0xd2, 0x9c, 0xa8, 0x51, 0xe7, 0xb5, 0x6e, 0x46, 0x97, 0xb0, 0xe1, 0xf0, 0x85, 0x07, 0x29,
    0x3d, 0x76, 0x1a, 0x05, 0xce, 0x4d, 0x1b, 0x62, 0x86, 0x63, 0xf4, 0x11, 0xa8, 0x08, 0x6d, 0x99};

class FieldsyncVariant : public StorageVariant {
 public:
  FieldsyncVariant() : key_(kBenchKey, sizeof kBenchKey) {
    options_.journal_mode = JournalMode::kWal;
    options_.sync_mode = SyncMode::kFull;
    options_.cache_size_kib = kCacheSizeKib;
  }
  ~FieldsyncVariant() override { Close(); }
  std::string Name() const override { return "fieldsync"; }
  sqlite3* Create(const std::string& path, std::string* error) override {
    return Open(path, true, error);
  }
  sqlite3* Reopen(const std::string& path, std::string* error) override {
    return Open(path, false, error);
  }
  void Close() override { store_.reset(); }

 private:
  sqlite3* Open(const std::string& path, bool create, std::string* error) {
    Close();
    Result<std::unique_ptr<Store>> store =
        create ? Store::Create(path, key_, options_) : Store::Open(path, key_, options_);
    if (!store.ok()) {
      *error = store.status().ToString();
      return nullptr;
    }
    store_ = std::move(store).value();
    auto* db = static_cast<sqlite3*>(store_->native_handle());
    // The Store owns the file format, so its page size is left alone (the report prints it); the
    // other pragmas are re-applied so both variants provably run with the same settings.
    *error = ApplyCommonPragmas(db, /*new_database=*/false);
    if (!error->empty()) {
      Close();
      return nullptr;
    }
    return db;
  }

  RawKeyProvider key_;
  StoreOptions options_;
  std::unique_ptr<Store> store_;
};

// One workload's results across everything that measured it.
struct Row {
  const WorkloadInfo* info = nullptr;
  Summary plain, ours, peer_plain, peer_keyed;
  std::optional<double> ratio, ratio_min, ratio_max, ratio_of_min;
  std::optional<double> peer_ratio, peer_ratio_min, peer_ratio_max, peer_ratio_of_min;
  std::optional<double> cpu_ratio, peer_cpu_ratio;  // of CPU-time medians
  std::string verdict;                              // ours vs SQLCipher
};

// "ours must be no higher on any workload, beyond the run-to-run spread": lower or equal passes;
// higher passes only while the ranges of per-repetition ratios still overlap.
std::string Verdict(const Row& r) {
  if (!r.ratio || !r.peer_ratio) return "n/a";
  if (*r.ratio <= *r.peer_ratio) return "no higher";
  if (r.ratio_min && r.peer_ratio_max && *r.ratio_min <= *r.peer_ratio_max) {
    return "higher, within spread";
  }
  return "HIGHER";
}

std::string Fixed(std::optional<double> v, const char* format = "%.3f") {
  if (!v) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, format, *v);
  return buf;
}

std::string Percent(const Summary& s) {
  if (s.count == 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100 * s.spread());
  return buf;
}

std::string Range(std::optional<double> lo, std::optional<double> hi) {
  if (!lo || !hi) return "-";
  return Fixed(lo) + "-" + Fixed(hi);
}

void PrintLine(const char* workload, const char* variant, const Summary& s,
               const std::string& ratio, const std::string& range, const std::string& min_ratio,
               const std::string& cpu_ratio, const std::string& target, const std::string& peer,
               const std::string& verdict) {
  char line[512];
  std::snprintf(line, sizeof line, "%-15s %-18s %9s %9s %7s  %6s %-12s %6s %6s  %-11s %-9s %s",
                workload, variant, s.count ? Fixed(s.min, "%.1f").c_str() : "-",
                s.count ? Fixed(s.median, "%.1f").c_str() : "-", Percent(s).c_str(), ratio.c_str(),
                range.c_str(), min_ratio.c_str(), cpu_ratio.c_str(), target.c_str(), peer.c_str(),
                verdict.c_str());
  std::string text = line;
  text.erase(text.find_last_not_of(' ') + 1);
  std::printf("%s\n", text.c_str());
}

// Single-quotes a path for /bin/sh.
std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// A string member of a JSON object, or "" (json::value() trips GCC 12's -Wnull-dereference).
std::string StringField(const nlohmann::json& e, const char* key) {
  auto it = e.find(key);
  if (it == e.end() || !it->is_string()) return "";
  return it->get_ref<const std::string&>();
}

std::vector<double> Samples(const nlohmann::json& e, const char* key) {
  std::vector<double> out;
  auto it = e.find(key);
  if (it == e.end() || !it->is_array()) return out;
  for (const auto& v : *it) {
    if (v.is_number()) out.push_back(v.get<double>());
  }
  return out;
}

// The SQLCipher peer's samples, gathered over its one-repetition runs.
struct PeerResults {
  bool available = false;                            // at least one run gave its JSON list
  std::array<nlohmann::json, kWorkloadCount> first;  // entries of the first run: labels, checksums
  std::array<std::vector<double>, kWorkloadCount> keyed, unkeyed;          // wall ms
  std::array<std::vector<double>, kWorkloadCount> keyed_cpu, unkeyed_cpu;  // CPU ms
  std::array<std::string, kWorkloadCount> errors;
};

bool PeerExists(const std::string& peer) {
  std::error_code ec;
  if (!peer.empty() && std::filesystem::is_regular_file(peer, ec)) return true;
  std::fprintf(stderr, "fieldsync-bench: SQLCipher peer %s not found; skipping the comparison\n",
               peer.empty() ? "(not built)" : peer.c_str());
  return false;
}

// Runs repetition `rep` of the peer and adds its samples to *out. Returns false (with a note on
// stderr) when the peer gave no JSON, so the caller stops running it.
bool RunPeerRepetition(const std::string& peer, size_t rows, int rep, int total,
                       const std::string& dir, bool drop_os_cache, PeerResults* out) {
  std::string cmd = ShellQuote(peer) + " --rows " + std::to_string(rows) +
                    " --repeat 1 --first-repetition " + std::to_string(rep) +
                    " --total-repetitions " + std::to_string(total) + " --json -";
  if (!dir.empty()) cmd += " --dir " + ShellQuote(dir);
  if (drop_os_cache) cmd += " --drop-os-cache";
  std::fflush(stderr);
  std::FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) {
    std::fprintf(stderr, "fieldsync-bench: cannot start %s\n", peer.c_str());
    return false;
  }
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) text.append(buf, n);
  int status = ::pclose(pipe);
  nlohmann::json list = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (list.is_discarded() || !list.is_array()) {
    std::fprintf(stderr, "fieldsync-bench: %s (exit status %d) gave no JSON list\n", cmd.c_str(),
                 status);
    return false;
  }
  for (const auto& e : list) {
    for (size_t w = 0; w < kWorkloadCount; ++w) {
      if (StringField(e, "name") != Workloads()[w].name) continue;
      if (!out->available) out->first[w] = e;
      for (double v : Samples(e, "samples")) out->keyed[w].push_back(v);
      for (double v : Samples(e, "baseline_samples")) out->unkeyed[w].push_back(v);
      for (double v : Samples(e, "cpu_samples")) out->keyed_cpu[w].push_back(v);
      for (double v : Samples(e, "baseline_cpu_samples")) out->unkeyed_cpu[w].push_back(v);
      if (out->errors[w].empty()) out->errors[w] = StringField(e, "error");
    }
  }
  out->available = true;
  return true;
}

size_t OpsOf(size_t w, size_t rows) {
  switch (w) {
    case kInsertBatched:
    case kScanFull:
      return rows;
    case kReadWarm:
    case kReadCold:
      return kPointReads;
    default:
      return kSingleCommits;
  }
}

int Usage() {
  std::fprintf(stderr,
               "usage: fieldsync-bench storage [--rows N] [--repeat N] [--json FILE] [--dir DIR]\n"
               "                               [--sqlcipher PATH | --no-sqlcipher] "
               "[--drop-os-cache]\n"
               "  --rows N         customer rows to insert (default %zu; at least %zu)\n"
               "  --repeat N       repetitions per variant, interleaved (default 5)\n"
               "  --json FILE      also write the results as a JSON list\n"
               "  --dir DIR        where the temporary databases go (default $TMPDIR or /tmp)\n"
               "  --sqlcipher PATH the fieldsync-bench-sqlcipher binary (default: %s)\n"
               "  --no-sqlcipher   skip the SQLCipher comparison\n"
               "  --drop-os-cache  evict the database file from the OS page cache before each\n"
               "                   reopen (posix_fadvise), making read_cold and scan_full hit the\n"
               "                   device\n",
               kDefaultRows, kBatchSize,
               *FIELDSYNC_BENCH_SQLCIPHER_PEER ? FIELDSYNC_BENCH_SQLCIPHER_PEER : "not built");
  return 2;
}

int RunStorage(int argc, char** argv) {
  size_t rows = kDefaultRows;
  int repeats = 5;
  std::string json_path;
  std::string peer_path = FIELDSYNC_BENCH_SQLCIPHER_PEER;
  bool use_peer = true;
  StorageRunOptions options;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (arg == "--rows" && (v = value())) {
      rows = std::strtoul(v, nullptr, 10);
    } else if (arg == "--repeat" && (v = value())) {
      repeats = std::atoi(v);
    } else if (arg == "--json" && (v = value())) {
      json_path = v;
    } else if (arg == "--dir" && (v = value())) {
      options.dir = v;
    } else if (arg == "--sqlcipher" && (v = value())) {
      peer_path = v;
    } else if (arg == "--no-sqlcipher") {
      use_peer = false;
    } else if (arg == "--drop-os-cache") {
      options.drop_os_cache = true;
    } else {
      return Usage();
    }
  }
  if (rows < kBatchSize || repeats < 1) return Usage();
  options.repeats = repeats;
  options.progress = [](const std::string& line) { std::fprintf(stderr, "  %s\n", line.c_str()); };

  StorageDataset data = MakeStorageDataset(rows);
  const std::string sqlite_version = sqlite3_libversion();
  std::printf(
      "fieldsync-bench storage: %zu customer rows (%.0f bytes of fields per row on average), "
      "%d repetitions, SQLite %s\n",
      rows, data.average_row_bytes, repeats, sqlite_version.c_str());
  std::fflush(stdout);

  // One repetition at a time: ours (both variants), then the peer's (both variants), the order
  // flipping every repetition, so a busy phase of the machine lands on all four alike.
  PlainSqliteVariant plaintext("plaintext");
  FieldsyncVariant ours;
  std::vector<VariantResult> results;
  PeerResults peer;
  bool run_peer = use_peer && PeerExists(peer_path);
  for (int rep = 0; rep < repeats; ++rep) {
    const bool peer_first = rep % 2 == 1;
    if (run_peer && peer_first) {
      run_peer = RunPeerRepetition(peer_path, rows, rep, repeats, options.dir,
                                   options.drop_os_cache, &peer);
    }
    StorageRunOptions one = options;
    one.repeats = 1;
    one.first_repetition = rep;
    one.total_repetitions = repeats;
    std::string error;
    std::vector<VariantResult> r = RunStorageBenchmark({&plaintext, &ours}, data, one, &error);
    if (r.empty()) {
      std::fprintf(stderr, "fieldsync-bench: %s\n", error.c_str());
      return 1;
    }
    if (results.empty()) {
      results = std::move(r);
    } else {
      for (size_t v = 0; v < results.size(); ++v) {
        for (size_t w = 0; w < kWorkloadCount; ++w) {
          for (double ms : r[v].ms[w]) results[v].ms[w].push_back(ms);
          for (double ms : r[v].cpu_ms[w]) results[v].cpu_ms[w].push_back(ms);
          if (results[v].errors[w].empty()) results[v].errors[w] = r[v].errors[w];
        }
      }
    }
    if (run_peer && !peer_first) {
      run_peer = RunPeerRepetition(peer_path, rows, rep, repeats, options.dir,
                                   options.drop_os_cache, &peer);
    }
  }
  const VariantResult& plain = results[0];
  const VariantResult& enc = results[1];

  const std::string baseline = "plaintext sqlite " + sqlite_version;
  nlohmann::json out = nlohmann::json::array();
  std::vector<Row> table;
  bool failed = false;
  std::vector<std::string> problems;
  for (size_t w = 0; w < kWorkloadCount; ++w) {
    const WorkloadInfo& info = Workloads()[w];
    Row r;
    r.info = &info;
    r.plain = Summarize(plain.ms[w]);
    r.ours = Summarize(enc.ms[w]);
    r.ratio = MedianRatio(enc.ms[w], plain.ms[w]);
    Summary paired = Summarize(PairedRatios(enc.ms[w], plain.ms[w]));
    if (paired.count) r.ratio_min = paired.min, r.ratio_max = paired.max;
    if (r.ours.count && r.plain.count) r.ratio_of_min = r.ours.min / r.plain.min;

    const nlohmann::json* pe = peer.first[w].is_object() ? &peer.first[w] : nullptr;
    const std::vector<double>& pk = peer.keyed[w];
    const std::vector<double>& pu = peer.unkeyed[w];
    r.peer_plain = Summarize(pu);
    r.peer_keyed = Summarize(pk);
    r.peer_ratio = MedianRatio(pk, pu);
    Summary peer_paired = Summarize(PairedRatios(pk, pu));
    if (peer_paired.count) r.peer_ratio_min = peer_paired.min, r.peer_ratio_max = peer_paired.max;
    if (r.peer_keyed.count && r.peer_plain.count) {
      r.peer_ratio_of_min = r.peer_keyed.min / r.peer_plain.min;
    }
    r.cpu_ratio = MedianRatio(enc.cpu_ms[w], plain.cpu_ms[w]);
    r.peer_cpu_ratio = MedianRatio(peer.keyed_cpu[w], peer.unkeyed_cpu[w]);
    r.verdict = Verdict(r);

    nlohmann::json e = MakeEntry(info.name, "ms", baseline, enc.ms[w], plain.ms[w]);
    AddCpuTimes(e, enc.cpu_ms[w], plain.cpu_ms[w]);
    e["sqlcipher_cpu_ratio"] =
        r.peer_cpu_ratio ? nlohmann::json(*r.peer_cpu_ratio) : nlohmann::json(nullptr);
    e["description"] = info.description;
    e["rows"] = rows;
    e["ops"] = OpsOf(w, rows);
    e["per_op_us"] =
        r.ours.count ? nlohmann::json(1000 * r.ours.median / static_cast<double>(OpsOf(w, rows)))
                     : nlohmann::json(nullptr);
    e["checksum"] = enc.checksums[w];
    e["page_size"] = enc.facts.page_size;
    e["baseline_page_size"] = plain.facts.page_size;
    e["file_bytes"] = enc.facts.file_bytes;
    e["baseline_file_bytes"] = plain.facts.file_bytes;
    if (info.target_ratio > 0) {
      e["target"] = info.target_ratio;
      e["meets_target"] =
          r.ratio ? nlohmann::json(*r.ratio <= info.target_ratio) : nlohmann::json(nullptr);
    }
    if (w == kReadCold || w == kScanFull) {
      e["cache"] = options.drop_os_cache
                       ? "new connection (SQLite page cache empty), OS page cache dropped"
                       : "new connection (SQLite page cache empty), OS page cache warm";
    }
    e["sqlcipher_ratio"] = r.peer_ratio ? nlohmann::json(*r.peer_ratio) : nlohmann::json(nullptr);
    e["sqlcipher_ratio_of_min"] =
        r.peer_ratio_of_min ? nlohmann::json(*r.peer_ratio_of_min) : nlohmann::json(nullptr);
    e["sqlcipher_ratio_min"] =
        r.peer_ratio_min ? nlohmann::json(*r.peer_ratio_min) : nlohmann::json(nullptr);
    e["sqlcipher_ratio_max"] =
        r.peer_ratio_max ? nlohmann::json(*r.peer_ratio_max) : nlohmann::json(nullptr);
    e["sqlcipher_value"] = r.peer_keyed.count ? nlohmann::json(r.peer_keyed.median) : nullptr;
    e["sqlcipher_baseline_value"] =
        r.peer_plain.count ? nlohmann::json(r.peer_plain.median) : nullptr;
    if (pe) {
      e["sqlcipher_baseline"] = StringField(*pe, "baseline");
      e["sqlcipher_variant"] = StringField(*pe, "variant");
      if (!peer.errors[w].empty()) e["sqlcipher_error"] = peer.errors[w];
    }
    e["vs_sqlcipher"] = r.verdict;

    std::string err = !enc.errors[w].empty() ? enc.errors[w] : plain.errors[w];
    if (!err.empty()) {
      e["error"] = err;
      failed = true;
      problems.push_back(std::string(info.short_name) + ": " + err);
    } else if (enc.checksums[w] != plain.checksums[w]) {
      failed = true;
      problems.push_back(std::string(info.short_name) +
                         ": fieldsync and plaintext read different data (checksums differ)");
    } else if (pe && pe->contains("checksum") && (*pe)["checksum"].is_number_unsigned() &&
               (*pe)["checksum"].get<uint64_t>() != enc.checksums[w]) {
      problems.push_back(std::string(info.short_name) +
                         ": the SQLCipher peer read different data (checksums differ)");
    }
    out.push_back(std::move(e));
    table.push_back(r);
  }

  std::printf("\n%-15s %-18s %9s %9s %7s  %6s %-12s %6s %6s  %-11s %-9s %s\n", "workload",
              "variant", "min ms", "median ms", "spread", "ratio", "ratio range", "min r.",
              "cpu r.", "target", "sqlcipher", "ours vs sqlcipher");
  for (const Row& r : table) {
    std::string target;
    if (r.info->target_ratio > 0) {
      target = "<=" + Fixed(r.info->target_ratio, "%.2f") +
               (r.ratio ? (*r.ratio <= r.info->target_ratio ? " ok" : " MISS") : "");
    }
    PrintLine(r.info->short_name, "plaintext", r.plain, "", "", "", "", "", "", "");
    PrintLine("", "fieldsync", r.ours, Fixed(r.ratio), Range(r.ratio_min, r.ratio_max),
              Fixed(r.ratio_of_min), Fixed(r.cpu_ratio), target, Fixed(r.peer_ratio), r.verdict);
    if (peer.available) {
      PrintLine("", "sqlcipher unkeyed", r.peer_plain, "", "", "", "", "", "", "");
      PrintLine("", "sqlcipher keyed", r.peer_keyed, Fixed(r.peer_ratio),
                Range(r.peer_ratio_min, r.peer_ratio_max), Fixed(r.peer_ratio_of_min),
                Fixed(r.peer_cpu_ratio), "", "", "");
    }
  }
  std::printf(
      "\nUnits: total milliseconds per workload. spread = (max - min) / median of one variant's "
      "repetitions.\n"
      "ratio = encrypted median / plaintext median (> 1 is slower); ratio range = min-max of the "
      "per-repetition ratios\n"
      "(the variants run interleaved, repetition by repetition); min r. = fastest encrypted run / "
      "fastest plaintext run;\n"
      "cpu r. = median ratio of process CPU time (user + system) over the same runs: steadier than "
      "wall time on a busy\n"
      "machine, but blind to waiting (fsync).\n"
      "ours vs sqlcipher: 'no higher', 'higher, within spread' (our ratio range overlaps "
      "SQLCipher's) or 'HIGHER' (beyond the spread).\n"
      "read_warm: every page already in SQLite's page cache. read_cold and scan_full: a newly "
      "opened connection,\nso SQLite's page cache is empty and every page goes through the VFS "
      "(decrypted); the OS page cache is %s.\n"
      "Page size: plaintext %d, fieldsync %d. Database file: plaintext %.1f MiB, fieldsync %.1f "
      "MiB.\n",
      options.drop_os_cache ? "dropped before each reopen (--drop-os-cache)"
                            : "warm (the files were just written)",
      plain.facts.page_size, enc.facts.page_size,
      static_cast<double>(plain.facts.file_bytes) / (1 << 20),
      static_cast<double>(enc.facts.file_bytes) / (1 << 20));
  if (peer.available) {
    std::printf("SQLCipher: %s vs %s.\n", StringField(peer.first[0], "variant").c_str(),
                StringField(peer.first[0], "baseline").c_str());
  }
  for (const std::string& p : problems) std::printf("PROBLEM: %s\n", p.c_str());

  if (!json_path.empty()) {
    std::ofstream f(json_path);
    f << out.dump(2) << "\n";
    if (!f) {
      std::fprintf(stderr, "fieldsync-bench: cannot write %s\n", json_path.c_str());
      return 1;
    }
    std::printf("JSON written to %s\n", json_path.c_str());
  }
  return failed ? 1 : 0;
}

struct Command {
  const char* name;
  const char* summary;
  int (*run)(int argc, char** argv);  // argv excludes the program and command names
};

constexpr Command kCommands[] = {
    {"storage", "encrypted vs plaintext local storage workloads, with SQLCipher beside",
     RunStorage},
    {"model", "the data model (edits, single commits, search, open) vs raw SQLite", RunModel},
    {"sync", "push, first sync, incremental sync and bytes against a real server on loopback",
     RunSync},
};

int Main(int argc, char** argv) {
  if (argc >= 2) {
    for (const Command& c : kCommands) {
      if (std::strcmp(argv[1], c.name) == 0) return c.run(argc - 2, argv + 2);
    }
  }
  std::fprintf(stderr, "usage: fieldsync-bench <command> [options]\ncommands:\n");
  for (const Command& c : kCommands) std::fprintf(stderr, "  %-10s %s\n", c.name, c.summary);
  std::fprintf(stderr, "run 'fieldsync-bench <command> --help' for its options\n");
  return 2;
}

}  // namespace
}  // namespace fieldsync::bench

int main(int argc, char** argv) { return fieldsync::bench::Main(argc, argv); }
