// fieldsync-demo: what the encrypted local store does, shown on a sales rep's customer list.
//
// Creates an encrypted database in a fresh temporary directory (PassphraseKeyProvider with a demo
// passphrase, which is never printed), creates a customers table and writes a few customers,
// closes it, shows that a wrong passphrase is refused, reopens it with the right one and prints
// what it stored as a table. Then prints the non-secret header facts from Store::ReadInfo and
// reads the raw file bytes to show that no customer name appears in them in the clear. Finally
// destroys the database and removes the directory (pass --keep to keep them for fieldsync-cli).
//
// Exits 0 on success; on any error prints `error: <code>: <message>` and exits 1.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fieldsync/env.h"
#include "fieldsync/key_provider.h"
#include "fieldsync/secret.h"
#include "fieldsync/status.h"
#include "fieldsync/store.h"

namespace {

using fieldsync::Result;
using fieldsync::Status;
using fieldsync::Store;

// Only for this demo; a real app asks the user or gets a key from the platform keystore.
constexpr std::string_view kDemoPassphrase = "demo: lantern-orchard-47-tide";

struct Customer {
  const char* company;
  const char* contact;
  const char* phone;
  const char* city;
  const char* grade;  // A (best) to E
};

const Customer kCustomers[] = {
    {"上海明辉贸易有限公司", "张伟", "+86 138 0013 8000", "上海", "A"},
    {"北京华信科技有限公司", "王芳", "+86 139 1024 5678", "北京", "B"},
    {"广州恒达电子有限公司", "李娜", "+86 136 2231 7788", "广州", "C"},
    {"深圳市瑞丰物流有限公司", "刘洋", "+86 135 1234 5601", "深圳", "A"},
    {"杭州青禾食品有限公司", "陈静", "+86 137 5566 1200", "杭州", "D"},
    {"成都锦程建材有限公司", "赵磊", "+86 188 0280 3344", "成都", "E"},
};

int Fail(const Status& status) {
  std::fprintf(stderr, "error: %s: %s\n", fieldsync::StatusCodeName(status.code()),
               status.message().c_str());
  return 1;
}

// Terminal columns taken by a UTF-8 string: East Asian wide characters take two.
size_t DisplayWidth(std::string_view s) {
  size_t width = 0;
  for (size_t i = 0; i < s.size();) {
    const auto lead = static_cast<unsigned char>(s[i]);
    uint32_t cp = lead;
    size_t len = 1;
    if (lead >= 0xF0) {
      cp = lead & 0x07u;
      len = 4;
    } else if (lead >= 0xE0) {
      cp = lead & 0x0Fu;
      len = 3;
    } else if (lead >= 0xC0) {
      cp = lead & 0x1Fu;
      len = 2;
    }
    for (size_t k = 1; k < len && i + k < s.size(); ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3Fu);
    }
    i += len;
    const bool wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
                      (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                      (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
                      (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x20000 && cp <= 0x3FFFD);
    width += wide ? 2 : 1;
  }
  return width;
}

std::string PadRight(std::string_view s, size_t width) {
  std::string out(s);
  for (size_t w = DisplayWidth(s); w < width; ++w) out += ' ';
  return out;
}

std::string ValueToString(const fieldsync::Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&v)) return std::to_string(*d);
  if (const auto* b = std::get_if<fieldsync::Blob>(&v)) {
    return "<" + std::to_string(b->size()) + " bytes>";
  }
  return "NULL";
}

void PrintTable(const std::vector<std::string>& columns,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const std::string& c : columns) widths.push_back(DisplayWidth(c));
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      if (DisplayWidth(row[i]) > widths[i]) widths[i] = DisplayWidth(row[i]);
    }
  }
  auto print_row = [&](const std::vector<std::string>& cells) {
    std::string line = "  ";
    for (size_t i = 0; i < cells.size(); ++i) {
      // The last column is not padded: no trailing spaces.
      line += i + 1 < cells.size() ? PadRight(cells[i], widths[i]) + "  " : cells[i];
    }
    std::printf("%s\n", line.c_str());
  };
  print_row(columns);
  std::vector<std::string> rule;
  for (size_t w : widths) rule.push_back(std::string(w, '-'));
  print_row(rule);
  for (const auto& row : rows) print_row(row);
}

std::string Hex(const uint8_t* p, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 0x0F];
  }
  return out;
}

// A new, empty, uniquely named directory under the system temporary directory.
Result<std::string> MakeTempDir() {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path base = fs::temp_directory_path(ec);
  if (ec) return Status::IOError("no temporary directory: " + ec.message());
  for (int attempt = 0; attempt < 16; ++attempt) {
    uint8_t suffix[6];
    Status s = fieldsync::SecureRandom(suffix, sizeof suffix);
    if (!s.ok()) return s;
    const fs::path dir = base / ("fieldsync-demo-" + Hex(suffix, sizeof suffix));
    if (fs::create_directory(dir, ec)) return dir.string();
    if (ec) return Status::IOError("cannot create " + dir.string() + ": " + ec.message());
  }
  return Status::IOError("cannot find a free temporary directory name under " + base.string());
}

Status WriteCustomers(const std::string& path, const fieldsync::KeyProvider& key) {
  Result<std::unique_ptr<Store>> store = Store::Create(path, key);
  if (!store.ok()) return store.status();
  Store& db = **store;
  FIELDSYNC_RETURN_IF_ERROR(
      db.Execute("CREATE TABLE customers("
                 "  id INTEGER PRIMARY KEY,"
                 "  company TEXT NOT NULL,"
                 "  contact TEXT NOT NULL,"
                 "  phone TEXT NOT NULL,"
                 "  city TEXT NOT NULL,"
                 "  grade TEXT NOT NULL CHECK (grade IN ('A', 'B', 'C', 'D', 'E')))"));
  FIELDSYNC_RETURN_IF_ERROR(db.Execute("BEGIN"));
  for (const Customer& c : kCustomers) {
    Status s = db.Execute(
        "INSERT INTO customers(company, contact, phone, city, grade) VALUES(?, ?, ?, ?, ?)",
        {std::string(c.company), std::string(c.contact), std::string(c.phone), std::string(c.city),
         std::string(c.grade)});
    if (!s.ok()) {
      (void)db.Execute("ROLLBACK");
      return s;
    }
  }
  return db.Execute("COMMIT");
}

Status ShowWrongPassphraseIsRefused(const std::string& path) {
  fieldsync::PassphraseKeyProvider wrong("not the demo passphrase");
  Result<std::unique_ptr<Store>> store = Store::Open(path, wrong);
  if (store.ok()) return Status::Internal("a wrong passphrase opened the database");
  if (!store.status().IsWrongKey()) return store.status();
  std::printf("Opening with a wrong passphrase is refused: %s\n\n",
              fieldsync::StatusCodeName(store.status().code()));
  return Status::OK();
}

Status ShowCustomers(const std::string& path, const fieldsync::KeyProvider& key) {
  Result<std::unique_ptr<Store>> store = Store::Open(path, key);
  if (!store.ok()) return store.status();
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  FIELDSYNC_RETURN_IF_ERROR((*store)->Execute(
      "SELECT id, company, contact, phone, city, grade FROM customers ORDER BY grade, id", {},
      [&](const fieldsync::Row& row) {
        if (columns.empty() && row.columns != nullptr) columns = *row.columns;
        std::vector<std::string> cells;
        for (const fieldsync::Value& v : row.values) cells.push_back(ValueToString(v));
        rows.push_back(std::move(cells));
        return true;
      }));
  if (rows.size() != std::size(kCustomers)) {
    return Status::Internal("read back " + std::to_string(rows.size()) + " customers, wrote " +
                            std::to_string(std::size(kCustomers)));
  }
  std::printf("Reopened with the passphrase; %zu customers, best grade first:\n\n", rows.size());
  PrintTable(columns, rows);
  std::printf("\n");
  return Status::OK();
}

Status ShowInfo(const std::string& path) {
  Result<fieldsync::StoreInfo> info = Store::ReadInfo(path);
  if (!info.ok()) return info.status();
  const fieldsync::StoreInfo& i = *info;
  std::printf("Header facts (Store::ReadInfo, readable without the key):\n");
  std::printf("  format version  %d\n", i.format_version);
  std::printf("  cipher          %s\n", i.cipher.c_str());
  std::printf("  page size       %d bytes (%d reserved per page)\n", i.page_size, i.reserve_bytes);
  std::printf("  page count      %llu\n", static_cast<unsigned long long>(i.page_count));
  std::printf("  key derivation  %s", fieldsync::KekKindName(i.kek.kind));
  if (i.kek.kind == fieldsync::KekKind::kPassphraseScrypt) {
    std::printf(" (N=%llu, r=%u, p=%u)", static_cast<unsigned long long>(i.kek.scrypt_n),
                i.kek.scrypt_r, i.kek.scrypt_p);
  }
  std::printf("\n  key generation  %llu\n\n", static_cast<unsigned long long>(i.key_generation));
  return Status::OK();
}

// Reads the database's files byte by byte and looks for each customer's name in UTF-8.
Status ShowNoPlaintext(const std::string& path) {
  fieldsync::Env* env = fieldsync::Env::Default();
  std::string bytes;
  std::string names;
  for (const std::string& file : {path, path + "-wal", path + "-journal"}) {
    if (!env->FileExists(file)) continue;
    Result<std::string> contents = env->ReadFile(file);
    if (!contents.ok()) return contents.status();
    bytes += *contents;
    names += (names.empty() ? "" : ", ") + std::filesystem::path(file).filename().string();
  }
  std::printf("Raw bytes on disk (%s: %zu bytes), searched for customer names in UTF-8:\n",
              names.c_str(), bytes.size());
  for (const Customer& c : kCustomers) {
    for (const char* name : {c.company, c.contact}) {
      if (bytes.find(name) != std::string::npos) {
        return Status::Internal(std::string("customer name found in plaintext: ") + name);
      }
    }
  }
  std::printf("  %s, %s and the other %zu company and contact names: not found\n\n",
              kCustomers[0].company, kCustomers[0].contact, 2 * std::size(kCustomers) - 2);
  return Status::OK();
}

int Run(bool keep) {
  Result<std::string> dir = MakeTempDir();
  if (!dir.ok()) return Fail(dir.status());
  const std::string path = *dir + "/field_day.db";
  std::printf("fieldsync demo: one sales rep's customers in an encrypted local store\n");
  std::printf("Database: %s\n\n", path.c_str());

  const fieldsync::PassphraseKeyProvider key(kDemoPassphrase);
  Status s = WriteCustomers(path, key);
  if (s.ok()) {
    std::printf("Wrote %zu customers and closed the database.\n", std::size(kCustomers));
    s = ShowWrongPassphraseIsRefused(path);
  }
  if (s.ok()) s = ShowCustomers(path, key);
  if (s.ok()) s = ShowInfo(path);
  if (s.ok()) s = ShowNoPlaintext(path);

  if (keep) {
    std::printf("Kept %s (--keep); the demo passphrase is in demo/field_day.cc.\n", path.c_str());
  } else {
    Status destroyed = Store::Destroy(path);
    std::error_code ec;
    std::filesystem::remove_all(*dir, ec);
    if (s.ok()) s = destroyed;
    if (s.ok()) std::printf("Destroyed the database and removed %s.\n", dir->c_str());
  }
  return s.ok() ? 0 : Fail(s);
}

}  // namespace

int main(int argc, char** argv) {
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--keep") {
      keep = true;
    } else {
      std::fprintf(stderr, "error: invalid_argument: unknown argument '%s' (usage: %s [--keep])\n",
                   argv[i], argv[0]);
      return 2;
    }
  }
  return Run(keep);
}
