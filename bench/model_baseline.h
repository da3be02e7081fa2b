// bench/model_baseline.h: the raw-SQLite baseline of `fieldsync-bench model`: what an app without
// fieldsync writes and reads for the same records, on the stock system SQLite.
//
// A PlainModelDb is one connection to a plain file (no VFS shim, no encryption) with the pragmas
// fieldsync::Database uses by default: WAL, synchronous=FULL, temp_store=MEMORY, mmap_size=0,
// page size 4096, and the page cache size the caller gives. Its tables:
//   records(collection, id, data, PRIMARY KEY(collection, id))
//       one row per record holding the JSON text the app was given. A put inserts the record's
//       JSON as is; an update applies the patch with json_patch (RFC 7396, null removes a field),
//       the same effect on the stored record as Database::Update, without validation, per-field
//       versions, an outbox or a search index.
//   customers(id PRIMARY KEY, name, company, phones, emails, data)
//       the search data set as a naive app keeps it: canonical values (E.164 phones, lowercased
//       emails) in plain columns beside the record's JSON, searched by a full scan with instr().
//
// Every method returns an empty string on success, else a message.
// Thread safety: one thread at a time, like the sqlite3* it wraps.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "model_workload.h"
#include "sqlite_api.h"

namespace fieldsync::bench {

class PlainModelDb {
 public:
  // Opens the file at path (creating it and its tables when `create`) and applies the pragmas;
  // nullptr with *error set on failure.
  static std::unique_ptr<PlainModelDb> Open(const std::string& path, bool create, int cache_kib,
                                            std::string* error);
  ~PlainModelDb();
  PlainModelDb(const PlainModelDb&) = delete;
  PlainModelDb& operator=(const PlainModelDb&) = delete;

  // edits[begin, end) in one transaction (BEGIN IMMEDIATE ... COMMIT).
  std::string ApplyBatch(const std::vector<ModelEdit>& edits, size_t begin, size_t end);
  // One update in its own (autocommit) transaction.
  std::string UpdateOne(const std::string& id, const std::string& patch);
  // customers[begin, end) into the customers table, in one transaction.
  std::string InsertCustomers(const std::vector<ModelCustomer>& customers, size_t begin,
                              size_t end);
  // Visit reports as records of collection "visits", in one transaction.
  std::string InsertVisits(const std::vector<std::pair<std::string, std::string>>& id_and_json);
  // The naive search: a full scan of customers with instr() on name, company, phones and emails,
  // name matches first, at most `limit` rows (id and data). *hits gets the rows returned.
  std::string Search(const std::string& text, int limit, int* hits);
  // The data of one customer by primary key; *bytes gets its length (0: not found).
  std::string GetCustomer(const std::string& id, size_t* bytes);
  // Runs a query returning one integer ("SELECT count(*) FROM ...") into *out.
  std::string QueryInt(const std::string& sql, int64_t* out);
  // page_count * page_size, the database's size including pages still in the WAL.
  std::string SizeBytes(uint64_t* out);

  sqlite3* db() const { return db_; }

 private:
  explicit PlainModelDb(sqlite3* db);
  std::string Exec(const char* sql);

  sqlite3* db_ = nullptr;
  struct Statements;
  std::unique_ptr<Statements> stmts_;
};

}  // namespace fieldsync::bench
