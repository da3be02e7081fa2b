/* fieldsync/fieldsync_sync.h: the replicator in the C API (link fieldsync::sync).
 *
 * Syncs a fieldsync_db (fieldsync/fieldsync.h) with a fieldsync server over protocol v1. A thin
 * shell over fieldsync::sync::Replicator (fieldsync/sync/replicator.h), whose header describes
 * a round, the retries, cancellation and the loop in full. The conventions are fieldsync.h's:
 * opaque handles, `fieldsync_error* out_error` last (may be NULL, written only on failure), JSON
 * text in, strings out released with fieldsync_free, NULL arguments are INVALID_ARGUMENT naming
 * the parameter, nothing throws. Compiles as C99, C11 and C++.
 *
 *   fieldsync_replicator* repl = fieldsync_replicator_new(db,
 *       "{\"server_url\":\"https://sync.example.cn\",\"user\":\"zhang\",\"password\":\"...\"}",
 *       &err);
 *   fieldsync_sync_progress progress;
 *   if (!fieldsync_replicator_sync_once(repl, &progress, &err)) {  // one round, now
 *     if (err.code == FIELDSYNC_ERR_UNAVAILABLE) { ... offline, or a round already running ... }
 *   }
 *   fieldsync_replicator_start(repl, 60000, &err);  // or: a round a minute on its own thread
 *   fieldsync_replicator_sync_now(repl);            // after an edit, when the network is back
 *   fieldsync_replicator_free(repl);                // stops the loop; before fieldsync_db_close
 *
 * ROUND RESULTS (the error codes of a round)
 *   UNAVAILABLE          the network or the server failed after the retries, or another round
 *                        of this replicator is running (returned at once: rounds never overlap
 *                        and never queue). Try again later; nothing is lost.
 *   CANCELLED            cancelled (fieldsync_replicator_cancel or _stop). Pages applied so far
 *                        stay applied, with their cursor.
 *   FAILED_PRECONDITION  the server refuses this user or device, the password is wrong, or the
 *                        database handle was closed by a failed fieldsync_db_clear: a person
 *                        must act.
 *   DEVICE_REVOKED       an administrator revoked this device: the database was erased (see
 *                        REMOTE WIPE). Every later round returns it at once.
 *   CORRUPTION, INTERNAL a bug or a bad server: report it.
 *
 * TOKENS
 *   A login gives a short-lived access token and a refresh token, held in memory only. An
 *   expired access token is renewed with the refresh token, without the password; the password
 *   is sent again only when the refresh token is refused (expired, or the session ended by a
 *   logout, a password reset or a new login on this device). fieldsync_replicator_logout ends
 *   the device's tokens on the server.
 *
 * REMOTE WIPE
 *   When the server answers that this device was revoked, the round stops, then (once it no
 *   longer uses the database, with the handle's lock held exclusively, so every other call on
 *   `db` has finished) the replicator erases the database: the wrapped data key is shredded and
 *   the files deleted, as fieldsync_db_clear does. It then tells the server (POST /v1/wipe-done)
 *   and the round fails with DEVICE_REVOKED; the message says if erasing failed. The `db`
 *   handle stays allocated but empty: every call on it but close and clear fails with
 *   FAILED_PRECONDITION, so a thread that still holds it cannot reach freed memory. The host
 *   then: stops using `db`; calls fieldsync_replicator_free, then fieldsync_db_clear(db, true, ...)
 *   (which frees the handle and finishes the erasure if the replicator's attempt failed) or
 *   fieldsync_db_close; and deletes its own copy of the key (passphrase or raw key in the key
 *   store). With the background loop, the kDone progress callback and
 *   fieldsync_replicator_last_round report DEVICE_REVOKED; the loop ends once the database is
 *   erased and the server told.
 *
 * LIFETIME AND THREADS
 *   The replicator uses `db` until fieldsync_replicator_free returns: free it before closing or
 *   clearing the database. Every function may be called from any thread, except that
 *   fieldsync_replicator_free must be the last call on the handle. A round holds the database
 *   handle's lock shared (as any fieldsync_db_* call does), so fieldsync_db_change_key and
 *   fieldsync_db_rotate_key wait for the round to end.
 *
 *   The progress callback runs on the round's thread (the caller of _sync_once, or the loop's
 *   thread). Copy what it needs and return: it must not call fieldsync_replicator_stop or _free,
 *   nor change the database's key.
 */
#ifndef FIELDSYNC_FIELDSYNC_SYNC_H_
#define FIELDSYNC_FIELDSYNC_SYNC_H_

#include "fieldsync/fieldsync.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Opaque handle to a replicator of one database. */
typedef struct fieldsync_replicator fieldsync_replicator;

/* Where a round is (fieldsync::sync::SyncPhase). */
enum {
  FIELDSYNC_SYNC_PHASE_LOGIN = 0,
  FIELDSYNC_SYNC_PHASE_PUSH = 1,
  FIELDSYNC_SYNC_PHASE_PULL = 2,
  FIELDSYNC_SYNC_PHASE_WAITING = 3, /* before a retry: backoff or the server's Retry-After */
  FIELDSYNC_SYNC_PHASE_DONE = 4     /* the round ended; the numbers are final */
};

/* What a round has moved so far. Totals since the round began, never decreasing. */
typedef struct fieldsync_sync_progress {
  int phase;               /* FIELDSYNC_SYNC_PHASE_* */
  int64_t changes_pushed;  /* acknowledged by the server (applied or duplicate) */
  int64_t changes_refused; /* moved to the dead letters (fieldsync_db_dead_letters) */
  int64_t changes_pulled;  /* received in pages that were applied */
  int64_t bytes_sent;      /* HTTP bytes, headers included */
  int64_t bytes_received;
  int64_t retries; /* HTTP calls repeated after a retryable failure */
} fieldsync_sync_progress;

/* Called with the round's totals after every HTTP exchange, push batch and pull page, before
 * every wait, and once at the end with FIELDSYNC_SYNC_PHASE_DONE. `progress` is valid only
 * during the call. */
typedef void (*fieldsync_progress_fn)(const fieldsync_sync_progress* progress, void* user_data);

/* A replicator for `db`. `options_json` is a JSON object; an unknown member or a bad value is
 * INVALID_ARGUMENT naming it (never quoting the password):
 *   "server_url":         "https://sync.example.cn"   required, http or https
 *   "user":               "zhang"                     required
 *   "password":           "..."                       required
 *   "device_name":        "张伟的 iPad"                shown to administrators
 *   "device_platform":    "ios 17.2"
 *   "request_timeout_ms": 60000      whole-request deadline
 *   "ca_bundle_path":     "/path/ca.pem"   trust only these CAs (see fieldsync/http_client.h)
 *   "pinned_public_key":  "sha256//..."    the server's public key must match
 *   "retry": {"max_attempts": 3, "initial_delay_ms": 1000, "max_delay_ms": 300000,
 *             "max_retry_after_ms": 600000}
 *     Each HTTP call is tried up to max_attempts times. Between tries it waits a random time
 *     in [0, min(max_delay_ms, initial_delay_ms * 2^n)] ("full jitter"), or the server's
 *     Retry-After (capped at max_retry_after_ms). */
fieldsync_replicator* fieldsync_replicator_new(fieldsync_db* db, const char* options_json,
                                               fieldsync_error* out_error) FIELDSYNC_NOEXCEPT;

/* Stops the loop (cancelling its round), then frees the handle. NULL is a no-op. No round
 * started by fieldsync_replicator_sync_once may be in progress. */
void fieldsync_replicator_free(fieldsync_replicator* repl) FIELDSYNC_NOEXCEPT;

/* Runs one round on the calling thread. `out_progress` (may be NULL) receives what the round
 * moved, whether it succeeded or not. See ROUND RESULTS for the errors. */
bool fieldsync_replicator_sync_once(fieldsync_replicator* repl,
                                    fieldsync_sync_progress* out_progress,
                                    fieldsync_error* out_error) FIELDSYNC_NOEXCEPT;

/* Cancels the rounds in progress at their next safe point (at once during a wait); they fail
 * with CANCELLED. Rounds started after this returns are not affected. NULL is a no-op. */
void fieldsync_replicator_cancel(fieldsync_replicator* repl) FIELDSYNC_NOEXCEPT;

/* Sets the progress callback (NULL `fn`: none). */
bool fieldsync_replicator_set_progress_callback(fieldsync_replicator* repl,
                                                fieldsync_progress_fn fn, void* user_data,
                                                fieldsync_error* out_error) FIELDSYNC_NOEXCEPT;

/* Starts the background loop: a round now, then one every `interval_ms`; after a failed round
 * it backs off (as between retries, at least initial_delay_ms) or waits the server's
 * Retry-After. INVALID_ARGUMENT if interval_ms <= 0, FAILED_PRECONDITION if it already runs. */
bool fieldsync_replicator_start(fieldsync_replicator* repl, int64_t interval_ms,
                                fieldsync_error* out_error) FIELDSYNC_NOEXCEPT;

/* Asks the loop for a round now (no-op when the loop is not running, or `repl` is NULL). */
void fieldsync_replicator_sync_now(fieldsync_replicator* repl) FIELDSYNC_NOEXCEPT;

/* Stops the loop: cancels its round and waits for its thread. Idempotent; NULL is a no-op. */
void fieldsync_replicator_stop(fieldsync_replicator* repl) FIELDSYNC_NOEXCEPT;

/* Ends this device's tokens on the server (POST /v1/logout) and forgets them; the next round
 * logs in with the password. True when there was nothing to end. UNAVAILABLE while a round
 * runs, or when the server cannot be reached (the tokens are forgotten all the same). */
bool fieldsync_replicator_logout(fieldsync_replicator* repl,
                                 fieldsync_error* out_error) FIELDSYNC_NOEXCEPT;

/* The last round that ended (by _sync_once or the loop): returns its code (FIELDSYNC_OK or a
 * FIELDSYNC_ERR_*), or -1 if no round has ended yet (or `repl` is NULL). `out_progress` (may be
 * NULL) receives its totals; `out_round_error` (may be NULL) its code and message when the code
 * is not FIELDSYNC_OK. */
int fieldsync_replicator_last_round(fieldsync_replicator* repl,
                                    fieldsync_sync_progress* out_progress,
                                    fieldsync_error* out_round_error) FIELDSYNC_NOEXCEPT;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* FIELDSYNC_FIELDSYNC_SYNC_H_ */
