// bench/model_baseline.cc: the plain-SQLite baseline of `fieldsync-bench model` (see the header).
#include "model_baseline.h"

namespace fieldsync::bench {
namespace {

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS records("
    " collection TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,"
    " PRIMARY KEY(collection, id));"
    "CREATE TABLE IF NOT EXISTS customers("
    " id TEXT PRIMARY KEY, name TEXT NOT NULL, company TEXT, phones TEXT, emails TEXT,"
    " data TEXT NOT NULL);";

constexpr const char* kInsertRecordSql =
    "INSERT INTO records(collection, id, data) VALUES(?1, ?2, ?3)";
constexpr const char* kPatchRecordSql =
    "UPDATE records SET data = json_patch(data, ?1) WHERE collection = 'customers' AND id = ?2";
constexpr const char* kInsertCustomerSql =
    "INSERT INTO customers(id, name, company, phones, emails, data) VALUES(?1, ?2, ?3, ?4, ?5, ?6)";
// Every row is read (the ORDER BY needs them all); rows whose name matches come first.
constexpr const char* kSearchSql =
    "SELECT id, data FROM customers"
    " WHERE instr(name, ?1) > 0 OR instr(company, ?1) > 0 OR instr(phones, ?1) > 0"
    " OR instr(emails, ?1) > 0"
    " ORDER BY instr(name, ?1) = 0, name LIMIT ?2";
constexpr const char* kGetCustomerSql = "SELECT data FROM customers WHERE id = ?1";

std::string Error(sqlite3* db, const std::string& what) {
  return what + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
}

// A prepared statement that finalizes itself; Bind copies nothing (the caller keeps the text
// alive until Reset).
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) != SQLITE_OK) {
      error_ = Error(db, std::string("prepare \"") + sql + "\"");
      stmt_ = nullptr;
    }
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  const std::string& error() const { return error_; }
  sqlite3_stmt* get() const { return stmt_; }
  Stmt& Bind(int index, const std::string& s) {
    sqlite3_bind_text(stmt_, index, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
    return *this;
  }
  Stmt& Bind(int index, const char* s) {
    sqlite3_bind_text(stmt_, index, s, -1, SQLITE_STATIC);
    return *this;
  }
  Stmt& Bind(int index, int64_t v) {
    sqlite3_bind_int64(stmt_, index, v);
    return *this;
  }
  // Steps once: SQLITE_ROW or SQLITE_DONE; anything else also sets error().
  int Step() {
    int rc = sqlite3_step(stmt_);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) error_ = Error(db_, "step");
    return rc;
  }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  // Runs to completion once and resets; empty string or the error.
  std::string Run() {
    int rc;
    while ((rc = Step()) == SQLITE_ROW) {
    }
    Reset();
    return rc == SQLITE_DONE ? "" : error_;
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string error_;
};

}  // namespace

struct PlainModelDb::Statements {
  explicit Statements(sqlite3* db)
      : insert_record(db, kInsertRecordSql),
        patch_record(db, kPatchRecordSql),
        insert_customer(db, kInsertCustomerSql),
        search(db, kSearchSql),
        get_customer(db, kGetCustomerSql),
        begin(db, "BEGIN IMMEDIATE"),
        commit(db, "COMMIT") {}
  std::string error() const {
    for (const Stmt* s : {&insert_record, &patch_record, &insert_customer, &search, &get_customer,
                          &begin, &commit}) {
      if (!s->error().empty()) return s->error();
    }
    return "";
  }
  Stmt insert_record, patch_record, insert_customer, search, get_customer, begin, commit;
};

std::unique_ptr<PlainModelDb> PlainModelDb::Open(const std::string& path, bool create,
                                                 int cache_kib, std::string* error) {
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    *error = Error(db, "open " + path);
    sqlite3_close(db);
    return nullptr;
  }
  std::unique_ptr<PlainModelDb> out(new PlainModelDb(db));
  // fieldsync's Store runs the same pragmas, in this order, on every connection it opens.
  std::string pragmas = create ? "PRAGMA page_size=4096;" : "";
  pragmas += "PRAGMA mmap_size=0; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-" +
             std::to_string(cache_kib) +
             "; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
             " SELECT count(*) FROM sqlite_schema;";
  *error = out->Exec(pragmas.c_str());
  if (error->empty() && create) *error = out->Exec(kSchema);
  if (!error->empty()) return nullptr;
  out->stmts_ = std::make_unique<Statements>(db);
  *error = out->stmts_->error();
  if (!error->empty()) return nullptr;
  return out;
}

PlainModelDb::PlainModelDb(sqlite3* db) : db_(db) {}

PlainModelDb::~PlainModelDb() {
  stmts_.reset();  // statements first: sqlite3_close refuses a connection with live statements
  sqlite3_close(db_);
}

std::string PlainModelDb::Exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) == SQLITE_OK) return "";
  std::string out = std::string(sql) + ": " + (message ? message : "error");
  sqlite3_free(message);
  return out;
}

std::string PlainModelDb::ApplyBatch(const std::vector<ModelEdit>& edits, size_t begin,
                                     size_t end) {
  std::string error = stmts_->begin.Run();
  if (!error.empty()) return error;
  for (size_t i = begin; i < end && error.empty(); ++i) {
    const ModelEdit& e = edits[i];
    if (e.put) {
      error = stmts_->insert_record.Bind(1, "customers").Bind(2, e.id).Bind(3, e.json).Run();
    } else {
      error = stmts_->patch_record.Bind(1, e.json).Bind(2, e.id).Run();
      if (error.empty() && sqlite3_changes(db_) != 1) error = "no record " + e.id;
    }
  }
  if (error.empty()) return stmts_->commit.Run();
  (void)Exec("ROLLBACK");
  return error;
}

std::string PlainModelDb::UpdateOne(const std::string& id, const std::string& patch) {
  std::string error = stmts_->patch_record.Bind(1, patch).Bind(2, id).Run();
  if (error.empty() && sqlite3_changes(db_) != 1) error = "no record " + id;
  return error;
}

std::string PlainModelDb::InsertCustomers(const std::vector<ModelCustomer>& customers, size_t begin,
                                          size_t end) {
  std::string error = stmts_->begin.Run();
  for (size_t i = begin; i < end && error.empty(); ++i) {
    const ModelCustomer& c = customers[i];
    error = stmts_->insert_customer.Bind(1, c.id)
                .Bind(2, c.name)
                .Bind(3, c.company)
                .Bind(4, c.phones)
                .Bind(5, c.emails)
                .Bind(6, c.json)
                .Run();
  }
  if (error.empty()) return stmts_->commit.Run();
  (void)Exec("ROLLBACK");
  return error;
}

std::string PlainModelDb::InsertVisits(
    const std::vector<std::pair<std::string, std::string>>& id_and_json) {
  std::string error = stmts_->begin.Run();
  for (size_t i = 0; i < id_and_json.size() && error.empty(); ++i) {
    error = stmts_->insert_record.Bind(1, "visits")
                .Bind(2, id_and_json[i].first)
                .Bind(3, id_and_json[i].second)
                .Run();
  }
  if (error.empty()) return stmts_->commit.Run();
  (void)Exec("ROLLBACK");
  return error;
}

std::string PlainModelDb::Search(const std::string& text, int limit, int* hits) {
  Stmt& s = stmts_->search;
  s.Bind(1, text).Bind(2, int64_t{limit});
  int rc;
  int rows = 0;
  while ((rc = s.Step()) == SQLITE_ROW) {
    ++rows;
    (void)sqlite3_column_text(s.get(), 1);  // the record, as the app reads it to show the hit
  }
  s.Reset();
  *hits = rows;
  return rc == SQLITE_DONE ? "" : s.error();
}

std::string PlainModelDb::GetCustomer(const std::string& id, size_t* bytes) {
  Stmt& s = stmts_->get_customer;
  s.Bind(1, id);
  int rc = s.Step();
  *bytes = rc == SQLITE_ROW ? static_cast<size_t>(sqlite3_column_bytes(s.get(), 0)) : 0;
  std::string error = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? "" : s.error();
  s.Reset();
  return error;
}

std::string PlainModelDb::QueryInt(const std::string& sql, int64_t* out) {
  Stmt s(db_, sql.c_str());
  if (!s.error().empty()) return s.error();
  if (s.Step() != SQLITE_ROW) return s.error().empty() ? "no row: " + sql : s.error();
  *out = sqlite3_column_int64(s.get(), 0);
  return "";
}

std::string PlainModelDb::SizeBytes(uint64_t* out) {
  int64_t pages = 0;
  int64_t page_size = 0;
  std::string error = QueryInt("PRAGMA page_count", &pages);
  if (error.empty()) error = QueryInt("PRAGMA page_size", &page_size);
  *out = static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size);
  return error;
}

}  // namespace fieldsync::bench
