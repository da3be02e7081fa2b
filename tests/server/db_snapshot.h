// tests/server/db_snapshot.h: what a server's SQLite file stores, as a value to compare before and
// after a request: per table its row count and a SHA-256 of its rows (sorted, so row order does
// not matter), plus sqlite_master itself, so a dropped or altered table, index or trigger shows
// too. Read on a read-only connection of its own, as any other process would see the file.
#pragma once

#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace fieldsync::server::testing {

struct TableState {
  int64_t rows = 0;
  std::string sha256;  // hex, of the sorted rows
  friend bool operator==(const TableState& a, const TableState& b) {
    return a.rows == b.rows && a.sha256 == b.sha256;
  }
};

inline doctest::String toString(const TableState& t) {
  return doctest::String(
      (std::to_string(t.rows) + " rows, sha256 " + t.sha256.substr(0, 16)).c_str());
}

// One row as text that two different rows cannot share: each column as its type letter, its
// length and its bytes.
inline std::string EncodeRow(sqlite3_stmt* stmt) {
  std::string out;
  for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
    const int type = sqlite3_column_type(stmt, c);
    const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt, c));
    const int size = sqlite3_column_bytes(stmt, c);
    out += "NIFTB"[type - 1];  // SQLITE_INTEGER 1, FLOAT 2, TEXT 3, BLOB 4, NULL 5
    if (type == SQLITE_NULL) continue;
    if (type == SQLITE_INTEGER || type == SQLITE_FLOAT) {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
      out += std::to_string(std::string(text).size()) + ':' + text;
    } else {
      out += std::to_string(size) + ':' + std::string(data == nullptr ? "" : data, size);
    }
  }
  return out;
}

inline std::string Sha256Hex(const std::string& data) {
  unsigned char digest[32];
  unsigned int size = 0;
  REQUIRE(EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) == 1);
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < size; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

// The sorted, encoded rows of `sql` on `db`.
inline std::vector<std::string> SortedRows(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  REQUIRE_MESSAGE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK,
                  sqlite3_errmsg(db));
  std::vector<std::string> rows;
  while (sqlite3_step(stmt) == SQLITE_ROW) rows.push_back(EncodeRow(stmt));
  sqlite3_finalize(stmt);
  std::sort(rows.begin(), rows.end());
  return rows;
}

// Every table of the file, and "sqlite_master" (the schema: tables, indexes, triggers).
inline std::map<std::string, TableState> Snapshot(const std::string& path) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  std::map<std::string, TableState> out;
  std::vector<std::string> tables;
  for (const std::string& row :
       SortedRows(db, "SELECT name FROM sqlite_master WHERE type = 'table'")) {
    tables.push_back(row.substr(row.find(':') + 1));
  }
  tables.push_back("sqlite_master");
  for (const std::string& table : tables) {
    // Table names come from sqlite_master, quoted: no input reaches this SQL.
    std::vector<std::string> rows = SortedRows(db, "SELECT * FROM \"" + table + "\"");
    std::string all;
    for (const std::string& r : rows) all += std::to_string(r.size()) + ':' + r;
    out[table] = TableState{static_cast<int64_t>(rows.size()), Sha256Hex(all)};
  }
  sqlite3_close(db);
  REQUIRE(out.count("records") == 1);
  REQUIRE(out.count("audit") == 1);
  return out;
}

// The names of the tables whose state differs between two snapshots.
inline std::vector<std::string> ChangedTables(const std::map<std::string, TableState>& before,
                                              const std::map<std::string, TableState>& after) {
  std::vector<std::string> changed;
  for (const auto& [table, state] : after) {
    auto it = before.find(table);
    if (it == before.end() || !(it->second == state)) changed.push_back(table);
  }
  for (const auto& [table, state] : before) {
    if (after.count(table) == 0) changed.push_back(table);
  }
  return changed;
}

}  // namespace fieldsync::server::testing
