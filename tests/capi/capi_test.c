/* capi_test.c: the C API from a C program, as a Swift, Kotlin or Dart binding uses it.
 *
 * Plain C (C11, and C99 for the compile check): it includes only fieldsync/fieldsync.h and the C
 * standard library, plus unistd.h for mkdtemp/access/rmdir. Each CHECK counts a pass or a
 * failure; a failure prints its expression and the last error. The last line of output is
 * "capi: N passed, M failed", and the exit status is nonzero if anything failed.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fieldsync/fieldsync.h"

static int passed;
static int failed;
static fieldsync_error err; /* the error of the last failing call */

static void check(int ok, const char* what, int line) {
  if (ok) {
    ++passed;
    return;
  }
  ++failed;
  printf("FAIL capi_test.c:%d: %s\n  last error: %s (%d): %s\n", line, what,
         fieldsync_error_code_name(err.code), err.code, err.message);
}
#define CHECK(cond) check((cond) ? 1 : 0, #cond, __LINE__)

/* Marks err so a test can see whether a call wrote it. */
static void reset_error(void) {
  err.code = -1;
  strcpy(err.message, "untouched");
}

static int contains(const char* haystack, const char* needle) {
  return haystack != NULL && strstr(haystack, needle) != NULL;
}

/* The last call failed with `code` and a message mentioning `needle`. */
static int failed_with(int code, const char* needle) {
  return err.code == code && contains(err.message, needle);
}

static int file_exists(const char* path) { return access(path, F_OK) == 0; }

/* Well-formed UTF-8 (enough of table 3-7 for this test: no truncated sequences). */
static int valid_utf8(const char* s) {
  const unsigned char* p = (const unsigned char*)s;
  while (*p != 0) {
    int n = *p < 0x80             ? 1
            : (*p & 0xE0) == 0xC0 ? 2
            : (*p & 0xF0) == 0xE0 ? 3
            : (*p & 0xF8) == 0xF0 ? 4
                                  : 0;
    int k;
    if (n == 0) return 0;
    for (k = 1; k < n; ++k) {
      if ((p[k] & 0xC0) != 0x80) return 0;
    }
    p += n;
  }
  return 1;
}

static uint8_t raw_bytes[FIELDSYNC_RAW_KEY_SIZE];
static uint8_t other_raw_bytes[FIELDSYNC_RAW_KEY_SIZE];
static fieldsync_key raw_key;
static fieldsync_key wrong_raw_key;
static fieldsync_key passphrase_key;

static void make_keys(void) {
  int i;
  for (i = 0; i < FIELDSYNC_RAW_KEY_SIZE; ++i) {
    raw_bytes[i] = (uint8_t)(i * 7 + 1);
    other_raw_bytes[i] = (uint8_t)(i * 7 + 2);
  }
  raw_key.kind = FIELDSYNC_KEY_RAW;
  raw_key.raw_key = raw_bytes;
  raw_key.raw_key_size = sizeof(raw_bytes);
  wrong_raw_key = raw_key;
  wrong_raw_key.raw_key = other_raw_bytes;
  passphrase_key.kind = FIELDSYNC_KEY_PASSPHRASE;
  passphrase_key.passphrase = "correct horse battery staple";
}

static void test_version_and_code_names(void) {
  CHECK(strcmp(fieldsync_version(), FIELDSYNC_VERSION) == 0);
  CHECK(strcmp(fieldsync_error_code_name(FIELDSYNC_OK), "ok") == 0);
  CHECK(strcmp(fieldsync_error_code_name(FIELDSYNC_ERR_INVALID_ARGUMENT), "invalid_argument") == 0);
  CHECK(strcmp(fieldsync_error_code_name(FIELDSYNC_ERR_WRONG_KEY), "wrong_key") == 0);
  CHECK(strcmp(fieldsync_error_code_name(FIELDSYNC_ERR_INTERNAL), "internal") == 0);
  CHECK(strcmp(fieldsync_error_code_name(FIELDSYNC_ERR_CANCELLED), "cancelled") == 0);
  CHECK(strcmp(fieldsync_error_code_name(FIELDSYNC_ERR_DEVICE_REVOKED), "device_revoked") == 0);
  CHECK(strcmp(fieldsync_error_code_name(13), "unknown") == 0);
  CHECK(strcmp(fieldsync_error_code_name(-1), "unknown") == 0);
}

static void test_open_refuses_bad_arguments(const char* path) {
  fieldsync_key bad = raw_key;
  fieldsync_key zero;
  memset(&zero, 0, sizeof(zero));

  CHECK(fieldsync_db_create(NULL, &raw_key, NULL, &err) == NULL);
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "path"));
  CHECK(fieldsync_db_open(path, NULL, NULL, &err) == NULL);
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "key"));
  bad.raw_key_size = 16;
  CHECK(fieldsync_db_create(path, &bad, NULL, &err) == NULL);
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "key.raw_key_size must be 32"));
  CHECK(fieldsync_db_create(path, &zero, NULL, &err) == NULL);
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "key.kind"));

  CHECK(fieldsync_db_create(path, &raw_key, "{\"journal_mode\":\"fast\"}", &err) == NULL);
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "options_json.journal_mode"));
  CHECK(fieldsync_db_create(path, &raw_key, "{\"default_regoin\":\"CN\"}", &err) == NULL);
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "default_regoin"));
  CHECK(fieldsync_db_create(path, &raw_key, "{\"agenda\":{\"cadence_days\":[7,14]}}", &err) ==
        NULL);
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "options_json.agenda.cadence_days"));
  CHECK(fieldsync_db_create(path, &raw_key, "{\"busy_timeout_ms\":-5}", &err) == NULL);
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "busy_timeout_ms"));
  CHECK(fieldsync_db_create(path, &raw_key,
                            "{\"schema_extension\":{\"collections\":{\"customers\":{\"fields\":"
                            "{\"grade\":{\"type\":\"text\"}}}}}}",
                            &err) == NULL);
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "options_json.schema_extension"));
  CHECK(fieldsync_db_create(path, &raw_key, "{\"journal_mode\":", &err) == NULL);
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "malformed JSON"));
  CHECK(!file_exists(path));

  CHECK(fieldsync_db_open(path, &raw_key, NULL, &err) == NULL);
  CHECK(err.code == FIELDSYNC_ERR_NOT_FOUND);
}

/* Puts the customer the later tests use; returns its id (caller frees) or NULL. */
static char* test_put_normalizes_and_get_returns_it(fieldsync_db* db) {
  char* id;
  char* record;
  reset_error();
  id = fieldsync_db_put(db, "customers",
                        "{\"kind\":\"person\",\"name\":\"张伟\",\"phones\":[\"138 0013 8000\"],"
                        "\"grade\":\"A\",\"owner_rep\":\"rep-li\"}",
                        &err);
  CHECK(id != NULL && id[0] != '\0');
  CHECK(err.code == -1); /* written only on failure */
  if (id == NULL) return NULL;

  record = fieldsync_db_get(db, "customers", id, &err);
  CHECK(contains(record, "\"+8613800138000\""));
  CHECK(contains(record, "张伟"));
  CHECK(contains(record, id));
  fieldsync_free(record);
  return id;
}

static void test_invalid_records_name_each_field(fieldsync_db* db) {
  int64_t before = -1, after = -2;
  char* id;
  CHECK(fieldsync_db_pending(db, &before, NULL, &err));
  id = fieldsync_db_put(db, "customers",
                        "{\"kind\":\"person\",\"name\":\"李娜\",\"phones\":[\"12345\"],"
                        "\"grade\":\"Z\"}",
                        &err);
  CHECK(id == NULL);
  CHECK(err.code == FIELDSYNC_ERR_INVALID_ARGUMENT);
  CHECK(contains(err.message, "phones[0]"));
  CHECK(contains(err.message, "grade"));
  CHECK(fieldsync_db_pending(db, &after, NULL, &err));
  CHECK(after == before); /* nothing written */
  fieldsync_free(id);

  CHECK(fieldsync_db_put(db, "planets", "{\"name\":\"x\"}", &err) == NULL);
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "planets"));
  CHECK(fieldsync_db_put(db, "customers", "{\"kind\":", &err) == NULL);
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "malformed JSON"));
}

static void test_long_messages_are_cut_at_a_character(fieldsync_db* db) {
  char json[4000];
  size_t used;
  size_t length;
  int i;
  used = (size_t)snprintf(json, sizeof(json), "{\"kind\":\"person\",\"name\":\"王芳\"");
  for (i = 0; i < 60; ++i) {
    used += (size_t)snprintf(json + used, sizeof(json) - used, ",\"未知字段%02d\":1", i);
  }
  snprintf(json + used, sizeof(json) - used, "}");
  CHECK(fieldsync_db_put(db, "customers", json, &err) == NULL);
  CHECK(err.code == FIELDSYNC_ERR_INVALID_ARGUMENT);
  length = strlen(err.message);
  CHECK(length < FIELDSYNC_ERROR_MESSAGE_SIZE);
  CHECK(length >= 3 && strcmp(err.message + length - 3, "...") == 0);
  CHECK(valid_utf8(err.message));
}

static void test_update_delete_get(fieldsync_db* db, const char* id) {
  char* record;
  char* temp;
  reset_error();
  CHECK(fieldsync_db_update(db, "customers", id, "{\"grade\":\"B\"}", &err));
  CHECK(err.code == -1);
  record = fieldsync_db_get(db, "customers", id, &err);
  CHECK(contains(record, "\"grade\":\"B\""));
  fieldsync_free(record);

  CHECK(!fieldsync_db_update(db, "customers", "no-such-id", "{\"grade\":\"C\"}", &err));
  CHECK(err.code == FIELDSYNC_ERR_NOT_FOUND);
  CHECK(!fieldsync_db_delete(db, "customers", "no-such-id", &err));
  CHECK(err.code == FIELDSYNC_ERR_NOT_FOUND);
  CHECK(fieldsync_db_get(db, "customers", "no-such-id", &err) == NULL);
  CHECK(failed_with(FIELDSYNC_ERR_NOT_FOUND, "no-such-id"));

  temp = fieldsync_db_put(db, "customers",
                          "{\"id\":\"c-temp\",\"kind\":\"company\",\"name\":\"临时\"}", &err);
  CHECK(temp != NULL && strcmp(temp, "c-temp") == 0);
  fieldsync_free(temp);
  CHECK(fieldsync_db_put(db, "customers",
                         "{\"id\":\"c-temp\",\"kind\":\"company\",\"name\":\"again\"}",
                         &err) == NULL);
  CHECK(err.code == FIELDSYNC_ERR_ALREADY_EXISTS);
  CHECK(fieldsync_db_delete(db, "customers", "c-temp", &err));
  CHECK(fieldsync_db_get(db, "customers", "c-temp", &err) == NULL);
  CHECK(err.code == FIELDSYNC_ERR_NOT_FOUND);
  /* Its delete has not been sent yet, so its data cannot be purged yet. */
  CHECK(!fieldsync_db_purge(db, "customers", "c-temp", &err));
  CHECK(err.code == FIELDSYNC_ERR_FAILED_PRECONDITION);
}

static void test_apply_is_all_or_nothing(fieldsync_db* db, const char* id) {
  char edits[1024];
  char* ids;
  char* record;

  snprintf(edits, sizeof(edits),
           "[{\"op\":\"put\",\"collection\":\"customers\",\"id\":\"c-minghui\","
           "\"record\":{\"kind\":\"company\",\"name\":\"明辉贸易\"}},"
           "{\"op\":\"update\",\"collection\":\"customers\",\"id\":\"%s\","
           "\"record\":{\"notes\":\"上午拜访\"}}]",
           id);
  ids = fieldsync_db_apply(db, edits, &err);
  CHECK(ids != NULL && ids[0] == '[');
  CHECK(contains(ids, "\"c-minghui\""));
  CHECK(contains(ids, id));
  fieldsync_free(ids);

  /* The second edit fails while writing: the first is rolled back. */
  ids = fieldsync_db_apply(db,
                           "[{\"op\":\"put\",\"collection\":\"customers\",\"id\":\"c-atomic\","
                           "\"record\":{\"kind\":\"company\",\"name\":\"原子\"}},"
                           "{\"op\":\"delete\",\"collection\":\"customers\",\"id\":\"no-such\"}]",
                           &err);
  CHECK(ids == NULL);
  CHECK(err.code == FIELDSYNC_ERR_NOT_FOUND);
  record = fieldsync_db_get(db, "customers", "c-atomic", &err);
  CHECK(record == NULL && err.code == FIELDSYNC_ERR_NOT_FOUND);
  fieldsync_free(record);

  /* The second edit fails validation: nothing is written, and the problem names the edit. */
  ids = fieldsync_db_apply(db,
                           "[{\"op\":\"put\",\"collection\":\"customers\",\"id\":\"c-atomic\","
                           "\"record\":{\"kind\":\"company\",\"name\":\"原子\"}},"
                           "{\"op\":\"put\",\"collection\":\"customers\","
                           "\"record\":{\"kind\":\"robot\",\"name\":\"R2\"}}]",
                           &err);
  CHECK(ids == NULL);
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "edit 2"));
  CHECK(contains(err.message, "kind"));
  CHECK(fieldsync_db_get(db, "customers", "c-atomic", &err) == NULL);

  CHECK(fieldsync_db_apply(db, "{}", &err) == NULL);
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "edits_json"));
  CHECK(fieldsync_db_apply(db, "[{\"op\":\"upsert\",\"collection\":\"customers\"}]", &err) == NULL);
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "op"));
  CHECK(fieldsync_db_apply(db, "[{\"op\":\"update\",\"collection\":\"customers\",\"record\":{}}]",
                           &err) == NULL);
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "id"));
  CHECK(fieldsync_db_apply(db, "[{\"op\":", &err) == NULL);
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "malformed JSON"));
  ids = fieldsync_db_apply(db, "[]", &err);
  CHECK(ids != NULL && strcmp(ids, "[]") == 0);
  fieldsync_free(ids);
}

static void test_search(fieldsync_db* db, const char* id) {
  char* hits = fieldsync_db_search(db, "zw", 0, &err);
  CHECK(contains(hits, id));
  CHECK(contains(hits, "\"collection\":\"customers\""));
  fieldsync_free(hits);
  hits = fieldsync_db_search(db, "张伟", 5, &err);
  CHECK(contains(hits, id));
  fieldsync_free(hits);
  hits = fieldsync_db_search(db, "明辉", 5, &err);
  CHECK(contains(hits, "c-minghui"));
  fieldsync_free(hits);
  hits = fieldsync_db_search(db, "13800138000", 5, &err);
  CHECK(contains(hits, id));
  fieldsync_free(hits);
  CHECK(fieldsync_db_search(db, "zw", -1, &err) == NULL);
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "limit"));
}

static void test_queries(fieldsync_db* db, const char* id) {
  char record[512];
  char* visit;
  char* out;
  const int64_t new_year_2025_ms = INT64_C(1735689600000);

  snprintf(record, sizeof(record),
           "{\"customer\":\"%s\",\"rep\":\"rep-li\",\"start\":\"2024-05-01T10:00:00+08:00\","
           "\"channel\":\"in_person\",\"summary\":\"首次拜访\",\"next_action\":\"send quote\","
           "\"next_action_due\":\"2024-05-03\"}",
           id);
  visit = fieldsync_db_put(db, "visits", record, &err);
  CHECK(visit != NULL);

  out = fieldsync_db_timeline(db, id, &err);
  CHECK(out != NULL && out[0] == '[');
  CHECK(visit != NULL && contains(out, visit));
  CHECK(contains(out, "首次拜访"));
  fieldsync_free(out);
  CHECK(fieldsync_db_timeline(db, "no-such-customer", &err) == NULL);
  CHECK(err.code == FIELDSYNC_ERR_NOT_FOUND);

  out = fieldsync_db_agenda(db, "rep-li", new_year_2025_ms, &err);
  CHECK(out != NULL && out[0] == '{');
  CHECK(contains(out, "send quote"));        /* overdue next action */
  CHECK(contains(out, "\"not_contacted\"")); /* grade B, not visited for months */
  CHECK(contains(out, id));
  fieldsync_free(out);
  CHECK(fieldsync_db_agenda(db, "rep-li", -1, &err) == NULL);
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "now_ms"));

  out = fieldsync_db_classify(db, new_year_2025_ms, &err);
  CHECK(out != NULL && out[0] == '[');
  CHECK(contains(out, id));
  fieldsync_free(out);
  fieldsync_free(visit);
}

static void test_outbox(fieldsync_db* db) {
  int64_t count = -1, age = -1;
  char* letters;
  CHECK(fieldsync_db_pending(db, &count, &age, &err));
  CHECK(count >= 3);
  CHECK(age >= 0);
  CHECK(fieldsync_db_pending(db, NULL, NULL, &err));
  letters = fieldsync_db_dead_letters(db, &err);
  CHECK(letters != NULL && strcmp(letters, "[]") == 0);
  fieldsync_free(letters);
}

static void test_null_arguments_and_null_error(fieldsync_db* db, const char* id) {
  char* s;
  CHECK(fieldsync_db_put(NULL, "customers", "{}", &err) == NULL);
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "db"));
  CHECK(fieldsync_db_put(db, NULL, "{}", &err) == NULL);
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "collection"));
  CHECK(fieldsync_db_put(db, "customers", NULL, &err) == NULL);
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "json"));
  CHECK(!fieldsync_db_update(db, "customers", id, NULL, &err));
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "patch_json"));
  CHECK(fieldsync_db_get(db, "customers", NULL, &err) == NULL);
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "id"));
  CHECK(fieldsync_db_apply(db, NULL, &err) == NULL);
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "edits_json"));
  CHECK(fieldsync_db_search(db, NULL, 0, &err) == NULL);
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "text"));
  CHECK(fieldsync_db_timeline(db, NULL, &err) == NULL);
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "customer_id"));
  CHECK(fieldsync_db_agenda(db, NULL, 0, &err) == NULL);
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "rep"));
  CHECK(!fieldsync_db_pending(NULL, NULL, NULL, &err));
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "db"));
  CHECK(!fieldsync_db_change_key(db, NULL, &err));
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "new_key"));
  CHECK(!fieldsync_db_clear(NULL, true, &err));
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "db"));
  CHECK(!fieldsync_destroy(NULL, &err));
  CHECK(failed_with(FIELDSYNC_ERR_INVALID_ARGUMENT, "path"));
  fieldsync_db_close(NULL);
  fieldsync_free(NULL);

  /* A NULL error pointer is accepted on failure and on success. */
  CHECK(fieldsync_db_put(NULL, NULL, NULL, NULL) == NULL);
  CHECK(fieldsync_db_get(db, "customers", "no-such-id", NULL) == NULL);
  CHECK(!fieldsync_db_update(db, "customers", "no-such-id", "{}", NULL));
  s = fieldsync_db_get(db, "customers", id, NULL);
  CHECK(s != NULL);
  fieldsync_free(s);
}

static void test_reopen_and_keys(const char* path, const char* id) {
  fieldsync_db* db;
  char* record;

  CHECK(fieldsync_db_open(path, &wrong_raw_key, NULL, &err) == NULL);
  CHECK(err.code == FIELDSYNC_ERR_WRONG_KEY);
  CHECK(fieldsync_db_open(path, &passphrase_key, NULL, &err) == NULL);
  CHECK(err.code == FIELDSYNC_ERR_WRONG_KEY);

  db = fieldsync_db_open(path, &raw_key, "{\"default_region\":\"CN\"}", &err);
  CHECK(db != NULL);
  if (db == NULL) return;
  record = fieldsync_db_get(db, "customers", id, &err);
  CHECK(contains(record, "\"+8613800138000\""));
  fieldsync_free(record);

  /* Passphrase in place of the raw key. */
  CHECK(fieldsync_db_change_key(db, &passphrase_key, &err));
  fieldsync_db_close(db);
  CHECK(fieldsync_db_open(path, &raw_key, NULL, &err) == NULL);
  CHECK(err.code == FIELDSYNC_ERR_WRONG_KEY);
  db = fieldsync_db_open(path, &passphrase_key, NULL, &err);
  CHECK(db != NULL);
  if (db == NULL) return;

  /* Rotation rewrites the file: refused while changes wait to be sent, unless forced. */
  CHECK(!fieldsync_db_rotate_key(db, false, &err));
  CHECK(err.code == FIELDSYNC_ERR_FAILED_PRECONDITION);
  CHECK(fieldsync_db_rotate_key(db, true, &err));
  record = fieldsync_db_get(db, "customers", id, &err);
  CHECK(contains(record, "张伟"));
  fieldsync_free(record);

  /* Clear refuses to lose unsent changes, and the handle stays usable. */
  CHECK(!fieldsync_db_clear(db, false, &err));
  CHECK(err.code == FIELDSYNC_ERR_FAILED_PRECONDITION);
  record = fieldsync_db_get(db, "customers", id, &err);
  CHECK(record != NULL);
  fieldsync_free(record);
  CHECK(fieldsync_db_clear(db, true, &err)); /* frees the handle */
  CHECK(!file_exists(path));
}

static void test_destroy(const char* path) {
  fieldsync_db* db = fieldsync_db_create(
      path, &raw_key,
      "{\"journal_mode\":\"rollback\",\"schema_extension\":{\"version\":2,\"collections\":{"
      "\"customers\":{\"fields\":{\"wechat_id\":{\"type\":\"text\"}}}}}}",
      &err);
  char* id;
  CHECK(db != NULL);
  if (db == NULL) return;
  id = fieldsync_db_put(
      db, "customers", "{\"kind\":\"person\",\"name\":\"刘洋\",\"wechat_id\":\"liuyang88\"}", &err);
  CHECK(id != NULL);
  fieldsync_free(id);
  CHECK(!fieldsync_destroy(path, &err));
  CHECK(err.code == FIELDSYNC_ERR_FAILED_PRECONDITION); /* still open */
  fieldsync_db_close(db);
  CHECK(fieldsync_destroy(path, &err));
  CHECK(!file_exists(path));
  CHECK(!fieldsync_destroy(path, &err));
  CHECK(err.code == FIELDSYNC_ERR_NOT_FOUND);
}

int main(void) {
  char dir[] = "/tmp/fieldsync_capi_XXXXXX";
  char path[256];
  char path2[256];
  fieldsync_db* db;
  char* id;

  if (mkdtemp(dir) == NULL) {
    perror("mkdtemp");
    return 2;
  }
  snprintf(path, sizeof(path), "%s/rep.db", dir);
  snprintf(path2, sizeof(path2), "%s/second.db", dir);
  make_keys();

  test_version_and_code_names();
  test_open_refuses_bad_arguments(path);

  db = fieldsync_db_create(path, &raw_key,
                           "{\"default_region\":\"CN\",\"journal_mode\":\"wal\","
                           "\"agenda\":{\"cadence_days\":[7,14,30,90,0]}}",
                           &err);
  CHECK(db != NULL);
  if (db != NULL) {
    CHECK(fieldsync_db_create(path, &raw_key, NULL, &err) == NULL);
    CHECK(err.code == FIELDSYNC_ERR_ALREADY_EXISTS);
    id = test_put_normalizes_and_get_returns_it(db);
    if (id != NULL) {
      test_invalid_records_name_each_field(db);
      test_long_messages_are_cut_at_a_character(db);
      test_update_delete_get(db, id);
      test_apply_is_all_or_nothing(db, id);
      test_search(db, id);
      test_queries(db, id);
      test_outbox(db);
      test_null_arguments_and_null_error(db, id);
      fieldsync_db_close(db);
      test_reopen_and_keys(path, id);
      fieldsync_free(id);
    } else {
      fieldsync_db_close(db);
    }
  }
  test_destroy(path2);

  CHECK(rmdir(dir) == 0); /* clear and destroy left no file behind */
  printf("capi: %d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
