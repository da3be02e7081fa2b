// fieldsync/database.h: the field-sales database a host app uses: records, change capture,
// offline queries.
//
// A Database sits on an encrypted Store. Records are JSON objects in collections declared by a
// Schema (the built-in field-sales schema plus host additions). Every write
//   - is validated and normalized first (phones to E.164, enums, types, UTF-8): bad input is
//     refused with InvalidArgument naming each bad field, and nothing is written;
//   - is stamped with a hybrid logical clock value and this install's node id, per field;
//   - commits the record, its field versions and its entries in the outbox (the durable queue
//     the sync layer sends) in one SQLite transaction.
// Deletes leave tombstones; Purge() erases a deleted record's data from disk.
//
//   auto db = Database::Create("rep.db", PassphraseKeyProvider("..."));
//   Result<std::string> id = (*db)->Put("customers", R"({"kind":"company","name":"明辉贸易"})");
//   (*db)->Update("customers", *id, R"({"grade":"A"})");
//   auto hits = (*db)->Search("mh");   // pinyin initials find 明辉
//
// Thread safety: all methods may be called from several threads at once (a UI thread and a
// sync thread). Writes are serialized on one connection; reads use their own connections and
// never wait for a write in progress (WAL).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fieldsync/clock.h"
#include "fieldsync/hlc.h"
#include "fieldsync/key_provider.h"
#include "fieldsync/schema.h"
#include "fieldsync/status.h"
#include "fieldsync/store.h"

namespace fieldsync {

// Days without contact after which a customer of each grade is due a visit (0: never).
struct AgendaOptions {
  int cadence_days[5] = {7, 14, 30, 90, 0};  // grades A, B, C, D, E
};

struct ClassificationOptions {
  // ABC by trailing-12-month order amount: the customers making up the first `a_share` of the
  // total are A, up to `b_share` B, the rest C (Pareto).
  double a_share = 0.7;
  double b_share = 0.9;
  // Lifecycle suggestion by days since the last visit or order.
  int active_within_days = 90;
  int silent_after_days = 90;
  int lost_after_days = 365;
};

struct DatabaseOptions {
  StoreOptions store;
  std::string default_region = "CN";  // region for phone numbers written without +country code
  Clock* clock = nullptr;             // nullptr: Clock::System()
  std::string schema_extension_json;  // host collections and fields, added to the built-in schema
  HybridClockOptions hlc;
  AgendaOptions agenda;
  ClassificationOptions classification;
};

struct Edit {
  enum class Kind { kPut, kUpdate, kDelete };
  Kind kind = Kind::kPut;
  std::string collection;
  std::string id;    // kPut: optional (generated when empty); kUpdate, kDelete: required
  std::string json;  // kPut: the record; kUpdate: the fields to change (null clears); kDelete: ""
};

struct SearchHit {
  std::string collection;  // "customers" or "contacts"
  std::string id;
  std::string field;  // the field that matched best
  double score = 0;   // higher is better
  std::string record_json;
};

struct PendingSummary {
  int64_t count = 0;         // changes waiting to be sent
  int64_t oldest_age_s = 0;  // age of the oldest one; 0 when none
};

struct DeadLetter {
  int64_t seq = 0;
  std::string change_id;
  std::string collection;
  std::string record_id;
  std::string reason;  // why the server refused it
  int64_t failed_at_ms = 0;
};

class Database {
 public:
  static Result<std::unique_ptr<Database>> Create(const std::string& path, const KeyProvider& key,
                                                  const DatabaseOptions& options = {});
  static Result<std::unique_ptr<Database>> Open(const std::string& path, const KeyProvider& key,
                                                const DatabaseOptions& options = {});
  ~Database();

  // Stable id of this install, created with the database.
  const std::string& node_id() const;
  const Schema& schema() const;
  // The clock edits are stamped with (DatabaseOptions::clock, or the system clock). The
  // replicator times its exchanges with it, so a skew estimate and the HLC share one clock.
  Clock* clock() const;

  // Creates a record and returns its id (the "id" member of json, or a new UUID).
  Result<std::string> Put(std::string_view collection, std::string_view json);
  // Changes the given fields of an existing record; null clears an optional field.
  Status Update(std::string_view collection, std::string_view id, std::string_view patch_json);
  // Deletes a record, leaving a tombstone that syncs.
  Status Delete(std::string_view collection, std::string_view id);
  // Applies all edits in one transaction, or none: returns the ids in order.
  Result<std::vector<std::string>> Apply(const std::vector<Edit>& edits);
  // The record as JSON with its "id"; NotFound if missing or deleted.
  Result<std::string> Get(std::string_view collection, std::string_view id);
  // Erases a deleted record's field data and versions from the file (erasure on request).
  // FailedPrecondition if the record is not deleted or its delete has not been sent yet.
  Status Purge(std::string_view collection, std::string_view id);

  // Customers and contacts whose name, company, phone or email contain `text`, matching
  // simplified and traditional Chinese, and pinyin in full or by initials; best match first.
  Result<std::vector<SearchHit>> Search(std::string_view text, int limit = 20);
  // Visits, orders and contacts of a customer, most recent first, as a JSON array.
  Result<std::string> Timeline(std::string_view customer_id);
  // Due and overdue next actions owned by `rep`, and the rep's customers not contacted within
  // their grade's cadence, as a JSON object. `now_ms`: 0 for the clock's time.
  Result<std::string> Agenda(std::string_view rep, int64_t now_ms = 0);
  // Per customer: ABC class, lifecycle suggestion and RFM scores, as a JSON array.
  Result<std::string> Classify(int64_t now_ms = 0);

  // The outbox.
  Result<PendingSummary> Pending();
  Result<std::vector<DeadLetter>> DeadLetters();

  // Closes and deletes the database (Store::Destroy), resetting `db`. FailedPrecondition while
  // changes are pending unless force is true; `db` then stays open and usable.
  static Status Clear(std::unique_ptr<Database>& db, bool force);
  // Rotates the data key; refuses with pending changes unless forced (a rotation rewrites the
  // file, and an interrupted one must never be the reason an edit is lost).
  Status RotateDataKey(bool force);

  // Internal access for the sync layer and tools.
  Store& writer_store();

  // ---- for the sync layer (sync/src/replicator.cc) only; apps never call these ------------
  class SyncTransaction;
  // Runs `body` in one IMMEDIATE write transaction under the write lock: everything it does
  // through the SyncTransaction (and the HLC it observed) commits together, or nothing does if
  // it returns an error. `body` must not call other Database methods (the lock is held).
  Status RunSyncTransaction(const std::function<Status(SyncTransaction&)>& body);

 private:
  struct Impl;
  explicit Database(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// An outbox row as the sync layer reads it (core/src/model/tables.h, fs_outbox).
struct OutboxRow {
  int64_t seq = 0;
  std::string change_id;
  std::string collection;
  std::string record_id;
  bool is_delete = false;
  bool recreate = false;    // an upsert that starts the record anew (a Put over a tombstone)
  std::string fields_json;  // {"field": {"v": value, "hlc": n}}; the pusher adds "b", "add", "rem"
  std::string node;
  int schema_version = 1;
  bool inflight = false;
};

// The sync layer's view of the database inside RunSyncTransaction(); valid only during `body`.
// Nothing written here creates outbox entries: these are the server's changes, not the user's.
class Database::SyncTransaction {
 public:
  // Outbox rows (pending and inflight) with seq > after_seq, in seq order, at most `limit`.
  Result<std::vector<OutboxRow>> ReadOutbox(int64_t after_seq, int64_t limit);
  // Every outbox row (pending and inflight) of one record, in seq order.
  Result<std::vector<OutboxRow>> OutboxRowsOf(const std::string& collection,
                                              const std::string& record_id);
  // Freezes a row for sending: it becomes inflight with `fields_json` (the pusher records the
  // review bases and set operations it computed, so a retry sends the same bytes) and never
  // absorbs later edits.
  Status MarkInflight(int64_t seq, const std::string& fields_json);
  // The server has the row: removes it from the outbox.
  Status Acknowledge(int64_t seq);
  // The server refused the row: moves it to fs_dead_letters with `reason`.
  Status DeadLetter(int64_t seq, const std::string& reason);

  // The per-record merge state (sync::RecordState as JSON), or nullopt if none is stored.
  Result<std::optional<std::string>> ReadSyncState(const std::string& collection,
                                                   const std::string& record_id);
  Status WriteSyncState(const std::string& collection, const std::string& record_id,
                        const std::string& state_json);
  // Writes the record as merged from remote changes (data without "id", versions
  // {"field": [hlc, "node"]}), keeping the search index in step, through the same path as local
  // writes.
  Status ApplyRemoteRecord(const std::string& collection, const std::string& record_id,
                           const std::string& data_json, const std::string& versions_json,
                           bool deleted, Hlc updated);
  // Drops a record that left the user's scope: no tombstone, no outbox entry; its merge state
  // goes too, and unsent outbox rows stay.
  Status DropRecord(const std::string& collection, const std::string& record_id);

  // The pull cursor (empty: none) and the server clock skew estimate (fs_meta).
  Result<std::string> ReadCursor();
  Status WriteCursor(const std::string& cursor);
  // Persists the estimate and passes it to the HLC (HybridClock::SetSkewEstimate).
  Status SetSkewEstimate(int64_t skew_ms);
  // Merges a remote HLC into the clock (HybridClock::Observe); persisted at commit.
  Status ObserveHlc(Hlc remote);

 private:
  friend class Database;
  explicit SyncTransaction(Impl* impl) : impl_(impl) {}
  Impl* impl_;
};

}  // namespace fieldsync
