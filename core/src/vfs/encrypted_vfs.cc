// vfs/encrypted_vfs.cc: the encrypting VFS shim; the design is described in encrypted_vfs.h.
//
// Every callback here is called by SQLite's C code: none may throw. Allocations that could throw
// happen only in xOpen, which catches and reports SQLITE_NOMEM.
#include "vfs/encrypted_vfs.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <vector>

#include "crypto/key_header.h"
#include "fieldsync/log.h"
#include "vfs/memory_file.h"

namespace fieldsync::vfs {
namespace {

using crypto::PageCipher;
using crypto::PageKind;

constexpr int64_t kDbHeaderSize = static_cast<int64_t>(crypto::kHeaderSize);
constexpr int64_t kWalHeaderSize = 32;
constexpr int64_t kWalFrameHeaderSize = 24;
constexpr int64_t kJournalPgnoSize = 4;
// SQLite never stores data in the page holding this byte (its lock bytes live there).
constexpr int64_t kPendingByte = 0x40000000;

thread_local std::string t_last_error;
// The key context of the database whose checkpoint is running on this thread, between SQLite's
// SQLITE_FCNTL_CKPT_START and SQLITE_FCNTL_CKPT_DONE hints (always sent as a pair, around the
// loop that copies WAL frames into the database file). While it is set, WAL page reads of that
// database hand SQLite the sealed page image and database writes store it as is: WAL images are
// sealed as the database pages they become, so a checkpoint moves ciphertext.
thread_local const KeyContext* t_checkpointing = nullptr;
// The key context of the database whose WAL-index is being rebuilt on this thread: set while
// the thread holds SQLite's WAL_RECOVER_LOCK exclusively, which only walIndexRecover() takes.
// Only then may a whole-frame read that fails authentication read as the end of the log; any
// other whole-frame read (walRewriteChecksums() re-reading the frames of the transaction being
// committed) must fail, or SQLite would compute a valid checksum over substituted bytes and make
// a damaged frame look committed.
thread_local const KeyContext* t_recovering = nullptr;
constexpr int kWalRecoverLockSlot = 2;  // WAL_RECOVER_LOCK in SQLite's wal.c
std::atomic<IoHook> g_io_hook{nullptr};

void SetError(std::string message) { t_last_error = std::move(message); }

enum class FileKind { kMain, kWal, kJournal, kPassThrough };

const char* FileKindName(FileKind kind) {
  switch (kind) {
    case FileKind::kMain:
      return "db";
    case FileKind::kWal:
      return "wal";
    case FileKind::kJournal:
      return "journal";
    case FileKind::kPassThrough:
      return "other";
  }
  return "other";
}

struct Registry {
  std::mutex mu;
  std::map<std::string, std::shared_ptr<const KeyContext>> contexts;
};
Registry& GetRegistry() {
  static Registry* registry = new Registry();  // never destroyed: used by late file closes
  return *registry;
}

std::shared_ptr<const KeyContext> LookupKey(const char* token) {
  if (token == nullptr) return nullptr;
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.contexts.find(token);
  return it == r.contexts.end() ? nullptr : it->second;
}

sqlite3_vfs* g_base = nullptr;
sqlite3_vfs g_vfs;

// The shim's file object, constructed in place in the memory SQLite allocates (szOsFile bytes),
// with the native VFS's file object right behind it.
struct EncFile {
  sqlite3_file base;  // first: SQLite sees an EncFile* as a sqlite3_file*
  FileKind kind = FileKind::kPassThrough;
  sqlite3_file* real = nullptr;
  std::shared_ptr<const KeyContext> context;
  std::unique_ptr<PageCipher> cipher;
  std::vector<uint8_t> scratch;  // one WAL frame: frame header + page
  // The last frame header (WAL) or record page number (journal) written, so sealing a page
  // image does not need to read back the number SQLite wrote just before it.
  int64_t cached_header_offset = -1;
  uint32_t cached_pgno = 0;
  uint8_t cached_frame_header[24] = {};

  int64_t page_size() const { return context ? context->page_size : 0; }
};

constexpr size_t kEncFileSlot = (sizeof(EncFile) + 15) & ~size_t{15};

EncFile* AsEnc(sqlite3_file* f) { return reinterpret_cast<EncFile*>(f); }

void Hook(const char* op, FileKind kind) {
  IoHook hook = g_io_hook.load(std::memory_order_relaxed);
  if (hook != nullptr) hook(op, FileKindName(kind));
}

uint32_t GetBig32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

int RealRead(EncFile* f, void* buf, int64_t amt, int64_t off) {
  return f->real->pMethods->xRead(f->real, buf, static_cast<int>(amt), off);
}

int RealWrite(EncFile* f, const void* buf, int64_t amt, int64_t off) {
  Hook("write", f->kind);
  return f->real->pMethods->xWrite(f->real, buf, static_cast<int>(amt), off);
}

bool AllZero(const uint8_t* p, size_t n) {
  return std::all_of(p, p + n, [](uint8_t b) { return b == 0; });
}

// Re-reads the raw page image at `physical_offset` and records why it fails to authenticate.
void ExplainFailure(EncFile* f, PageKind kind, uint32_t pgno, int64_t physical_offset) {
  std::vector<uint8_t> raw(static_cast<size_t>(f->page_size()), 0);
  RealRead(f, raw.data(), f->page_size(), physical_offset);
  SetError(f->cipher->Diagnose(kind, pgno, raw.data()));
}

// ---- main database file -------------------------------------------------------------------

int MainRead(EncFile* f, uint8_t* out, int amt, int64_t off) {
  const int64_t page = f->page_size();
  int result = SQLITE_OK;
  while (amt > 0) {
    const int64_t index = off / page;
    const int64_t in_page = off % page;
    const int n = static_cast<int>(std::min<int64_t>(amt, page - in_page));
    const bool whole = in_page == 0 && n == page;
    uint8_t* image = whole ? out : f->scratch.data();
    const int64_t physical = kDbHeaderSize + index * page;
    const auto pgno = static_cast<uint32_t>(index + 1);
    int rc = RealRead(f, image, page, physical);
    if (rc == SQLITE_IOERR_SHORT_READ && AllZero(image, static_cast<size_t>(page))) {
      // Past the end of the file. SQLite reads there only to probe an empty database; in a
      // database that has pages it means pages were cut off, and zeros would read as data.
      sqlite3_int64 size = 0;
      rc = f->real->pMethods->xFileSize(f->real, &size);
      if (rc != SQLITE_OK) return rc;
      if (size > kDbHeaderSize) {
        SetError("database page " + std::to_string(pgno) +
                 " lies beyond the end of the file: the database was truncated (tampered or "
                 "damaged)");
        return SQLITE_IOERR_DATA;
      }
      std::memset(out, 0, static_cast<size_t>(n));
      result = SQLITE_IOERR_SHORT_READ;
    } else if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ) {
      return rc;
    } else {
      // A short read that returned some bytes is a truncated page: it fails authentication.
      if (!f->cipher->OpenInPlace(PageKind::kDatabase, pgno, image)) {
        ExplainFailure(f, PageKind::kDatabase, pgno, physical);
        return SQLITE_IOERR_DATA;
      }
      if (!whole) std::memcpy(out, image + in_page, static_cast<size_t>(n));
    }
    out += n;
    off += n;
    amt -= n;
  }
  return result;
}

// Page 1 must say what the cipher relies on; otherwise SQLite would store data in the tail
// that the cipher overwrites.
bool PageOneFitsCipher(const uint8_t* page, int64_t page_size) {
  const uint32_t stored_size = (uint32_t{page[16]} << 8) | page[17];
  const int64_t size = stored_size == 1 ? 65536 : stored_size;
  return size == page_size && page[20] == crypto::kPageReserve;
}

int MainWrite(EncFile* f, const uint8_t* in, int amt, int64_t off) {
  const int64_t page = f->page_size();
  if (off % page != 0 || amt % page != 0) {
    SetError("refusing a partial-page write to the encrypted database file");
    return SQLITE_IOERR_WRITE;
  }
  const bool copying_sealed = t_checkpointing == f->context.get();
  for (int64_t done = 0; done < amt; done += page) {
    const int64_t index = (off + done) / page;
    const auto pgno = static_cast<uint32_t>(index + 1);
    if (copying_sealed) {
      // A checkpoint copying a WAL image: already sealed as this very page.
      if (!f->cipher->HasDatabaseHints(pgno, in + done)) {
        SetError("a checkpoint tried to copy a WAL image into database page " +
                 std::to_string(pgno) + " that was sealed for another page");
        return SQLITE_IOERR_WRITE;
      }
      int rc = RealWrite(f, in + done, page, kDbHeaderSize + index * page);
      if (rc != SQLITE_OK) return rc;
      continue;
    }
    if (pgno == 1 && !PageOneFitsCipher(in + done, page)) {
      SetError("refusing to write page 1 without the 36 reserved bytes per page the cipher needs");
      return SQLITE_IOERR_WRITE;
    }
    if (!f->cipher->Seal(PageKind::kDatabase, pgno, in + done, f->scratch.data())) {
      SetError("OpenSSL failed to encrypt a page");
      return SQLITE_IOERR_WRITE;
    }
    int rc = RealWrite(f, f->scratch.data(), page, kDbHeaderSize + index * page);
    if (rc != SQLITE_OK) return rc;
  }
  return SQLITE_OK;
}

int VerifyMainPages(EncFile* f, VerifyPages* report) {
  sqlite3_int64 physical = 0;
  int rc = f->real->pMethods->xFileSize(f->real, &physical);
  if (rc != SQLITE_OK) return rc;
  const int64_t page = f->page_size();
  const int64_t pages = (physical - kDbHeaderSize + page - 1) / page;
  const int64_t pending_pgno = kPendingByte / page + 1;
  for (int64_t pgno = 1; pgno <= pages; ++pgno) {
    if (pgno == pending_pgno) continue;
    const int64_t at = kDbHeaderSize + (pgno - 1) * page;
    rc = RealRead(f, f->scratch.data(), page, at);
    if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ) return rc;
    if (!f->cipher->OpenInPlace(PageKind::kDatabase, static_cast<uint32_t>(pgno),
                                f->scratch.data())) {
      ExplainFailure(f, PageKind::kDatabase, static_cast<uint32_t>(pgno), at);
      return SQLITE_IOERR_DATA;
    }
    ++report->pages_authenticated;
  }
  return SQLITE_OK;
}

// ---- WAL file -------------------------------------------------------------------------------
// Layout: 32-byte header, then frames of (24-byte frame header, page image). Frame headers
// start with the big-endian page number.

int64_t FrameSize(const EncFile* f) { return kWalFrameHeaderSize + f->page_size(); }

int WalRead(EncFile* f, uint8_t* out, int amt, int64_t off) {
  const int64_t page = f->page_size();
  const int64_t frame_size = FrameSize(f);
  // A read of exactly one whole frame is SQLite recovering or re-checksumming the log.
  const bool recovery_read =
      amt == frame_size && off >= kWalHeaderSize && (off - kWalHeaderSize) % frame_size == 0;
  int result = SQLITE_OK;
  while (amt > 0) {
    if (off < kWalHeaderSize) {
      const int n = static_cast<int>(std::min<int64_t>(amt, kWalHeaderSize - off));
      int rc = RealRead(f, out, n, off);
      if (rc == SQLITE_IOERR_SHORT_READ)
        result = rc;
      else if (rc != SQLITE_OK)
        return rc;
      out += n, off += n, amt -= n;
      continue;
    }
    const int64_t frame_start = kWalHeaderSize + (off - kWalHeaderSize) / frame_size * frame_size;
    const int64_t within = off - frame_start;
    if (within < kWalFrameHeaderSize) {
      const int n = static_cast<int>(std::min<int64_t>(amt, kWalFrameHeaderSize - within));
      int rc = RealRead(f, out, n, off);
      if (rc == SQLITE_IOERR_SHORT_READ)
        result = rc;
      else if (rc != SQLITE_OK)
        return rc;
      out += n, off += n, amt -= n;
      continue;
    }
    // Page part: read the whole frame so the page number comes with it in one system call.
    const int64_t in_page = within - kWalFrameHeaderSize;
    const int n = static_cast<int>(std::min<int64_t>(amt, page - in_page));
    uint8_t* frame = f->scratch.data();
    int rc = RealRead(f, frame, frame_size, frame_start);
    if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ) return rc;
    const uint32_t pgno = GetBig32(frame);
    uint8_t* image = frame + kWalFrameHeaderSize;
    const bool copy_sealed =
        t_checkpointing == f->context.get() && in_page == 0 && n == page && !recovery_read;
    if (rc == SQLITE_IOERR_SHORT_READ && AllZero(image, static_cast<size_t>(page))) {
      std::memset(out, 0, static_cast<size_t>(n));
      result = SQLITE_IOERR_SHORT_READ;
    } else if (f->cipher->WalImageToDatabaseImage(pgno, frame + 4, image) &&
               (copy_sealed || f->cipher->OpenInPlace(PageKind::kDatabase, pgno, image))) {
      // Sealed for a checkpoint's copy (MAC checked; the database page authenticates when read),
      // or decrypted for a reader.
      std::memcpy(out, image + in_page, static_cast<size_t>(n));
    } else if (recovery_read && t_recovering == f->context.get()) {
      // Zeros make SQLite's frame checksum fail, so recovery ends the log here: a torn frame
      // after a crash. A tampered committed frame ends it here as well; that is logged.
      std::memset(out, 0, static_cast<size_t>(n));
      Log(LogLevel::kWarning, "vfs",
          "a WAL frame failed authentication during recovery; SQLite discards it and the frames "
          "after it (a torn write after a crash, or tampering)");
    } else {
      SetError("WAL frame for page " + std::to_string(pgno) +
               " failed authentication: its header or page image was modified on disk "
               "(tampered or damaged)");
      return SQLITE_IOERR_DATA;
    }
    out += n, off += n, amt -= n;
  }
  return result;
}

int WalWrite(EncFile* f, const uint8_t* in, int amt, int64_t off) {
  const int64_t page = f->page_size();
  const int64_t frame_size = FrameSize(f);
  while (amt > 0) {
    if (off < kWalHeaderSize) {
      const int n = static_cast<int>(std::min<int64_t>(amt, kWalHeaderSize - off));
      int rc = RealWrite(f, in, n, off);
      if (rc != SQLITE_OK) return rc;
      in += n, off += n, amt -= n;
      continue;
    }
    const int64_t frame_start = kWalHeaderSize + (off - kWalHeaderSize) / frame_size * frame_size;
    const int64_t within = off - frame_start;
    if (within < kWalFrameHeaderSize) {
      const int n = static_cast<int>(std::min<int64_t>(amt, kWalFrameHeaderSize - within));
      if (within == 0 && n == kWalFrameHeaderSize) {
        f->cached_header_offset = frame_start;
        std::memcpy(f->cached_frame_header, in, kWalFrameHeaderSize);
      }
      int rc = RealWrite(f, in, n, off);
      if (rc != SQLITE_OK) return rc;
      in += n, off += n, amt -= n;
      continue;
    }
    if (within != kWalFrameHeaderSize || amt < page) {
      // SQLite splits a page write only when padding to sector boundaries, which the native VFS
      // disables by reporting powersafe overwrite; refuse rather than write a partial page.
      SetError("refusing a partial-page write to the encrypted WAL");
      return SQLITE_IOERR_WRITE;
    }
    if (f->cached_header_offset != frame_start) {
      // SQLite rewrites a page of an uncommitted frame without its header: read the header.
      int rc = RealRead(f, f->cached_frame_header, kWalFrameHeaderSize, frame_start);
      if (rc != SQLITE_OK) return rc == SQLITE_IOERR_SHORT_READ ? SQLITE_IOERR_WRITE : rc;
      f->cached_header_offset = frame_start;
    }
    const uint32_t pgno = GetBig32(f->cached_frame_header);
    uint8_t* image = f->scratch.data();
    if (!f->cipher->SealWalPage(pgno, f->cached_frame_header + 4, in, image)) {
      return SQLITE_IOERR_WRITE;
    }
    int rc = RealWrite(f, image, page, off);
    if (rc != SQLITE_OK) return rc;
    in += page, off += page, amt -= static_cast<int>(page);
  }
  return SQLITE_OK;
}

// ---- rollback journal -------------------------------------------------------------------------
// Records are (4-byte page number, page image, 4-byte checksum) after a sector-aligned header.
// Headers sit at multiples of the sector size and records are page size + 8 bytes long, so a
// page image always starts at an offset that is 4 modulo 8 and nothing else of page size does.

bool IsJournalImage(const EncFile* f, int amt, int64_t off) {
  return amt == f->page_size() && off % 8 == 4;
}

int JournalRead(EncFile* f, uint8_t* out, int amt, int64_t off) {
  if (!IsJournalImage(f, amt, off)) return RealRead(f, out, amt, off);
  uint8_t* record = f->scratch.data();
  int rc = RealRead(f, record, kJournalPgnoSize + amt, off - kJournalPgnoSize);
  if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ) return rc;
  const uint32_t pgno = GetBig32(record);
  uint8_t* image = record + kJournalPgnoSize;
  if (!f->cipher->OpenInPlace(PageKind::kJournal, pgno, image)) {
    ExplainFailure(f, PageKind::kJournal, pgno, off);
    return SQLITE_IOERR_DATA;
  }
  std::memcpy(out, image, static_cast<size_t>(amt));
  return rc;
}

int JournalWrite(EncFile* f, const uint8_t* in, int amt, int64_t off) {
  if (!IsJournalImage(f, amt, off)) {
    if (amt == kJournalPgnoSize) {
      f->cached_header_offset = off;
      f->cached_pgno = GetBig32(in);
    }
    return RealWrite(f, in, amt, off);
  }
  uint32_t pgno = f->cached_pgno;
  if (f->cached_header_offset != off - kJournalPgnoSize) {
    uint8_t number[4];
    int rc = RealRead(f, number, 4, off - kJournalPgnoSize);
    if (rc != SQLITE_OK) return rc == SQLITE_IOERR_SHORT_READ ? SQLITE_IOERR_WRITE : rc;
    pgno = GetBig32(number);
  }
  if (!f->cipher->Seal(PageKind::kJournal, pgno, in, f->scratch.data())) return SQLITE_IOERR_WRITE;
  return RealWrite(f, f->scratch.data(), amt, off);
}

// ---- sqlite3_io_methods -------------------------------------------------------------------------

int EncClose(sqlite3_file* file) {
  EncFile* f = AsEnc(file);
  int rc = f->real->pMethods ? f->real->pMethods->xClose(f->real) : SQLITE_OK;
  f->~EncFile();
  return rc;
}

int EncRead(sqlite3_file* file, void* buf, int amt, sqlite3_int64 off) {
  EncFile* f = AsEnc(file);
  auto* out = static_cast<uint8_t*>(buf);
  switch (f->kind) {
    case FileKind::kMain:
      return MainRead(f, out, amt, off);
    case FileKind::kWal:
      return WalRead(f, out, amt, off);
    case FileKind::kJournal:
      return JournalRead(f, out, amt, off);
    case FileKind::kPassThrough:
      break;
  }
  return RealRead(f, out, amt, off);
}

int EncWrite(sqlite3_file* file, const void* buf, int amt, sqlite3_int64 off) {
  EncFile* f = AsEnc(file);
  const auto* in = static_cast<const uint8_t*>(buf);
  switch (f->kind) {
    case FileKind::kMain:
      return MainWrite(f, in, amt, off);
    case FileKind::kWal:
      return WalWrite(f, in, amt, off);
    case FileKind::kJournal:
      return JournalWrite(f, in, amt, off);
    case FileKind::kPassThrough:
      break;
  }
  return RealWrite(f, in, amt, off);
}

int EncTruncate(sqlite3_file* file, sqlite3_int64 size) {
  EncFile* f = AsEnc(file);
  Hook("truncate", f->kind);
  const int64_t shift = f->kind == FileKind::kMain ? kDbHeaderSize : 0;
  return f->real->pMethods->xTruncate(f->real, size + shift);
}

int EncSync(sqlite3_file* file, int flags) {
  EncFile* f = AsEnc(file);
  Hook("sync", f->kind);
  return f->real->pMethods->xSync(f->real, flags);
}

int EncFileSize(sqlite3_file* file, sqlite3_int64* size) {
  EncFile* f = AsEnc(file);
  int rc = f->real->pMethods->xFileSize(f->real, size);
  if (rc == SQLITE_OK && f->kind == FileKind::kMain) {
    *size = std::max<sqlite3_int64>(0, *size - kDbHeaderSize);
  }
  return rc;
}

int EncLock(sqlite3_file* file, int lock) {
  sqlite3_file* real = AsEnc(file)->real;
  return real->pMethods->xLock(real, lock);
}
int EncUnlock(sqlite3_file* file, int lock) {
  sqlite3_file* real = AsEnc(file)->real;
  return real->pMethods->xUnlock(real, lock);
}
int EncCheckReservedLock(sqlite3_file* file, int* out) {
  sqlite3_file* real = AsEnc(file)->real;
  return real->pMethods->xCheckReservedLock(real, out);
}

int EncFileControl(sqlite3_file* file, int op, void* arg) {
  EncFile* f = AsEnc(file);
  sqlite3_file* real = f->real;
  if (f->kind == FileKind::kMain) {
    switch (op) {
      case kFcntlReadHeader: {
        auto* io = static_cast<HeaderIo*>(arg);
        if (io->offset + io->size > static_cast<uint64_t>(kDbHeaderSize)) return SQLITE_MISUSE;
        io->bytes.assign(io->size, '\0');
        return RealRead(f, io->bytes.data(), static_cast<int64_t>(io->size),
                        static_cast<int64_t>(io->offset));
      }
      case kFcntlWriteHeader: {
        auto* io = static_cast<HeaderIo*>(arg);
        if (io->offset + io->bytes.size() > static_cast<uint64_t>(kDbHeaderSize)) {
          return SQLITE_MISUSE;
        }
        int rc = RealWrite(f, io->bytes.data(), static_cast<int64_t>(io->bytes.size()),
                           static_cast<int64_t>(io->offset));
        if (rc != SQLITE_OK) return rc;
        Hook("sync", f->kind);
        return real->pMethods->xSync(real, SQLITE_SYNC_FULL);
      }
      case kFcntlVerifyPages:
        return VerifyMainPages(f, static_cast<VerifyPages*>(arg));
      case SQLITE_FCNTL_CKPT_START:
        t_checkpointing = f->context.get();
        break;  // and on to the native VFS, which ignores it
      case SQLITE_FCNTL_CKPT_DONE:
        t_checkpointing = nullptr;
        break;
      case SQLITE_FCNTL_MMAP_SIZE:
        // Memory-mapped reads would bypass decryption: the limit is always zero.
        *static_cast<sqlite3_int64*>(arg) = 0;
        return SQLITE_OK;
      case SQLITE_FCNTL_SIZE_HINT: {
        sqlite3_int64 hint = *static_cast<sqlite3_int64*>(arg) + kDbHeaderSize;
        return real->pMethods->xFileControl(real, op, &hint);
      }
      default:
        break;
    }
  }
  return real->pMethods->xFileControl(real, op, arg);
}

int EncSectorSize(sqlite3_file* file) {
  sqlite3_file* real = AsEnc(file)->real;
  return real->pMethods->xSectorSize(real);
}

int EncDeviceCharacteristics(sqlite3_file* file) {
  sqlite3_file* real = AsEnc(file)->real;
  return real->pMethods->xDeviceCharacteristics(real);
}

int EncShmMap(sqlite3_file* file, int page, int size, int extend, void volatile** out) {
  sqlite3_file* real = AsEnc(file)->real;
  return real->pMethods->xShmMap(real, page, size, extend, out);
}
int EncShmLock(sqlite3_file* file, int offset, int n, int flags) {
  EncFile* f = AsEnc(file);
  sqlite3_file* real = f->real;
  const int rc = real->pMethods->xShmLock(real, offset, n, flags);
  const bool covers_recover = offset <= kWalRecoverLockSlot && kWalRecoverLockSlot < offset + n;
  if (rc == SQLITE_OK && covers_recover && (flags & SQLITE_SHM_EXCLUSIVE) != 0) {
    t_recovering = (flags & SQLITE_SHM_LOCK) != 0 ? f->context.get() : nullptr;
  }
  return rc;
}
void EncShmBarrier(sqlite3_file* file) {
  sqlite3_file* real = AsEnc(file)->real;
  real->pMethods->xShmBarrier(real);
}
int EncShmUnmap(sqlite3_file* file, int delete_flag) {
  sqlite3_file* real = AsEnc(file)->real;
  return real->pMethods->xShmUnmap(real, delete_flag);
}

// Declining every fetch makes SQLite read through xRead, and so through decryption.
int EncFetch(sqlite3_file*, sqlite3_int64, int, void** pp) {
  *pp = nullptr;
  return SQLITE_OK;
}
int EncUnfetch(sqlite3_file*, sqlite3_int64, void*) { return SQLITE_OK; }

const sqlite3_io_methods kEncMethods = {
    3,
    EncClose,
    EncRead,
    EncWrite,
    EncTruncate,
    EncSync,
    EncFileSize,
    EncLock,
    EncUnlock,
    EncCheckReservedLock,
    EncFileControl,
    EncSectorSize,
    EncDeviceCharacteristics,
    EncShmMap,
    EncShmLock,
    EncShmBarrier,
    EncShmUnmap,
    EncFetch,
    EncUnfetch,
};

// Writes the header into a brand-new main file, or checks that an existing file belongs to the
// key context it is opened with.
int PrepareMainFile(EncFile* f, int flags) {
  sqlite3_int64 size = 0;
  int rc = f->real->pMethods->xFileSize(f->real, &size);
  if (rc != SQLITE_OK) return rc;
  const KeyContext& ctx = *f->context;
  if (size == 0 && (flags & SQLITE_OPEN_CREATE) && !ctx.header_for_create.empty()) {
    rc = RealWrite(f, ctx.header_for_create.data(),
                   static_cast<int64_t>(ctx.header_for_create.size()), 0);
    if (rc == SQLITE_OK) {
      Hook("sync", f->kind);
      rc = f->real->pMethods->xSync(f->real, SQLITE_SYNC_FULL);
    }
    return rc;
  }
  if (size < kDbHeaderSize) {
    SetError("not a fieldsync database: the file is shorter than its header");
    return SQLITE_NOTADB;
  }
  uint8_t common[crypto::kCommonSize];
  rc = RealRead(f, common, sizeof(common), 0);
  if (rc != SQLITE_OK) return rc;
  if (std::memcmp(common + 16, ctx.database_id.data(), ctx.database_id.size()) != 0) {
    SetError("the file's database id does not match the key it is opened with");
    return SQLITE_NOTADB;
  }
  return SQLITE_OK;
}

int VfsOpen(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  file->pMethods = nullptr;
  constexpr int kTemporary = SQLITE_OPEN_TEMP_DB | SQLITE_OPEN_TEMP_JOURNAL |
                             SQLITE_OPEN_SUBJOURNAL | SQLITE_OPEN_TRANSIENT_DB;
  if (name == nullptr || (flags & kTemporary) != 0) {
    if (out_flags != nullptr) *out_flags = flags;
    return OpenMemoryFile(file);
  }
  FileKind kind = FileKind::kPassThrough;
  if (flags & SQLITE_OPEN_MAIN_DB)
    kind = FileKind::kMain;
  else if (flags & SQLITE_OPEN_WAL)
    kind = FileKind::kWal;
  else if (flags & SQLITE_OPEN_MAIN_JOURNAL)
    kind = FileKind::kJournal;

  EncFile* f = new (file) EncFile();
  f->kind = kind;
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kEncFileSlot);
  f->real->pMethods = nullptr;
  if (kind != FileKind::kPassThrough) {
    f->context = LookupKey(sqlite3_uri_parameter(name, "fskey"));
    if (!f->context) {
      SetError("no encryption key is registered for this database file");
      f->~EncFile();
      return SQLITE_CANTOPEN;
    }
    f->cipher = PageCipher::New(f->context->data_key.data(), f->context->database_id,
                                f->context->data_key_id, f->context->page_size);
    try {
      f->scratch.resize(static_cast<size_t>(FrameSize(f)));
    } catch (const std::bad_alloc&) {
      f->cipher.reset();
    }
    if (!f->cipher) {
      f->~EncFile();
      return SQLITE_NOMEM;
    }
  }
  int rc = g_base->xOpen(g_base, name, f->real, flags, out_flags);
  if (rc == SQLITE_OK && kind == FileKind::kMain) rc = PrepareMainFile(f, flags);
  if (rc != SQLITE_OK) {
    if (f->real->pMethods != nullptr) f->real->pMethods->xClose(f->real);
    f->~EncFile();
    return rc;
  }
  file->pMethods = &kEncMethods;
  return SQLITE_OK;
}

int VfsDelete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_base->xDelete(g_base, name, sync_dir);
}
int VfsAccess(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_base->xAccess(g_base, name, flags, out);
}
int VfsFullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_base->xFullPathname(g_base, name, n, out);
}
void* VfsDlOpen(sqlite3_vfs*, const char* name) { return g_base->xDlOpen(g_base, name); }
void VfsDlError(sqlite3_vfs*, int n, char* out) { g_base->xDlError(g_base, n, out); }
void (*VfsDlSym(sqlite3_vfs*, void* handle, const char* sym))(void) {
  return g_base->xDlSym(g_base, handle, sym);
}
void VfsDlClose(sqlite3_vfs*, void* handle) { g_base->xDlClose(g_base, handle); }
int VfsRandomness(sqlite3_vfs*, int n, char* out) { return g_base->xRandomness(g_base, n, out); }
int VfsSleep(sqlite3_vfs*, int micros) { return g_base->xSleep(g_base, micros); }
int VfsCurrentTime(sqlite3_vfs*, double* out) { return g_base->xCurrentTime(g_base, out); }
int VfsGetLastError(sqlite3_vfs*, int n, char* out) {
  return g_base->xGetLastError ? g_base->xGetLastError(g_base, n, out) : 0;
}
int VfsCurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_base->xCurrentTimeInt64(g_base, out);
}

Status InitVfs() {
  g_base = sqlite3_vfs_find(nullptr);
  if (g_base == nullptr || g_base->iVersion < 2) {
    return Status::Internal("the system SQLite has no usable default VFS");
  }
  std::memset(&g_vfs, 0, sizeof(g_vfs));
  g_vfs.iVersion = 2;
  g_vfs.szOsFile = static_cast<int>(
      std::max(kEncFileSlot + static_cast<size_t>(g_base->szOsFile), MemoryFileSize()));
  g_vfs.mxPathname = g_base->mxPathname;
  g_vfs.zName = kVfsName;
  g_vfs.xOpen = VfsOpen;
  g_vfs.xDelete = VfsDelete;
  g_vfs.xAccess = VfsAccess;
  g_vfs.xFullPathname = VfsFullPathname;
  g_vfs.xDlOpen = VfsDlOpen;
  g_vfs.xDlError = VfsDlError;
  g_vfs.xDlSym = VfsDlSym;
  g_vfs.xDlClose = VfsDlClose;
  g_vfs.xRandomness = VfsRandomness;
  g_vfs.xSleep = VfsSleep;
  g_vfs.xCurrentTime = VfsCurrentTime;
  g_vfs.xGetLastError = VfsGetLastError;
  g_vfs.xCurrentTimeInt64 = VfsCurrentTimeInt64;
  if (sqlite3_vfs_register(&g_vfs, 0) != SQLITE_OK) {
    return Status::Internal("could not register the encrypting VFS");
  }
  return Status::OK();
}

// A sqlite3_file of the native VFS, for header I/O outside a connection.
class RawFile {
 public:
  ~RawFile() {
    if (file_ != nullptr && file_->pMethods != nullptr) file_->pMethods->xClose(file_);
    std::free(file_);
  }
  Status Open(const std::string& path, int flags) {
    // The native VFS may scan past the name's end for URI parameters: end with two NULs.
    name_ = path;
    name_.append(2, '\0');
    file_ = static_cast<sqlite3_file*>(std::calloc(1, static_cast<size_t>(g_base->szOsFile)));
    if (file_ == nullptr) return Status::Internal("out of memory");
    int out = 0;
    int rc = g_base->xOpen(g_base, name_.c_str(), file_, flags | SQLITE_OPEN_MAIN_DB, &out);
    if (rc != SQLITE_OK) {
      return rc == SQLITE_CANTOPEN ? Status::NotFound("cannot open database file " + path)
                                   : Status::IOError("cannot open database file " + path);
    }
    return Status::OK();
  }
  sqlite3_file* get() { return file_; }

 private:
  std::string name_;
  sqlite3_file* file_ = nullptr;
};

}  // namespace

Status EnsureRegistered() {
  static std::once_flag once;
  static Status* status = nullptr;
  std::call_once(once, [] { status = new Status(InitVfs()); });
  return *status;
}

std::string RegisterKey(std::shared_ptr<const KeyContext> context) {
  uint8_t raw[16];
  if (!SecureRandom(raw, sizeof(raw)).ok()) std::memset(raw, 0, sizeof(raw));
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  // A counter suffix keeps tokens unique even if the random source failed.
  static uint64_t counter = 0;
  std::string token = crypto::ToHex(raw, sizeof(raw)) + std::to_string(++counter);
  r.contexts.emplace(token, std::move(context));
  return token;
}

void UnregisterKey(const std::string& token) {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.contexts.erase(token);
}

std::string MakeUri(const std::string& absolute_path, const std::string& token) {
  std::string uri = "file://";
  static const char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : absolute_path) {
    if (c == '%' || c == '?' || c == '#' || c < 0x20) {
      uri.push_back('%');
      uri.push_back(kHex[c >> 4]);
      uri.push_back(kHex[c & 15]);
    } else {
      uri.push_back(static_cast<char>(c));
    }
  }
  uri += "?vfs=";
  uri += kVfsName;
  uri += "&fskey=" + token;
  return uri;
}

Result<std::string> ReadRawHeader(const std::string& path, size_t size) {
  FIELDSYNC_RETURN_IF_ERROR(EnsureRegistered());
  RawFile file;
  FIELDSYNC_RETURN_IF_ERROR(file.Open(path, SQLITE_OPEN_READONLY));
  std::string bytes(size, '\0');
  int rc = file.get()->pMethods->xRead(file.get(), bytes.data(), static_cast<int>(size), 0);
  if (rc == SQLITE_IOERR_SHORT_READ) {
    return Status::Corruption("not a fieldsync database: the file is shorter than its header");
  }
  if (rc != SQLITE_OK) return Status::IOError("cannot read the header of " + path);
  return bytes;
}

Status OverwriteRawHeader(const std::string& path, const std::string& bytes) {
  FIELDSYNC_RETURN_IF_ERROR(EnsureRegistered());
  RawFile file;
  FIELDSYNC_RETURN_IF_ERROR(file.Open(path, SQLITE_OPEN_READWRITE));
  sqlite3_file* f = file.get();
  if (f->pMethods->xWrite(f, bytes.data(), static_cast<int>(bytes.size()), 0) != SQLITE_OK ||
      f->pMethods->xSync(f, SQLITE_SYNC_FULL) != SQLITE_OK) {
    return Status::IOError("cannot overwrite the header of " + path);
  }
  return Status::OK();
}

std::string TakeLastError() {
  std::string message = std::move(t_last_error);
  t_last_error.clear();
  return message;
}

void SetIoHookForTesting(IoHook hook) { g_io_hook.store(hook); }

}  // namespace fieldsync::vfs
