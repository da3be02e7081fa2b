// fieldsync/sync/replicator.h: the tablet's replicator: sync rounds, retries, cancellation,
// progress and an optional background loop.
//
// A Replicator syncs one Database with a fieldsync server over protocol v1 (docs/protocol.md):
//
//   auto http = NewCurlHttpClient({});
//   sync::Replicator repl(db.get(), http.get(), {"https://sync.example.cn", "zhang", pw, dev});
//   repl.SetProgressCallback([](const sync::SyncProgress& p) { ShowBar(p); });
//   Status s = repl.SyncOnce(&progress);  // one round, now, on this thread
//   repl.Start(60'000);                   // or: a round every minute on a thread of its own
//   repl.SyncNow();                       // after a local edit, or when the network came back
//   repl.Stop();                          // cancels a round in progress and joins
//
// A round (SyncOnce) logs in if it has no token, pushes the outbox in batches, then pulls pages
// from the stored cursor until the server has no more:
//   * push: each outbox row becomes one Change per distinct HLC (§5.3). Before it is first sent
//     a row is frozen ('inflight') with the review bases and the add-wins set operations (the
//     difference between the set the user wrote and the one the record showed) it will carry,
//     so every retry sends the same bytes (§6). A re-creation row (a Put over a tombstone) sends
//     its first Change with `recreate`. applied/duplicate: the row leaves the outbox and its
//     changes join the record's merge state; refused: the row moves to the dead letters with the
//     server's code and reason, the rest of the batch goes on. Either way the record is then
//     materialized again from its merge state plus its unsent rows, as a pull does.
//   * pull: every page is merged (sync::Merge) into the records' merge states, the records are
//     materialized (with their unsent local edits on top) and the cursor advances, all in one
//     local transaction: a page is applied whole with its cursor, or not at all.
//   * time: the server's time_ms of the round's fastest exchange sets the HLC skew estimate (§8).
//   * the device list: each pull reports the outbox count (`pending`) the server shows admins.
//
// Tokens (protocol §3.3, §3.6). A login gives a short-lived access token and a refresh token,
// both kept in memory only. When a request is refused 401 (expired, or ended) the replicator
// trades the refresh token for new tokens (POST /v1/refresh), without the password, and repeats
// the request; only if that is refused too does it log in with the password, at most once a
// round. A token that is refused right after it was issued is not renewed again: the round fails
// FailedPrecondition. Logout() ends the device's tokens on the server.
//
// REMOTE WIPE (protocol §3.8). When the server answers device_revoked (an administrator revoked
// this device), the round stops at once and, after it has stopped using the Database (outside
// round_wrapper, with the round lock still held), the replicator calls
// ReplicatorOptions::erase_database, which closes the Database and destroys it with its key. It
// then reports the wipe to the server (POST /v1/wipe-done) with the receipt the refusal carried,
// and the round returns DeviceRevoked. From then on the replicator never touches the Database
// again: every SyncOnce returns DeviceRevoked at once (retrying the erase or the report if one
// failed), the background loop ends once both are done, and LastRound() tells the host whether
// the database was erased and the server told. The host deletes its copy of the key (the
// passphrase or the raw key in its key store) when it sees DeviceRevoked.
//
// Retries (protocol §4): a transport error (Unavailable from the HttpClient), a 5xx or a 429 is
// retried within the round, each HTTP call up to RetryPolicy::max_attempts times. The wait before
// retry n (n = 0, 1, ...) is "full jitter": uniform in [0, min(max_delay_ms, initial_delay_ms *
// 2^n)], so tablets that lost the network together do not come back together. A Retry-After from
// the server (seconds or an HTTP-date) replaces that wait, capped at max_retry_after_ms. Every
// request may be repeated: push is idempotent (§6), pull and login change nothing a repeat could
// double. When the attempts run out the round returns Unavailable and the outbox rows stay for
// the next round.
//
// Cancellation: Cancel() (any thread) stops the rounds in progress at the next safe point: before
// an HTTP call, between pages and batches, and at once during a wait. An HTTP exchange already
// under way is finished first (it is bounded by the request timeout) and its result applied, so
// nothing the server acknowledged is forgotten. The round then returns Cancelled. Rounds started
// after Cancel() returned are not affected.
//
// One round at a time: a SyncOnce while another round (another thread's SyncOnce, or the
// background loop's) is running returns Unavailable ("a sync round is already running") at once,
// without waiting; the running round will carry the caller's edits if they were made before its
// push, and otherwise SyncNow() asks the loop for another.
//
// Background loop: Start(interval) runs a round at once, then one per interval; after a failed
// round it waits the backoff delay instead (the same formula with n = failures in a row, at
// least initial_delay_ms) or the server's Retry-After. SyncNow() ends the wait early. Stop()
// cancels the round in progress, joins the thread and is idempotent; the destructor calls it.
//
// Waits go through ReplicatorOptions::wait when set (tests: record the delay, return at once);
// by default they block on a condition variable that Cancel, SyncNow and Stop notify.
//
// Not here yet: 413 splitting (a batch over the server's limits fails the round).
//
// Thread safety: every method may be called from any thread. The progress callback runs on the
// thread of the round, without any replicator lock held; it must not call Stop() or destroy the
// Replicator. `db` and `http` are not owned and must outlive the Replicator, or until
// erase_database has destroyed `db`.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "fieldsync/database.h"
#include "fieldsync/http_client.h"
#include "fieldsync/status.h"
#include "fieldsync/sync/wire_format.h"

namespace fieldsync::sync {

// How HTTP calls are retried within a round, and how the background loop backs off.
struct RetryPolicy {
  int max_attempts = 3;                         // per HTTP call; 1: never retry within a round
  int64_t initial_delay_ms = 1000;              // protocol §4: from 1 s, doubling ...
  int64_t max_delay_ms = 5 * 60 * 1000;         // ... capped at 5 minutes
  int64_t max_retry_after_ms = 10 * 60 * 1000;  // a longer Retry-After is cut to this
};

struct ReplicatorOptions {
  std::string server_url;  // "https://sync.example.cn", no trailing slash needed
  std::string user;
  std::string password;
  std::string device_name;         // for people: "张伟的 iPad"
  std::string device_platform;     // "ios 17.2"
  int64_t request_timeout_ms = 0;  // 0: the HttpClient's default
  RetryPolicy retry;
  // Replaces every wait (backoff, Retry-After, the loop's interval). It must return after at
  // most `delay_ms`, and should return early once `interrupted()` is true; the replicator checks
  // for cancellation again when it returns. Empty: a real wait that Cancel/SyncNow/Stop end.
  std::function<void(int64_t delay_ms, const std::function<bool()>& interrupted)> wait;
  // Seeds the jitter; 0: a seed from SecureRandom. Tests fix it to repeat a sequence.
  uint64_t jitter_seed = 0;
  // Runs each round inside it (`round` is the whole round). The C API holds its handle's lock
  // for the round this way. Empty: the round runs directly.
  std::function<Status(const std::function<Status()>& round)> round_wrapper;
  // Pulled pages are fetched until they hold this many changes, then applied in one local
  // transaction with the cursor (a cut or Cancel loses only the unapplied batch, which the next
  // round pulls again). Bigger batches mean fewer commits; 1 applies each page alone.
  size_t pull_changes_per_transaction = 10000;
  // REMOTE WIPE: closes the Database and destroys it with its key (Database::Clear(db,
  // /*force=*/true)), after making sure no other thread uses it; the host's handle to it must be
  // gone afterwards (reset its unique_ptr). Called on the round's thread, outside round_wrapper,
  // once the round has stopped using the Database; called again by later rounds while it fails.
  // Empty: the replicator cannot close a Database it does not own, so it only stops using it
  // and returns DeviceRevoked saying the host must erase it.
  std::function<Status()> erase_database;
};

// Where a round is.
enum class SyncPhase {
  kLogin,    // logging in
  kPush,     // sending the outbox
  kPull,     // receiving pages
  kWaiting,  // waiting before a retry (backoff or Retry-After)
  kDone,     // the round has ended (successfully or not); the numbers are final
};

const char* SyncPhaseName(SyncPhase phase);  // "login", "push", ...

// What one round moved. Bytes are HTTP bytes as written and read (HttpResponse), retries and
// failed attempts with a response included.
struct SyncProgress {
  SyncPhase phase = SyncPhase::kDone;
  int64_t changes_pushed = 0;   // acknowledged by the server (applied or duplicate)
  int64_t changes_refused = 0;  // moved to the dead letters
  int64_t changes_pulled = 0;   // received in pull pages that were applied
  int64_t bytes_sent = 0;
  int64_t bytes_received = 0;
  int64_t retries = 0;  // HTTP calls repeated after a retryable failure
};

// Called with the round's totals so far (cumulative, never decreasing) whenever they or the phase
// change: after every HTTP exchange, push batch and pull page, before every wait, and once at
// the end with phase kDone and the same numbers SyncOnce reports.
using ProgressCallback = std::function<void(const SyncProgress&)>;

// The last round that ended, for hosts that poll (e.g. a status line).
struct RoundReport {
  bool finished = false;  // false until a round has ended
  Status status;
  SyncProgress progress;
  int64_t ended_at_ms = 0;       // device wall clock
  int consecutive_failures = 0;  // rounds in a row that did not succeed
  // REMOTE WIPE: the server revoked this device (status is then DeviceRevoked), whether the
  // database was erased, and whether the server has the report.
  bool device_revoked = false;
  bool erased = false;
  bool wipe_reported = false;
};

class Replicator {
 public:
  Replicator(Database* db, HttpClient* http, ReplicatorOptions options);
  ~Replicator();  // Stop()
  Replicator(const Replicator&) = delete;
  Replicator& operator=(const Replicator&) = delete;

  // One sync round on this thread; `progress` (may be null) is reset and filled in. Errors say
  // what to do: Unavailable retry later (network, server, or another round running);
  // Cancelled: Cancel() or Stop(); FailedPrecondition (forbidden, wrong password, ...) needs a
  // person; DeviceRevoked: the device was revoked and the database erased (REMOTE WIPE; the
  // message says if erasing failed); Corruption: a bug or a bad server.
  Status SyncOnce(SyncProgress* progress);

  // Ends this device's tokens on the server (POST /v1/logout) and forgets them; the next round
  // logs in with the password. OK when there was nothing to end. Unavailable while a round runs,
  // or when the server cannot be reached (the tokens are forgotten all the same).
  Status Logout();

  // Cancels the rounds in progress (see the file comment). Returns at once.
  void Cancel();

  // Replaces the progress callback (empty: none). Takes effect from the next report.
  void SetProgressCallback(ProgressCallback callback);

  // Starts the background loop (see the file comment). InvalidArgument if interval_ms <= 0,
  // FailedPrecondition if it already runs.
  Status Start(int64_t interval_ms);
  // Asks the loop for a round now (a no-op when no loop runs).
  void SyncNow();
  // Stops the loop: cancels its round, joins its thread. Idempotent.
  void Stop();
  // Whether the loop runs: false after Stop(), and once it ended by itself after a remote wipe.
  bool running() const { return loop_running_.load(); }

  RoundReport LastRound() const;

 private:
  struct Round;
  // One round unless another runs (*busy then set, Unavailable). Loop rounds also stop on stop_.
  Status RunRound(SyncProgress* progress, bool loop_round, bool* busy);
  Status RoundBody(Round& round);
  Status Login(Round& round);
  Status LoginExchange(Round& round);
  // After a 401: new tokens from the refresh token, else from the password (once a round).
  Status RenewTokens(Round& round);
  Status RefreshExchange(Round& round);
  // Takes the tokens of a login or refresh response.
  void TakeTokens(const LoginResponse& response);
  // REMOTE WIPE: from a device_revoked answer on, the Database is not used again; erases it (if
  // not yet) and reports it (if not yet).
  Status OnRevoked(Round& round);
  Status EraseAndReport(Round& round);
  // The device's clock while the Database lives, the system clock after it was erased.
  int64_t NowMs() const;
  Result<HttpResponse> Call(Round& round, const std::string& method, const std::string& path,
                            const std::string& body, bool authenticated);
  Result<HttpResponse> SendWithRetries(Round& round, const HttpRequest& request);
  Status Push(Round& round);
  Status Pull(Round& round);
  Status ApplyPulledPages(const std::vector<PullResponse>& pages);
  void Report(Round& round);
  // Waits delay_ms or until interrupted() (checked under wait_mu_).
  void Wait(int64_t delay_ms, const std::function<bool()>& interrupted);
  void Notify();
  int64_t BackoffDelayMs(int n);  // full jitter
  void Loop(int64_t interval_ms);

  Database* const db_;
  HttpClient* const http_;
  const ReplicatorOptions options_;

  const std::string node_id_;  // the Database's, kept for after it is erased

  std::mutex round_mu_;        // held for a whole round: one at a time (try_lock: busy otherwise)
  std::string token_;          // guarded by round_mu_
  std::string refresh_token_;  // guarded by round_mu_; empty: none
  // REMOTE WIPE, guarded by round_mu_. Once revoked_ is set, db_ is never used again.
  bool revoked_ = false;
  bool erased_ = false;
  bool wipe_reported_ = false;
  std::string wipe_receipt_;
  UserInfo user_;  // guarded by round_mu_
  Limits limits_;  // guarded by round_mu_

  // Cancel() bumps it; a round is cancelled once it differs from the value it started with.
  std::atomic<uint64_t> cancel_epoch_{0};

  mutable std::mutex state_mu_;
  ProgressCallback callback_;                   // guarded by state_mu_
  RoundReport last_;                            // guarded by state_mu_
  std::mt19937_64 jitter_;                      // guarded by state_mu_
  std::optional<int64_t> last_retry_after_ms_;  // guarded by state_mu_: of the last round

  std::mutex wait_mu_;  // pairs with wait_cv_; notifiers take it so no wake-up is lost
  std::condition_variable wait_cv_;
  std::atomic<bool> wake_{false};  // SyncNow() since the loop's last round started
  std::atomic<bool> stop_{false};

  std::mutex loop_mu_;  // serializes Start/Stop
  std::thread loop_;    // guarded by loop_mu_
  std::atomic<bool> loop_running_{false};
};

}  // namespace fieldsync::sync
