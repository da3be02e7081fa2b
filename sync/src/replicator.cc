// sync/src/replicator.cc: one sync round (push, then pull) of protocol v1; see
// fieldsync/sync/replicator.h.
//
// The invariant every step keeps: a record's merge state (fs_sync_state) holds exactly the changes
// the server has accepted or sent for it, and the record in fs_records is that state plus the
// record's unsent outbox rows, merged on top ("effective state"). So a refused change disappears
// from the record when it goes to the dead letters, a pulled change never hides a local edit not
// yet sent, and a change pulled again (a re-sent feed entry) merges to nothing.
#include "fieldsync/sync/replicator.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "backoff.h"
#include "fieldsync/log.h"
#include "fieldsync/secret.h"
#include "fieldsync/sync/merge.h"

namespace fieldsync::sync {
namespace {

using nlohmann::json;

constexpr char kDeletedField[] = "_deleted";  // the outbox's field for a delete's version
// Samples with a longer round trip bound the skew too loosely to use (protocol §8).
constexpr int64_t kMaxSkewRoundTripMs = 5000;

// The device's time as the Database stamps edits with it: the skew estimate (protocol §8) must
// be measured against the clock the HLC reads, or a tablet whose clock is off keeps its error.
int64_t DeviceNowMs(const Database& db) { return db.clock()->WallMicros() / 1000; }

// The outbox row's fields, parsed; Corruption if the core wrote something else.
Result<json> ParseFields(const OutboxRow& row) {
  json fields = json::parse(row.fields_json, nullptr, /*allow_exceptions=*/false);
  if (!fields.is_object()) {
    return Status::Corruption("outbox row " + std::to_string(row.seq) + ": fields not an object");
  }
  return fields;
}

bool IsSetField(const CollectionDef& def, const std::string& name) {
  const FieldDef* f = def.Field(name);
  return f != nullptr && f->merge == MergeRule::kAddWinsSet;
}

// Whether the row's write of a set field carries its set operations (recorded when frozen).
bool HasSetOps(const json& write) { return write.contains("add") || write.contains("rem"); }

// The elements of set field `name` the user sees in `state`: none while the record is not alive.
std::set<std::string> ShownElements(const CollectionDef& def, const RecordState& state,
                                    const std::string& name) {
  std::set<std::string> shown;
  std::optional<json> record = Materialize(def, state);
  if (!record) return shown;
  auto it = record->find(name);
  if (it == record->end() || !it->is_array()) return shown;
  for (const json& element : *it) {
    if (element.is_string()) shown.insert(element.get<std::string>());
  }
  return shown;
}

// The set operations that take set field `name` from what `seen` shows to `value` (the array the
// user set; null clears): the elements to add, and every live add tag of each shown element to
// remove (only tags observed, so an add made elsewhere concurrently still wins). Sorted, so the
// same inputs always freeze to the same bytes.
void DiffSet(const CollectionDef& def, const RecordState& seen, const std::string& name,
             const json& value, FieldWrite* out) {
  std::set<std::string> wanted;
  if (value.is_array()) {
    for (const json& element : value) {
      if (element.is_string()) wanted.insert(element.get<std::string>());
    }
  }
  const std::set<std::string> shown = ShownElements(def, seen, name);
  for (const std::string& element : wanted) {
    if (shown.count(element) == 0) out->set_add.push_back(element);
  }
  auto set = seen.sets.find(name);
  if (set == seen.sets.end()) return;
  for (const std::string& element : shown) {
    if (wanted.count(element) != 0) continue;
    auto tags = set->second.adds.find(element);
    if (tags == set->second.adds.end()) continue;
    for (const Version& tag : tags->second) out->set_remove.emplace_back(element, tag);
  }
}

// Protocol §5.3: one Change per distinct HLC of the row, ascending; ids <change_id> (one HLC) or
// <change_id>:<k>. Review bases come from the row's "b", set operations from its "add" and "rem"
// (recorded when it was frozen, so a retry sends the same bytes). A set field of a row not frozen
// yet (a pending row shown on the record) holds only the value the user set: its operations are
// computed against `seen`, the record as merged before this row, as Freeze does; `seen` may be
// null only when every set write is frozen. The first change of a re-creation row carries
// `recreate`: it is the put (later updates absorbed into the row have higher HLCs).
Result<std::vector<Change>> SplitRow(const CollectionDef& def, const OutboxRow& row,
                                     const RecordState* seen) {
  Result<json> fields = ParseFields(row);
  if (!fields.ok()) return fields.status();
  const std::string where = "outbox row " + std::to_string(row.seq);
  bool needs_seen = false;
  std::map<uint64_t, std::map<std::string, FieldWrite>> by_hlc;
  std::map<uint64_t, std::vector<std::pair<std::string, json>>> unfrozen_sets;  // name, value
  for (const auto& [name, write] : fields->items()) {
    if (!write.is_object() || !write.contains("hlc") || !write["hlc"].is_number_unsigned()) {
      return Status::Corruption(where + ": field " + name + " has no hlc");
    }
    const uint64_t hlc = write["hlc"].get<uint64_t>();
    std::map<std::string, FieldWrite>& at = by_hlc[hlc];
    if (row.is_delete) continue;  // a delete's only "field" carries its version
    FieldWrite fw;
    if (IsSetField(def, name)) {
      // A set is written with operations only (merge.h); the value stays null.
      if (HasSetOps(write)) {
        for (const json& e : write.value("add", json::array())) {
          fw.set_add.push_back(e.get<std::string>());
        }
        for (const json& r : write.value("rem", json::array())) {
          fw.set_remove.emplace_back(r[0].get<std::string>(),
                                     Version{Hlc(r[1].get<uint64_t>()), r[2].get<std::string>()});
        }
      } else {
        needs_seen = true;
        unfrozen_sets[hlc].emplace_back(name, write.value("v", json()));
      }
    } else {
      fw.value = write.value("v", json());
    }
    if (write.contains("b")) {
      for (const json& v : write["b"]) fw.base.push_back({Hlc(v[0].get<uint64_t>()), v[1]});
    }
    at[name] = std::move(fw);
  }
  if (by_hlc.empty()) return Status::Corruption(where + ": no fields");
  if (needs_seen && seen == nullptr) {
    return Status::Corruption(where + ": a set field was sent without its set operations");
  }
  std::optional<RecordState> running;  // `seen` plus this row's earlier changes
  if (needs_seen) running = *seen;
  std::vector<Change> out;
  size_t k = 0;
  for (auto& [hlc, writes] : by_hlc) {
    Change c;
    c.change_id = by_hlc.size() == 1 ? row.change_id : row.change_id + ":" + std::to_string(k);
    c.collection = row.collection;
    c.record_id = row.record_id;
    c.op = row.is_delete ? Change::Op::kDelete : Change::Op::kUpsert;
    c.recreate = row.recreate && !row.is_delete && k == 0;
    c.version = Version{Hlc(hlc), row.node};
    c.fields = std::move(writes);
    c.schema_version = row.schema_version;
    if (running) {
      for (const auto& [name, value] : unfrozen_sets[hlc]) {
        DiffSet(def, *running, name, value, &c.fields[name]);
      }
      (void)Merge(def, c, &*running);  // refused here, refused by the server: nothing to show
    }
    out.push_back(std::move(c));
    ++k;
  }
  return out;
}

using RecordKey = std::pair<std::string, std::string>;  // collection, record id

Result<RecordState> LoadState(Database::SyncTransaction& txn, const RecordKey& key) {
  Result<std::optional<std::string>> stored = txn.ReadSyncState(key.first, key.second);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return RecordState();
  json j = json::parse(**stored, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::Corruption("merge state of " + key.first + "/" + key.second);
  return RecordStateFromJson(j);
}

// A local change merged for display or for computing bases. A change the rules refuse (the
// server will refuse it too) is left out: the record then shows what the server will keep.
void MergeLocal(const CollectionDef& def, const Change& change, const std::string& author,
                RecordState* state) {
  Change c = change;
  c.author = author;
  (void)Merge(def, c, state);
}

// Freezes a row for sending, recording what SplitRow cannot recompute the same way later: every
// review field gets as base the heads of the record as the user saw it (merge state plus the
// earlier unsent rows), and every add-wins set field the operations from that record to the value
// the user set. Returns the row as frozen. An inflight row is frozen again only to add set
// operations it lacks (a row frozen before they were recorded: the server refused it whole, so
// no id of it is stored with other bytes); its bases stay as they were sent.
Result<OutboxRow> Freeze(Database::SyncTransaction& txn, const CollectionDef& def, OutboxRow row,
                         const std::string& author) {
  Result<json> fields = ParseFields(row);
  if (!fields.ok()) return fields.status();
  if (!row.is_delete) {
    Result<RecordState> state = LoadState(txn, {row.collection, row.record_id});
    if (!state.ok()) return state.status();
    Result<std::vector<OutboxRow>> earlier = txn.OutboxRowsOf(row.collection, row.record_id);
    if (!earlier.ok()) return earlier.status();
    for (const OutboxRow& e : *earlier) {
      if (e.seq >= row.seq) break;
      Result<std::vector<Change>> pieces = SplitRow(def, e, &*state);
      if (!pieces.ok()) return pieces.status();
      for (const Change& c : *pieces) MergeLocal(def, c, author, &*state);
    }
    if (!row.inflight) {
      for (auto& [name, write] : fields->items()) {
        const FieldDef* f = def.Field(name);
        if (f == nullptr || f->merge != MergeRule::kReview) continue;
        json base = json::array();
        auto it = state->reviews.find(name);
        if (it != state->reviews.end()) {
          for (const RegisterValue& head : it->second.Heads()) {
            base.push_back(json::array({head.version.hlc.packed(), head.version.node}));
          }
        }
        write["b"] = std::move(base);
      }
    }
    Result<std::vector<Change>> pieces = SplitRow(def, row, &*state);
    if (!pieces.ok()) return pieces.status();
    for (const Change& c : *pieces) {
      for (const auto& [name, write] : c.fields) {
        if (!IsSetField(def, name)) continue;
        json& entry = (*fields)[name];
        if (HasSetOps(entry)) continue;
        json rem = json::array();
        for (const auto& [element, tag] : write.set_remove) {
          rem.push_back(json::array({element, tag.hlc.packed(), tag.node}));
        }
        entry["add"] = write.set_add;
        entry["rem"] = std::move(rem);
      }
    }
  }
  row.fields_json = fields->dump();
  row.inflight = true;
  FIELDSYNC_RETURN_IF_ERROR(txn.MarkInflight(row.seq, row.fields_json));
  return row;
}

// Whether an inflight row still lacks the set operations SplitRow needs to send it.
bool LacksSetOps(const CollectionDef& def, const OutboxRow& row) {
  if (row.is_delete) return false;
  Result<json> fields = ParseFields(row);
  if (!fields.ok()) return false;  // SplitRow reports it
  for (const auto& [name, write] : fields->items()) {
    if (IsSetField(def, name) && write.is_object() && !HasSetOps(write)) return true;
  }
  return false;
}

// Writes the record as the user should see it: `state` plus its unsent outbox rows.
Status Refresh(Database::SyncTransaction& txn, const CollectionDef& def, const RecordKey& key,
               RecordState state, const std::string& author) {
  Result<std::vector<OutboxRow>> rows = txn.OutboxRowsOf(key.first, key.second);
  if (!rows.ok()) return rows.status();
  for (const OutboxRow& row : *rows) {
    Result<std::vector<Change>> pieces = SplitRow(def, row, &state);
    if (!pieces.ok()) return pieces.status();
    for (const Change& c : *pieces) MergeLocal(def, c, author, &state);
  }
  json versions = json::object();
  Version newest;
  auto note = [&](const std::string& field, const Version& v) {
    versions[field] = json::array({v.hlc.packed(), v.node});
    if (newest < v) newest = v;
  };
  for (const auto& [name, reg] : state.registers) note(name, reg.version);
  for (const auto& [name, review] : state.reviews) {
    std::vector<RegisterValue> heads = review.Heads();
    if (!heads.empty()) note(name, heads.front().version);
  }
  for (const auto& [name, set] : state.sets) {
    std::optional<Version> top;
    for (const auto& [element, tags] : set.adds) {
      if (!tags.empty() && (!top || *top < *tags.rbegin())) top = *tags.rbegin();
    }
    if (top) note(name, *top);
  }
  if (state.deleted) note(kDeletedField, *state.deleted);
  std::optional<json> data = Materialize(def, state);
  return txn.ApplyRemoteRecord(key.first, key.second, data ? data->dump() : "{}", versions.dump(),
                               !data.has_value(), newest.hlc);
}

Status ErrorStatus(const HttpResponse& response, const std::string& what) {
  Result<ErrorBody> body = DecodeErrorBody(response.body);
  const std::string code = body.ok() ? body->code : std::string("?");
  const std::string message = what + ": HTTP " + std::to_string(response.status) + " " + code +
                              (body.ok() ? ": " + body->message : std::string());
  if (response.status == 429 || response.status >= 500) return Status::Unavailable(message);
  if (response.status == 401 || response.status == 403 || response.status == 409) {
    return Status::FailedPrecondition(message);
  }
  return Status::Internal(message);  // any other 4xx is a bug on one side (protocol §4)
}

}  // namespace

// State of one round.
struct Replicator::Round {
  SyncProgress progress;
  uint64_t epoch = 0;                       // cancel_epoch_ when the round started
  const std::atomic<bool>* stop = nullptr;  // the loop's stop flag, for the loop's rounds
  const std::atomic<uint64_t>* cancel_epoch = nullptr;
  std::optional<int64_t> retry_after_ms;  // the server's last Retry-After, capped
  bool relogged = false;  // one password login per round: a second 401 means it is wrong
  // The access token was issued (login or refresh) and has not been accepted yet: a 401 for it
  // is not renewed again.
  bool token_fresh = false;
  bool revoked = false;  // the server answered device_revoked (REMOTE WIPE)
  std::string wipe_receipt;
  int64_t t0 = 0, t1 = 0;  // device clock around the last exchange
  int64_t best_round_trip_ms = std::numeric_limits<int64_t>::max();
  std::optional<int64_t> skew_ms;

  bool Cancelled() const {
    return cancel_epoch->load() != epoch || (stop != nullptr && stop->load());
  }

  void NoteServerTime(int64_t server_ms) {
    const int64_t rtt = t1 - t0;
    if (server_ms <= 0 || rtt < 0 || rtt > kMaxSkewRoundTripMs || rtt >= best_round_trip_ms) {
      return;
    }
    best_round_trip_ms = rtt;
    skew_ms = (t0 + t1) / 2 - server_ms;
  }
};

const char* SyncPhaseName(SyncPhase phase) {
  switch (phase) {
    case SyncPhase::kLogin:
      return "login";
    case SyncPhase::kPush:
      return "push";
    case SyncPhase::kPull:
      return "pull";
    case SyncPhase::kWaiting:
      return "waiting";
    case SyncPhase::kDone:
      return "done";
  }
  return "unknown";
}

Replicator::Replicator(Database* db, HttpClient* http, ReplicatorOptions options)
    : db_(db), http_(http), options_(std::move(options)), node_id_(db->node_id()) {
  uint64_t seed = options_.jitter_seed;
  if (seed == 0) {
    uint8_t bytes[sizeof(seed)] = {};
    // Without the CSPRNG the jitter is still jitter: fall back to the clock.
    if (SecureRandom(bytes, sizeof(bytes)).ok()) {
      for (uint8_t b : bytes) seed = (seed << 8) | b;
    } else {
      seed = static_cast<uint64_t>(Clock::System()->MonotonicMicros());
    }
  }
  jitter_.seed(seed);
}

Replicator::~Replicator() { Stop(); }

Status Replicator::SyncOnce(SyncProgress* progress) {
  bool busy = false;
  return RunRound(progress, /*loop_round=*/false, &busy);
}

Status Replicator::RunRound(SyncProgress* progress, bool loop_round, bool* busy) {
  if (progress != nullptr) *progress = SyncProgress();
  std::unique_lock<std::mutex> lock(round_mu_, std::try_to_lock);
  if (!lock.owns_lock()) {
    *busy = true;
    return Status::Unavailable("a sync round is already running");
  }
  Round round;
  round.cancel_epoch = &cancel_epoch_;
  round.epoch = cancel_epoch_.load();
  if (loop_round) round.stop = &stop_;
  Status s;
  if (revoked_) {
    s = EraseAndReport(round);  // a revoked device's rounds never touch the Database again
  } else {
    auto body = [&] { return RoundBody(round); };
    s = options_.round_wrapper ? options_.round_wrapper(body) : body();
    // Outside round_wrapper: erase_database may need the handle's lock for itself.
    if (round.revoked) s = OnRevoked(round);
  }
  round.progress.phase = SyncPhase::kDone;
  {
    std::lock_guard<std::mutex> state(state_mu_);
    last_.finished = true;
    last_.status = s;
    last_.progress = round.progress;
    last_.ended_at_ms = NowMs();
    last_.consecutive_failures = s.ok() ? 0 : last_.consecutive_failures + 1;
    last_.device_revoked = revoked_;
    last_.erased = erased_;
    last_.wipe_reported = wipe_reported_;
    last_retry_after_ms_ = round.retry_after_ms;
  }
  Report(round);
  if (progress != nullptr) *progress = round.progress;
  return s;
}

Status Replicator::RoundBody(Round& round) {
  Status s = token_.empty() ? Login(round) : Status::OK();
  if (s.ok()) s = Push(round);
  if (s.ok()) s = Pull(round);
  if (round.skew_ms && !round.revoked) {
    const int64_t skew = *round.skew_ms;
    Status t = db_->RunSyncTransaction(
        [&](Database::SyncTransaction& txn) { return txn.SetSkewEstimate(skew); });
    if (s.ok()) s = t;
  }
  return s;
}

void Replicator::Report(Round& round) {
  ProgressCallback callback;
  {
    std::lock_guard<std::mutex> state(state_mu_);
    callback = callback_;
  }
  if (callback) callback(round.progress);
}

void Replicator::SetProgressCallback(ProgressCallback callback) {
  std::lock_guard<std::mutex> state(state_mu_);
  callback_ = std::move(callback);
}

RoundReport Replicator::LastRound() const {
  std::lock_guard<std::mutex> state(state_mu_);
  return last_;
}

void Replicator::Cancel() {
  cancel_epoch_.fetch_add(1);
  Notify();
}

void Replicator::Notify() {
  // Taking the mutex orders this wake-up after a waiter's last predicate check.
  { std::lock_guard<std::mutex> lock(wait_mu_); }
  wait_cv_.notify_all();
}

void Replicator::Wait(int64_t delay_ms, const std::function<bool()>& interrupted) {
  if (interrupted()) return;
  if (options_.wait) {
    options_.wait(delay_ms, interrupted);  // a draw of 0 too: tests see every wait
    return;
  }
  if (delay_ms <= 0) return;
  std::unique_lock<std::mutex> lock(wait_mu_);
  wait_cv_.wait_for(lock, std::chrono::milliseconds(delay_ms), interrupted);
}

int64_t Replicator::BackoffDelayMs(int n) {
  std::lock_guard<std::mutex> state(state_mu_);
  return FullJitterMs(options_.retry, n, jitter_);
}

Status Replicator::Start(int64_t interval_ms) {
  if (interval_ms <= 0) {
    return Status::InvalidArgument("interval_ms must be positive, got " +
                                   std::to_string(interval_ms));
  }
  std::lock_guard<std::mutex> lock(loop_mu_);
  if (loop_.joinable() && !loop_running_.load()) loop_.join();  // it ended on its own
  if (loop_.joinable()) return Status::FailedPrecondition("the sync loop is already running");
  stop_.store(false);
  wake_.store(false);
  loop_running_.store(true);
  loop_ = std::thread([this, interval_ms] { Loop(interval_ms); });
  return Status::OK();
}

void Replicator::SyncNow() {
  wake_.store(true);
  Notify();
}

void Replicator::Stop() {
  std::lock_guard<std::mutex> lock(loop_mu_);
  if (!loop_.joinable()) return;
  stop_.store(true);
  Notify();
  loop_.join();
  loop_running_.store(false);
}

void Replicator::Loop(int64_t interval_ms) {
  while (!stop_.load()) {
    wake_.store(false);  // a SyncNow from now on asks for the round after this one
    bool busy = false;
    Status s = RunRound(nullptr, /*loop_round=*/true, &busy);
    if (stop_.load()) break;
    {
      // REMOTE WIPE done and reported: there is nothing left to sync.
      std::lock_guard<std::mutex> state(state_mu_);
      if (last_.device_revoked && last_.erased && last_.wipe_reported) break;
    }
    int64_t delay = interval_ms;
    if (!s.ok() && !busy) {
      // A busy round is someone else's round in progress: the interval is the right wait.
      std::optional<int64_t> retry_after;
      int failures = 1;
      {
        std::lock_guard<std::mutex> state(state_mu_);
        retry_after = last_retry_after_ms_;
        failures = last_.consecutive_failures;
      }
      delay = retry_after ? *retry_after
                          : std::max(options_.retry.initial_delay_ms,
                                     BackoffDelayMs(std::max(0, failures - 1)));
    }
    Wait(delay, [this] { return stop_.load() || wake_.load(); });
  }
  loop_running_.store(false);
}

Result<HttpResponse> Replicator::SendWithRetries(Round& round, const HttpRequest& request) {
  const SyncPhase phase = round.progress.phase;
  const int max_attempts = std::max(1, options_.retry.max_attempts);
  for (int attempt = 0;; ++attempt) {
    if (round.Cancelled()) return Status::Cancelled("sync round cancelled");
    round.t0 = NowMs();
    Result<HttpResponse> response = http_->Send(request);
    round.t1 = NowMs();
    std::optional<int64_t> retry_after_ms;
    if (response.ok()) {
      round.progress.bytes_sent += static_cast<int64_t>(response->bytes_sent);
      round.progress.bytes_received += static_cast<int64_t>(response->bytes_received);
      Report(round);
      if (response->status != 429 && response->status < 500) return response;
      if (response->retry_after_s) {
        retry_after_ms = RetryAfterMs(options_.retry, *response->retry_after_s);
      }
    } else if (response.status().code() != StatusCode::kUnavailable) {
      return response;  // a configuration or request problem: repeating it repeats it
    }
    round.retry_after_ms = retry_after_ms;
    if (attempt + 1 >= max_attempts) return response;
    const int64_t delay = retry_after_ms ? *retry_after_ms : BackoffDelayMs(attempt);
    Log(LogLevel::kInfo, "replicator",
        "retrying in " + std::to_string(delay) + " ms after " +
            (response.ok() ? "HTTP " + std::to_string(response->status)
                           : response.status().ToString()));
    ++round.progress.retries;
    round.progress.phase = SyncPhase::kWaiting;
    Report(round);
    Wait(delay, [&round] { return round.Cancelled(); });
    round.progress.phase = phase;
  }
}

Result<HttpResponse> Replicator::Call(Round& round, const std::string& method,
                                      const std::string& path, const std::string& body,
                                      bool authenticated) {
  std::string base = options_.server_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  for (;;) {
    HttpRequest request;
    request.method = method;
    request.url = base + path;
    request.timeout_ms = options_.request_timeout_ms;
    request.max_response_bytes = limits_.max_response_bytes + (64u << 10);  // envelope slack
    if (authenticated) request.headers.Add("Authorization", "Bearer " + token_);
    if (!body.empty()) {
      request.headers.Add("Content-Type", kJsonContentType);
      request.body = body;
      if (body.size() >= kGzipMinBytes) {
        Result<std::string> gz = Gzip(body);
        if (gz.ok()) {
          request.body = std::move(*gz);
          request.headers.Add("Content-Encoding", "gzip");
        }
      }
    }
    Result<HttpResponse> response = SendWithRetries(round, request);
    if (!response.ok()) return response.status();
    if (response->status != 200) {
      Result<ErrorBody> error = DecodeErrorBody(response->body);
      if (error.ok()) {
        round.NoteServerTime(error->server_time_ms);
        if (error->code == kErrorDeviceRevoked && error->wipe) {
          // REMOTE WIPE, on the explicit order only: stop using the Database now; RunRound
          // erases it after the round.
          round.revoked = true;
          round.wipe_receipt = error->wipe_receipt;
          return Status::DeviceRevoked("the server revoked this device: " + error->message);
        }
      }
    }
    if (response->status == 401 && authenticated && !round.token_fresh) {
      // An expired or ended token: renew it and repeat the request (protocol §3.6).
      FIELDSYNC_RETURN_IF_ERROR(RenewTokens(round));
      continue;
    }
    if (authenticated && response->status == 200) round.token_fresh = false;
    return response;
  }
}

Status Replicator::Login(Round& round) {
  const SyncPhase phase = round.progress.phase;
  round.progress.phase = SyncPhase::kLogin;
  Report(round);
  Status s = LoginExchange(round);
  round.progress.phase = phase;
  return s;
}

Status Replicator::LoginExchange(Round& round) {
  LoginRequest request{options_.user, options_.password,
                       DeviceInfo{options_.device_name, options_.device_platform, db_->node_id()}};
  Result<HttpResponse> response =
      Call(round, "POST", "/v1/login", EncodeLoginRequest(request), /*authenticated=*/false);
  if (!response.ok()) return response.status();
  if (response->status != 200) return ErrorStatus(*response, "login");
  Result<LoginResponse> login = DecodeLoginResponse(response->body);
  if (!login.ok()) return Status::Internal("login response: " + login.status().message());
  round.NoteServerTime(login->server_time_ms);
  TakeTokens(*login);
  round.token_fresh = true;
  return Status::OK();
}

void Replicator::TakeTokens(const LoginResponse& response) {
  token_ = response.token;
  refresh_token_ = response.refresh_token;  // empty from a server without refresh tokens
  user_ = response.user;
  limits_ = response.limits;
  if (limits_.max_batch_changes == 0) limits_.max_batch_changes = 1;
}

Status Replicator::RenewTokens(Round& round) {
  token_.clear();
  if (!refresh_token_.empty()) {
    Status refreshed = RefreshExchange(round);
    // Refused (expired, ended, reused): the password is the way back. Anything else (offline,
    // cancelled, revoked) ends the round with the refresh token kept for the next one.
    if (refreshed.code() != StatusCode::kFailedPrecondition) return refreshed;
    refresh_token_.clear();
  }
  if (round.relogged) {
    // The password already bought a session in this round: never send it twice a round.
    return Status::FailedPrecondition(
        "the server ended the session again after a login in this round; sync again later");
  }
  round.relogged = true;
  return Login(round);
}

Status Replicator::RefreshExchange(Round& round) {
  const SyncPhase phase = round.progress.phase;
  round.progress.phase = SyncPhase::kLogin;
  Report(round);
  Result<HttpResponse> response =
      Call(round, "POST", "/v1/refresh", EncodeRefreshRequest(RefreshRequest{refresh_token_}),
           /*authenticated=*/false);
  round.progress.phase = phase;
  if (!response.ok()) return response.status();
  if (response->status != 200) return ErrorStatus(*response, "refresh");
  Result<LoginResponse> refreshed = DecodeLoginResponse(response->body);
  if (!refreshed.ok()) return Status::Internal("refresh response: " + refreshed.status().message());
  round.NoteServerTime(refreshed->server_time_ms);
  TakeTokens(*refreshed);
  round.token_fresh = true;
  return Status::OK();
}

Status Replicator::OnRevoked(Round& round) {
  revoked_ = true;
  wipe_receipt_ = round.wipe_receipt;
  token_.clear();
  refresh_token_.clear();
  return EraseAndReport(round);
}

Status Replicator::EraseAndReport(Round& round) {
  if (!erased_) {
    Status erased = options_.erase_database
                        ? options_.erase_database()
                        : Status::FailedPrecondition(
                              "no erase_database was given: the host must erase it "
                              "(Database::Clear)");
    if (!erased.ok()) {
      Log(LogLevel::kError, "replicator", "erasing the revoked device's database failed");
      return Status::DeviceRevoked(
          "the server revoked this device; erasing the local database failed: " +
          erased.ToString());
    }
    erased_ = true;
  }
  if (!wipe_reported_) {
    // Best effort: the next SyncOnce tries again. Never through the Database, which is gone.
    Result<HttpResponse> reported =
        Call(round, "POST", "/v1/wipe-done",
             EncodeWipeDoneRequest(WipeDoneRequest{node_id_, wipe_receipt_}),
             /*authenticated=*/false);
    wipe_reported_ = reported.ok() && reported->status == 200;
  }
  return Status::DeviceRevoked(
      std::string("the server revoked this device; the local database and its key were erased") +
      (wipe_reported_ ? "" : " (the server has not been told yet)"));
}

int64_t Replicator::NowMs() const {
  if (revoked_) return Clock::System()->WallMicros() / 1000;
  return DeviceNowMs(*db_);
}

Status Replicator::Logout() {
  std::unique_lock<std::mutex> lock(round_mu_, std::try_to_lock);
  if (!lock.owns_lock()) return Status::Unavailable("a sync round is running");
  if (revoked_ || token_.empty()) {
    token_.clear();
    refresh_token_.clear();
    return Status::OK();
  }
  Round round;
  round.cancel_epoch = &cancel_epoch_;
  round.epoch = cancel_epoch_.load();
  Result<HttpResponse> response = Call(round, "POST", "/v1/logout", "", /*authenticated=*/true);
  token_.clear();
  refresh_token_.clear();
  if (round.revoked) {
    Status s = OnRevoked(round);
    std::lock_guard<std::mutex> state(state_mu_);
    last_.device_revoked = true;
    last_.erased = erased_;
    last_.wipe_reported = wipe_reported_;
    return s;
  }
  if (!response.ok()) return response.status();
  if (response->status != 200) return ErrorStatus(*response, "logout");
  return Status::OK();
}

Status Replicator::Push(Round& round) {
  // One row's place in the batch: the row and its changes' positions in the request.
  struct Planned {
    OutboxRow row;
    size_t first = 0;
    size_t count = 0;
  };
  round.progress.phase = SyncPhase::kPush;
  Report(round);
  int64_t after_seq = 0;
  for (;;) {
    std::vector<Planned> plan;
    PushRequest request;
    request.node = db_->node_id();
    request.schema_version = db_->schema().version();
    Status frozen = db_->RunSyncTransaction([&](Database::SyncTransaction& txn) -> Status {
      Result<std::vector<OutboxRow>> rows = txn.ReadOutbox(after_seq, limits_.max_batch_changes);
      if (!rows.ok()) return rows.status();
      for (OutboxRow& row : *rows) {
        const CollectionDef* def = db_->schema().Collection(row.collection);
        if (def == nullptr)
          return Status::Corruption("outbox: unknown collection " + row.collection);
        if (!row.inflight || LacksSetOps(*def, row)) {
          Result<OutboxRow> f = Freeze(txn, *def, std::move(row), user_.id);
          if (!f.ok()) return f.status();
          row = std::move(*f);
        }
        Result<std::vector<Change>> pieces = SplitRow(*def, row, nullptr);
        if (!pieces.ok()) return pieces.status();
        if (!plan.empty() && request.changes.size() + pieces->size() > limits_.max_batch_changes) {
          break;  // the next batch takes it; it stays frozen, as sent rows must
        }
        plan.push_back({row, request.changes.size(), pieces->size()});
        for (Change& c : *pieces) request.changes.push_back(std::move(c));
      }
      return Status::OK();
    });
    FIELDSYNC_RETURN_IF_ERROR(frozen);
    if (plan.empty()) return Status::OK();
    after_seq = plan.back().row.seq;

    Result<HttpResponse> response =
        Call(round, "POST", "/v1/push", EncodePushRequest(request), /*authenticated=*/true);
    if (!response.ok()) return response.status();
    if (response->status == 409) {
      // schema_too_new: keep the outbox for a round after the server's upgrade; pulls go on.
      Log(LogLevel::kWarning, "replicator", "push deferred: the server's schema is older");
      return Status::OK();
    }
    if (response->status != 200) return ErrorStatus(*response, "push");
    Result<PushResponse> pushed = DecodePushResponse(response->body);
    if (!pushed.ok()) return Status::Internal("push response: " + pushed.status().message());
    round.NoteServerTime(pushed->server_time_ms);
    if (pushed->results.size() != request.changes.size()) {
      return Status::Internal("push response: " + std::to_string(pushed->results.size()) +
                              " results for " + std::to_string(request.changes.size()) +
                              " changes");
    }
    for (size_t k = 0; k < request.changes.size(); ++k) {
      if (pushed->results[k].change_id != request.changes[k].change_id) {
        return Status::Internal("push response: result " + std::to_string(k) + " names " +
                                pushed->results[k].change_id);
      }
    }

    Status acked = db_->RunSyncTransaction([&](Database::SyncTransaction& txn) -> Status {
      std::map<RecordKey, RecordState> touched;
      for (const Planned& p : plan) {
        const CollectionDef* def = db_->schema().Collection(p.row.collection);
        const RecordKey key{p.row.collection, p.row.record_id};
        auto it = touched.find(key);
        if (it == touched.end()) {
          Result<RecordState> loaded = LoadState(txn, key);
          if (!loaded.ok()) return loaded.status();
          it = touched.emplace(key, std::move(*loaded)).first;
        }
        RecordState& state = it->second;
        std::string refusals;
        for (size_t k = p.first; k < p.first + p.count; ++k) {
          const PushResult& r = pushed->results[k];
          if (r.status == PushStatus::kRefused) {
            if (!refusals.empty()) refusals += "; ";
            refusals += r.code + ": " + r.reason;
            ++round.progress.changes_refused;
            continue;
          }
          // The server has it: it joins the merge state exactly as the server merged it.
          Change c = request.changes[k];
          c.author = user_.id;
          (void)Merge(*def, c, &state);
          ++round.progress.changes_pushed;
        }
        if (refusals.empty()) {
          FIELDSYNC_RETURN_IF_ERROR(txn.Acknowledge(p.row.seq));
        } else {
          FIELDSYNC_RETURN_IF_ERROR(txn.DeadLetter(p.row.seq, refusals));
        }
      }
      // Each record is shown again as merged plus its unsent rows, accepted or refused alike:
      // the local write is not what the server merged (a re-creation, a set, a concurrent
      // edit already pulled), and the invariant of this file says the record is that merge.
      for (const auto& [key, state] : touched) {
        FIELDSYNC_RETURN_IF_ERROR(
            txn.WriteSyncState(key.first, key.second, RecordStateToJson(state).dump()));
        FIELDSYNC_RETURN_IF_ERROR(
            Refresh(txn, *db_->schema().Collection(key.first), key, state, user_.id));
      }
      return Status::OK();
    });
    FIELDSYNC_RETURN_IF_ERROR(acked);
    Report(round);
  }
}

Status Replicator::Pull(Round& round) {
  round.progress.phase = SyncPhase::kPull;
  Report(round);
  std::string cursor;
  // What is left to send after the push, for the server's device list (protocol §3.5).
  Result<PendingSummary> pending = db_->Pending();
  const std::string pending_param =
      pending.ok() ? "&pending=" + std::to_string(pending->count) : std::string();
  FIELDSYNC_RETURN_IF_ERROR(db_->RunSyncTransaction([&](Database::SyncTransaction& txn) {
    Result<std::string> c = txn.ReadCursor();
    if (!c.ok()) return c.status();
    cursor = std::move(*c);
    return Status::OK();
  }));
  bool restarted = false;
  bool more = true;
  while (more) {
    // Fetch pages until the batch is big enough, then apply them in ONE transaction: a commit
    // costs a WAL sync and rewrites the index pages every page touches, so on a first sync of
    // hundreds of thousands of changes per-page commits dominated. The write lock is taken only
    // once the pages are here, never across the network.
    std::vector<PullResponse> batch;
    size_t batch_changes = 0;
    while (more && batch_changes < std::max<size_t>(1, options_.pull_changes_per_transaction)) {
      // Cursors are base64url: safe in a query string as they are.
      std::string path = "/v1/pull?schema=" + std::to_string(db_->schema().version()) +
                         "&limit=" + std::to_string(limits_.max_batch_changes) + pending_param;
      if (!cursor.empty()) path += "&cursor=" + cursor;
      Result<HttpResponse> response = Call(round, "GET", path, "", /*authenticated=*/true);
      if (!response.ok()) return response.status();
      if ((response->status == 400 || response->status == 410) && !cursor.empty() && !restarted) {
        Result<ErrorBody> error = DecodeErrorBody(response->body);
        if (error.ok() && (error->code == kErrorBadCursor || error->code == kErrorCursorExpired)) {
          // Protocol §3.5: pull from no cursor; merging makes the full resync safe.
          restarted = true;
          cursor.clear();
          continue;
        }
      }
      if (response->status != 200) return ErrorStatus(*response, "pull");
      Result<PullResponse> page = DecodePullResponse(response->body);
      if (!page.ok()) return Status::Internal("pull response: " + page.status().message());
      round.NoteServerTime(page->server_time_ms);
      cursor = page->next_cursor;
      more = page->has_more;
      batch_changes += page->changes.size();
      batch.push_back(std::move(*page));
    }
    FIELDSYNC_RETURN_IF_ERROR(ApplyPulledPages(batch));
    round.progress.changes_pulled += static_cast<int64_t>(batch_changes);
    Report(round);
  }
  return Status::OK();
}

// Merges `pages`, in order, into the local records and advances the cursor to the last page's,
// all in one transaction: a crash or an error leaves the cursor before the first page, and the
// next round pulls them again (merging is idempotent).
Status Replicator::ApplyPulledPages(const std::vector<PullResponse>& pages) {
  if (pages.empty()) return Status::OK();
  return db_->RunSyncTransaction([&](Database::SyncTransaction& txn) -> Status {
    std::map<RecordKey, RecordState> touched;
    for (const PullResponse& page : pages) {
      for (const Change& change : page.changes) {
        const CollectionDef* def = db_->schema().Collection(change.collection);
        if (def == nullptr) continue;  // the server only sends what our schema version defines
        // A version far ahead of our clock is still merged (the server accepted it); the clock
        // just refuses to jump that far.
        Status observed = txn.ObserveHlc(change.version.hlc);
        if (!observed.ok()) Log(LogLevel::kWarning, "replicator", observed.message());
        const RecordKey key{change.collection, change.record_id};
        auto it = touched.find(key);
        if (it == touched.end()) {
          Result<RecordState> state = LoadState(txn, key);
          if (!state.ok()) return state.status();
          it = touched.emplace(key, std::move(*state)).first;
        }
        Result<MergeOutcome> merged = Merge(*def, change, &it->second);
        if (!merged.ok()) {
          Log(LogLevel::kWarning, "replicator",
              "pulled change " + change.change_id + " not merged: " + merged.status().message());
        }
      }
      // After the page's own changes, as the server ordered them (protocol §10).
      for (const RecordRef& gone : page.evicted) {
        touched.erase({gone.collection, gone.record_id});
        FIELDSYNC_RETURN_IF_ERROR(txn.DropRecord(gone.collection, gone.record_id));
      }
    }
    for (const auto& [key, state] : touched) {
      FIELDSYNC_RETURN_IF_ERROR(
          txn.WriteSyncState(key.first, key.second, RecordStateToJson(state).dump()));
      FIELDSYNC_RETURN_IF_ERROR(
          Refresh(txn, *db_->schema().Collection(key.first), key, state, user_.id));
    }
    return txn.WriteCursor(pages.back().next_cursor);
  });
}

}  // namespace fieldsync::sync
