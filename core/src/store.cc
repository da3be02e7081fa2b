// store.cc: Store, the encrypted SQLite connection; see fieldsync/store.h for the contract.
//
// Opening reads the plaintext file header, derives the key-encryption key from the KeyProvider,
// unwraps the data key (a wrong key stops here, before SQLite reads any page), registers the key
// with the encrypting VFS and opens SQLite through it.
#include "fieldsync/store.h"

#include <sqlite3.h>

#include <cstring>
#include <mutex>
#include <set>

#include "crypto/key_header.h"
#include "fieldsync/log.h"
#include "sqlite_status.h"
#include "vfs/encrypted_vfs.h"

namespace fieldsync {
namespace {

using crypto::DatabaseHeader;
using crypto::KeySlot;

constexpr char kRotationSuffix[] = ".rekey-tmp";
constexpr char kCreationSuffix[] = ".create-tmp";
const char* const kCompanionSuffixes[] = {"-wal",
                                          "-shm",
                                          "-journal",
                                          ".rekey-tmp",
                                          ".rekey-tmp-journal",
                                          ".create-tmp-journal",
                                          ".create-tmp-wal",
                                          ".create-tmp-shm"};

// Absolute paths of databases this process has open, so Destroy() can refuse them.
struct OpenPaths {
  std::mutex mu;
  std::multiset<std::string> paths;
};
OpenPaths& GetOpenPaths() {
  static OpenPaths* open = new OpenPaths();
  return *open;
}

Status Bind(sqlite3_stmt* stmt, int index, const Value& v) {
  int rc = SQLITE_OK;
  if (std::holds_alternative<std::monostate>(v)) {
    rc = sqlite3_bind_null(stmt, index);
  } else if (const auto* i = std::get_if<int64_t>(&v)) {
    rc = sqlite3_bind_int64(stmt, index, *i);
  } else if (const auto* d = std::get_if<double>(&v)) {
    rc = sqlite3_bind_double(stmt, index, *d);
  } else if (const auto* s = std::get_if<std::string>(&v)) {
    rc = sqlite3_bind_text64(stmt, index, s->data(), s->size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  } else if (const auto* b = std::get_if<Blob>(&v)) {
    rc = sqlite3_bind_blob64(stmt, index, b->data(), b->size(), SQLITE_TRANSIENT);
  }
  return rc == SQLITE_OK
             ? Status::OK()
             : Status::InvalidArgument("cannot bind parameter " + std::to_string(index));
}

Value ColumnValue(sqlite3_stmt* stmt, int i) {
  switch (sqlite3_column_type(stmt, i)) {
    case SQLITE_INTEGER:
      return static_cast<int64_t>(sqlite3_column_int64(stmt, i));
    case SQLITE_FLOAT:
      return sqlite3_column_double(stmt, i);
    case SQLITE_TEXT: {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
      return std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt, i)));
    }
    case SQLITE_BLOB: {
      const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt, i));
      return Blob(p, p + sqlite3_column_bytes(stmt, i));
    }
    default:
      return std::monostate{};
  }
}

bool OnlySeparators(const char* p, const char* end) {
  for (; p < end; ++p) {
    if (*p != ';' && *p != ' ' && *p != '\n' && *p != '\t' && *p != '\r') return false;
  }
  return true;
}

// Overwrites a database file's header with random bytes before unlinking it, so the wrapped
// data key does not survive in the freed blocks.
Status ShredAndRemove(Env* env, const std::string& path) {
  if (!env->FileExists(path)) return Status::OK();
  Result<std::string> header = vfs::ReadRawHeader(path, crypto::kHeaderSize);
  if (header.ok() && std::memcmp(header->data(), "FSYNCDB", 8) == 0) {
    std::string noise(crypto::kHeaderSize, '\0');
    FIELDSYNC_RETURN_IF_ERROR(SecureRandom(reinterpret_cast<uint8_t*>(noise.data()), noise.size()));
    FIELDSYNC_RETURN_IF_ERROR(vfs::OverwriteRawHeader(path, noise));
  }
  return env->RemoveFile(path);
}

// SQL may not attach another file unless it goes through the encrypting VFS with a registered
// key: otherwise `ATTACH` or `VACUUM INTO 'file:x?vfs=unix'` would write plaintext copies.
// The empty name is the temporary database of a plain VACUUM (kept in memory).
int Authorize(void*, int action, const char* arg1, const char*, const char*, const char*) {
  if (action != SQLITE_ATTACH) return SQLITE_OK;
  if (arg1 == nullptr) return SQLITE_DENY;
  const std::string_view name(arg1);
  const std::string ours = std::string("vfs=") + vfs::kVfsName + "&fskey=";
  if (name.empty() || (name.rfind("file:", 0) == 0 && name.find(ours) != std::string_view::npos)) {
    return SQLITE_OK;
  }
  return SQLITE_DENY;
}

Result<SecretBytes> RandomSecret(size_t n) {
  SecretBytes s(n);
  FIELDSYNC_RETURN_IF_ERROR(SecureRandom(s.data(), n));
  return s;
}

template <size_t N>
Status RandomArray(std::array<uint8_t, N>* a) {
  return SecureRandom(a->data(), N);
}

// A header whose slot 0 wraps `data_key` under the KEK of `spec`.
Result<std::string> NewHeader(DatabaseHeader* header, const KekSpec& spec, const SecretBytes& kek,
                              const SecretBytes& data_key,
                              const std::array<uint8_t, crypto::kKeyIdSize>& key_id,
                              uint64_t generation) {
  KeySlot slot;
  slot.generation = generation;
  slot.kek = spec;
  slot.data_key_id = key_id;
  FIELDSYNC_RETURN_IF_ERROR(crypto::WrapDataKey(*header, kek, data_key, &slot));
  header->slots[0] = slot;
  header->slots[1].reset();
  return crypto::SerializeHeader(*header, slot, 0);
}

}  // namespace

// The key material of an open Store: the context registered with the VFS, and the KEK it was
// unwrapped with, kept so a data-key rotation can rewrap without asking for the key again.
struct Store::KeyState {
  std::shared_ptr<const vfs::KeyContext> context;
  std::string token;
  KekSpec spec;
  SecretBytes kek;

  ~KeyState() {
    if (!token.empty()) vfs::UnregisterKey(token);
  }
};

Store::Store(std::string path, StoreOptions options)
    : path_(std::move(path)), options_(std::move(options)) {
  if (options_.env == nullptr) options_.env = Env::Default();
}

Store::~Store() {
  if (db_ != nullptr) sqlite3_close_v2(static_cast<sqlite3*>(db_));
  if (!counted_open_) return;
  OpenPaths& open = GetOpenPaths();
  std::lock_guard<std::mutex> lock(open.mu);
  auto it = open.paths.find(path_);
  if (it != open.paths.end()) open.paths.erase(it);
}

Result<std::unique_ptr<Store>> Store::Create(const std::string& path, const KeyProvider& key,
                                             const StoreOptions& options) {
  return OpenImpl(path, key, options, /*create=*/true);
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& path, const KeyProvider& key,
                                           const StoreOptions& options) {
  return OpenImpl(path, key, options, /*create=*/false);
}

Result<std::unique_ptr<Store>> Store::OpenSibling() const {
  std::unique_ptr<Store> sibling(new Store(path_, options_));
  sibling->key_state_ = key_state_;
  FIELDSYNC_RETURN_IF_ERROR(sibling->Connect(/*creating=*/false));
  {
    OpenPaths& open = GetOpenPaths();
    std::lock_guard<std::mutex> lock(open.mu);
    open.paths.insert(path_);
    sibling->counted_open_ = true;
  }
  return sibling;
}

Status Store::Connect(bool creating) {
  sqlite3* db = nullptr;
  const std::string uri = vfs::MakeUri(path_, key_state_->token);
  vfs::TakeLastError();
  int rc = sqlite3_open_v2(
      uri.c_str(), &db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI | SQLITE_OPEN_FULLMUTEX,
      vfs::kVfsName);
  if (rc != SQLITE_OK) {
    Status s = SqliteStatus(db, rc, "cannot open " + path_);
    sqlite3_close_v2(db);
    return s;
  }
  db_ = db;
  sqlite3_extended_result_codes(db, 1);
  sqlite3_set_authorizer(db, Authorize, nullptr);
  sqlite3_busy_timeout(db, options_.busy_timeout_ms);
  if (creating) {
    // Must precede the first write: page 1 records the reserve, and the VFS refuses any other.
    int reserve = static_cast<int>(crypto::kPageReserve);
    sqlite3_file_control(db, "main", SQLITE_FCNTL_RESERVE_BYTES, &reserve);
    FIELDSYNC_RETURN_IF_ERROR(Execute("PRAGMA page_size=" + std::to_string(crypto::kPageSize)));
    // Writes page 1 now, in every journal mode: a database always has at least one page, so a
    // file cut back to its header can be told from a new one.
    FIELDSYNC_RETURN_IF_ERROR(Execute("PRAGMA application_id=1179867459"));  // "FSYC"
  }
  FIELDSYNC_RETURN_IF_ERROR(
      Execute("PRAGMA mmap_size=0; PRAGMA temp_store=MEMORY; "
              "PRAGMA cache_size=-" +
              std::to_string(options_.cache_size_kib)));
  const bool wal = options_.journal_mode == JournalMode::kWal;
  std::string mode;
  FIELDSYNC_RETURN_IF_ERROR(Execute(wal ? "PRAGMA journal_mode=WAL" : "PRAGMA journal_mode=DELETE",
                                    {}, [&](const Row& row) {
                                      if (auto* s = std::get_if<std::string>(&row.values[0])) {
                                        mode = *s;
                                      }
                                      return true;
                                    }));
  if (mode != (wal ? "wal" : "delete")) {
    return Status::Unavailable("cannot switch " + path_ + " to journal mode " +
                               (wal ? "wal" : "delete") + " (still " + mode +
                               "): another connection has it open");
  }
  const bool full = options_.sync_mode == SyncMode::kFull || !wal;
  FIELDSYNC_RETURN_IF_ERROR(
      Execute(full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
  // Reads page 1 now, so a damaged database fails at open rather than at first use.
  return Execute("SELECT count(*) FROM sqlite_schema");
}

Result<std::unique_ptr<Store>> Store::OpenImpl(const std::string& path, const KeyProvider& key,
                                               const StoreOptions& options, bool create) {
  Env* env = options.env != nullptr ? options.env : Env::Default();
  FIELDSYNC_RETURN_IF_ERROR(vfs::EnsureRegistered());
  Result<std::string> absolute = env->AbsolutePath(path);
  if (!absolute.ok()) return absolute.status();
  const std::string& abs = *absolute;

  auto context = std::make_shared<vfs::KeyContext>();
  auto state = std::make_shared<KeyState>();
  DatabaseHeader header;
  bool stale_slot = false;
  if (create) {
    if (env->FileExists(abs)) return Status::AlreadyExists("a file already exists at " + path);
    // Companions of an earlier database at this path would be replayed into the new one, and a
    // creation killed part-way leaves its temporary file.
    for (const char* suffix : kCompanionSuffixes) {
      if (env->FileExists(abs + suffix)) (void)env->RemoveFile(abs + suffix);
    }
    (void)ShredAndRemove(env, abs + kCreationSuffix);
    for (const char* suffix : {"-wal", "-shm", "-journal"}) {
      const std::string companion = abs + kCreationSuffix + suffix;
      if (env->FileExists(companion)) (void)env->RemoveFile(companion);
    }
    Result<KekSpec> spec = key.NewSpec();
    if (!spec.ok()) return spec.status();
    Result<SecretBytes> kek = key.DeriveKek(*spec);
    if (!kek.ok()) return kek.status();
    Result<SecretBytes> data_key = RandomSecret(kKeySize);
    if (!data_key.ok()) return data_key.status();
    FIELDSYNC_RETURN_IF_ERROR(RandomArray(&header.database_id));
    FIELDSYNC_RETURN_IF_ERROR(RandomArray(&context->data_key_id));
    Result<std::string> bytes =
        NewHeader(&header, *spec, *kek, *data_key, context->data_key_id, /*generation=*/1);
    if (!bytes.ok()) return bytes.status();
    context->header_for_create = std::move(*bytes);
    context->data_key = std::move(*data_key);
    state->spec = *spec;
    state->kek = std::move(*kek);
  } else {
    if (!env->FileExists(abs)) return Status::NotFound("no database at " + path);
    Result<std::string> bytes = vfs::ReadRawHeader(abs, crypto::kHeaderSize);
    if (!bytes.ok()) return bytes.status();
    Result<DatabaseHeader> parsed = crypto::ParseHeader(*bytes);
    if (!parsed.ok()) return parsed.status().WithContext(path);
    Result<uint64_t> size = env->FileSize(abs);
    if (!size.ok()) return size.status();
    if (*size < crypto::kHeaderSize + crypto::kPageSize) {
      return Status::Corruption(path + ": the file holds no complete page: it was truncated");
    }
    header = std::move(*parsed);
    const int active = header.ActiveSlot();
    const KeySlot& slot = *header.slots[active];
    stale_slot = header.slots[1 - active].has_value();
    Result<SecretBytes> kek = key.DeriveKek(slot.kek);
    if (!kek.ok()) return kek.status();
    Result<SecretBytes> data_key = crypto::UnwrapDataKey(header, slot, *kek);
    if (!data_key.ok()) return data_key.status();
    context->data_key = std::move(*data_key);
    context->data_key_id = slot.data_key_id;
    state->spec = slot.kek;
    state->kek = std::move(*kek);
  }
  context->database_id = header.database_id;
  context->page_size = header.page_size;
  state->context = context;
  state->token = vfs::RegisterKey(context);

  // A new database is built under a temporary name and renamed into place once its header and
  // page 1 are durable, so a creation killed part-way never leaves a half-made file at `path`.
  const std::string building = abs + kCreationSuffix;
  std::unique_ptr<Store> store(new Store(create ? building : abs, options));
  store->key_state_ = std::move(state);
  Status connected = store->Connect(create);
  if (connected.ok() && create) {
    sqlite3_close_v2(static_cast<sqlite3*>(store->db_));  // folds and removes a WAL
    store->db_ = nullptr;
    connected = env->SyncFile(building);
    if (connected.ok()) connected = env->RenameFile(building, abs);
    if (connected.ok()) connected = env->SyncDir(DirName(abs));
    store->path_ = abs;
    if (connected.ok()) connected = store->Connect(/*creating=*/false);
  }
  if (!connected.ok()) {
    if (create) {
      store.reset();
      (void)ShredAndRemove(env, building);
      for (const char* suffix : {"-wal", "-shm", "-journal"}) {
        if (env->FileExists(building + suffix)) (void)env->RemoveFile(building + suffix);
      }
    }
    return connected;
  }
  {
    OpenPaths& open = GetOpenPaths();
    std::lock_guard<std::mutex> lock(open.mu);
    open.paths.insert(abs);
    store->counted_open_ = true;
  }
  if (stale_slot) store->ScrubStaleSlot();
  return store;
}

// An interrupted ChangeKey can leave the previous wrapping behind in the inactive slot. The
// old passphrase cannot open the database (the newer slot wins) but the wrapped key should
// not outlive the change, so the first open with the new key zeroes it.
void Store::ScrubStaleSlot() {
  auto* db = static_cast<sqlite3*>(db_);
  if (!Execute("BEGIN IMMEDIATE").ok()) return;  // busy: try again at the next open
  vfs::HeaderIo io;
  io.size = crypto::kHeaderSize;
  if (sqlite3_file_control(db, "main", vfs::kFcntlReadHeader, &io) == SQLITE_OK) {
    Result<DatabaseHeader> header = crypto::ParseHeader(io.bytes);
    if (header.ok() && header->slots[0] && header->slots[1]) {
      vfs::HeaderIo wipe;
      wipe.offset = crypto::kSlotOffset[1 - header->ActiveSlot()];
      wipe.bytes.assign(crypto::kSlotSize, '\0');
      if (sqlite3_file_control(db, "main", vfs::kFcntlWriteHeader, &wipe) != SQLITE_OK) {
        Log(LogLevel::kWarning, "store", "could not scrub a stale key slot");
      }
    }
  }
  (void)Execute("COMMIT");
}

Status Store::Execute(std::string_view sql, const std::vector<Value>& params,
                      const RowCallback& on_row) {
  auto* db = static_cast<sqlite3*>(db_);
  if (db == nullptr) return Status::FailedPrecondition("the store is closed");
  vfs::TakeLastError();
  const char* tail = sql.data();
  const char* const end = sql.data() + sql.size();
  std::vector<std::string> columns;
  while (tail < end) {
    sqlite3_stmt* raw = nullptr;
    const char* next = nullptr;
    int rc = sqlite3_prepare_v2(db, tail, static_cast<int>(end - tail), &raw, &next);
    if (rc != SQLITE_OK) return SqliteStatus(db, rc, "SQL error");
    std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt(raw, sqlite3_finalize);
    tail = next;
    if (!stmt) continue;  // only whitespace or a comment
    if (!params.empty()) {
      if (!OnlySeparators(tail, end)) {
        return Status::InvalidArgument("parameters can bind to a single SQL statement only");
      }
      const int expected = sqlite3_bind_parameter_count(stmt.get());
      if (expected != static_cast<int>(params.size())) {
        return Status::InvalidArgument("the statement takes " + std::to_string(expected) +
                                       " parameters, " + std::to_string(params.size()) +
                                       " were given");
      }
      for (size_t i = 0; i < params.size(); ++i) {
        FIELDSYNC_RETURN_IF_ERROR(Bind(stmt.get(), static_cast<int>(i + 1), params[i]));
      }
    }
    const int ncols = sqlite3_column_count(stmt.get());
    columns.clear();
    for (int i = 0; i < ncols; ++i) columns.emplace_back(sqlite3_column_name(stmt.get(), i));
    Row row;
    row.columns = &columns;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
      if (!on_row) continue;
      row.values.clear();
      for (int i = 0; i < ncols; ++i) row.values.push_back(ColumnValue(stmt.get(), i));
      if (!on_row(row)) return Status::OK();
    }
    if (rc != SQLITE_DONE) return SqliteStatus(db, rc, "SQL error");
  }
  return Status::OK();
}

Status Store::ChangeKey(const KeyProvider& new_key) {
  auto* db = static_cast<sqlite3*>(db_);
  // Derive first: scrypt takes ~0.1 s and need not run while holding the write lock.
  Result<KekSpec> spec = new_key.NewSpec();
  if (!spec.ok()) return spec.status();
  Result<SecretBytes> kek = new_key.DeriveKek(*spec);
  if (!kek.ok()) return kek.status();

  // The write lock serializes key changes between connections and processes.
  FIELDSYNC_RETURN_IF_ERROR(Execute("BEGIN IMMEDIATE"));
  auto rollback = [this](Status s) {
    (void)Execute("ROLLBACK");
    return s;
  };
  vfs::HeaderIo io;
  io.size = crypto::kHeaderSize;
  int rc = sqlite3_file_control(db, "main", vfs::kFcntlReadHeader, &io);
  if (rc != SQLITE_OK) return rollback(SqliteStatus(db, rc, "cannot read the key header"));
  Result<DatabaseHeader> header = crypto::ParseHeader(io.bytes);
  if (!header.ok()) return rollback(header.status());
  const int active = header->ActiveSlot();
  KeySlot slot;
  slot.generation = header->slots[active]->generation + 1;
  slot.kek = *spec;
  slot.data_key_id = header->slots[active]->data_key_id;
  Status wrapped = crypto::WrapDataKey(*header, *kek, key_state_->context->data_key, &slot);
  if (!wrapped.ok()) return rollback(wrapped);

  // New slot first, synced; only then the old one is zeroed. A crash in between leaves both,
  // and the higher generation (the new key) wins.
  vfs::HeaderIo write_new;
  write_new.offset = crypto::kSlotOffset[1 - active];
  write_new.bytes = crypto::SerializeSlot(*header, slot);
  rc = sqlite3_file_control(db, "main", vfs::kFcntlWriteHeader, &write_new);
  if (rc != SQLITE_OK) return rollback(SqliteStatus(db, rc, "cannot write the new key slot"));
  vfs::HeaderIo wipe_old;
  wipe_old.offset = crypto::kSlotOffset[active];
  wipe_old.bytes.assign(crypto::kSlotSize, '\0');
  rc = sqlite3_file_control(db, "main", vfs::kFcntlWriteHeader, &wipe_old);
  if (rc != SQLITE_OK) return rollback(SqliteStatus(db, rc, "cannot erase the old key slot"));
  FIELDSYNC_RETURN_IF_ERROR(Execute("COMMIT"));
  key_state_->spec = *spec;
  key_state_->kek = std::move(*kek);
  return Status::OK();
}

Status Store::RotateDataKey(const KeyProvider* new_key) {
  Env* env = options_.env;
  KekSpec spec = key_state_->spec;
  SecretBytes kek;
  if (new_key != nullptr) {
    Result<KekSpec> s = new_key->NewSpec();
    if (!s.ok()) return s.status();
    Result<SecretBytes> k = new_key->DeriveKek(*s);
    if (!k.ok()) return k.status();
    spec = *s;
    kek = std::move(*k);
  } else {
    kek = key_state_->kek.Clone();
  }

  // Hold the database exclusively: nobody may commit between the copy and the swap. Leaving
  // WAL mode also folds the WAL into the main file, so no old-key WAL outlives the swap.
  auto restore = [this](Status s) {
    (void)Execute("PRAGMA locking_mode=NORMAL");
    (void)Execute(options_.journal_mode == JournalMode::kWal ? "PRAGMA journal_mode=WAL"
                                                             : "PRAGMA journal_mode=DELETE");
    return s;
  };
  FIELDSYNC_RETURN_IF_ERROR(Execute("PRAGMA locking_mode=EXCLUSIVE"));
  std::string mode;
  Status s = Execute("PRAGMA journal_mode=DELETE", {}, [&](const Row& row) {
    if (auto* m = std::get_if<std::string>(&row.values[0])) mode = *m;
    return true;
  });
  if (s.ok() && mode != "delete") {
    s = Status::Unavailable("another connection has " + path_ + " open; rotation needs it alone");
  }
  if (s.ok()) s = Execute("BEGIN EXCLUSIVE; COMMIT");
  if (!s.ok()) return restore(s);

  const std::string tmp = path_ + kRotationSuffix;
  (void)ShredAndRemove(env, tmp);  // left by an interrupted rotation
  if (env->FileExists(tmp + "-journal")) (void)env->RemoveFile(tmp + "-journal");
  auto context = std::make_shared<vfs::KeyContext>();
  DatabaseHeader header;
  header.database_id = key_state_->context->database_id;
  Result<SecretBytes> data_key = RandomSecret(kKeySize);
  if (!data_key.ok()) return restore(data_key.status());
  s = RandomArray(&context->data_key_id);
  if (!s.ok()) return restore(s);
  vfs::HeaderIo io;
  io.size = crypto::kHeaderSize;
  auto* db = static_cast<sqlite3*>(db_);
  int rc = sqlite3_file_control(db, "main", vfs::kFcntlReadHeader, &io);
  if (rc != SQLITE_OK) return restore(SqliteStatus(db, rc, "cannot read the key header"));
  Result<DatabaseHeader> current = crypto::ParseHeader(io.bytes);
  if (!current.ok()) return restore(current.status());
  const uint64_t generation = current->slots[current->ActiveSlot()]->generation + 1;
  Result<std::string> bytes =
      NewHeader(&header, spec, kek, *data_key, context->data_key_id, generation);
  if (!bytes.ok()) return restore(bytes.status());
  context->header_for_create = std::move(*bytes);
  context->data_key = std::move(*data_key);
  context->database_id = header.database_id;
  context->page_size = header.page_size;

  auto state = std::make_shared<KeyState>();
  state->context = context;
  state->token = vfs::RegisterKey(context);
  state->spec = spec;
  state->kek = std::move(kek);

  // SQLite reads every page through the old key and writes it through the new one.
  s = Execute("VACUUM INTO ?", {vfs::MakeUri(tmp, state->token)});
  if (s.ok()) s = env->SyncFile(tmp);
  if (s.ok()) s = env->RenameFile(tmp, path_);  // the atomic switch from old to new
  if (!s.ok()) {
    (void)ShredAndRemove(env, tmp);
    return restore(s.WithContext("data-key rotation failed; the database is unchanged"));
  }
  s = env->SyncDir(DirName(path_));
  // The old file is unlinked but still open here: erase its wrapped key through this last
  // handle, so its freed blocks cannot be decrypted with the (unchanged) KEK.
  vfs::HeaderIo shred;
  shred.bytes.assign(crypto::kHeaderSize, '\0');
  if (SecureRandom(reinterpret_cast<uint8_t*>(shred.bytes.data()), shred.bytes.size()).ok()) {
    sqlite3_file_control(db, "main", vfs::kFcntlWriteHeader, &shred);
  }
  sqlite3_close_v2(db);
  db_ = nullptr;
  key_state_ = std::move(state);
  if (!s.ok()) return s;
  return Connect(/*creating=*/false);
}

Result<VerifyReport> Store::Verify() {
  auto* db = static_cast<sqlite3*>(db_);
  VerifyReport report;
  if (options_.journal_mode == JournalMode::kWal) {
    // Folding the WAL in makes every committed page pass through authentication twice: read
    // from the WAL, then from the main file below.
    FIELDSYNC_RETURN_IF_ERROR(Execute("PRAGMA wal_checkpoint(TRUNCATE)", {}, [&](const Row& row) {
      if (const auto* n = std::get_if<int64_t>(&row.values[2])) {
        report.wal_frames_authenticated = static_cast<uint64_t>(*n > 0 ? *n : 0);
      }
      return true;
    }));
  }
  vfs::VerifyPages pages;
  vfs::TakeLastError();
  int rc = sqlite3_file_control(db, "main", vfs::kFcntlVerifyPages, &pages);
  if (rc != SQLITE_OK) return SqliteStatus(db, rc, "verify");
  report.pages_authenticated = pages.pages_authenticated;
  FIELDSYNC_RETURN_IF_ERROR(Execute("PRAGMA integrity_check", {}, [&](const Row& row) {
    if (const auto* text = std::get_if<std::string>(&row.values[0])) {
      if (*text != "ok") report.integrity_errors.push_back(*text);
    }
    return true;
  }));
  return report;
}

Result<StoreInfo> Store::Info() { return ReadInfo(path_, options_.env); }

Result<StoreInfo> Store::ReadInfo(const std::string& path, Env* env) {
  if (env == nullptr) env = Env::Default();
  if (!env->FileExists(path)) return Status::NotFound("no database at " + path);
  Result<std::string> bytes = vfs::ReadRawHeader(path, crypto::kHeaderSize);
  if (!bytes.ok()) return bytes.status();
  Result<DatabaseHeader> header = crypto::ParseHeader(*bytes);
  if (!header.ok()) return header.status().WithContext(path);
  Result<uint64_t> size = env->FileSize(path);
  if (!size.ok()) return size.status();
  const KeySlot& slot = *header->slots[header->ActiveSlot()];
  StoreInfo info;
  info.format_version = header->format_version;
  info.cipher = "AES-256-GCM";
  info.page_size = header->page_size;
  info.reserve_bytes = header->reserve_bytes;
  info.page_count = (*size - crypto::kHeaderSize + header->page_size - 1) / header->page_size;
  Result<uint64_t> wal = env->FileSize(path + "-wal");
  info.wal_bytes = wal.ok() ? *wal : 0;
  info.database_id = crypto::ToHex(header->database_id.data(), header->database_id.size());
  info.data_key_id = crypto::ToHex(slot.data_key_id.data(), slot.data_key_id.size());
  info.key_generation = slot.generation;
  info.kek = slot.kek;
  return info;
}

Status Store::Destroy(const std::string& path, Env* env) {
  if (env == nullptr) env = Env::Default();
  Result<std::string> absolute = env->AbsolutePath(path);
  if (!absolute.ok()) return absolute.status();
  const std::string& abs = *absolute;
  {
    OpenPaths& open = GetOpenPaths();
    std::lock_guard<std::mutex> lock(open.mu);
    if (open.paths.count(abs) != 0) {
      return Status::FailedPrecondition("the database is open in this process; close it first");
    }
  }
  if (!env->FileExists(abs)) return Status::NotFound("no database at " + path);
  Result<std::string> bytes = vfs::ReadRawHeader(abs, crypto::kHeaderSize);
  if (!bytes.ok()) return bytes.status();
  if (std::memcmp(bytes->data(), "FSYNCDB", 8) != 0) {
    return Status::Corruption("not a fieldsync database; refusing to destroy " + path);
  }
  // Crypto-erase first: without the wrapped data key no page, WAL frame or journal record can be
  // decrypted, even from copies the file system keeps after the deletes below.
  std::string noise(crypto::kHeaderSize, '\0');
  FIELDSYNC_RETURN_IF_ERROR(SecureRandom(reinterpret_cast<uint8_t*>(noise.data()), noise.size()));
  FIELDSYNC_RETURN_IF_ERROR(vfs::OverwriteRawHeader(abs, noise));
  FIELDSYNC_RETURN_IF_ERROR(ShredAndRemove(env, abs + kRotationSuffix));
  FIELDSYNC_RETURN_IF_ERROR(ShredAndRemove(env, abs + kCreationSuffix));
  for (const char* suffix : kCompanionSuffixes) {
    if (env->FileExists(abs + suffix)) FIELDSYNC_RETURN_IF_ERROR(env->RemoveFile(abs + suffix));
  }
  FIELDSYNC_RETURN_IF_ERROR(env->RemoveFile(abs));
  return env->SyncDir(DirName(abs));
}

}  // namespace fieldsync
