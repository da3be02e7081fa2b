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
// Associated data (authenticated, not stored): database id (16) | page kind (1) | page number (4).
// So a page moved to another position, moved between the database and the journal, or copied in
// from another database fails authentication.
//
// WAL frames. A frame's page image is sealed exactly as the database page it becomes at
// checkpoint (kind 'D'), so a checkpoint copies it into the database file without decrypting
// and re-encrypting it. In the WAL its 8 hint bytes hold instead a 64-bit MAC of the frame
// header's commit field: the first 8 bytes of AES-256 (one block, under a key derived from the
// data key) of nonce | commit field. Nonces are unique, so this is a PRF of fresh input: a frame
// whose header was edited to end a transaction early fails (2^-64 per attempt), and a page image
// moved to another frame already fails GCM through its page number. The hints are restored
// before the image is used as a database page. (The WAL salts cannot be bound: SQLite
// writes the frames of a transaction that rewrites spilled pages with zero salts and fills them
// in at commit.) The hints let Diagnose() say which of those
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
inline constexpr size_t kWalMacSize = 8;

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
  bool Seal(PageKind kind, uint32_t pgno, const uint8_t* plain, uint8_t* out);

  // Seals a WAL frame's page image (see the file comment): `commit` is the frame header's
  // commit field (kFrameBindingSize bytes).
  bool SealWalPage(uint32_t pgno, const uint8_t* commit, const uint8_t* plain, uint8_t* out);
  // Checks a WAL page image's MAC against its frame header and turns it, in place, into the
  // database page image it stands for (hints restored; still encrypted). False if the MAC fails.
  bool WalImageToDatabaseImage(uint32_t pgno, const uint8_t* commit, uint8_t* image);
  // True if `image` carries the hints of database page `pgno` under this key: a sealed image
  // ready to be written as that page.
  bool HasDatabaseHints(uint32_t pgno, const uint8_t* image) const;

  // Authenticates and decrypts a page image in place and zeroes its tail, which is what SQLite
  // must see (see the .cc). On false the usable part holds garbage.
  bool OpenInPlace(PageKind kind, uint32_t pgno, uint8_t* page);

  // Why the page image `page` (as read from disk, unmodified) does not authenticate as `pgno`:
  // zeroed, sealed under another key (another database), sealed for another page (moved or
  // swapped), or modified. The text names page numbers only, never contents.
  std::string Diagnose(PageKind kind, uint32_t pgno, const uint8_t* page);

  uint32_t page_size() const { return page_size_; }

 private:
  PageCipher(uint32_t page_size, const std::array<uint8_t, kDatabaseIdSize>& db_id,
             const std::array<uint8_t, kKeyIdSize>& key_id);
  void BuildAad(PageKind kind, uint32_t pgno, uint8_t* aad) const;
  bool Decrypt(PageKind kind, uint32_t pgno, const uint8_t* nonce, const uint8_t* tag,
               const uint8_t* in, uint8_t* out);
  bool WalMac(const uint8_t* commit, const uint8_t* nonce, uint8_t* mac);
  void PutHints(uint32_t pgno, uint8_t* image) const;

  uint32_t page_size_;
  uint32_t usable_size_;
  std::array<uint8_t, kDatabaseIdSize> db_id_;
  std::array<uint8_t, kKeyIdSize> key_id_;
  std::array<uint8_t, kNonceSize> nonce_{};
  EVP_CIPHER_CTX* enc_ = nullptr;
  EVP_CIPHER_CTX* dec_ = nullptr;
  EVP_CIPHER_CTX* mac_ = nullptr;  // AES-256-ECB under the WAL MAC key, one block per frame
};

}  // namespace fieldsync::crypto
