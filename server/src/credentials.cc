// server/src/credentials.cc: scrypt password hashes and bearer tokens (credentials.h).
#include "credentials.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <memory>
#include <vector>

#include "fieldsync/key_provider.h"

namespace fieldsync::server {
namespace {

constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

Status Scrypt(std::string_view password, std::string_view salt, uint64_t n, uint32_t r, uint32_t p,
              unsigned char* out, size_t out_len) {
  FIELDSYNC_RETURN_IF_ERROR(ValidateScryptParams(n, r, p));
  std::unique_ptr<EVP_KDF, decltype(&EVP_KDF_free)> kdf(
      EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_SCRYPT, nullptr), &EVP_KDF_free);
  if (!kdf) return Status::Internal("EVP_KDF_fetch(SCRYPT) failed");
  std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)> ctx(EVP_KDF_CTX_new(kdf.get()),
                                                                &EVP_KDF_CTX_free);
  if (!ctx) return Status::Internal("EVP_KDF_CTX_new failed");
  uint64_t max_mem = uint64_t{1} << 30;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, const_cast<char*>(password.data()),
                                        password.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(salt.data()),
                                        salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &max_mem),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_KDF_derive(ctx.get(), out, out_len, params) != 1) {
    return Status::Internal("scrypt derivation failed");
  }
  return Status::OK();
}

// Splits "a$b$c" on '$'.
std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> parts(1);
  for (char c : s) {
    if (c == '$') {
      parts.emplace_back();
    } else {
      parts.back() += c;
    }
  }
  return parts;
}

bool ParseUnsigned(const std::string& s, uint64_t max, uint64_t* out) {
  if (s.empty() || s.size() > 10) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max) return false;
  *out = v;
  return true;
}

}  // namespace

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out;
  size_t i = 0;
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{b[i]} << 16) | (uint32_t{b[i + 1]} << 8) | b[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (bytes.size() - i == 1) {
    const uint32_t v = uint32_t{b[i]} << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (bytes.size() - i == 2) {
    const uint32_t v = (uint32_t{b[i]} << 16) | (uint32_t{b[i + 1]} << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

bool Base64UrlDecode(std::string_view text, std::string* out) {
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    if (c >= '0' && c <= '9') v = c - '0' + 52;
    if (c == '-') v = 62;
    if (c == '_') v = 63;
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return text.size() % 4 != 1;
}

Result<std::string> HashPassword(std::string_view password, PasswordParams params) {
  if (params.log2_n < 1 || params.log2_n > 22) {
    return Status::InvalidArgument("scrypt log2(N) must be in 1..22");
  }
  unsigned char salt[kSaltBytes];
  if (RAND_bytes(salt, sizeof salt) != 1) return Status::Internal("RAND_bytes failed");
  unsigned char hash[kHashBytes];
  const std::string_view salt_view(reinterpret_cast<const char*>(salt), sizeof salt);
  FIELDSYNC_RETURN_IF_ERROR(Scrypt(password, salt_view, uint64_t{1} << params.log2_n, params.r,
                                   params.p, hash, sizeof hash));
  std::string out = "scrypt$" + std::to_string(params.log2_n) + "$" + std::to_string(params.r) +
                    "$" + std::to_string(params.p) + "$" + Base64UrlEncode(salt_view) + "$" +
                    Base64UrlEncode(std::string_view(reinterpret_cast<char*>(hash), sizeof hash));
  OPENSSL_cleanse(hash, sizeof hash);
  return out;
}

bool VerifyPassword(std::string_view password, const std::string& stored_hash) {
  const std::vector<std::string> parts = Split(stored_hash);
  uint64_t log2_n = 0, r = 0, p = 0;
  std::string salt, expected;
  if (parts.size() != 6 || parts[0] != "scrypt" || !ParseUnsigned(parts[1], 22, &log2_n) ||
      !ParseUnsigned(parts[2], 32, &r) || !ParseUnsigned(parts[3], 16, &p) ||
      !Base64UrlDecode(parts[4], &salt) || !Base64UrlDecode(parts[5], &expected) ||
      expected.size() != kHashBytes || log2_n < 1) {
    BurnPasswordCheck(password);
    return false;
  }
  unsigned char hash[kHashBytes];
  if (!Scrypt(password, salt, uint64_t{1} << log2_n, static_cast<uint32_t>(r),
              static_cast<uint32_t>(p), hash, sizeof hash)
           .ok()) {
    return false;
  }
  const bool same = CRYPTO_memcmp(hash, expected.data(), kHashBytes) == 0;
  OPENSSL_cleanse(hash, sizeof hash);
  return same;
}

void BurnPasswordCheck(std::string_view password) {
  static const char kSalt[kSaltBytes] = {};
  unsigned char hash[kHashBytes];
  const PasswordParams defaults;
  (void)Scrypt(password, std::string_view(kSalt, sizeof kSalt), uint64_t{1} << defaults.log2_n,
               defaults.r, defaults.p, hash, sizeof hash);
  OPENSSL_cleanse(hash, sizeof hash);
}

std::string NewToken() {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) return std::string();  // callers refuse an empty token
  std::string token = Base64UrlEncode(std::string_view(reinterpret_cast<char*>(raw), sizeof raw));
  OPENSSL_cleanse(raw, sizeof raw);
  return token;
}

std::string TokenHash(std::string_view token) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(token.data(), token.size(), md, &len, EVP_sha256(), nullptr) != 1) return "";
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[md[i] >> 4];
    hex += kHex[md[i] & 15];
  }
  return hex;
}

}  // namespace fieldsync::server
