// tests/core/test_util.h: helpers shared by core tests: temp directories, raw file access,
// cheap key providers, and scanning a directory for plaintext.
#pragma once

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fieldsync/key_provider.h"
#include "fieldsync/store.h"

namespace fieldsync::testing {

// A fresh directory under TMPDIR, removed with its files when destroyed.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/fieldsync-test-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    path_ = mkdtemp(buf.data());
  }
  ~TempDir() {
    for (const std::string& name : Files()) std::remove((path_ + "/" + name).c_str());
    rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  std::vector<std::string> Files() const {
    std::vector<std::string> out;
    if (DIR* d = opendir(path_.c_str())) {
      while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") out.push_back(n);
      }
      closedir(d);
    }
    return out;
  }

 private:
  std::string path_;
};

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void WriteAt(const std::string& path, long offset, const std::string& bytes) {
  FILE* f = std::fopen(path.c_str(), "r+b");
  std::fseek(f, offset, SEEK_SET);
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
}

inline std::string ReadAt(const std::string& path, long offset, size_t n) {
  std::string all = ReadAll(path);
  return all.substr(static_cast<size_t>(offset), n);
}

inline bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// Names of the files in dir whose bytes contain needle.
inline std::vector<std::string> FilesContaining(const TempDir& dir, const std::string& needle) {
  std::vector<std::string> hits;
  for (const std::string& name : dir.Files()) {
    if (ReadAll(dir.File(name)).find(needle) != std::string::npos) hits.push_back(name);
  }
  return hits;
}

// A raw-key provider: no KDF cost, for tests where the passphrase is not the point.
inline RawKeyProvider TestKey(uint8_t seed = 7) {
  uint8_t key[32];
  for (int i = 0; i < 32; ++i) key[i] = static_cast<uint8_t>(seed * 31 + i);
  return RawKeyProvider(key, sizeof(key));
}

// A passphrase provider with a cheap scrypt cost, for tests that need a passphrase.
inline PassphraseKeyProvider CheapPassphrase(const std::string& passphrase) {
  ScryptParams params;
  params.n = 1024;
  return PassphraseKeyProvider(passphrase, params);
}

inline int64_t CountRows(Store& store, const std::string& table) {
  int64_t n = -1;
  Status s = store.Execute("SELECT count(*) FROM " + table, {}, [&](const Row& row) {
    n = std::get<int64_t>(row.values[0]);
    return true;
  });
  return s.ok() ? n : -1;
}

}  // namespace fieldsync::testing
