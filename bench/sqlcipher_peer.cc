// bench/sqlcipher_peer.cc: fieldsync-bench-sqlcipher, the storage workloads on Debian's SQLCipher.
//
// SQLCipher exports the same sqlite3_* symbols as the system SQLite, so it cannot share a process
// with fieldsync (which uses the system SQLite); this separate binary links only libsqlcipher and
// is compiled from the same storage_workload.cc. It runs the workloads for two variants in one run,
// interleaved like fieldsync-bench does:
//   "sqlcipher unkeyed"  SQLCipher's own SQLite (3.15.2) with no key: plaintext, no codec attached
//   "sqlcipher keyed"    PRAGMA key with a raw 256-bit key (x'...', which skips the PBKDF2 key
//                        derivation), SQLCipher 3.4 cipher defaults (AES-256-CBC, HMAC-SHA1 per
//                        page) except cipher_page_size, set to 4096 like every other variant so the
//                        ratio measures encryption, not a change of page size (--cipher-page-size
//                        1024 gives SQLCipher 3.4's own default)
// and prints the JSON list of bench_stats.h (value = keyed median, baseline = unkeyed median) to
// stdout or --json FILE; progress goes to stderr. fieldsync-bench storage runs it as a subprocess,
// one repetition at a time between its own (--repeat 1 --first-repetition r), so machine noise
// falls on SQLCipher's runs and fieldsync's alike.
//
//   fieldsync-bench-sqlcipher [--rows N] [--repeat N] [--dir DIR] [--json FILE|-]
//                             [--cipher-page-size N] [--drop-os-cache]
//                             [--first-repetition R --total-repetitions T]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_stats.h"
#include "storage_workload.h"

namespace fieldsync::bench {
namespace {

// A fixed benchmark key; never used for real data.
constexpr const char* kRawKeyHex =
    "2dd29ca851e7b56e4697b0e1f08507293d761a05ce4d1b628663f411a8086d99";

class SqlcipherKeyedVariant : public StorageVariant {
 public:
  explicit SqlcipherKeyedVariant(int cipher_page_size) : cipher_page_size_(cipher_page_size) {}
  ~SqlcipherKeyedVariant() override { Close(); }
  std::string Name() const override { return "sqlcipher keyed"; }
  sqlite3* Create(const std::string& path, std::string* error) override {
    return Open(path, true, error);
  }
  sqlite3* Reopen(const std::string& path, std::string* error) override {
    return Open(path, false, error);
  }
  void Close() override {
    if (db_) sqlite3_close(db_);
    db_ = nullptr;
  }
  const std::string& cipher_version() const { return cipher_version_; }

 private:
  sqlite3* Open(const std::string& path, bool create, std::string* error) {
    Close();
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      *error = "open " + path + ": " + (db_ ? sqlite3_errmsg(db_) : "out of memory");
      Close();
      return nullptr;
    }
    // The key must be the first statement; cipher settings follow it, before any page is read.
    *error = ExecSql(db_, std::string("PRAGMA key = \"x'") + kRawKeyHex + "'\"");
    if (error->empty()) {
      *error = ExecSql(db_, "PRAGMA cipher_page_size = " + std::to_string(cipher_page_size_));
    }
    if (error->empty()) *error = ExecSql(db_, "PRAGMA cipher_version", &cipher_version_);
    if (error->empty() && cipher_version_.empty()) {
      *error = "PRAGMA cipher_version is empty: this is not SQLCipher";
    }
    // page_size is left to cipher_page_size, which sets both the codec's and the b-tree's.
    if (error->empty()) *error = ApplyCommonPragmas(db_, /*new_database=*/false);
    if (!error->empty()) {
      Close();
      return nullptr;
    }
    return db_;
  }

  int cipher_page_size_;
  sqlite3* db_ = nullptr;
  std::string cipher_version_;
};

int Usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--rows N] [--repeat N] [--dir DIR] [--json FILE|-]\n"
               "          [--cipher-page-size N] [--drop-os-cache]\n"
               "          [--first-repetition R --total-repetitions T]\n",
               argv0);
  return 2;
}

int Main(int argc, char** argv) {
  size_t rows = kDefaultRows;
  int repeats = 5;
  int cipher_page_size = kPageSize;
  std::string json_path = "-";
  StorageRunOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (arg == "--rows" && (v = value())) {
      rows = std::strtoul(v, nullptr, 10);
    } else if (arg == "--repeat" && (v = value())) {
      repeats = std::atoi(v);
    } else if (arg == "--dir" && (v = value())) {
      options.dir = v;
    } else if (arg == "--json" && (v = value())) {
      json_path = v;
    } else if (arg == "--cipher-page-size" && (v = value())) {
      cipher_page_size = std::atoi(v);
    } else if (arg == "--first-repetition" && (v = value())) {
      options.first_repetition = std::atoi(v);
    } else if (arg == "--total-repetitions" && (v = value())) {
      options.total_repetitions = std::atoi(v);
    } else if (arg == "--drop-os-cache") {
      options.drop_os_cache = true;
    } else {
      return Usage(argv[0]);
    }
  }
  if (rows < kBatchSize || repeats < 1 || options.first_repetition < 0) return Usage(argv[0]);
  options.repeats = repeats;
  options.progress = [](const std::string& line) {
    std::fprintf(stderr, "  [sqlcipher] %s\n", line.c_str());
  };

  StorageDataset data = MakeStorageDataset(rows);
  PlainSqliteVariant unkeyed("sqlcipher unkeyed");
  SqlcipherKeyedVariant keyed(cipher_page_size);
  std::string error;
  std::vector<VariantResult> results =
      RunStorageBenchmark({&unkeyed, &keyed}, data, options, &error);
  if (results.empty()) {
    std::fprintf(stderr, "fieldsync-bench-sqlcipher: %s\n", error.c_str());
    return 1;
  }
  const VariantResult& plain = results[0];
  const VariantResult& enc = results[1];

  const std::string baseline = std::string("sqlcipher ") + keyed.cipher_version() +
                               " unkeyed (sqlite " + sqlite3_libversion() + ")";
  nlohmann::json out = nlohmann::json::array();
  bool failed = false;
  for (size_t w = 0; w < kWorkloadCount; ++w) {
    nlohmann::json e = MakeEntry(Workloads()[w].name, "ms", baseline, enc.ms[w], plain.ms[w]);
    AddCpuTimes(e, enc.cpu_ms[w], plain.cpu_ms[w]);
    e["variant"] = "sqlcipher " + keyed.cipher_version() + " keyed, raw key, cipher_page_size " +
                   std::to_string(cipher_page_size);
    e["sqlite_version"] = sqlite3_libversion();
    e["cipher_version"] = keyed.cipher_version();
    e["rows"] = rows;
    e["checksum"] = enc.checksums[w];
    e["baseline_checksum"] = plain.checksums[w];
    e["page_size"] = enc.facts.page_size;
    e["baseline_page_size"] = plain.facts.page_size;
    e["file_bytes"] = enc.facts.file_bytes;
    e["baseline_file_bytes"] = plain.facts.file_bytes;
    std::string err = !enc.errors[w].empty() ? enc.errors[w] : plain.errors[w];
    if (!err.empty()) {
      e["error"] = err;
      failed = true;
    }
    out.push_back(std::move(e));
  }

  const std::string text = out.dump(2) + "\n";
  if (json_path == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
  } else {
    std::ofstream f(json_path);
    f << text;
    if (!f) {
      std::fprintf(stderr, "fieldsync-bench-sqlcipher: cannot write %s\n", json_path.c_str());
      return 1;
    }
  }
  return failed ? 1 : 0;
}

}  // namespace
}  // namespace fieldsync::bench

int main(int argc, char** argv) { return fieldsync::bench::Main(argc, argv); }
