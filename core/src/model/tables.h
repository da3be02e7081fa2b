// model/tables.h: the SQLite tables behind Database, the one place their layout is defined.
//
// fs_records holds every record of every collection as a JSON object (`data`, without "id"),
// with per-field versions (`versions`: {"field": [hlc, "node"]}). A deleted record keeps its row
// as a tombstone (deleted = 1, data = {} once purged). Queries read fields with
// json_extract(data, '$.field'); dates are ISO strings, so they compare as text.
//
// fs_outbox is the durable, ordered queue of changes for the sync layer: one row per change
// with an idempotency id (change_id). `fields` is {"field": {"v": value, "hlc": n}}, or {} for
// a delete. `recreate` is 1 for a Put over a tombstone: the record starts anew, and the sync
// layer must say so (a plain upsert would let the server keep old fields or the delete). A
// 'pending' row may absorb later edits of the same record (coalescing; a re-creation row keeps
// its flag), but a re-creation is never absorbed into an earlier row. A row being sent
// ('inflight') is never changed, except by the pusher freezing it (MarkInflight).
//
// fs_sync_state holds the sync layer's merge state per record (sync::RecordState as JSON, see
// sync/merge.h): every change the server has accepted or sent for the record. The record in
// fs_records is materialized from it plus the record's unsent outbox rows.
#pragma once

namespace fieldsync::model {

inline constexpr char kCreateTables[] = R"sql(
CREATE TABLE IF NOT EXISTS fs_meta(
  key TEXT PRIMARY KEY,
  value ANY
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fs_records(
  rid INTEGER PRIMARY KEY,
  collection TEXT NOT NULL,
  id TEXT NOT NULL,
  data TEXT NOT NULL,
  versions TEXT NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0,
  updated_hlc INTEGER NOT NULL,
  schema_version INTEGER NOT NULL,
  UNIQUE(collection, id)
);
CREATE TABLE IF NOT EXISTS fs_outbox(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  change_id TEXT NOT NULL UNIQUE,
  collection TEXT NOT NULL,
  record_id TEXT NOT NULL,
  op TEXT NOT NULL CHECK (op IN ('upsert', 'delete')),
  fields TEXT NOT NULL,
  node TEXT NOT NULL,
  schema_version INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'inflight')),
  recreate INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS fs_outbox_record ON fs_outbox(collection, record_id, seq);
CREATE TABLE IF NOT EXISTS fs_dead_letters(
  seq INTEGER PRIMARY KEY,
  change_id TEXT NOT NULL,
  collection TEXT NOT NULL,
  record_id TEXT NOT NULL,
  op TEXT NOT NULL,
  fields TEXT NOT NULL,
  reason TEXT NOT NULL,
  failed_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS fs_sync_state(
  collection TEXT NOT NULL,
  id TEXT NOT NULL,
  state TEXT NOT NULL,
  PRIMARY KEY(collection, id)
) WITHOUT ROWID;
)sql";

// Databases created before fs_outbox had `recreate` get it when opened (Database::Initialize
// adds it when PRAGMA table_info does not list it); their rows are plain upserts and deletes.
inline constexpr char kAddOutboxRecreate[] =
    "ALTER TABLE fs_outbox ADD COLUMN recreate INTEGER NOT NULL DEFAULT 0";

}  // namespace fieldsync::model
