/* sync_capi_test.c: two tablets sync through a real fieldsync-server using only the C API
 * (fieldsync/fieldsync.h and fieldsync/fieldsync_sync.h), as a Swift, Kotlin or Dart binding would.
 *
 *   sync_capi_test SERVER_URL PASSWORD WORK_DIR SHARED_CUSTOMER
 *
 * run_sync_capi_test.sh starts the server (tenant minghui, reps zhang and li in team east1, the
 * customer SHARED_CUSTOMER shared with east1) and passes its URL. Each CHECK counts a pass or a
 * failure; the last line is "sync_capi: N passed, M failed", the exit status nonzero on failure.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fieldsync/fieldsync.h"
#include "fieldsync/fieldsync_sync.h"

static int passed;
static int failed;
static fieldsync_error err; /* the error of the last failing call */

static void check(int ok, const char* what, int line) {
  if (ok) {
    ++passed;
    return;
  }
  ++failed;
  printf("FAIL sync_capi_test.c:%d: %s\n  last error: %s (%d): %s\n", line, what,
         fieldsync_error_code_name(err.code), err.code, err.message);
}
#define CHECK(cond) check((cond) ? 1 : 0, #cond, __LINE__)

static int contains(const char* haystack, const char* needle) {
  return haystack != NULL && strstr(haystack, needle) != NULL;
}

static void sleep_ms(long ms) {
  struct timespec t;
  t.tv_sec = ms / 1000;
  t.tv_nsec = (ms % 1000) * 1000000L;
  nanosleep(&t, NULL);
}

/* What the progress callback saw. */
typedef struct seen_progress {
  int calls;
  int done_calls;
  int decreased; /* a total went down between two calls of one round */
  fieldsync_sync_progress last;
} seen_progress;

static void on_progress(const fieldsync_sync_progress* p, void* user_data) {
  seen_progress* seen = (seen_progress*)user_data;
  if (seen->calls > 0 &&
      (p->changes_pushed < seen->last.changes_pushed ||
       p->changes_pulled < seen->last.changes_pulled || p->bytes_sent < seen->last.bytes_sent ||
       p->bytes_received < seen->last.bytes_received)) {
    seen->decreased = 1;
  }
  ++seen->calls;
  if (p->phase == FIELDSYNC_SYNC_PHASE_DONE) ++seen->done_calls;
  seen->last = *p;
}

static int same_progress(const fieldsync_sync_progress* x, const fieldsync_sync_progress* y) {
  return x->phase == y->phase && x->changes_pushed == y->changes_pushed &&
         x->changes_refused == y->changes_refused && x->changes_pulled == y->changes_pulled &&
         x->bytes_sent == y->bytes_sent && x->bytes_received == y->bytes_received &&
         x->retries == y->retries;
}

static fieldsync_db* open_tablet(const char* dir, const char* name, uint8_t seed) {
  char path[1024];
  uint8_t raw[FIELDSYNC_RAW_KEY_SIZE];
  fieldsync_key key;
  size_t i;
  for (i = 0; i < sizeof(raw); ++i) raw[i] = (uint8_t)(seed + i);
  key.kind = FIELDSYNC_KEY_RAW;
  key.passphrase = NULL;
  key.raw_key = raw;
  key.raw_key_size = sizeof(raw);
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  return fieldsync_db_create(path, &key, "{\"default_region\":\"CN\"}", &err);
}

static fieldsync_replicator* new_replicator(fieldsync_db* db, const char* url, const char* user,
                                            const char* password) {
  char options[2048];
  snprintf(options, sizeof(options),
           "{\"server_url\":\"%s\",\"user\":\"%s\",\"password\":\"%s\","
           "\"device_name\":\"%s tablet\",\"device_platform\":\"c test\","
           "\"retry\":{\"max_attempts\":2,\"initial_delay_ms\":50,\"max_delay_ms\":200}}",
           url, user, password, user);
  return fieldsync_replicator_new(db, options, &err);
}

static int64_t pending(fieldsync_db* db) {
  int64_t count = -1;
  if (!fieldsync_db_pending(db, &count, NULL, &err)) return -1;
  return count;
}

/* The record as JSON text on `db`, or NULL; the caller frees it. */
static char* get(fieldsync_db* db, const char* id) {
  return fieldsync_db_get(db, "customers", id, &err);
}

static int same_record(fieldsync_db* a, fieldsync_db* b, const char* id) {
  char* on_a = get(a, id);
  char* on_b = get(b, id);
  int same = on_a != NULL && on_b != NULL && strcmp(on_a, on_b) == 0;
  if (!same) printf("  a: %s\n  b: %s\n", on_a ? on_a : "(null)", on_b ? on_b : "(null)");
  fieldsync_free(on_a);
  fieldsync_free(on_b);
  return same;
}

static void bad_options(fieldsync_db* db, const char* url) {
  char options[1024];
  fieldsync_replicator* r;
  r = fieldsync_replicator_new(db, "{\"server_url\":\"x\"", &err);
  CHECK(r == NULL && err.code == FIELDSYNC_ERR_INVALID_ARGUMENT);
  snprintf(options, sizeof(options),
           "{\"server_url\":\"%s\",\"user\":\"zhang\",\"password\":\"s3cret-pw\",\"retyr\":{}}",
           url);
  r = fieldsync_replicator_new(db, options, &err);
  CHECK(r == NULL && err.code == FIELDSYNC_ERR_INVALID_ARGUMENT);
  CHECK(contains(err.message, "retyr"));
  CHECK(!contains(err.message, "s3cret-pw"));
  snprintf(options, sizeof(options), "{\"server_url\":\"%s\",\"user\":\"zhang\"}", url);
  r = fieldsync_replicator_new(db, options, &err);
  CHECK(r == NULL && err.code == FIELDSYNC_ERR_INVALID_ARGUMENT);
  CHECK(contains(err.message, "password"));
  r = fieldsync_replicator_new(NULL, options, &err);
  CHECK(r == NULL && err.code == FIELDSYNC_ERR_INVALID_ARGUMENT && contains(err.message, "db"));
  CHECK(!fieldsync_replicator_sync_once(NULL, NULL, &err));
  CHECK(err.code == FIELDSYNC_ERR_INVALID_ARGUMENT);
  CHECK(fieldsync_replicator_last_round(NULL, NULL, NULL) == -1);
  fieldsync_replicator_free(NULL);
}

int main(int argc, char** argv) {
  const char* url;
  const char* password;
  const char* dir;
  const char* shared;
  fieldsync_db* a;
  fieldsync_db* b;
  fieldsync_replicator* ra;
  fieldsync_replicator* rb;
  fieldsync_replicator* wrong;
  fieldsync_sync_progress progress;
  seen_progress seen;
  char record[1024];
  char* id;
  int code;
  int i;

  if (argc != 5) {
    fprintf(stderr, "usage: sync_capi_test SERVER_URL PASSWORD WORK_DIR SHARED_CUSTOMER\n");
    return 2;
  }
  url = argv[1];
  password = argv[2];
  dir = argv[3];
  shared = argv[4];

  a = open_tablet(dir, "zhang.db", 1);
  b = open_tablet(dir, "li.db", 2);
  CHECK(a != NULL && b != NULL);
  if (a == NULL || b == NULL) return 1;
  bad_options(a, url);

  ra = new_replicator(a, url, "zhang", password);
  rb = new_replicator(b, url, "li", password);
  CHECK(ra != NULL && rb != NULL);
  if (ra == NULL || rb == NULL) return 1;
  CHECK(fieldsync_replicator_last_round(ra, NULL, NULL) == -1);

  /* zhang creates the shared customer and syncs, watching the progress. */
  snprintf(record, sizeof(record),
           "{\"id\":\"%s\",\"kind\":\"company\",\"name\":\"明辉贸易有限公司\","
           "\"owner_rep\":\"zhang\",\"phones\":[\"138 0013 8000\"],\"notes\":\"老客户\"}",
           shared);
  id = fieldsync_db_put(a, "customers", record, &err);
  CHECK(id != NULL && strcmp(id, shared) == 0);
  fieldsync_free(id);
  memset(&seen, 0, sizeof(seen));
  CHECK(fieldsync_replicator_set_progress_callback(ra, on_progress, &seen, &err));
  CHECK(fieldsync_replicator_sync_once(ra, &progress, &err));
  CHECK(progress.changes_pushed == 1);
  CHECK(progress.bytes_sent > 0 && progress.bytes_received > 0);
  CHECK(progress.phase == FIELDSYNC_SYNC_PHASE_DONE);
  CHECK(seen.calls > 2);
  CHECK(seen.done_calls == 1);
  CHECK(!seen.decreased);
  CHECK(same_progress(&seen.last, &progress));
  CHECK(pending(a) == 0);
  CHECK(fieldsync_replicator_last_round(ra, &progress, NULL) == FIELDSYNC_OK);
  CHECK(progress.changes_pushed == 1);
  CHECK(fieldsync_replicator_set_progress_callback(ra, NULL, NULL, &err));

  /* li pulls it. */
  CHECK(fieldsync_replicator_sync_once(rb, &progress, &err));
  CHECK(progress.changes_pulled == 1);
  CHECK(same_record(a, b, shared));

  /* Offline, both edit: li the phones, zhang the grade; the loop on both carries the edits. */
  CHECK(fieldsync_db_update(b, "customers", shared, "{\"phones\":[\"137 0013 7000\"]}", &err));
  CHECK(fieldsync_db_update(a, "customers", shared, "{\"grade\":\"A\"}", &err));
  CHECK(!fieldsync_replicator_start(ra, 0, &err) && err.code == FIELDSYNC_ERR_INVALID_ARGUMENT);
  CHECK(fieldsync_replicator_start(ra, 3600 * 1000, &err));
  CHECK(fieldsync_replicator_start(rb, 3600 * 1000, &err));
  CHECK(!fieldsync_replicator_start(rb, 1000, &err));
  CHECK(err.code == FIELDSYNC_ERR_FAILED_PRECONDITION);
  /* Each loop's first round runs at once; then SyncNow asks for more until both converge. */
  for (i = 0; i < 600; ++i) { /* up to 30 s: the machine may be loaded */
    char* on_a;
    char* on_b;
    int converged;
    sleep_ms(50);
    if (pending(a) != 0 || pending(b) != 0) continue;
    on_a = get(a, shared);
    on_b = get(b, shared);
    converged = on_a != NULL && on_b != NULL && strcmp(on_a, on_b) == 0 &&
                contains(on_a, "\"grade\":\"A\"") && contains(on_a, "+8613700137000");
    fieldsync_free(on_a);
    fieldsync_free(on_b);
    if (converged) break;
    fieldsync_replicator_sync_now(ra);
    fieldsync_replicator_sync_now(rb);
  }
  CHECK(i < 600);
  fieldsync_replicator_stop(ra);
  fieldsync_replicator_stop(rb);
  fieldsync_replicator_stop(rb); /* idempotent */
  CHECK(same_record(a, b, shared));
  CHECK(pending(a) == 0 && pending(b) == 0);
  CHECK(fieldsync_replicator_last_round(rb, NULL, NULL) == FIELDSYNC_OK);

  /* A wrong password: the round fails, and the last round says why (never the password). */
  wrong = new_replicator(b, url, "li", "not-the-password");
  CHECK(wrong != NULL);
  CHECK(!fieldsync_replicator_sync_once(wrong, NULL, &err));
  CHECK(err.code == FIELDSYNC_ERR_FAILED_PRECONDITION && contains(err.message, "401"));
  memset(&err, 0, sizeof(err));
  code = fieldsync_replicator_last_round(wrong, NULL, &err);
  CHECK(code == FIELDSYNC_ERR_FAILED_PRECONDITION && err.code == code);
  CHECK(!contains(err.message, "not-the-password"));
  fieldsync_replicator_free(wrong);

  fieldsync_replicator_free(ra);
  fieldsync_replicator_free(rb);
  fieldsync_db_close(a);
  fieldsync_db_close(b);
  printf("sync_capi: %d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
