// capi/capi_handles.h: what is behind the C API's opaque handles (fieldsync/fieldsync.h).
//
// Internal, never installed: the C API of core (fieldsync_c.cc) and the replicator's C API in
// sync/ (sync/src/capi/fieldsync_sync_c.cc, which reaches this file through a private include
// directory) both need the Database behind a fieldsync_db*.
//
// Locking contract, shared by both: a call holds `mu` shared while it uses `db` (Database
// serializes writes itself) and exclusively for the key changes, which use the writer connection
// outside Database's own write lock. `db` is null once a fieldsync_db_clear closed the database
// but failed to destroy it, or once the replicator erased it on the server's order (`erased`);
// a call that finds it null fails with FailedPrecondition.
#pragma once

#include <memory>
#include <shared_mutex>
#include <string>

#include "fieldsync/database.h"

// The opaque handle of fieldsync.h.
struct fieldsync_db {
  std::shared_mutex mu;
  // Null once a fieldsync_db_clear closed the database but failed to destroy it.
  std::unique_ptr<fieldsync::Database> db;
  std::string path;  // kept for a retried fieldsync_db_clear
  // Set (under `mu`, exclusively) when the replicator erased the database because the server
  // revoked the device (fieldsync_sync.h, REMOTE WIPE).
  bool erased = false;
};
