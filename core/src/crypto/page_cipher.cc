// crypto/page_cipher.cc: AES-256-GCM page sealing; see page_cipher.h for the layout.
#include "crypto/page_cipher.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace fieldsync::crypto {
namespace {

constexpr size_t kAadSize = kDatabaseIdSize + 1 + 4;
constexpr size_t kHintsAt = kNonceSize + kTagSize;  // offset of the hints in the tail
constexpr char kWalMacLabel[] = "fieldsync wal frame mac v1";

void PutBig32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

uint32_t GetBig32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// Treats the nonce as a 96-bit big-endian counter. Starting at a random value per PageCipher
// makes two ciphers' ranges overlap only with negligible probability; a counter (not a fresh
// RAND_bytes per page) keeps sealing at about 2 us per 4 KiB page.
void IncrementNonce(std::array<uint8_t, kNonceSize>& nonce) {
  for (size_t i = kNonceSize; i-- > 0;) {
    if (++nonce[i] != 0) break;
  }
}

}  // namespace

const char* PageKindName(PageKind kind) {
  switch (kind) {
    case PageKind::kDatabase:
      return "database page";
    case PageKind::kWal:
      return "WAL frame for page";
    case PageKind::kJournal:
      return "rollback-journal record for page";
  }
  return "page";
}

PageCipher::PageCipher(uint32_t page_size, const std::array<uint8_t, kDatabaseIdSize>& db_id,
                       const std::array<uint8_t, kKeyIdSize>& key_id)
    : page_size_(page_size),
      usable_size_(page_size - static_cast<uint32_t>(kPageReserve)),
      db_id_(db_id),
      key_id_(key_id) {}

PageCipher::~PageCipher() {
  EVP_CIPHER_CTX_free(enc_);  // also cleanses the expanded key schedule
  EVP_CIPHER_CTX_free(dec_);
  EVP_CIPHER_CTX_free(mac_);
}

std::unique_ptr<PageCipher> PageCipher::New(const uint8_t* data_key,
                                            const std::array<uint8_t, kDatabaseIdSize>& db_id,
                                            const std::array<uint8_t, kKeyIdSize>& key_id,
                                            uint32_t page_size) {
  if (page_size <= kPageReserve + 512) return nullptr;
  std::unique_ptr<PageCipher> c(new (std::nothrow) PageCipher(page_size, db_id, key_id));
  if (!c) return nullptr;
  c->enc_ = EVP_CIPHER_CTX_new();
  c->dec_ = EVP_CIPHER_CTX_new();
  if (c->enc_ == nullptr || c->dec_ == nullptr) return nullptr;
  // The key schedule is expanded once here; each page only sets a new IV.
  if (EVP_EncryptInit_ex(c->enc_, EVP_aes_256_gcm(), nullptr, data_key, nullptr) != 1 ||
      EVP_DecryptInit_ex(c->dec_, EVP_aes_256_gcm(), nullptr, data_key, nullptr) != 1) {
    return nullptr;
  }
  if (RAND_bytes(c->nonce_.data(), static_cast<int>(c->nonce_.size())) != 1) return nullptr;
  // The WAL MAC key: SHA-256(data key | label); never the data key itself.
  uint8_t digest[32];
  unsigned int digest_len = 0;
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  const bool derived = md != nullptr && EVP_DigestInit_ex(md, EVP_sha256(), nullptr) == 1 &&
                       EVP_DigestUpdate(md, data_key, 32) == 1 &&
                       EVP_DigestUpdate(md, kWalMacLabel, sizeof(kWalMacLabel) - 1) == 1 &&
                       EVP_DigestFinal_ex(md, digest, &digest_len) == 1;
  EVP_MD_CTX_free(md);
  c->mac_ = EVP_CIPHER_CTX_new();
  const bool keyed =
      derived && c->mac_ != nullptr &&
      EVP_EncryptInit_ex(c->mac_, EVP_aes_256_ecb(), nullptr, digest, nullptr) == 1 &&
      EVP_CIPHER_CTX_set_padding(c->mac_, 0) == 1;
  OPENSSL_cleanse(digest, sizeof(digest));
  if (!keyed) return nullptr;
  return c;
}

void PageCipher::BuildAad(PageKind kind, uint32_t pgno, uint8_t* aad) const {
  std::memcpy(aad, db_id_.data(), kDatabaseIdSize);
  aad[kDatabaseIdSize] = static_cast<uint8_t>(kind);
  PutBig32(aad + kDatabaseIdSize + 1, pgno);
}

void PageCipher::PutHints(uint32_t pgno, uint8_t* image) const {
  uint8_t* hints = image + usable_size_ + kHintsAt;
  PutBig32(hints, pgno);
  std::memcpy(hints + 4, key_id_.data(), 4);
}

bool PageCipher::HasDatabaseHints(uint32_t pgno, const uint8_t* image) const {
  const uint8_t* hints = image + usable_size_ + kHintsAt;
  return GetBig32(hints) == pgno && std::memcmp(hints + 4, key_id_.data(), 4) == 0;
}

bool PageCipher::WalMac(const uint8_t* commit, const uint8_t* nonce, uint8_t* mac) {
  static_assert(kNonceSize + kFrameBindingSize == 16, "one AES block");
  uint8_t block[16];
  std::memcpy(block, nonce, kNonceSize);
  std::memcpy(block + kNonceSize, commit, kFrameBindingSize);
  uint8_t out[16];
  int len = 0;
  if (EVP_EncryptUpdate(mac_, out, &len, block, sizeof(block)) != 1 || len != 16) return false;
  std::memcpy(mac, out, kWalMacSize);
  return true;
}

bool PageCipher::SealWalPage(uint32_t pgno, const uint8_t* commit, const uint8_t* plain,
                             uint8_t* out) {
  if (!Seal(PageKind::kDatabase, pgno, plain, out)) return false;
  uint8_t* tail = out + usable_size_;
  return WalMac(commit, tail, tail + kHintsAt);
}

bool PageCipher::WalImageToDatabaseImage(uint32_t pgno, const uint8_t* commit, uint8_t* image) {
  uint8_t* tail = image + usable_size_;
  uint8_t expected[kWalMacSize];
  if (!WalMac(commit, tail, expected) ||
      CRYPTO_memcmp(expected, tail + kHintsAt, kWalMacSize) != 0) {
    return false;
  }
  PutHints(pgno, image);
  return true;
}

bool PageCipher::Seal(PageKind kind, uint32_t pgno, const uint8_t* plain, uint8_t* out) {
  IncrementNonce(nonce_);
  uint8_t aad[kAadSize];
  BuildAad(kind, pgno, aad);
  uint8_t* tail = out + usable_size_;
  int len = 0;
  if (EVP_EncryptInit_ex(enc_, nullptr, nullptr, nullptr, nonce_.data()) != 1) return false;
  if (EVP_EncryptUpdate(enc_, nullptr, &len, aad, sizeof(aad)) != 1) return false;
  if (EVP_EncryptUpdate(enc_, out, &len, plain, static_cast<int>(usable_size_)) != 1) return false;
  if (EVP_EncryptFinal_ex(enc_, out + len, &len) != 1) return false;
  std::memcpy(tail, nonce_.data(), kNonceSize);
  if (EVP_CIPHER_CTX_ctrl(enc_, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagSize),
                          tail + kNonceSize) != 1) {
    return false;
  }
  PutHints(pgno, out);
  return true;
}

bool PageCipher::Decrypt(PageKind kind, uint32_t pgno, const uint8_t* nonce, const uint8_t* tag,
                         const uint8_t* in, uint8_t* out) {
  uint8_t aad[kAadSize];
  BuildAad(kind, pgno, aad);
  uint8_t tag_copy[kTagSize];  // the ctrl call takes a non-const pointer
  std::memcpy(tag_copy, tag, kTagSize);
  int len = 0;
  if (EVP_DecryptInit_ex(dec_, nullptr, nullptr, nullptr, nonce) != 1) return false;
  if (EVP_DecryptUpdate(dec_, nullptr, &len, aad, sizeof(aad)) != 1) return false;
  if (EVP_DecryptUpdate(dec_, out, &len, in, static_cast<int>(usable_size_)) != 1) return false;
  if (EVP_CIPHER_CTX_ctrl(dec_, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagSize), tag_copy) != 1) {
    return false;
  }
  return EVP_DecryptFinal_ex(dec_, out + len, &len) == 1;
}

bool PageCipher::OpenInPlace(PageKind kind, uint32_t pgno, uint8_t* page) {
  const uint8_t* tail = page + usable_size_;
  // The hints are a function of (pgno, key), so comparing them authenticates them: no byte of
  // a page image can change unnoticed.
  if (GetBig32(tail + kNonceSize + kTagSize) != pgno ||
      std::memcmp(tail + kNonceSize + kTagSize + 4, key_id_.data(), 4) != 0) {
    return false;
  }
  uint8_t nonce[kNonceSize];
  std::memcpy(nonce, tail, kNonceSize);
  if (!Decrypt(kind, pgno, nonce, tail + kNonceSize, page, page)) return false;
  // SQLite checksums WAL frames over the whole page image, tail included, and checks them again
  // when it rebuilds the WAL index after a crash. Pages it creates have a zero tail, so every
  // page it reads must show a zero tail too, or recovery would reject committed frames.
  std::memset(page + usable_size_, 0, kPageReserve);
  return true;
}

std::string PageCipher::Diagnose(PageKind kind, uint32_t pgno, const uint8_t* page) {
  const std::string what = std::string(PageKindName(kind)) + " " + std::to_string(pgno);
  if (std::all_of(page, page + page_size_, [](uint8_t b) { return b == 0; })) {
    return what + " is all zeros: the file was truncated, zero-filled or wiped there";
  }
  const uint8_t* tail = page + usable_size_;
  const uint32_t stored_pgno = GetBig32(tail + kNonceSize + kTagSize);
  const uint8_t* stored_key = tail + kNonceSize + kTagSize + 4;
  std::vector<uint8_t> scratch(page_size_);
  if (Decrypt(kind, pgno, tail, tail + kNonceSize, page, scratch.data())) {
    return what +
           " failed its integrity check: its page-number or key hint was modified (tampered)";
  }
  if (std::memcmp(stored_key, key_id_.data(), 4) != 0) {
    return what +
           " was encrypted under a different data key: it was copied in from another "
           "database (tampered)";
  }
  if (stored_pgno != pgno) {
    if (Decrypt(kind, stored_pgno, tail, tail + kNonceSize, page, scratch.data())) {
      return what + " holds the authentic contents of page " + std::to_string(stored_pgno) +
             ": pages were moved or swapped (tampered)";
    }
  }
  return what + " failed authentication: its contents were modified on disk (tampered or damaged)";
}

}  // namespace fieldsync::crypto
