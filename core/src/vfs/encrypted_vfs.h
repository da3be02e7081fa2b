// vfs/encrypted_vfs.h: the SQLite VFS shim that encrypts every database page on its way to disk.
//
// IMPLEMENTATION NOTES (see docs/security.md for the threat model and byte layout)
//
// The shim wraps the native VFS of the system SQLite (a "shim" in SQLite's sense, like
// ext/misc/cksumvfs.c). It is registered under kVfsName, never as the default. A database is
// opened with a URI carrying `fskey=TOKEN`, where TOKEN names a KeyContext registered here; SQLite
// passes the same URI parameters to the WAL and journal opens, so all three find the key.
//
//   main database   the physical file is a 4096-byte header (crypto/key_header.h) followed by
//                   SQLite's pages; offsets are shifted by the header size. Every page is sealed
//                   with crypto::PageCipher; page 1 is checked to carry the reserved-bytes value
//                   the cipher needs, so a misconfigured connection cannot overwrite the tags.
//   WAL             the 32-byte WAL header and 24-byte frame headers stay as SQLite wrote them;
//                   each frame's page image is sealed as the database page it will become, with
//                   a MAC binding its frame's commit field (crypto/page_cipher.h). A checkpoint
//                   (between SQLite's CKPT_START and CKPT_DONE hints) copies those sealed images
//                   into the database file without decrypting them. During recovery
//                   (whole-frame reads) a page that fails authentication is returned as zeros so
//                   SQLite's own frame checksum discards it: that is how a torn write at the end
//                   of the WAL looks after a crash. Ordinary page reads fail hard.
//   rollback journal  page records (4-byte page number, page image, checksum) have their page
//                   image sealed, bound to the record's page number.
//   temporary files statement journals, sorter spills and temp databases live in memory.
//   memory mapping  off: xFetch always declines, so every read passes through decryption.
//
// The last failure explained in words (which page, why) is kept per thread: TakeLastError().
//
// Thread safety: registration and the key registry are thread-safe; each sqlite3_file is used
// by one connection at a time, as SQLite guarantees.
#pragma once

#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "crypto/page_cipher.h"
#include "fieldsync/secret.h"
#include "fieldsync/status.h"

namespace fieldsync::vfs {

inline constexpr char kVfsName[] = "fieldsync-aes256gcm";

// Custom file-control opcodes understood by the main-database file of the shim.
inline constexpr int kFcntlReadHeader = 0x46530001;   // arg: HeaderIo*, reads header bytes
inline constexpr int kFcntlWriteHeader = 0x46530002;  // arg: HeaderIo*, writes + syncs
inline constexpr int kFcntlVerifyPages = 0x46530003;  // arg: VerifyPages*

struct HeaderIo {
  uint64_t offset = 0;  // within the header region
  std::string bytes;    // read: filled with `size` bytes; write: written as is
  size_t size = 0;
};

struct VerifyPages {
  uint64_t pages_authenticated = 0;
};

// Everything the shim needs to encrypt one database. Immutable once registered.
struct KeyContext {
  SecretBytes data_key;
  std::array<uint8_t, crypto::kDatabaseIdSize> database_id{};
  std::array<uint8_t, crypto::kKeyIdSize> data_key_id{};
  uint32_t page_size = 4096;
  // For a database being created: the header the shim writes into an empty main file.
  std::string header_for_create;
};

// Registers the VFS with SQLite once per process. Thread-safe.
Status EnsureRegistered();

// Makes `context` available to files opened with `fskey=<returned token>`.
std::string RegisterKey(std::shared_ptr<const KeyContext> context);
void UnregisterKey(const std::string& token);

// "file:<escaped absolute path>?vfs=...&fskey=<token>" for sqlite3_open_v2 or ATTACH.
std::string MakeUri(const std::string& absolute_path, const std::string& token);

// Reads or writes the header region of a database file through the native VFS (whose POSIX
// locks stay correct even while this process has the database open elsewhere).
Result<std::string> ReadRawHeader(const std::string& path, size_t size);
Status OverwriteRawHeader(const std::string& path, const std::string& bytes);

// The explanation of the last page failure on this thread, cleared by the call.
std::string TakeLastError();

// Test-only fault injection: called with "write", "sync" or "truncate" and the file kind
// ("db", "wal", "journal", "other") before each such operation on a real file.
using IoHook = void (*)(const char* op, const char* file_kind);
void SetIoHookForTesting(IoHook hook);

}  // namespace fieldsync::vfs
