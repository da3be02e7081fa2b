// bench/sync_workload.h: the data of `fieldsync-bench sync` and the two ways it reaches a server's
// SQLite file without going through HTTP.
//
//   SyncGenerator   changes in the built-in field-sales schema, from a fixed seed: new customers
//                   (kind, name, company, phones, grade, stage, address, owner_rep, notes), visit
//                   reports of 200-600 bytes, and 1-3-field edits of existing customers. Values are
//                   canonical (E.164 phones), so neither the server's merge nor the tablet's
//                   validator refuses them.
//   SeedDirect      writes accepted changes straight into a server database (records, applied
//                   changes, feed, the tenant's feed counter), computing each row with the same
//                   sync library calls the server makes (Merge, Materialize, EncodeChange,
//                   ChangeDigest). Used to seed a million records in seconds rather than minutes;
//                   it skips authorization and scope checks, so the caller states the scope keys.
//   PushedRows /    the rows a push stored, read back from the server's file, and the baseline of
//   DirectWrite     the push workload: the same rows inserted straight into a fresh file with the
//                   server's tables, one transaction per batch, prepared statements reused.
//
// Uses the server's table layout (server/src/sqlite_backend.cc); a change there must be mirrored
// here. Thread safety: a SyncGenerator is used from one thread; the functions open their own
// connections.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fieldsync/sync/merge.h"

namespace fieldsync::bench {

inline constexpr uint64_t kSyncSeed = 0x73796e632d303031ULL;  // "sync-001"

class SyncGenerator {
 public:
  // HLCs start at `first_ms` and advance by one millisecond per change.
  SyncGenerator(uint64_t seed, uint64_t first_ms) : state_(seed), next_ms_(first_ms) {}

  sync::Change NewCustomer(const std::string& owner, const std::string& node);
  sync::Change Visit(const std::string& customer, const std::string& rep, const std::string& node);
  // 1-3 distinct fields of a customer: grade, lifecycle_stage, address, phones, notes, tier.
  sync::Change Edit(const std::string& customer, const std::string& node);
  // The same edit as a Database::Update patch (for edits made on a tablet).
  std::string EditPatch(int fields);

  std::string Uuid();
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(Next() % n); }

 private:
  uint64_t Next();
  uint64_t NextHlc();
  std::string Phone();
  std::string ChineseText(size_t min_bytes, size_t max_bytes);
  template <typename T, size_t N>
  const T& Pick(const T (&list)[N]) {
    return list[Below(static_cast<uint32_t>(N))];
  }

  uint64_t state_;
  uint64_t next_ms_;
};

// The scope keys a seeded change's feed entry carries (sync_service.h, PARTIAL REPLICATION).
struct SeedChange {
  sync::Change change;                  // with node set; author is added by SeedDirect
  std::string author;                   // the pushing user
  std::string owner;                    // records.owner
  std::string customer;                 // records.customer
  std::vector<std::string> scope_keys;  // sorted
};

// Writes `changes` (all new records, in order) as accepted into the server database at `path`
// (already created by SqliteBackend::Open, tenant already present), `batch` per transaction.
// Returns "" or an error message.
std::string SeedDirect(const std::string& path, const std::string& tenant,
                       const std::vector<SeedChange>& changes, size_t batch);

// One stored change as a push left it: its feed row, its digest and its record's final row.
struct PushedRow {
  int64_t seq = 0;
  std::string collection, record_id, node, change_json, scope_json;
  std::string change_id, digest;
  std::string state_json, materialized_json, owner, customer;
  bool materialized_null = false;
};

// The rows of `tenant`'s feed in sequence order, with their digests and record rows.
std::string ReadPushedRows(const std::string& path, const std::string& tenant,
                           std::vector<PushedRow>* rows);

// The push baseline: inserts `rows` into the fresh server database at `path` (tables created,
// tenant present), one BEGIN IMMEDIATE ... COMMIT per `batch` rows, with the server's pragmas
// (WAL, synchronous=FULL, 32 MiB page cache, checkpoint every 4,000 pages). Each row: an
// applied_changes insert, a records upsert, a feed insert; each batch: the tenant's feed counter
// update. Returns "" or an error message.
std::string DirectWrite(const std::string& path, const std::string& tenant,
                        const std::vector<PushedRow>& rows, size_t batch);

}  // namespace fieldsync::bench
