// bench/bench_files.h: the scratch files of a benchmark run: a temporary directory removed with
// everything in it, and removal of a SQLite database with its -wal, -shm and -journal files.
// Header-only, so every benchmark executable uses it whatever SQLite it links.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace fieldsync::bench {

class TempDir {
 public:
  TempDir() = default;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  // Creates "<parent>/fieldsync-bench-<what>-XXXXXX"; false if it cannot.
  bool Make(const std::string& parent, const std::string& what) {
    std::string templ = parent + "/fieldsync-bench-" + what + "-XXXXXX";
    if (!::mkdtemp(templ.data())) return false;
    path_ = templ;
    return true;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline void RemoveDatabaseFiles(const std::string& path) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::filesystem::remove(path + suffix, ec);
  }
}

}  // namespace fieldsync::bench
