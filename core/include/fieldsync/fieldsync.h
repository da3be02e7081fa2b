/* fieldsync/fieldsync.h: the C API, what a Swift, Kotlin or Dart host binds to.
 *
 * This header is the whole published C interface: it includes only <stdbool.h>, <stddef.h> and
 * <stdint.h>, compiles as C99, C11 and C++, and no C++ type or exception crosses it. It is a
 * thin shell over fieldsync::Database (fieldsync/database.h); the semantics of each call are
 * those of the C++ method it names.
 *
 *   fieldsync_key key = {FIELDSYNC_KEY_RAW, NULL, key_bytes, 32};
 *   fieldsync_error err;
 *   fieldsync_db* db = fieldsync_db_create("rep.db", &key, "{\"default_region\":\"CN\"}", &err);
 *   if (db == NULL) { printf("%s: %s\n", fieldsync_error_code_name(err.code), err.message); }
 *   char* id = fieldsync_db_put(db, "customers", "{\"kind\":\"person\",\"name\":\"张伟\"}", &err);
 *   char* hits = fieldsync_db_search(db, "zw", 20, &err);  // pinyin initials find 张伟
 *   fieldsync_free(hits);
 *   fieldsync_free(id);
 *   fieldsync_db_close(db);
 *
 * HANDLES
 *   fieldsync_db is opaque: an open database. It lives from fieldsync_db_open/_create until
 *   fieldsync_db_close, or until a successful fieldsync_db_clear. A database erased by its
 *   replicator on the server's order (fieldsync/fieldsync_sync.h, REMOTE WIPE) leaves the handle
 *   alive but empty: every call but close and clear then fails with FAILED_PRECONDITION.
 *
 * ERRORS
 *   The last parameter of every fallible call is `fieldsync_error* out_error`. A caller may pass
 *   NULL if it does not care about the error. It is written only when the call fails (a call that
 *   succeeds leaves it untouched), and failure shows in the return value: NULL for pointers,
 *   false for bool. `code` is one of FIELDSYNC_ERR_* (the numbers of fieldsync::StatusCode), and
 *   tells the caller what to do next:
 *     INVALID_ARGUMENT     the input is wrong: fix it, do not retry as is. Record validation
 *                          names every bad field ("phones[0]: ...; grade: ..."), a bad option
 *                          its member, a NULL argument its parameter.
 *     NOT_FOUND            the named record or database does not exist
 *     ALREADY_EXISTS       it exists and the call would overwrite it
 *     WRONG_KEY            the key does not open this database: ask the user again
 *     CORRUPTION           data failed authentication or is damaged: stop, do not retry
 *     IO_ERROR             the operating system failed the call (disk full, permission, ...)
 *     UNAVAILABLE          transient (busy, locked): retry the same call later
 *     ABORTED              a higher-level operation must restart
 *     FAILED_PRECONDITION  the state does not allow it (changes not yet synced, database open);
 *                          change the state first
 *     INTERNAL             a bug in fieldsync (including any C++ exception caught at this
 *                          boundary, and running out of memory)
 *     CANCELLED            the host asked to stop (fieldsync_replicator_cancel); what was
 *                          applied before stays applied, the rest is done by the next round
 *     DEVICE_REVOKED       the server revoked this device and the replicator erased the
 *                          database and its key (fieldsync/fieldsync_sync.h, REMOTE WIPE):
 *                          delete the host's copy of the key, close the handle, sign in anew
 *                          only on a new database
 *   `message` is readable English naming what was wrong, always NUL-terminated and valid UTF-8.
 *   A longer message is cut at a character boundary (never inside a multibyte sequence) and
 *   ends with "...".
 *
 * STRINGS
 *   Strings in and out are NUL-terminated UTF-8. Records, patches, options and query results
 *   are JSON text. Every char* a call returns is the caller's, to release with fieldsync_free.
 *   NULL for a required argument is INVALID_ARGUMENT naming the parameter, never a crash.
 *
 * KEYS
 *   A fieldsync_key says where the key-encryption key comes from: a passphrase (stretched with
 *   scrypt, about 0.1 s per open) or a 32-byte raw key held by the platform keystore. fieldsync
 *   copies the key material into memory it wipes after use; the caller may wipe its own buffer as
 *   soon as the call returns. A zero-initialized fieldsync_key is invalid (kind 0).
 *
 * THREAD SAFETY
 *   As for fieldsync::Database: a fieldsync_db may be used from several threads at once (a UI
 *   thread and a sync thread); reads never wait for a write in progress. fieldsync_db_change_key
 *   and fieldsync_db_rotate_key wait for the calls in progress on the handle and hold it alone
 *   while they run. fieldsync_db_close and fieldsync_db_clear end the handle: no other call on
 *   it may be in progress or follow. The free functions are thread-safe.
 *
 * NOTHING THROWS
 *   Every entry point is noexcept in C++ terms: exceptions from the C++ core are caught at this
 *   boundary and reported as FIELDSYNC_ERR_INTERNAL.
 */
#ifndef FIELDSYNC_FIELDSYNC_H_
#define FIELDSYNC_FIELDSYNC_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define FIELDSYNC_NOEXCEPT noexcept
extern "C" {
#else
#define FIELDSYNC_NOEXCEPT
#endif

/* The library version; fieldsync_version() returns the same string. */
#define FIELDSYNC_VERSION "0.1.0"

/* ---- Errors -------------------------------------------------------------------------------- */

/* Error codes: the values of fieldsync::StatusCode, which never change once shipped. */
enum {
  FIELDSYNC_OK = 0,
  FIELDSYNC_ERR_INVALID_ARGUMENT = 1,
  FIELDSYNC_ERR_NOT_FOUND = 2,
  FIELDSYNC_ERR_ALREADY_EXISTS = 3,
  FIELDSYNC_ERR_WRONG_KEY = 4,
  FIELDSYNC_ERR_CORRUPTION = 5,
  FIELDSYNC_ERR_IO_ERROR = 6,
  FIELDSYNC_ERR_UNAVAILABLE = 7,
  FIELDSYNC_ERR_ABORTED = 8,
  FIELDSYNC_ERR_FAILED_PRECONDITION = 9,
  FIELDSYNC_ERR_INTERNAL = 10,
  FIELDSYNC_ERR_CANCELLED = 11,
  FIELDSYNC_ERR_DEVICE_REVOKED = 12
};

/* Size of fieldsync_error.message, including its terminating NUL. */
#define FIELDSYNC_ERROR_MESSAGE_SIZE 512

/* Why a call failed; see ERRORS above. */
typedef struct fieldsync_error {
  int code;                                   /* FIELDSYNC_ERR_* */
  char message[FIELDSYNC_ERROR_MESSAGE_SIZE]; /* UTF-8, NUL-terminated */
} fieldsync_error;

/* Stable snake_case name of a code ("wrong_key"), "unknown" for a value out of range. The
 * string is static; never free it. */
const char* fieldsync_error_code_name(int code) FIELDSYNC_NOEXCEPT;

/* ---- Keys ---------------------------------------------------------------------------------- */

enum {
  FIELDSYNC_KEY_PASSPHRASE = 1, /* `passphrase`: non-empty UTF-8, NUL-terminated */
  FIELDSYNC_KEY_RAW = 2         /* `raw_key`: exactly FIELDSYNC_RAW_KEY_SIZE bytes */
};

#define FIELDSYNC_RAW_KEY_SIZE 32

/* Where a database's key comes from. Only the members of `kind` are read. */
typedef struct fieldsync_key {
  int kind; /* FIELDSYNC_KEY_PASSPHRASE or FIELDSYNC_KEY_RAW */
  const char* passphrase;
  const uint8_t* raw_key;
  size_t raw_key_size;
} fieldsync_key;

/* ---- Databases ----------------------------------------------------------------------------- */

/* Opaque handle to an open database. */
typedef struct fieldsync_db fieldsync_db;

/* Creates a new database at `path` (ALREADY_EXISTS if there is one) keyed by `key`.
 *
 * `options_json` may be NULL (all defaults) or a JSON object with any of these members; an
 * unknown member or a bad value is INVALID_ARGUMENT naming it:
 *   "default_region":   "CN"      region of phone numbers written without a +country code
 *   "journal_mode":     "wal" (default) | "rollback"
 *   "sync_mode":        "full" (default) | "normal"
 *   "busy_timeout_ms":  5000      how long to wait for another connection's lock
 *   "cache_size_kib":   2000      page cache per connection
 *   "schema_extension": {...}     host collections and fields added to the built-in schema
 *                                 (an object, or a string holding one; see schema.h)
 *   "agenda":         {"cadence_days": [7, 14, 30, 90, 0]}  days per grade A..E, 0 = never
 *   "classification": {"a_share": 0.7, "b_share": 0.9, "active_within_days": 90,
 *                      "silent_after_days": 90, "lost_after_days": 365}
 *   "hlc":            {"max_drift_ms": 300000, "warn_skew_ms": 60000}
 * Pass the same options to every open of the same database. */
fieldsync_db* fieldsync_db_create(const char* path, const fieldsync_key* key,
                                  const char* options_json,
                                  fieldsync_error* out_error) FIELDSYNC_NOEXCEPT;

/* Opens an existing database: NOT_FOUND if absent, WRONG_KEY if `key` does not open it,
 * CORRUPTION if it is damaged. `options_json` as for fieldsync_db_create. */
fieldsync_db* fieldsync_db_open(const char* path, const fieldsync_key* key,
                                const char* options_json,
                                fieldsync_error* out_error) FIELDSYNC_NOEXCEPT;

/* Closes the database and frees the handle. NULL is a no-op. */
void fieldsync_db_close(fieldsync_db* db) FIELDSYNC_NOEXCEPT;

/* ---- Records ------------------------------------------------------------------------------- */

/* Creates a record in `collection` from a JSON object and returns its id (the object's "id"
 * member, or a new UUID). The record is validated and normalized first (phones to E.164, ...);
 * bad input is INVALID_ARGUMENT naming every bad field, and nothing is written. ALREADY_EXISTS
 * if a live record has that id. */
char* fieldsync_db_put(fieldsync_db* db, const char* collection, const char* json,
                       fieldsync_error* out_error) FIELDSYNC_NOEXCEPT;

/* Changes the given fields of an existing record; null clears an optional field. NOT_FOUND if
 * the record does not exist or is deleted. */
bool fieldsync_db_update(fieldsync_db* db, const char* collection, const char* id,
                         const char* patch_json, fieldsync_error* out_error) FIELDSYNC_NOEXCEPT;

/* Deletes a record, leaving a tombstone that syncs. NOT_FOUND if missing or already deleted. */
bool fieldsync_db_delete(fieldsync_db* db, const char* collection, const char* id,
                         fieldsync_error* out_error) FIELDSYNC_NOEXCEPT;

/* Applies several edits in one transaction: all of them, or none. `edits_json` is an array:
 *   [{"op": "put",    "collection": "customers", "id": "c1", "record": {...}},  id optional
 *    {"op": "update", "collection": "customers", "id": "c1", "record": {...}},  the patch
 *    {"op": "delete", "collection": "customers", "id": "c1"}]
 * Returns the ids in order as a JSON array. Problems name the edit ("edit 2: ...", counting
 * from 1, when there are several) as fieldsync::Database::Apply does. */
char* fieldsync_db_apply(fieldsync_db* db, const char* edits_json,
                         fieldsync_error* out_error) FIELDSYNC_NOEXCEPT;

/* The record as a JSON object with its "id"; NOT_FOUND if missing or deleted. */
char* fieldsync_db_get(fieldsync_db* db, const char* collection, const char* id,
                       fieldsync_error* out_error) FIELDSYNC_NOEXCEPT;

/* Erases a deleted record's data from the file (erasure on request). FAILED_PRECONDITION if the
 * record is not deleted or its delete has not been synced yet. */
bool fieldsync_db_purge(fieldsync_db* db, const char* collection, const char* id,
                        fieldsync_error* out_error) FIELDSYNC_NOEXCEPT;

/* ---- Queries (answered offline) ------------------------------------------------------------ */

/* Customers and contacts whose name, company, phone or email contain `text`, matching simplified
 * and traditional Chinese and pinyin in full or by initials; best match first, at most `limit`
 * (0: 20; negative is INVALID_ARGUMENT). A JSON array of
 *   {"collection": "customers", "id": ..., "field": "name", "score": 0.9, "record": {...}} */
char* fieldsync_db_search(fieldsync_db* db, const char* text, int limit,
                          fieldsync_error* out_error) FIELDSYNC_NOEXCEPT;

/* Visits, orders and contacts of a customer, most recent first, as a JSON array of
 * {"kind": "visit"|"order"|"contact", "id", "at", "record"}. NOT_FOUND if the customer is
 * missing or deleted. */
char* fieldsync_db_timeline(fieldsync_db* db, const char* customer_id,
                            fieldsync_error* out_error) FIELDSYNC_NOEXCEPT;

/* The agenda of `rep` as a JSON object {"rep", "today", "due", "overdue", "not_contacted"}.
 * `now_ms`: milliseconds since the epoch (UTC), 0 for the current time. */
char* fieldsync_db_agenda(fieldsync_db* db, const char* rep, int64_t now_ms,
                          fieldsync_error* out_error) FIELDSYNC_NOEXCEPT;

/* Per customer: ABC class, lifecycle suggestion and RFM scores, as a JSON array.
 * `now_ms` as for fieldsync_db_agenda. */
char* fieldsync_db_classify(fieldsync_db* db, int64_t now_ms,
                            fieldsync_error* out_error) FIELDSYNC_NOEXCEPT;

/* ---- Outbox -------------------------------------------------------------------------------- */

/* Changes waiting to be sent, and the age in seconds of the oldest one (0 when none). Either
 * output may be NULL. */
bool fieldsync_db_pending(fieldsync_db* db, int64_t* count, int64_t* oldest_age_s,
                          fieldsync_error* out_error) FIELDSYNC_NOEXCEPT;

/* Changes the server refused, as a JSON array of
 * {"seq", "change_id", "collection", "record_id", "reason", "failed_at_ms"}. */
char* fieldsync_db_dead_letters(fieldsync_db* db, fieldsync_error* out_error) FIELDSYNC_NOEXCEPT;

/* ---- Keys and lifetime --------------------------------------------------------------------- */

/* Rewraps the data key under `new_key` (a new passphrase, or a new raw key). Touches only the
 * file header: fast whatever the database size. The old key no longer opens the database. */
bool fieldsync_db_change_key(fieldsync_db* db, const fieldsync_key* new_key,
                             fieldsync_error* out_error) FIELDSYNC_NOEXCEPT;

/* Generates a new data key and re-encrypts every page (rewrites the file; needs free space for
 * a second copy). FAILED_PRECONDITION while changes are pending, unless `force`; UNAVAILABLE if
 * another connection (another process) has the database open. */
bool fieldsync_db_rotate_key(fieldsync_db* db, bool force,
                             fieldsync_error* out_error) FIELDSYNC_NOEXCEPT;

/* Closes the database and destroys it: the wrapped key is shredded first, which makes every
 * page unrecoverable, then its files are deleted. On success the handle is freed (do not close
 * it). On failure the handle stays valid and must still be closed:
 *   - FAILED_PRECONDITION while changes are pending and `force` is false: nothing happened, the
 *     database stays open and usable;
 *   - any other failure happens after the database was closed: the handle is then closed too
 *     (every call but close and clear fails with FAILED_PRECONDITION), and calling
 *     fieldsync_db_clear again retries the destruction.
 * A NULL `db` is INVALID_ARGUMENT. */
bool fieldsync_db_clear(fieldsync_db* db, bool force,
                        fieldsync_error* out_error) FIELDSYNC_NOEXCEPT;

/* Destroys the closed database at `path` as fieldsync_db_clear does, without its key.
 * NOT_FOUND if there is none, FAILED_PRECONDITION if this process has it open, CORRUPTION if the
 * file is not a fieldsync database (it is then left alone). */
bool fieldsync_destroy(const char* path, fieldsync_error* out_error) FIELDSYNC_NOEXCEPT;

/* ---- Misc ---------------------------------------------------------------------------------- */

/* Releases a string returned by this API. NULL is a no-op. */
void fieldsync_free(void* p) FIELDSYNC_NOEXCEPT;

/* FIELDSYNC_VERSION of the library linked in (static; never free it). */
const char* fieldsync_version(void) FIELDSYNC_NOEXCEPT;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* FIELDSYNC_FIELDSYNC_H_ */
