// crypto/page_cipher.h: seals and opens one page image with AES-256-GCM.
//
// A page of P bytes keeps its last kPageReserve bytes for the cipher (SQLite's "reserved bytes per
// page", so SQLite never stores data there). Layout of that tail, at offset P - kPageReserve:
//
//   +0   12  nonce      a 96-bit counter started at a random value for every PageCipher, so a
//                       nonce is never reused under one key (see docs/security.md for the bound)
//   +12  16  GCM tag    over the ciphertext and the associated data below
//   +28   4  page hint  the page number the image was sealed for (big-endian)
//   +32   4  key hint   the first 4 bytes of the data-key id
//
// Associated data (authenticated, not stored): database id (16) | page kind (1) | page number (4),
// and for a WAL frame also bytes 4..7 of its frame header (the commit size). So a page moved to
// another position, moved between the database, WAL and journal, or copied in from another
// database fails authentication, and so does a WAL frame whose header was edited to end a
// transaction early. (The salts cannot be bound: SQLite writes frames of a transaction that
// rewrites spilled pages with zero salts and fills them in at commit.) The hints let Diagnose() say which of those
// happened; they must equal the expected values, so they cannot be altered unnoticed either.
//
// Thread safety: a PageCipher holds OpenSSL contexts and a nonce counter; one thread at a time
// (the VFS gives each open file its own).
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace fieldsync::crypto {

inline constexpr size_t kNonceSize = 12;
inline constexpr size_t kTagSize = 16;
inline constexpr size_t kPageReserve = 36;
inline constexpr size_t kDatabaseIdSize = 16;
inline constexpr size_t kKeyIdSize = 8;
// Bytes of a WAL frame header bound to its page image: the commit size (header bytes 4..7).
inline constexpr size_t kFrameBindingSize = 4;

enum class PageKind : uint8_t { kDatabase = 'D', kWal = 'W', kJournal = 'J' };

const char* PageKindName(PageKind kind);

class PageCipher {
 public:
  // nullptr if OpenSSL cannot set up the contexts or the random nonce start.
  static std::unique_ptr<PageCipher> New(const uint8_t* data_key,
                                         const std::array<uint8_t, kDatabaseIdSize>& db_id,
                                         const std::array<uint8_t, kKeyIdSize>& key_id,
                                         uint32_t page_size);
  ~PageCipher();
  PageCipher(const PageCipher&) = delete;
  PageCipher& operator=(const PageCipher&) = delete;

  // Encrypts the usable part of `plain` (its reserved tail is ignored) into the page image `out`.
  // `plain` and `out` are page_size bytes and must not overlap. False only if OpenSSL fails.
  // `frame` (WAL pages only, else nullptr) points to kFrameBindingSize bytes bound to the page.
  bool Seal(PageKind kind, uint32_t pgno, const uint8_t* plain, uint8_t* out,
            const uint8_t* frame = nullptr);

  // Authenticates and decrypts a page image in place and zeroes its tail, which is what SQLite
  // must see (see the .cc). On false the usable part holds garbage.
  bool OpenInPlace(PageKind kind, uint32_t pgno, uint8_t* page, const uint8_t* frame = nullptr);

  // Why the page image `page` (as read from disk, unmodified) does not authenticate as `pgno`:
  // zeroed, sealed under another key (another database), sealed for another page (moved or
  // swapped), or modified. The text names page numbers only, never contents.
  std::string Diagnose(PageKind kind, uint32_t pgno, const uint8_t* page,
                       const uint8_t* frame = nullptr);

  uint32_t page_size() const { return page_size_; }

 private:
  PageCipher(uint32_t page_size, const std::array<uint8_t, kDatabaseIdSize>& db_id,
             const std::array<uint8_t, kKeyIdSize>& key_id);
  // Returns the length of the associated data written to aad.
  int BuildAad(PageKind kind, uint32_t pgno, const uint8_t* frame, uint8_t* aad) const;
  bool Decrypt(PageKind kind, uint32_t pgno, const uint8_t* frame, const uint8_t* nonce,
               const uint8_t* tag, const uint8_t* in, uint8_t* out);

  uint32_t page_size_;
  uint32_t usable_size_;
  std::array<uint8_t, kDatabaseIdSize> db_id_;
  std::array<uint8_t, kKeyIdSize> key_id_;
  std::array<uint8_t, kNonceSize> nonce_{};
  EVP_CIPHER_CTX* enc_ = nullptr;
  EVP_CIPHER_CTX* dec_ = nullptr;
};

}  // namespace fieldsync::crypto
