// crypto/key_header.cc: serializes, parses, wraps and unwraps the database header.
#include "crypto/key_header.h"

#include <openssl/evp.h>

#include <cstring>
#include <memory>

namespace fieldsync::crypto {
namespace {

constexpr char kMagic[8] = {'F', 'S', 'Y', 'N', 'C', 'D', 'B', '\0'};
constexpr char kSlotMagic[4] = {'F', 'S', 'K', 'S'};
constexpr char kSqliteMagic[] = "SQLite format 3";
constexpr size_t kSlotAadEnd = 72;  // bytes of the slot authenticated by the wrap
constexpr size_t kSlotNonceAt = 72;
constexpr size_t kSlotWrappedAt = 84;
constexpr size_t kSlotTagAt = 116;
constexpr size_t kSlotChecksumAt = 132;
constexpr size_t kSlotUsed = 164;

void Put16(std::string& s, size_t at, uint16_t v) {
  s[at] = static_cast<char>(v >> 8);
  s[at + 1] = static_cast<char>(v);
}
void Put32(std::string& s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>(v >> (24 - 8 * i));
}
void Put64(std::string& s, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) s[at + i] = static_cast<char>(v >> (56 - 8 * i));
}
uint64_t GetN(std::string_view s, size_t at, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}
template <size_t N>
void PutBytes(std::string& s, size_t at, const std::array<uint8_t, N>& a) {
  std::memcpy(&s[at], a.data(), N);
}
template <size_t N>
void GetBytes(std::string_view s, size_t at, std::array<uint8_t, N>* a) {
  std::memcpy(a->data(), s.data() + at, N);
}

bool Sha256(std::string_view a, std::string_view b, uint8_t out[32]) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned int len = 0;
  return ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1 &&
         EVP_DigestUpdate(ctx.get(), a.data(), a.size()) == 1 &&
         EVP_DigestUpdate(ctx.get(), b.data(), b.size()) == 1 &&
         EVP_DigestFinal_ex(ctx.get(), out, &len) == 1;
}

// The slot's first kSlotAadEnd bytes: what the wrap authenticates besides the common header.
std::string SlotPrefix(const KeySlot& slot) {
  std::string s(kSlotAadEnd, '\0');
  std::memcpy(&s[0], kSlotMagic, 4);
  Put64(s, 4, slot.generation);
  s[12] = static_cast<char>(slot.kek.kind);
  Put64(s, 16, slot.kek.scrypt_n);
  Put32(s, 24, slot.kek.scrypt_r);
  Put32(s, 28, slot.kek.scrypt_p);
  PutBytes(s, 32, slot.kek.salt);
  PutBytes(s, 64, slot.data_key_id);
  return s;
}

std::optional<KeySlot> ParseSlot(std::string_view common, std::string_view s) {
  if (std::memcmp(s.data(), kSlotMagic, 4) != 0) return std::nullopt;
  uint8_t digest[32];
  if (!Sha256(common, s.substr(0, kSlotChecksumAt), digest) ||
      std::memcmp(digest, s.data() + kSlotChecksumAt, 32) != 0) {
    return std::nullopt;
  }
  KeySlot slot;
  slot.generation = GetN(s, 4, 8);
  slot.kek.kind = static_cast<KekKind>(static_cast<uint8_t>(s[12]));
  slot.kek.scrypt_n = GetN(s, 16, 8);
  slot.kek.scrypt_r = static_cast<uint32_t>(GetN(s, 24, 4));
  slot.kek.scrypt_p = static_cast<uint32_t>(GetN(s, 28, 4));
  GetBytes(s, 32, &slot.kek.salt);
  GetBytes(s, 64, &slot.data_key_id);
  GetBytes(s, kSlotNonceAt, &slot.wrap_nonce);
  GetBytes(s, kSlotWrappedAt, &slot.wrapped_key);
  GetBytes(s, kSlotTagAt, &slot.wrap_tag);
  return slot;
}

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

}  // namespace

int DatabaseHeader::ActiveSlot() const {
  int best = -1;
  for (int i = 0; i < 2; ++i) {
    if (slots[i] && (best < 0 || slots[i]->generation > slots[best]->generation)) best = i;
  }
  return best;
}

std::string SerializeCommon(const DatabaseHeader& header) {
  std::string s(kCommonSize, '\0');
  std::memcpy(&s[0], kMagic, sizeof(kMagic));
  Put16(s, 8, header.format_version);
  Put16(s, 10, header.page_size);
  s[12] = static_cast<char>(header.reserve_bytes);
  s[13] = static_cast<char>(header.cipher);
  PutBytes(s, 16, header.database_id);
  return s;
}

std::string SerializeSlot(const DatabaseHeader& header, const KeySlot& slot) {
  std::string s = SlotPrefix(slot);
  s.resize(kSlotSize, '\0');
  PutBytes(s, kSlotNonceAt, slot.wrap_nonce);
  PutBytes(s, kSlotWrappedAt, slot.wrapped_key);
  PutBytes(s, kSlotTagAt, slot.wrap_tag);
  uint8_t digest[32];
  Sha256(SerializeCommon(header), std::string_view(s).substr(0, kSlotChecksumAt), digest);
  std::memcpy(&s[kSlotChecksumAt], digest, 32);
  static_assert(kSlotUsed <= kSlotSize);
  return s;
}

std::string SerializeHeader(const DatabaseHeader& header, const KeySlot& slot, int index) {
  std::string s(kHeaderSize, '\0');
  s.replace(0, kCommonSize, SerializeCommon(header));
  s.replace(kSlotOffset[index], kSlotSize, SerializeSlot(header, slot));
  return s;
}

Result<DatabaseHeader> ParseHeader(std::string_view bytes) {
  if (bytes.size() >= sizeof(kSqliteMagic) &&
      std::memcmp(bytes.data(), kSqliteMagic, sizeof(kSqliteMagic)) == 0) {
    return Status::Corruption(
        "this is a plaintext SQLite database, not an encrypted fieldsync one");
  }
  if (bytes.size() < kHeaderSize || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return Status::Corruption("not a fieldsync database (missing or damaged file header)");
  }
  DatabaseHeader h;
  h.format_version = static_cast<uint16_t>(GetN(bytes, 8, 2));
  h.page_size = static_cast<uint16_t>(GetN(bytes, 10, 2));
  h.reserve_bytes = static_cast<uint8_t>(bytes[12]);
  h.cipher = static_cast<uint8_t>(bytes[13]);
  GetBytes(bytes, 16, &h.database_id);
  if (h.format_version != kFormatVersion) {
    return Status::Corruption("unsupported fieldsync file format version " +
                              std::to_string(h.format_version));
  }
  if (h.page_size != kPageSize || h.reserve_bytes != kPageReserve || h.cipher != kCipherAes256Gcm) {
    return Status::Corruption("file header names an unsupported page size, reserve or cipher");
  }
  const std::string_view common = bytes.substr(0, kCommonSize);
  for (int i = 0; i < 2; ++i)
    h.slots[i] = ParseSlot(common, bytes.substr(kSlotOffset[i], kSlotSize));
  if (h.ActiveSlot() < 0) {
    return Status::Corruption("no intact key slot in the file header (damaged or destroyed)");
  }
  return h;
}

Status WrapDataKey(const DatabaseHeader& header, const SecretBytes& kek,
                   const SecretBytes& data_key, KeySlot* slot) {
  if (kek.size() != kKeySize || data_key.size() != kKeySize) {
    return Status::Internal("key sizes must be 32 bytes");
  }
  FIELDSYNC_RETURN_IF_ERROR(SecureRandom(slot->wrap_nonce.data(), slot->wrap_nonce.size()));
  const std::string aad = SerializeCommon(header) + SlotPrefix(*slot);
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  int total = 0;
  bool ok =
      ctx &&
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, kek.data(),
                         slot->wrap_nonce.data()) == 1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const uint8_t*>(aad.data()),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_EncryptUpdate(ctx.get(), slot->wrapped_key.data(), &len, data_key.data(),
                        static_cast<int>(kKeySize)) == 1;
  total = len;
  ok = ok && EVP_EncryptFinal_ex(ctx.get(), slot->wrapped_key.data() + total, &len) == 1 &&
       EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagSize),
                           slot->wrap_tag.data()) == 1;
  return ok ? Status::OK() : Status::Internal("OpenSSL failed to wrap the data key");
}

Result<SecretBytes> UnwrapDataKey(const DatabaseHeader& header, const KeySlot& slot,
                                  const SecretBytes& kek) {
  if (kek.size() != kKeySize) return Status::Internal("key-encryption key must be 32 bytes");
  const std::string aad = SerializeCommon(header) + SlotPrefix(slot);
  SecretBytes key(kKeySize);
  std::array<uint8_t, kTagSize> tag = slot.wrap_tag;
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  bool ok =
      ctx &&
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, kek.data(),
                         slot.wrap_nonce.data()) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const uint8_t*>(aad.data()),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), key.data(), &len, slot.wrapped_key.data(),
                        static_cast<int>(kKeySize)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagSize),
                          tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), key.data() + len, &len) == 1;
  if (!ok) {
    return Status::WrongKey("the passphrase or key does not open this database");
  }
  return key;
}

std::string ToHex(const uint8_t* data, size_t size) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 15]);
  }
  return out;
}

}  // namespace fieldsync::crypto
