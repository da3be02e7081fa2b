// sqlite_status.cc: SQLite result codes to Status; see sqlite_status.h.
#include "sqlite_status.h"

#include <string>

#include "vfs/encrypted_vfs.h"

namespace fieldsync {

Status SqliteStatus(sqlite3* db, int rc, std::string_view context) {
  // sqlite3_open_v2 and some paths report primary codes only; the handle knows the extended one.
  if (db != nullptr && sqlite3_extended_errcode(db) != SQLITE_OK &&
      (sqlite3_extended_errcode(db) & 0xff) == (rc & 0xff)) {
    rc = sqlite3_extended_errcode(db);
  }
  std::string detail = vfs::TakeLastError();
  std::string message =
      std::string(context) + ": " +
      (detail.empty() ? std::string(db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)) : detail);
  switch (rc & 0xff) {
    case SQLITE_IOERR:
      if (rc == SQLITE_IOERR_DATA) return Status::Corruption(message);
      return Status::IOError(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::Corruption(message);
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
      return Status::IOError(message);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable(message);
    case SQLITE_READONLY:
      return Status::FailedPrecondition(message);
    case SQLITE_ERROR:
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG:
      return Status::InvalidArgument(message);
    default:
      return Status::Internal(message);
  }
}

}  // namespace fieldsync
