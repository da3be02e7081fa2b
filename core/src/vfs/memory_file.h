// vfs/memory_file.h: a heap-backed sqlite3_file for SQLite's temporary files.
//
// Statement journals, sorter spill files and temporary databases never reach the disk in
// fieldsync: the encrypting VFS serves them from memory, so nothing unencrypted is written even
// when a big sort or CREATE INDEX spills. The cost is memory proportional to the spill.
//
// Thread safety: one connection (one thread) at a time, as SQLite uses its temporary files.
#pragma once

#include <sqlite3.h>

#include <cstddef>

namespace fieldsync::vfs {

// Bytes of sqlite3_file storage OpenMemoryFile needs.
size_t MemoryFileSize();

// Initializes `file` (at least MemoryFileSize() bytes) as an empty in-memory file.
int OpenMemoryFile(sqlite3_file* file);

}  // namespace fieldsync::vfs
