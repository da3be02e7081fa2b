// sqlite_status.h: the one mapping from SQLite result codes to fieldsync Status codes.
//
// Every module of core that talks to SQLite reports failures through SqliteStatus, so a caller
// sees the same code for the same cause whichever API it used. When the encrypting VFS explained
// a page failure (which page, and whether it was moved, foreign or modified), that explanation
// replaces SQLite's generic "disk I/O error".
//
// Thread safety: reads the calling thread's last VFS error; safe from any thread.
#pragma once

#include <sqlite3.h>

#include <string_view>

#include "fieldsync/status.h"

namespace fieldsync {

// `db` may be null (a failed open); `context` prefixes the message ("SQL error: ...").
Status SqliteStatus(sqlite3* db, int rc, std::string_view context);

}  // namespace fieldsync
