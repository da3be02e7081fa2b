// fieldsync/sync/replicator.h: the tablet's replicator, one sync round at a time.
//
// A Replicator syncs one Database with a fieldsync server over protocol v1 (docs/protocol.md):
//
//   auto http = NewCurlHttpClient({});
//   sync::Replicator repl(db.get(), http.get(), {"https://sync.example.cn", "zhang", pw, dev});
//   sync::SyncProgress progress;
//   Status s = repl.SyncOnce(&progress);
//
// A round (SyncOnce) logs in if it has no token (and again once on a 401), pushes the outbox in
// batches, then pulls pages from the stored cursor until the server has no more:
//   * push: each outbox row becomes one Change per distinct HLC (§5.3). Before it is first sent
//     a row is frozen ('inflight') with the review bases it will carry, so every retry sends the
//     same bytes (§6). applied/duplicate: the row leaves the outbox and its changes join the
//     record's merge state; refused: the row moves to the dead letters with the server's code and
//     reason, the rest of the batch goes on. A transport error or 5xx ends the round with the
//     rows still in the outbox: the next round sends them again.
//   * pull: every page is merged (sync::Merge) into the records' merge states, the records are
//     materialized (with their unsent local edits on top) and the cursor advances, all in one
//     local transaction.
//   * time: the server's time_ms of the round's fastest exchange sets the HLC skew estimate (§8).
//
// Not here yet: backoff and Retry-After handling (a failed round returns its Status and the
// caller decides when to call again), a background loop, cancellation, 413 splitting, the C API.
//
// Thread safety: SyncOnce may be called from any thread; rounds are serialized (one at a time
// per Replicator). `db` and `http` are not owned and must outlive the Replicator.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "fieldsync/database.h"
#include "fieldsync/http_client.h"
#include "fieldsync/status.h"
#include "fieldsync/sync/wire_format.h"

namespace fieldsync::sync {

struct ReplicatorOptions {
  std::string server_url;  // "https://sync.example.cn", no trailing slash needed
  std::string user;
  std::string password;
  std::string device_name;         // for people: "张伟的 iPad"
  std::string device_platform;     // "ios 17.2"
  int64_t request_timeout_ms = 0;  // 0: the HttpClient's default
};

// What one round moved. Bytes are HTTP bytes as written and read (HttpResponse).
struct SyncProgress {
  int64_t changes_pushed = 0;   // acknowledged by the server (applied or duplicate)
  int64_t changes_refused = 0;  // moved to the dead letters
  int64_t changes_pulled = 0;   // received in pull pages
  int64_t bytes_sent = 0;
  int64_t bytes_received = 0;
};

class Replicator {
 public:
  Replicator(Database* db, HttpClient* http, ReplicatorOptions options);
  Replicator(const Replicator&) = delete;
  Replicator& operator=(const Replicator&) = delete;

  // One sync round; `progress` (may be null) is reset and filled in. Errors say what to do:
  // Unavailable retry later; FailedPrecondition (forbidden, schema too new for every push, ...)
  // needs a person; Corruption: a bug or a bad server.
  Status SyncOnce(SyncProgress* progress);

 private:
  struct Round;
  Status Login(Round& round);
  Result<HttpResponse> Call(Round& round, const std::string& method, const std::string& path,
                            const std::string& body, bool authenticated);
  Status Push(Round& round);
  Status Pull(Round& round);

  Database* const db_;
  HttpClient* const http_;
  const ReplicatorOptions options_;

  std::mutex round_mu_;  // held for a whole SyncOnce: one round at a time
  std::string token_;    // guarded by round_mu_
  UserInfo user_;        // guarded by round_mu_
  Limits limits_;        // guarded by round_mu_
};

}  // namespace fieldsync::sync
