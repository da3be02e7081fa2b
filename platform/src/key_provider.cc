// key_provider.cc: the built-in KEK sources, scrypt over a passphrase and HKDF over a raw key.
//
// Both derive through OpenSSL 3's EVP_KDF so the primitives are the audited ones, not ours. A
// stored KekSpec comes from a database header an attacker may have edited, so DeriveKek validates
// it before spending memory on it (Corruption), while NewSpec validates the caller's own settings
// (InvalidArgument). Derived keys land directly in SecretBytes; OpenSSL keeps its own copies of
// the passphrase and key inside the KDF context and cleanses them when the context is freed.
// Nothing here logs, and no error message contains a passphrase, a key or a derived value.
#include "fieldsync/key_provider.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <memory>
#include <string>

namespace fieldsync {

namespace {

constexpr uint64_t kMaxScryptN = uint64_t{1} << 22;
constexpr uint32_t kMaxScryptR = 32;
constexpr uint32_t kMaxScryptP = 16;
constexpr uint64_t kMaxScryptMemory = uint64_t{1} << 30;  // N*r*128 bytes

// Binds derived keys to this use, so the same raw key used by the host for something else never
// yields the same bytes as our KEK. Changing it would make every raw-key database unopenable.
constexpr char kHkdfInfo[] = "fieldsync kek v1";

struct KdfDeleter {
  void operator()(EVP_KDF* kdf) const { EVP_KDF_free(kdf); }
  void operator()(EVP_KDF_CTX* ctx) const { EVP_KDF_CTX_free(ctx); }
};
using KdfPtr = std::unique_ptr<EVP_KDF, KdfDeleter>;
using KdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, KdfDeleter>;

// Drains OpenSSL's thread-local error queue into a status, so a failure does not leave stale
// errors behind for the next, unrelated OpenSSL call on this thread to report.
Status OpenSslFailure(const char* what) {
  std::string msg = what;
  const unsigned long err = ERR_get_error();
  if (err != 0) {
    char reason[256];
    ERR_error_string_n(err, reason, sizeof(reason));
    msg += ": ";
    msg += reason;
  }
  ERR_clear_error();
  return Status::Internal(std::move(msg));
}

Result<SecretBytes> RunKdf(const char* algorithm, OSSL_PARAM* params) {
  KdfPtr kdf(EVP_KDF_fetch(nullptr, algorithm, nullptr));
  if (!kdf) return OpenSslFailure("EVP_KDF_fetch failed");
  KdfCtxPtr ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) return OpenSslFailure("EVP_KDF_CTX_new failed");
  SecretBytes out(kKeySize);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
    return OpenSslFailure("key derivation failed");  // `out` wipes itself
  }
  return out;
}

Status RandomSalt(KekSpec* spec) { return SecureRandom(spec->salt.data(), spec->salt.size()); }

}  // namespace

const char* KekKindName(KekKind kind) {
  switch (kind) {
    case KekKind::kPassphraseScrypt:
      return "scrypt";
    case KekKind::kRawKey:
      return "raw-key+hkdf-sha256";
  }
  return "unknown";
}

KeyProvider::~KeyProvider() = default;

Status ValidateScryptParams(uint64_t n, uint32_t r, uint32_t p) {
  if (n < 2 || (n & (n - 1)) != 0) {
    return Status::InvalidArgument("scrypt N must be a power of two >= 2, got " +
                                   std::to_string(n));
  }
  if (n > kMaxScryptN) {
    return Status::InvalidArgument("scrypt N must be at most 2^22, got " + std::to_string(n));
  }
  if (r < 1 || r > kMaxScryptR) {
    return Status::InvalidArgument("scrypt r must be in 1..32, got " + std::to_string(r));
  }
  if (p < 1 || p > kMaxScryptP) {
    return Status::InvalidArgument("scrypt p must be in 1..16, got " + std::to_string(p));
  }
  // RFC 7914 requires N < 2^(128*r/8); OpenSSL refuses otherwise, which only bites when r == 1.
  if (16 * r < 64 && n >= (uint64_t{1} << (16 * r))) {
    return Status::InvalidArgument("scrypt N must be below 2^(16*r), got N=" + std::to_string(n) +
                                   " with r=" + std::to_string(r));
  }
  // Cannot overflow: N <= 2^22 and r <= 32 were checked above.
  if (n * r * 128 > kMaxScryptMemory) {
    return Status::InvalidArgument("scrypt N*r*128 must be at most 1 GiB, got N=" +
                                   std::to_string(n) + " r=" + std::to_string(r));
  }
  return Status::OK();
}

// ---- PassphraseKeyProvider ----

PassphraseKeyProvider::PassphraseKeyProvider(std::string_view passphrase, ScryptParams params)
    : passphrase_(SecretBytes::FromString(passphrase)), params_(params) {}

Result<KekSpec> PassphraseKeyProvider::NewSpec() const {
  if (passphrase_.empty()) return Status::InvalidArgument("passphrase must not be empty");
  FIELDSYNC_RETURN_IF_ERROR(ValidateScryptParams(params_.n, params_.r, params_.p));
  KekSpec spec;
  spec.kind = KekKind::kPassphraseScrypt;
  spec.scrypt_n = params_.n;
  spec.scrypt_r = params_.r;
  spec.scrypt_p = params_.p;
  FIELDSYNC_RETURN_IF_ERROR(RandomSalt(&spec));
  return spec;
}

Result<SecretBytes> PassphraseKeyProvider::DeriveKek(const KekSpec& spec) const {
  if (spec.kind == KekKind::kRawKey) {
    return Status::WrongKey(
        "this database is keyed with a host-supplied raw key, not a passphrase");
  }
  if (spec.kind != KekKind::kPassphraseScrypt) {
    return Status::Corruption("stored key spec has unknown kind " +
                              std::to_string(static_cast<int>(spec.kind)));
  }
  // The spec is read from disk: a tampered N or r must not make us allocate gigabytes.
  Status valid = ValidateScryptParams(spec.scrypt_n, spec.scrypt_r, spec.scrypt_p);
  if (!valid.ok()) return Status::Corruption("stored key spec is out of range: " + valid.message());
  if (passphrase_.empty()) return Status::InvalidArgument("passphrase must not be empty");

  uint64_t n = spec.scrypt_n;
  uint32_t r = spec.scrypt_r;
  uint32_t p = spec.scrypt_p;
  // Sized to what this derivation needs (128*r*(N+2) bytes for V plus 128*r*p for B, plus slack)
  // instead of relying on OpenSSL's built-in default ceiling, which is an implementation detail
  // (1025 MiB in 3.0) that a later release could lower below our 1 GiB limit.
  uint64_t max_mem = 128 * uint64_t{r} * (n + 2) + 128 * uint64_t{r} * p + (uint64_t{1} << 20);
  // OSSL_PARAM takes non-const pointers but the KDF only reads through them.
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(
          OSSL_KDF_PARAM_PASSWORD, const_cast<uint8_t*>(passphrase_.data()), passphrase_.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<uint8_t*>(spec.salt.data()),
                                        spec.salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &max_mem),
      OSSL_PARAM_construct_end(),
  };
  return RunKdf(OSSL_KDF_NAME_SCRYPT, params);
}

// ---- RawKeyProvider ----

RawKeyProvider::RawKeyProvider(const uint8_t* key, size_t size)
    : key_(key != nullptr ? SecretBytes(key, size) : SecretBytes()) {}

namespace {
Status CheckRawKeySize(const SecretBytes& key) {
  if (key.size() == kKeySize) return Status::OK();
  return Status::InvalidArgument("raw key must be 32 bytes, got " + std::to_string(key.size()));
}
}  // namespace

Result<KekSpec> RawKeyProvider::NewSpec() const {
  FIELDSYNC_RETURN_IF_ERROR(CheckRawKeySize(key_));
  KekSpec spec;
  spec.kind = KekKind::kRawKey;  // scrypt fields stay zero: they mean nothing for this kind
  FIELDSYNC_RETURN_IF_ERROR(RandomSalt(&spec));
  return spec;
}

Result<SecretBytes> RawKeyProvider::DeriveKek(const KekSpec& spec) const {
  FIELDSYNC_RETURN_IF_ERROR(CheckRawKeySize(key_));
  if (spec.kind == KekKind::kPassphraseScrypt) {
    return Status::WrongKey("this database is keyed with a passphrase, not a raw key");
  }
  if (spec.kind != KekKind::kRawKey) {
    return Status::Corruption("stored key spec has unknown kind " +
                              std::to_string(static_cast<int>(spec.kind)));
  }
  // OSSL_PARAM takes non-const pointers but the KDF only reads through them.
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(key_.data()),
                                        key_.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<uint8_t*>(spec.salt.data()),
                                        spec.salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(kHkdfInfo),
                                        sizeof(kHkdfInfo) - 1),
      OSSL_PARAM_construct_end(),
  };
  return RunKdf(OSSL_KDF_NAME_HKDF, params);
}

}  // namespace fieldsync
