// capi/fieldsync_sync_c.cc: the C API of fieldsync/fieldsync_sync.h, a thin shell over
// fieldsync::sync::Replicator.
//
// Each entry point checks its pointers, parses options_json into ReplicatorOptions plus
// HttpClientOptions, calls one Replicator method and turns the Status into a fieldsync_error.
// Exceptions stop here: every entry point is noexcept and catches everything as Internal.
//
// The database behind a fieldsync_db* comes from core's internal capi/capi_handles.h (a private
// include directory of this library, never installed). Each round runs inside the handle's lock
// held shared, through ReplicatorOptions::round_wrapper, as every fieldsync_db_* call does; a
// handle closed by a failed fieldsync_db_clear fails the round with FailedPrecondition.
//
// REMOTE WIPE: ReplicatorOptions::erase_database takes the handle's lock exclusively (waiting for
// every call in progress on it), clears the Database as fieldsync_db_clear does and marks the
// handle erased, without freeing it: the host and this replicator still hold the pointer.
//
// Errors are reported through core's capi/capi_errors.h, as core's C API reports them. Messages
// may quote a server's text; the password is never part of one.
#include "fieldsync/fieldsync_sync.h"

#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <nlohmann/json.hpp>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>

#include "capi/capi_errors.h"
#include "capi/capi_handles.h"
#include "fieldsync/http_client.h"
#include "fieldsync/status.h"
#include "fieldsync/store.h"
#include "fieldsync/sync/replicator.h"
#include "text/json_depth.h"
#include "text/utf8.h"

// The opaque handle of fieldsync_sync.h.
struct fieldsync_replicator {
  fieldsync_db* db = nullptr;  // not owned; outlives this handle (the header's contract)
  std::unique_ptr<fieldsync::HttpClient> http;
  std::unique_ptr<fieldsync::sync::Replicator> repl;
};

namespace {

using fieldsync::HttpClientOptions;
using fieldsync::Result;
using fieldsync::Status;
using fieldsync::capi::Fail;
using fieldsync::capi::Required;
using fieldsync::capi::WriteError;
using fieldsync::sync::ReplicatorOptions;
using fieldsync::sync::SyncPhase;
using fieldsync::sync::SyncProgress;
using nlohmann::json;

static_assert(FIELDSYNC_SYNC_PHASE_LOGIN == static_cast<int>(SyncPhase::kLogin), "phase drifted");
static_assert(FIELDSYNC_SYNC_PHASE_PUSH == static_cast<int>(SyncPhase::kPush), "phase drifted");
static_assert(FIELDSYNC_SYNC_PHASE_PULL == static_cast<int>(SyncPhase::kPull), "phase drifted");
static_assert(FIELDSYNC_SYNC_PHASE_WAITING == static_cast<int>(SyncPhase::kWaiting),
              "phase drifted");
static_assert(FIELDSYNC_SYNC_PHASE_DONE == static_cast<int>(SyncPhase::kDone), "phase drifted");

constexpr int kMaxOptionsNesting = 8;

// ---- Options ---------------------------------------------------------------------------------

Status Bad(const std::string& member, const std::string& problem) {
  return Status::InvalidArgument("options_json." + member + ": " + problem);
}

Status GetString(const json& v, const std::string& member, std::string* out) {
  if (!v.is_string()) return Bad(member, "must be a string");
  *out = v.get<std::string>();
  return Status::OK();
}

Status GetInt(const json& v, const std::string& member, int64_t min, int64_t max, int64_t* out) {
  if (!v.is_number_integer()) return Bad(member, "must be an integer");
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(max)) {
    return Bad(member, "must be at most " + std::to_string(max));
  }
  const auto x = v.get<int64_t>();
  if (x < min || x > max) {
    return Bad(member, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                           ", got " + std::to_string(x));
  }
  *out = x;
  return Status::OK();
}

constexpr int64_t kDayMs = int64_t{24} * 3600 * 1000;

Status ParseRetry(const json& v, fieldsync::sync::RetryPolicy* retry) {
  if (!v.is_object()) return Bad("retry", "must be a JSON object");
  for (const auto& [key, value] : v.items()) {
    const std::string member = "retry." + key;
    int64_t x = 0;
    if (key == "max_attempts") {
      FIELDSYNC_RETURN_IF_ERROR(GetInt(value, member, 1, 100, &x));
      retry->max_attempts = static_cast<int>(x);
    } else if (key == "initial_delay_ms") {
      FIELDSYNC_RETURN_IF_ERROR(GetInt(value, member, 0, kDayMs, &retry->initial_delay_ms));
    } else if (key == "max_delay_ms") {
      FIELDSYNC_RETURN_IF_ERROR(GetInt(value, member, 0, kDayMs, &retry->max_delay_ms));
    } else if (key == "max_retry_after_ms") {
      FIELDSYNC_RETURN_IF_ERROR(GetInt(value, member, 0, kDayMs, &retry->max_retry_after_ms));
    } else {
      return Bad(member, "unknown member");
    }
  }
  if (retry->initial_delay_ms > retry->max_delay_ms) {
    return Bad("retry", "initial_delay_ms must not exceed max_delay_ms");
  }
  return Status::OK();
}

// Unknown members are errors: a misspelt option silently ignored would be found only in the
// field. The password's value never appears in a message.
Status ParseOptions(const char* text, ReplicatorOptions* options, HttpClientOptions* http) {
  if (fieldsync::text::JsonNestingDepth(text) > kMaxOptionsNesting) {
    return Status::InvalidArgument("options_json: nested too deeply");
  }
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("options_json: malformed JSON");
  if (!j.is_object()) return Status::InvalidArgument("options_json: must be a JSON object");
  for (const auto& [key, value] : j.items()) {
    if (key == "server_url") {
      FIELDSYNC_RETURN_IF_ERROR(GetString(value, key, &options->server_url));
      if (options->server_url.rfind("http://", 0) != 0 &&
          options->server_url.rfind("https://", 0) != 0) {
        return Bad(key, "must start with http:// or https://");
      }
    } else if (key == "user") {
      FIELDSYNC_RETURN_IF_ERROR(GetString(value, key, &options->user));
    } else if (key == "password") {
      FIELDSYNC_RETURN_IF_ERROR(GetString(value, key, &options->password));
    } else if (key == "device_name") {
      FIELDSYNC_RETURN_IF_ERROR(GetString(value, key, &options->device_name));
    } else if (key == "device_platform") {
      FIELDSYNC_RETURN_IF_ERROR(GetString(value, key, &options->device_platform));
    } else if (key == "request_timeout_ms") {
      FIELDSYNC_RETURN_IF_ERROR(GetInt(value, key, 0, kDayMs, &options->request_timeout_ms));
    } else if (key == "ca_bundle_path") {
      FIELDSYNC_RETURN_IF_ERROR(GetString(value, key, &http->ca_bundle_path));
    } else if (key == "pinned_public_key") {
      FIELDSYNC_RETURN_IF_ERROR(GetString(value, key, &http->pinned_public_key));
    } else if (key == "retry") {
      FIELDSYNC_RETURN_IF_ERROR(ParseRetry(value, &options->retry));
    } else {
      return Bad(key, "unknown member");
    }
  }
  for (const auto& [name, value] :
       {std::pair<const char*, const std::string*>{"server_url", &options->server_url},
        {"user", &options->user},
        {"password", &options->password}}) {
    if (value->empty()) return Bad(name, "required");
  }
  return Status::OK();
}

fieldsync_sync_progress ToC(const SyncProgress& p) {
  fieldsync_sync_progress out;
  out.phase = static_cast<int>(p.phase);
  out.changes_pushed = p.changes_pushed;
  out.changes_refused = p.changes_refused;
  out.changes_pulled = p.changes_pulled;
  out.bytes_sent = p.bytes_sent;
  out.bytes_received = p.bytes_received;
  out.retries = p.retries;
  return out;
}

fieldsync_replicator* NewReplicator(fieldsync_db* db, const char* options_json,
                                    fieldsync_error* out) {
  if (!Required(db, "db", out) || !Required(options_json, "options_json", out)) return nullptr;
  ReplicatorOptions options;
  HttpClientOptions http_options;
  Status parsed = ParseOptions(options_json, &options, &http_options);
  if (!parsed.ok()) {
    Fail(out, parsed);
    return nullptr;
  }
  fieldsync::Database* database = nullptr;
  {
    std::shared_lock<std::shared_mutex> lock(db->mu);
    database = db->db.get();
  }
  if (database == nullptr) {
    Fail(out, Status::FailedPrecondition("the database was closed by a fieldsync_db_clear that "
                                         "failed; call fieldsync_db_clear again or "
                                         "fieldsync_db_close"));
    return nullptr;
  }
  options.round_wrapper = [db](const std::function<Status()>& round) -> Status {
    std::shared_lock<std::shared_mutex> lock(db->mu);
    if (!db->db) {
      return Status::FailedPrecondition(
          "the database was closed by a fieldsync_db_clear that failed");
    }
    return round();
  };
  options.erase_database = [db]() -> Status {
    std::unique_lock<std::shared_mutex> lock(db->mu);
    Status erased;
    if (db->db) {
      erased = fieldsync::Database::Clear(db->db, /*force=*/true);
    } else if (!db->erased) {
      // An earlier attempt closed the database but failed to delete it: finish the job.
      erased = fieldsync::Store::Destroy(db->path);
      if (erased.IsNotFound()) erased = Status::OK();
    }
    if (erased.ok()) db->erased = true;
    return erased;
  };
  auto handle = std::make_unique<fieldsync_replicator>();
  handle->db = db;
  handle->http = fieldsync::NewCurlHttpClient(http_options);
  handle->repl = std::make_unique<fieldsync::sync::Replicator>(database, handle->http.get(),
                                                               std::move(options));
  return handle.release();
}

}  // namespace

// ---- Entry points ----------------------------------------------------------------------------

extern "C" {

fieldsync_replicator* fieldsync_replicator_new(fieldsync_db* db, const char* options_json,
                                               fieldsync_error* out_error) noexcept {
  try {
    return NewReplicator(db, options_json, out_error);
  }
  FIELDSYNC_CATCH(out_error)
  return nullptr;
}

void fieldsync_replicator_free(fieldsync_replicator* repl) noexcept {
  try {
    if (repl == nullptr) return;
    repl->repl->Stop();
    delete repl;
  } catch (...) {
    // Stop and the destructors do not throw; there is nowhere to report it if one did.
  }
}

bool fieldsync_replicator_sync_once(fieldsync_replicator* repl,
                                    fieldsync_sync_progress* out_progress,
                                    fieldsync_error* out_error) noexcept {
  try {
    if (!Required(repl, "repl", out_error)) return false;
    SyncProgress progress;
    Status s = repl->repl->SyncOnce(&progress);
    if (out_progress != nullptr) *out_progress = ToC(progress);
    return s.ok() ? true : Fail(out_error, s);
  }
  FIELDSYNC_CATCH(out_error)
  return false;
}

void fieldsync_replicator_cancel(fieldsync_replicator* repl) noexcept {
  if (repl != nullptr) repl->repl->Cancel();
}

bool fieldsync_replicator_set_progress_callback(fieldsync_replicator* repl,
                                                fieldsync_progress_fn fn, void* user_data,
                                                fieldsync_error* out_error) noexcept {
  try {
    if (!Required(repl, "repl", out_error)) return false;
    if (fn == nullptr) {
      repl->repl->SetProgressCallback(nullptr);
      return true;
    }
    repl->repl->SetProgressCallback([fn, user_data](const SyncProgress& p) {
      const fieldsync_sync_progress c = ToC(p);
      fn(&c, user_data);
    });
    return true;
  }
  FIELDSYNC_CATCH(out_error)
  return false;
}

bool fieldsync_replicator_start(fieldsync_replicator* repl, int64_t interval_ms,
                                fieldsync_error* out_error) noexcept {
  try {
    if (!Required(repl, "repl", out_error)) return false;
    Status s = repl->repl->Start(interval_ms);
    return s.ok() ? true : Fail(out_error, s);
  }
  FIELDSYNC_CATCH(out_error)
  return false;
}

void fieldsync_replicator_sync_now(fieldsync_replicator* repl) noexcept {
  if (repl != nullptr) repl->repl->SyncNow();
}

void fieldsync_replicator_stop(fieldsync_replicator* repl) noexcept {
  try {
    if (repl != nullptr) repl->repl->Stop();
  } catch (...) {
    // std::thread::join throws only on misuse (joining itself: Stop from the callback).
  }
}

bool fieldsync_replicator_logout(fieldsync_replicator* repl, fieldsync_error* out_error) noexcept {
  try {
    if (!Required(repl, "repl", out_error)) return false;
    Status s = repl->repl->Logout();
    return s.ok() ? true : Fail(out_error, s);
  }
  FIELDSYNC_CATCH(out_error)
  return false;
}

int fieldsync_replicator_last_round(fieldsync_replicator* repl,
                                    fieldsync_sync_progress* out_progress,
                                    fieldsync_error* out_round_error) noexcept {
  try {
    if (repl == nullptr) return -1;
    const fieldsync::sync::RoundReport last = repl->repl->LastRound();
    if (!last.finished) return -1;
    if (out_progress != nullptr) *out_progress = ToC(last.progress);
    if (!last.status.ok()) Fail(out_round_error, last.status);
    return static_cast<int>(last.status.code());
  }
  FIELDSYNC_CATCH(out_round_error)
  return -1;
}

}  // extern "C"
