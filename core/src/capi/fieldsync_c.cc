// capi/fieldsync_c.cc: the C API of fieldsync/fieldsync.h, a thin shell over fieldsync::Database.
//
// Each entry point checks its pointers (NULL is InvalidArgument naming the parameter), turns C
// strings and JSON into the C++ types, calls one Database or Store method, and turns the Status
// into a fieldsync_error. Exceptions stop here: every entry point is noexcept and wraps its body
// in try { ... } FIELDSYNC_CATCH(out_error), which reports any exception as Internal.
//
// Strings handed to the host are malloc'ed, so fieldsync_free is free(). Key material goes
// straight from the host's buffer into a KeyProvider's SecretBytes, which wipes it; no other
// copy is made here.
//
// Thread safety: a handle's shared_mutex is held shared by ordinary calls (Database serializes
// writes itself) and exclusively by the key changes, which use the writer connection outside
// Database's own write lock and, for rotation, need the file with no reader connection leased.
#include "capi/capi_errors.h"
#include "capi/capi_handles.h"
#include "fieldsync/fieldsync.h"
#include "text/json_depth.h"
#include "text/utf8.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <nlohmann/json.hpp>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "fieldsync/database.h"
#include "fieldsync/key_provider.h"
#include "fieldsync/schema.h"
#include "fieldsync/status.h"
#include "fieldsync/store.h"

namespace {

using fieldsync::Database;
using fieldsync::DatabaseOptions;
using fieldsync::Edit;
using fieldsync::KeyProvider;
using fieldsync::Result;
using fieldsync::Status;
using fieldsync::StatusCode;
using fieldsync::capi::Fail;
using fieldsync::capi::Required;
using fieldsync::capi::WriteError;
using nlohmann::json;

#define FIELDSYNC_SAME_CODE(c_code, cpp_code) \
  static_assert(c_code == static_cast<int>(StatusCode::cpp_code), #c_code " drifted")
FIELDSYNC_SAME_CODE(FIELDSYNC_OK, kOk);
FIELDSYNC_SAME_CODE(FIELDSYNC_ERR_INVALID_ARGUMENT, kInvalidArgument);
FIELDSYNC_SAME_CODE(FIELDSYNC_ERR_NOT_FOUND, kNotFound);
FIELDSYNC_SAME_CODE(FIELDSYNC_ERR_ALREADY_EXISTS, kAlreadyExists);
FIELDSYNC_SAME_CODE(FIELDSYNC_ERR_WRONG_KEY, kWrongKey);
FIELDSYNC_SAME_CODE(FIELDSYNC_ERR_CORRUPTION, kCorruption);
FIELDSYNC_SAME_CODE(FIELDSYNC_ERR_IO_ERROR, kIOError);
FIELDSYNC_SAME_CODE(FIELDSYNC_ERR_UNAVAILABLE, kUnavailable);
FIELDSYNC_SAME_CODE(FIELDSYNC_ERR_ABORTED, kAborted);
FIELDSYNC_SAME_CODE(FIELDSYNC_ERR_CANCELLED, kCancelled);
FIELDSYNC_SAME_CODE(FIELDSYNC_ERR_DEVICE_REVOKED, kDeviceRevoked);
FIELDSYNC_SAME_CODE(FIELDSYNC_ERR_FAILED_PRECONDITION, kFailedPrecondition);
FIELDSYNC_SAME_CODE(FIELDSYNC_ERR_INTERNAL, kInternal);
#undef FIELDSYNC_SAME_CODE
static_assert(FIELDSYNC_RAW_KEY_SIZE == fieldsync::kKeySize, "raw key size drifted");

// Records nest no deeper than this (the validator's limit); an edit adds two levels around its
// record. Deeper text is refused before parsing because dump() recurses.
constexpr int kMaxRecordNesting = 64;
constexpr int kDefaultSearchLimit = 20;

// ---- Results ---------------------------------------------------------------------------------

// A malloc'ed NUL-terminated copy for the host, or NULL with Internal when memory is out.
char* CopyOut(std::string_view s, fieldsync_error* out) noexcept {
  auto* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p == nullptr) {
    WriteError(out, FIELDSYNC_ERR_INTERNAL, "out of memory");
    return nullptr;
  }
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

char* ReturnString(const Result<std::string>& r, fieldsync_error* out) {
  if (!r.ok()) {
    Fail(out, r.status());
    return nullptr;
  }
  return CopyOut(*r, out);
}

bool ReturnStatus(const Status& s, fieldsync_error* out) { return s.ok() ? true : Fail(out, s); }

// JSON for the host. Strings that came from outside (a server's refusal reason) may hold bytes
// that are not UTF-8; they are replaced rather than failing the whole answer.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// ---- Parsing ---------------------------------------------------------------------------------

// Parses JSON text named `what` in messages ("options_json").
Result<json> ParseJson(std::string_view text, const std::string& what, int max_depth) {
  if (fieldsync::text::JsonNestingDepth(text) > max_depth) {
    return Status::InvalidArgument(what + ": nested more than " + std::to_string(max_depth) +
                                   " levels deep");
  }
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 9: ...".
    std::string detail = e.what();
    const size_t bracket = detail.find("] ");
    if (bracket != std::string::npos) detail.erase(0, bracket + 2);
    return Status::InvalidArgument(what + ": malformed JSON: " + detail);
  }
}

Status BadMember(const std::string& where, const std::string& problem) {
  return Status::InvalidArgument(where + ": " + problem);
}

Status GetInt(const json& v, const std::string& where, int64_t min, int64_t max, int64_t* out) {
  bool in_range = false;
  if (v.is_number_unsigned()) {
    const auto u = v.get<uint64_t>();
    in_range = u <= static_cast<uint64_t>(max);
    *out = static_cast<int64_t>(u);
    in_range = in_range && *out >= min;
  } else if (v.is_number_integer()) {
    *out = v.get<int64_t>();
    in_range = *out >= min && *out <= max;
  } else {
    return BadMember(where, "must be an integer");
  }
  if (!in_range) {
    return BadMember(where, "must be between " + std::to_string(min) + " and " +
                                std::to_string(max) + ", got " + v.dump());
  }
  return Status::OK();
}

Status GetInt(const json& v, const std::string& where, int64_t min, int64_t max, int* out) {
  int64_t wide = 0;
  FIELDSYNC_RETURN_IF_ERROR(GetInt(v, where, min, max, &wide));
  *out = static_cast<int>(wide);  // min and max are within int wherever this is called
  return Status::OK();
}

Status GetChoice(const json& v, const std::string& where, const char* a, const char* b,
                 bool* is_a) {
  if (v.is_string() && v.get<std::string>() == a) {
    *is_a = true;
  } else if (v.is_string() && v.get<std::string>() == b) {
    *is_a = false;
  } else {
    return BadMember(where, std::string("must be \"") + a + "\" or \"" + b + "\"");
  }
  return Status::OK();
}

Status CheckObject(const json& v, const std::string& where) {
  return v.is_object() ? Status::OK() : BadMember(where, "must be a JSON object");
}

Status UnknownMember(const std::string& where, const std::string& key) {
  return BadMember(where + "." + key, "unknown member");
}

constexpr int kMaxDays = 100 * 366;
constexpr int kMaxInt = 0x7fffffff;

Status ParseAgenda(const json& v, const std::string& where, fieldsync::AgendaOptions* agenda) {
  FIELDSYNC_RETURN_IF_ERROR(CheckObject(v, where));
  for (const auto& [key, value] : v.items()) {
    const std::string member = where + "." + key;
    if (key != "cadence_days") return UnknownMember(where, key);
    constexpr size_t kGrades = std::extent_v<decltype(fieldsync::AgendaOptions::cadence_days)>;
    if (!value.is_array() || value.size() != kGrades) {
      return BadMember(member, "must be an array of " + std::to_string(kGrades) +
                                   " day counts, for grades A to E (0: never)");
    }
    for (size_t i = 0; i < kGrades; ++i) {
      FIELDSYNC_RETURN_IF_ERROR(GetInt(value[i], member + "[" + std::to_string(i) + "]", 0,
                                       kMaxDays, &agenda->cadence_days[i]));
    }
  }
  return Status::OK();
}

Status ParseClassification(const json& v, const std::string& where,
                           fieldsync::ClassificationOptions* c) {
  FIELDSYNC_RETURN_IF_ERROR(CheckObject(v, where));
  for (const auto& [key, value] : v.items()) {
    const std::string member = where + "." + key;
    if (key == "a_share" || key == "b_share") {
      if (!value.is_number()) return BadMember(member, "must be a number");
      const auto share = value.get<double>();
      if (!(share > 0 && share <= 1)) return BadMember(member, "must be in (0, 1]");
      (key == "a_share" ? c->a_share : c->b_share) = share;
    } else if (key == "active_within_days") {
      FIELDSYNC_RETURN_IF_ERROR(GetInt(value, member, 0, kMaxDays, &c->active_within_days));
    } else if (key == "silent_after_days") {
      FIELDSYNC_RETURN_IF_ERROR(GetInt(value, member, 0, kMaxDays, &c->silent_after_days));
    } else if (key == "lost_after_days") {
      FIELDSYNC_RETURN_IF_ERROR(GetInt(value, member, 0, kMaxDays, &c->lost_after_days));
    } else {
      return UnknownMember(where, key);
    }
  }
  if (c->a_share > c->b_share) return BadMember(where, "a_share must not exceed b_share");
  return Status::OK();
}

Status ParseHlc(const json& v, const std::string& where, fieldsync::HybridClockOptions* hlc) {
  FIELDSYNC_RETURN_IF_ERROR(CheckObject(v, where));
  constexpr int64_t kMaxMs = int64_t{365} * 24 * 3600 * 1000;
  for (const auto& [key, value] : v.items()) {
    const std::string member = where + "." + key;
    if (key == "max_drift_ms") {
      FIELDSYNC_RETURN_IF_ERROR(GetInt(value, member, 0, kMaxMs, &hlc->max_drift_ms));
    } else if (key == "warn_skew_ms") {
      FIELDSYNC_RETURN_IF_ERROR(GetInt(value, member, 0, kMaxMs, &hlc->warn_skew_ms));
    } else {
      return UnknownMember(where, key);
    }
  }
  return Status::OK();
}

// options_json of fieldsync_db_open/_create (documented in fieldsync.h). Unknown members are
// errors: a misspelt option silently ignored would be found only in the field.
Status ParseOptions(const char* text, DatabaseOptions* options) {
  if (text == nullptr) return Status::OK();
  const std::string where = "options_json";
  Result<json> parsed = ParseJson(text, where, kMaxRecordNesting);
  if (!parsed.ok()) return parsed.status();
  const json& j = *parsed;
  FIELDSYNC_RETURN_IF_ERROR(CheckObject(j, where));
  for (const auto& [key, value] : j.items()) {
    const std::string member = where + "." + key;
    if (key == "default_region") {
      // libphonenumber's regions are two-letter CLDR codes; anything else fails every phone.
      auto is_letter = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); };
      const bool ok = value.is_string() && value.get<std::string>().size() == 2 &&
                      is_letter(value.get<std::string>()[0]) &&
                      is_letter(value.get<std::string>()[1]);
      if (!ok) return BadMember(member, "must be a two-letter region code such as \"CN\"");
      options->default_region = value.get<std::string>();
    } else if (key == "journal_mode") {
      bool wal = true;
      FIELDSYNC_RETURN_IF_ERROR(GetChoice(value, member, "wal", "rollback", &wal));
      options->store.journal_mode =
          wal ? fieldsync::JournalMode::kWal : fieldsync::JournalMode::kRollback;
    } else if (key == "sync_mode") {
      bool full = true;
      FIELDSYNC_RETURN_IF_ERROR(GetChoice(value, member, "full", "normal", &full));
      options->store.sync_mode = full ? fieldsync::SyncMode::kFull : fieldsync::SyncMode::kNormal;
    } else if (key == "busy_timeout_ms") {
      FIELDSYNC_RETURN_IF_ERROR(GetInt(value, member, 0, kMaxInt, &options->store.busy_timeout_ms));
    } else if (key == "cache_size_kib") {
      FIELDSYNC_RETURN_IF_ERROR(GetInt(value, member, 1, kMaxInt, &options->store.cache_size_kib));
    } else if (key == "schema_extension") {
      if (value.is_object()) {
        options->schema_extension_json = value.dump();
      } else if (value.is_string()) {
        options->schema_extension_json = value.get<std::string>();
      } else {
        return BadMember(member, "must be a JSON object, or a string holding one");
      }
      // Checked here too, so the message names the option; Database repeats it (cheap).
      Result<fieldsync::Schema> extended =
          fieldsync::Schema::FieldSales().Extended(options->schema_extension_json);
      if (!extended.ok()) return extended.status().WithContext(member);
    } else if (key == "agenda") {
      FIELDSYNC_RETURN_IF_ERROR(ParseAgenda(value, member, &options->agenda));
    } else if (key == "classification") {
      FIELDSYNC_RETURN_IF_ERROR(ParseClassification(value, member, &options->classification));
    } else if (key == "hlc") {
      FIELDSYNC_RETURN_IF_ERROR(ParseHlc(value, member, &options->hlc));
    } else {
      return UnknownMember(where, key);
    }
  }
  return Status::OK();
}

// A provider for a fieldsync_key named `where` in messages. The providers copy the key into
// SecretBytes, wiped when they are destroyed.
Result<std::unique_ptr<KeyProvider>> MakeKeyProvider(const fieldsync_key& key,
                                                     const std::string& where) {
  switch (key.kind) {
    case FIELDSYNC_KEY_PASSPHRASE:
      if (key.passphrase == nullptr) {
        return Status::InvalidArgument(where + ".passphrase must not be NULL");
      }
      if (key.passphrase[0] == '\0') {
        return Status::InvalidArgument(where + ".passphrase must not be empty");
      }
      return std::unique_ptr<KeyProvider>(
          std::make_unique<fieldsync::PassphraseKeyProvider>(std::string_view(key.passphrase)));
    case FIELDSYNC_KEY_RAW:
      if (key.raw_key == nullptr) {
        return Status::InvalidArgument(where + ".raw_key must not be NULL");
      }
      if (key.raw_key_size != fieldsync::kKeySize) {
        return Status::InvalidArgument(where + ".raw_key_size must be " +
                                       std::to_string(fieldsync::kKeySize) + ", got " +
                                       std::to_string(key.raw_key_size));
      }
      return std::unique_ptr<KeyProvider>(
          std::make_unique<fieldsync::RawKeyProvider>(key.raw_key, key.raw_key_size));
    default:
      return Status::InvalidArgument(where +
                                     ".kind must be FIELDSYNC_KEY_PASSPHRASE (1) or "
                                     "FIELDSYNC_KEY_RAW (2), got " +
                                     std::to_string(key.kind));
  }
}

// One element of edits_json; problems are reported without the edit's number.
Result<Edit> ParseEdit(const json& e) {
  if (!e.is_object()) {
    return Status::InvalidArgument("an edit must be a JSON object with \"op\" and \"collection\"");
  }
  for (const auto& [key, value] : e.items()) {
    if (key != "op" && key != "collection" && key != "id" && key != "record") {
      return Status::InvalidArgument(key + ": unknown member of an edit");
    }
  }
  Edit edit;
  auto op = e.find("op");
  if (op == e.end() || !op->is_string()) {
    return Status::InvalidArgument("op: must be \"put\", \"update\" or \"delete\"");
  }
  const std::string& op_name = op->get_ref<const std::string&>();
  if (op_name == "put") {
    edit.kind = Edit::Kind::kPut;
  } else if (op_name == "update") {
    edit.kind = Edit::Kind::kUpdate;
  } else if (op_name == "delete") {
    edit.kind = Edit::Kind::kDelete;
  } else {
    return Status::InvalidArgument("op: must be \"put\", \"update\" or \"delete\"");
  }
  auto collection = e.find("collection");
  if (collection == e.end() || !collection->is_string()) {
    return Status::InvalidArgument("collection: is required and must be a string");
  }
  edit.collection = collection->get<std::string>();
  auto id = e.find("id");
  if (id != e.end()) {
    if (!id->is_string()) return Status::InvalidArgument("id: must be a string");
    edit.id = id->get<std::string>();
  } else if (edit.kind != Edit::Kind::kPut) {
    return Status::InvalidArgument("id: is required for " + op_name);
  }
  auto record = e.find("record");
  if (edit.kind == Edit::Kind::kDelete) {
    if (record != e.end()) return Status::InvalidArgument("record: not allowed with delete");
  } else {
    if (record == e.end() || !record->is_object()) {
      return Status::InvalidArgument("record: is required for " + op_name +
                                     " and must be a JSON object");
    }
    edit.json = record->dump();
  }
  return edit;
}

// edits_json of fieldsync_db_apply. Every bad edit is reported, numbered from 1 when there are
// several, in the format Database::Apply uses for the problems it finds.
Result<std::vector<Edit>> ParseEdits(const char* text) {
  Result<json> parsed = ParseJson(text, "edits_json", kMaxRecordNesting + 2);
  if (!parsed.ok()) return parsed.status();
  const json& j = *parsed;
  if (!j.is_array()) return Status::InvalidArgument("edits_json: must be a JSON array of edits");
  std::vector<Edit> edits;
  edits.reserve(j.size());
  std::string problems;
  for (size_t i = 0; i < j.size(); ++i) {
    Result<Edit> edit = ParseEdit(j[i]);
    if (edit.ok()) {
      edits.push_back(std::move(*edit));
      continue;
    }
    if (!problems.empty()) problems += "\n";
    if (j.size() > 1) problems += "edit " + std::to_string(i + 1) + ": ";
    problems += edit.status().message();
  }
  if (!problems.empty()) return Status::InvalidArgument(problems);
  return edits;
}

// ---- Handles ---------------------------------------------------------------------------------

// A handle in use for one call, under its lock: std::shared_lock for ordinary calls,
// std::unique_lock for the key changes.
template <typename Lock>
class Use {
 public:
  explicit Use(fieldsync_db* handle) : handle_(handle), lock_(handle->mu) {}
  // False, with *out set, when a failed fieldsync_db_clear, or a remote wipe, has closed the
  // database.
  bool Open(fieldsync_error* out) const {
    if (handle_->db) return true;
    if (handle_->erased) {
      return Fail(out, Status::FailedPrecondition(
                           "the database was erased: the server revoked this device; close the "
                           "handle"));
    }
    return Fail(out, Status::FailedPrecondition(
                         "the database was closed by a fieldsync_db_clear that failed; call "
                         "fieldsync_db_clear again or fieldsync_db_close"));
  }
  Database* operator->() const { return handle_->db.get(); }

 private:
  fieldsync_db* handle_;
  Lock lock_;
};
using SharedUse = Use<std::shared_lock<std::shared_mutex>>;
using ExclusiveUse = Use<std::unique_lock<std::shared_mutex>>;

fieldsync_db* OpenHandle(bool create, const char* path, const fieldsync_key* key,
                         const char* options_json, fieldsync_error* out) {
  if (!Required(path, "path", out) || !Required(key, "key", out)) return nullptr;
  DatabaseOptions options;
  Status parsed = ParseOptions(options_json, &options);
  if (!parsed.ok()) {
    Fail(out, parsed);
    return nullptr;
  }
  Result<std::unique_ptr<KeyProvider>> provider = MakeKeyProvider(*key, "key");
  if (!provider.ok()) {
    Fail(out, provider.status());
    return nullptr;
  }
  Result<std::unique_ptr<Database>> db = create ? Database::Create(path, **provider, options)
                                                : Database::Open(path, **provider, options);
  if (!db.ok()) {
    Fail(out, db.status());
    return nullptr;
  }
  auto handle = std::make_unique<fieldsync_db>();
  handle->path = (*db)->writer_store().path();
  handle->db = std::move(*db);
  return handle.release();
}

}  // namespace

// ---- Entry points ----------------------------------------------------------------------------

extern "C" {

const char* fieldsync_error_code_name(int code) noexcept {
  if (code < FIELDSYNC_OK || code > FIELDSYNC_ERR_DEVICE_REVOKED) return "unknown";
  return fieldsync::StatusCodeName(static_cast<StatusCode>(code));
}

const char* fieldsync_version(void) noexcept { return FIELDSYNC_VERSION; }

void fieldsync_free(void* p) noexcept { std::free(p); }

fieldsync_db* fieldsync_db_create(const char* path, const fieldsync_key* key,
                                  const char* options_json, fieldsync_error* out_error) noexcept {
  try {
    return OpenHandle(/*create=*/true, path, key, options_json, out_error);
  }
  FIELDSYNC_CATCH(out_error)
  return nullptr;
}

fieldsync_db* fieldsync_db_open(const char* path, const fieldsync_key* key,
                                const char* options_json, fieldsync_error* out_error) noexcept {
  try {
    return OpenHandle(/*create=*/false, path, key, options_json, out_error);
  }
  FIELDSYNC_CATCH(out_error)
  return nullptr;
}

void fieldsync_db_close(fieldsync_db* db) noexcept {
  try {
    delete db;
  } catch (...) {
    // Destructors do not throw; there is nowhere to report it if one did.
  }
}

char* fieldsync_db_put(fieldsync_db* db, const char* collection, const char* json,
                       fieldsync_error* out_error) noexcept {
  try {
    if (!Required(db, "db", out_error) || !Required(collection, "collection", out_error) ||
        !Required(json, "json", out_error)) {
      return nullptr;
    }
    SharedUse use(db);
    if (!use.Open(out_error)) return nullptr;
    return ReturnString(use->Put(collection, json), out_error);
  }
  FIELDSYNC_CATCH(out_error)
  return nullptr;
}

bool fieldsync_db_update(fieldsync_db* db, const char* collection, const char* id,
                         const char* patch_json, fieldsync_error* out_error) noexcept {
  try {
    if (!Required(db, "db", out_error) || !Required(collection, "collection", out_error) ||
        !Required(id, "id", out_error) || !Required(patch_json, "patch_json", out_error)) {
      return false;
    }
    SharedUse use(db);
    if (!use.Open(out_error)) return false;
    return ReturnStatus(use->Update(collection, id, patch_json), out_error);
  }
  FIELDSYNC_CATCH(out_error)
  return false;
}

bool fieldsync_db_delete(fieldsync_db* db, const char* collection, const char* id,
                         fieldsync_error* out_error) noexcept {
  try {
    if (!Required(db, "db", out_error) || !Required(collection, "collection", out_error) ||
        !Required(id, "id", out_error)) {
      return false;
    }
    SharedUse use(db);
    if (!use.Open(out_error)) return false;
    return ReturnStatus(use->Delete(collection, id), out_error);
  }
  FIELDSYNC_CATCH(out_error)
  return false;
}

char* fieldsync_db_apply(fieldsync_db* db, const char* edits_json,
                         fieldsync_error* out_error) noexcept {
  try {
    if (!Required(db, "db", out_error) || !Required(edits_json, "edits_json", out_error)) {
      return nullptr;
    }
    Result<std::vector<Edit>> edits = ParseEdits(edits_json);
    if (!edits.ok()) {
      Fail(out_error, edits.status());
      return nullptr;
    }
    SharedUse use(db);
    if (!use.Open(out_error)) return nullptr;
    Result<std::vector<std::string>> ids = use->Apply(*edits);
    if (!ids.ok()) {
      Fail(out_error, ids.status());
      return nullptr;
    }
    return CopyOut(Dump(json(*ids)), out_error);
  }
  FIELDSYNC_CATCH(out_error)
  return nullptr;
}

char* fieldsync_db_get(fieldsync_db* db, const char* collection, const char* id,
                       fieldsync_error* out_error) noexcept {
  try {
    if (!Required(db, "db", out_error) || !Required(collection, "collection", out_error) ||
        !Required(id, "id", out_error)) {
      return nullptr;
    }
    SharedUse use(db);
    if (!use.Open(out_error)) return nullptr;
    return ReturnString(use->Get(collection, id), out_error);
  }
  FIELDSYNC_CATCH(out_error)
  return nullptr;
}

bool fieldsync_db_purge(fieldsync_db* db, const char* collection, const char* id,
                        fieldsync_error* out_error) noexcept {
  try {
    if (!Required(db, "db", out_error) || !Required(collection, "collection", out_error) ||
        !Required(id, "id", out_error)) {
      return false;
    }
    SharedUse use(db);
    if (!use.Open(out_error)) return false;
    return ReturnStatus(use->Purge(collection, id), out_error);
  }
  FIELDSYNC_CATCH(out_error)
  return false;
}

char* fieldsync_db_search(fieldsync_db* db, const char* text, int limit,
                          fieldsync_error* out_error) noexcept {
  try {
    if (!Required(db, "db", out_error) || !Required(text, "text", out_error)) return nullptr;
    if (limit < 0) {
      Fail(out_error, Status::InvalidArgument("limit must not be negative (0: the default, " +
                                              std::to_string(kDefaultSearchLimit) + ")"));
      return nullptr;
    }
    SharedUse use(db);
    if (!use.Open(out_error)) return nullptr;
    Result<std::vector<fieldsync::SearchHit>> hits =
        use->Search(text, limit == 0 ? kDefaultSearchLimit : limit);
    if (!hits.ok()) {
      Fail(out_error, hits.status());
      return nullptr;
    }
    json out = json::array();
    for (const fieldsync::SearchHit& hit : *hits) {
      out.push_back({{"collection", hit.collection},
                     {"id", hit.id},
                     {"field", hit.field},
                     {"score", hit.score},
                     {"record", json::parse(hit.record_json)}});
    }
    return CopyOut(Dump(out), out_error);
  }
  FIELDSYNC_CATCH(out_error)
  return nullptr;
}

char* fieldsync_db_timeline(fieldsync_db* db, const char* customer_id,
                            fieldsync_error* out_error) noexcept {
  try {
    if (!Required(db, "db", out_error) || !Required(customer_id, "customer_id", out_error)) {
      return nullptr;
    }
    SharedUse use(db);
    if (!use.Open(out_error)) return nullptr;
    return ReturnString(use->Timeline(customer_id), out_error);
  }
  FIELDSYNC_CATCH(out_error)
  return nullptr;
}

char* fieldsync_db_agenda(fieldsync_db* db, const char* rep, int64_t now_ms,
                          fieldsync_error* out_error) noexcept {
  try {
    if (!Required(db, "db", out_error) || !Required(rep, "rep", out_error)) return nullptr;
    if (now_ms < 0) {
      Fail(out_error, Status::InvalidArgument("now_ms must not be negative (0: the current time)"));
      return nullptr;
    }
    SharedUse use(db);
    if (!use.Open(out_error)) return nullptr;
    return ReturnString(use->Agenda(rep, now_ms), out_error);
  }
  FIELDSYNC_CATCH(out_error)
  return nullptr;
}

char* fieldsync_db_classify(fieldsync_db* db, int64_t now_ms, fieldsync_error* out_error) noexcept {
  try {
    if (!Required(db, "db", out_error)) return nullptr;
    if (now_ms < 0) {
      Fail(out_error, Status::InvalidArgument("now_ms must not be negative (0: the current time)"));
      return nullptr;
    }
    SharedUse use(db);
    if (!use.Open(out_error)) return nullptr;
    return ReturnString(use->Classify(now_ms), out_error);
  }
  FIELDSYNC_CATCH(out_error)
  return nullptr;
}

bool fieldsync_db_pending(fieldsync_db* db, int64_t* count, int64_t* oldest_age_s,
                          fieldsync_error* out_error) noexcept {
  try {
    if (!Required(db, "db", out_error)) return false;
    SharedUse use(db);
    if (!use.Open(out_error)) return false;
    const fieldsync::Result<fieldsync::PendingSummary> pending = use->Pending();
    if (!pending.ok()) return Fail(out_error, pending.status());
    if (count != nullptr) *count = pending->count;
    if (oldest_age_s != nullptr) *oldest_age_s = pending->oldest_age_s;
    return true;
  }
  FIELDSYNC_CATCH(out_error)
  return false;
}

char* fieldsync_db_dead_letters(fieldsync_db* db, fieldsync_error* out_error) noexcept {
  try {
    if (!Required(db, "db", out_error)) return nullptr;
    SharedUse use(db);
    if (!use.Open(out_error)) return nullptr;
    Result<std::vector<fieldsync::DeadLetter>> letters = use->DeadLetters();
    if (!letters.ok()) {
      Fail(out_error, letters.status());
      return nullptr;
    }
    json out = json::array();
    for (const fieldsync::DeadLetter& d : *letters) {
      out.push_back({{"seq", d.seq},
                     {"change_id", d.change_id},
                     {"collection", d.collection},
                     {"record_id", d.record_id},
                     {"reason", d.reason},
                     {"failed_at_ms", d.failed_at_ms}});
    }
    return CopyOut(Dump(out), out_error);
  }
  FIELDSYNC_CATCH(out_error)
  return nullptr;
}

bool fieldsync_db_change_key(fieldsync_db* db, const fieldsync_key* new_key,
                             fieldsync_error* out_error) noexcept {
  try {
    if (!Required(db, "db", out_error) || !Required(new_key, "new_key", out_error)) return false;
    Result<std::unique_ptr<KeyProvider>> provider = MakeKeyProvider(*new_key, "new_key");
    if (!provider.ok()) return Fail(out_error, provider.status());
    // Store::ChangeKey runs on the writer connection, outside Database's write lock.
    ExclusiveUse use(db);
    if (!use.Open(out_error)) return false;
    return ReturnStatus(use->writer_store().ChangeKey(**provider), out_error);
  }
  FIELDSYNC_CATCH(out_error)
  return false;
}

bool fieldsync_db_rotate_key(fieldsync_db* db, bool force, fieldsync_error* out_error) noexcept {
  try {
    if (!Required(db, "db", out_error)) return false;
    // Exclusive: a reader connection leased by a concurrent call would make rotation Unavailable.
    ExclusiveUse use(db);
    if (!use.Open(out_error)) return false;
    return ReturnStatus(use->RotateDataKey(force), out_error);
  }
  FIELDSYNC_CATCH(out_error)
  return false;
}

bool fieldsync_db_clear(fieldsync_db* db, bool force, fieldsync_error* out_error) noexcept {
  try {
    if (!Required(db, "db", out_error)) return false;
    Status destroyed;
    {
      std::unique_lock<std::shared_mutex> lock(db->mu);
      if (db->db) {
        // A refusal (pending changes) leaves db->db open and the handle usable.
        destroyed = Database::Clear(db->db, force);
        if (db->db) return Fail(out_error, destroyed);
      } else {
        // A retry after a destruction that failed part-way. If that attempt got as far as
        // deleting the file, the key was already shredded: the database is gone.
        destroyed = fieldsync::Store::Destroy(db->path);
        if (destroyed.IsNotFound()) destroyed = Status::OK();
      }
    }
    if (!destroyed.ok()) return Fail(out_error, destroyed);
    delete db;
    return true;
  }
  FIELDSYNC_CATCH(out_error)
  return false;
}

bool fieldsync_destroy(const char* path, fieldsync_error* out_error) noexcept {
  try {
    if (!Required(path, "path", out_error)) return false;
    return ReturnStatus(fieldsync::Store::Destroy(path), out_error);
  }
  FIELDSYNC_CATCH(out_error)
  return false;
}

}  // extern "C"
