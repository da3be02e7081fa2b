// vfs/memory_file.cc: the in-memory temporary file; see memory_file.h.
#include "vfs/memory_file.h"

#include <cstring>
#include <new>
#include <vector>

namespace fieldsync::vfs {
namespace {

struct MemoryFile {
  sqlite3_file base;  // first, so a sqlite3_file* is a MemoryFile*
  std::vector<unsigned char>* bytes;
};

std::vector<unsigned char>& Bytes(sqlite3_file* f) {
  return *reinterpret_cast<MemoryFile*>(f)->bytes;
}

int MemClose(sqlite3_file* f) {
  delete reinterpret_cast<MemoryFile*>(f)->bytes;
  reinterpret_cast<MemoryFile*>(f)->bytes = nullptr;
  return SQLITE_OK;
}

int MemRead(sqlite3_file* f, void* buf, int amt, sqlite3_int64 off) {
  const auto& b = Bytes(f);
  const size_t offset = static_cast<size_t>(off);
  const size_t want = static_cast<size_t>(amt);
  size_t have = offset < b.size() ? b.size() - offset : 0;
  if (have > want) have = want;
  if (have > 0) std::memcpy(buf, b.data() + offset, have);
  if (have < want) {
    std::memset(static_cast<unsigned char*>(buf) + have, 0, want - have);
    return SQLITE_IOERR_SHORT_READ;
  }
  return SQLITE_OK;
}

int MemWrite(sqlite3_file* f, const void* buf, int amt, sqlite3_int64 off) {
  auto& b = Bytes(f);
  const size_t end = static_cast<size_t>(off) + static_cast<size_t>(amt);
  try {
    if (b.size() < end) b.resize(end);
  } catch (const std::bad_alloc&) {
    return SQLITE_NOMEM;
  }
  std::memcpy(b.data() + off, buf, static_cast<size_t>(amt));
  return SQLITE_OK;
}

int MemTruncate(sqlite3_file* f, sqlite3_int64 size) {
  auto& b = Bytes(f);
  if (static_cast<size_t>(size) < b.size()) b.resize(static_cast<size_t>(size));
  return SQLITE_OK;
}

int MemSync(sqlite3_file*, int) { return SQLITE_OK; }

int MemFileSize(sqlite3_file* f, sqlite3_int64* size) {
  *size = static_cast<sqlite3_int64>(Bytes(f).size());
  return SQLITE_OK;
}

int MemLock(sqlite3_file*, int) { return SQLITE_OK; }
int MemCheckReservedLock(sqlite3_file*, int* out) {
  *out = 0;
  return SQLITE_OK;
}
int MemFileControl(sqlite3_file*, int, void*) { return SQLITE_NOTFOUND; }
int MemSectorSize(sqlite3_file*) { return 4096; }
int MemDeviceCharacteristics(sqlite3_file*) {
  return SQLITE_IOCAP_ATOMIC | SQLITE_IOCAP_POWERSAFE_OVERWRITE | SQLITE_IOCAP_SAFE_APPEND |
         SQLITE_IOCAP_SEQUENTIAL;
}

const sqlite3_io_methods kMemoryMethods = {
    1,  // version 1: no shared memory, no memory mapping
    MemClose,
    MemRead,
    MemWrite,
    MemTruncate,
    MemSync,
    MemFileSize,
    MemLock,
    MemLock,
    MemCheckReservedLock,
    MemFileControl,
    MemSectorSize,
    MemDeviceCharacteristics,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
};

}  // namespace

size_t MemoryFileSize() { return sizeof(MemoryFile); }

int OpenMemoryFile(sqlite3_file* file) {
  auto* m = reinterpret_cast<MemoryFile*>(file);
  m->base.pMethods = nullptr;
  m->bytes = new (std::nothrow) std::vector<unsigned char>();
  if (m->bytes == nullptr) return SQLITE_NOMEM;
  m->base.pMethods = &kMemoryMethods;
  return SQLITE_OK;
}

}  // namespace fieldsync::vfs
