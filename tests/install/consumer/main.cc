// A host program using the installed fieldsync package: creates an encrypted database in a fresh
// temporary directory with a RawKeyProvider, writes one row, closes, reopens with the same key and
// reads the row back. Exits 0 only if the value read equals the value written.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <variant>

#include "fieldsync/key_provider.h"
#include "fieldsync/status.h"
#include "fieldsync/store.h"

namespace {

// Removes the temporary directory however main returns.
struct RemoveDirOnExit {
  std::filesystem::path dir;
  ~RemoveDirOnExit() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

int Fail(const char* step, const fieldsync::Status& status) {
  std::fprintf(stderr, "error: %s: %s (during %s)\n", fieldsync::StatusCodeName(status.code()),
               status.message().c_str(), step);
  return 1;
}

}  // namespace

int main() {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path dir;
  std::random_device rd;
  for (int attempt = 0; attempt < 100; ++attempt) {
    dir = fs::temp_directory_path() / ("fieldsync-consumer-" + std::to_string(rd()));
    if (fs::create_directory(dir, ec)) break;
    dir.clear();
  }
  if (dir.empty()) {
    std::fprintf(stderr, "error: io_error: cannot create a temporary directory\n");
    return 1;
  }
  RemoveDirOnExit cleanup{dir};
  const std::string path = (dir / "consumer.db").string();

  uint8_t key_bytes[fieldsync::kKeySize];
  for (size_t i = 0; i < sizeof key_bytes; ++i) key_bytes[i] = static_cast<uint8_t>(i * 7 + 1);
  fieldsync::RawKeyProvider key(key_bytes, sizeof key_bytes);

  const std::string written = "上海明辉贸易有限公司";
  int rc = 0;
  {
    auto store = fieldsync::Store::Create(path, key);
    if (!store.ok()) return Fail("create", store.status());
    fieldsync::Status s = (*store)->Execute("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)");
    if (!s.ok()) return Fail("create table", s);
    s = (*store)->Execute("INSERT INTO t(id, name) VALUES(1, ?)", {fieldsync::Value(written)});
    if (!s.ok()) return Fail("insert", s);
  }
  {
    auto store = fieldsync::Store::Open(path, key);
    if (!store.ok()) return Fail("open", store.status());
    std::string read;
    int rows = 0;
    fieldsync::Status s =
        (*store)->Execute("SELECT name FROM t WHERE id = 1", {}, [&](const fieldsync::Row& row) {
          ++rows;
          if (const auto* v = std::get_if<std::string>(&row.values.at(0))) {
            read = *v;
          }
          return true;
        });
    if (!s.ok()) return Fail("select", s);
    if (rows != 1 || read != written) {
      std::fprintf(stderr, "error: read back %d row(s), value %s\n", rows,
                   read == written ? "matches" : "differs");
      rc = 1;
    }
  }
  fieldsync::Status destroyed = fieldsync::Store::Destroy(path);
  if (!destroyed.ok()) rc = Fail("destroy", destroyed);
  if (rc == 0) std::printf("fieldsync consumer: row written and read back through the package\n");
  return rc;
}
