// bench/sqlite_api.h: the one place the storage benchmark includes the SQLite C API.
//
// storage_workload.cc is compiled twice: into fieldsync-bench against Debian's SQLite (3.40.1) and
// into fieldsync-bench-sqlcipher against SQLCipher 3.4.1, whose library exports the same sqlite3_*
// names and ships its own sqlite3.h in /usr/include/sqlcipher. Each target puts the right directory
// first on its include path (see bench/CMakeLists.txt); FIELDSYNC_BENCH_SQLCIPHER tells this header
// which one the translation unit expects, and the checks below stop a build that picked the wrong
// header, which would otherwise compile and then call into a library of another version.
#pragma once

#include <sqlite3.h>

#if defined(FIELDSYNC_BENCH_SQLCIPHER)
#if SQLITE_VERSION_NUMBER >= 3016000
#error "fieldsync-bench-sqlcipher picked up the system sqlite3.h, not SQLCipher's (3.15.x)"
#endif
#else
#if SQLITE_VERSION_NUMBER < 3016000
#error "fieldsync-bench picked up SQLCipher's sqlite3.h, not the system SQLite's"
#endif
#endif
