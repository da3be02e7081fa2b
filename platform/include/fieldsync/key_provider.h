// fieldsync/key_provider.h: where a database's key-encryption key (KEK) comes from.
//
// Every database has a random 256-bit data key that encrypts its pages. The data key is stored in
// the database header only wrapped (AES-256-GCM) under a KEK. A KeyProvider produces that KEK:
//
//   PassphraseKeyProvider  derives it from a passphrase with scrypt (salt and cost stored in the
//                          header as a KekSpec, so the same passphrase derives the same KEK).
//   RawKeyProvider         takes a 32-byte key held by the host (iOS Keychain, Android Keystore)
//                          and derives the KEK from it with HKDF-SHA256 and the stored salt.
//
// A host writes its own provider by subclassing KeyProvider: NewSpec() says how a new wrapping is
// made (kind, parameters, fresh salt), DeriveKek() recomputes the KEK from a stored spec. A
// provider that cannot serve a spec (a passphrase offered for a raw-key database) returns WrongKey.
//
// Thread safety: providers are immutable after construction and safe for concurrent use.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "fieldsync/secret.h"
#include "fieldsync/status.h"

namespace fieldsync {

enum class KekKind : uint8_t {
  kPassphraseScrypt = 1,
  kRawKey = 2,
};

// Non-secret description of how a KEK was derived; stored in the database header.
struct KekSpec {
  KekKind kind = KekKind::kPassphraseScrypt;
  uint64_t scrypt_n = 0;  // CPU/memory cost, a power of two (passphrase only)
  uint32_t scrypt_r = 0;  // block size (passphrase only)
  uint32_t scrypt_p = 0;  // parallelism (passphrase only)
  std::array<uint8_t, 32> salt{};
};

// "scrypt" or "raw-key+hkdf-sha256".
const char* KekKindName(KekKind kind);

inline constexpr size_t kKeySize = 32;  // bytes in every KEK and data key

class KeyProvider {
 public:
  virtual ~KeyProvider();
  // A spec for wrapping a data key anew, with a fresh random salt.
  virtual Result<KekSpec> NewSpec() const = 0;
  // The 32-byte KEK for a stored spec. WrongKey if this provider cannot serve that kind of spec.
  virtual Result<SecretBytes> DeriveKek(const KekSpec& spec) const = 0;
};

struct ScryptParams {
  // 2^15 with r=8: about 110 ms and 32 MiB on the reference machine; see docs/security.md.
  uint64_t n = uint64_t{1} << 15;
  uint32_t r = 8;
  uint32_t p = 1;
};

class PassphraseKeyProvider : public KeyProvider {
 public:
  // The passphrase is copied into wiped memory. Empty passphrases are refused by NewSpec().
  explicit PassphraseKeyProvider(std::string_view passphrase, ScryptParams params = {});
  Result<KekSpec> NewSpec() const override;
  Result<SecretBytes> DeriveKek(const KekSpec& spec) const override;

 private:
  SecretBytes passphrase_;
  ScryptParams params_;
};

class RawKeyProvider : public KeyProvider {
 public:
  // key must be exactly kKeySize bytes; otherwise every call returns InvalidArgument.
  RawKeyProvider(const uint8_t* key, size_t size);
  Result<KekSpec> NewSpec() const override;
  Result<SecretBytes> DeriveKek(const KekSpec& spec) const override;

 private:
  SecretBytes key_;
};

// Largest scrypt cost accepted from a stored header, so a tampered header cannot make an open
// allocate gigabytes: N <= 2^22, r <= 32, p <= 16, and N*r*128 <= 1 GiB.
Status ValidateScryptParams(uint64_t n, uint32_t r, uint32_t p);

}  // namespace fieldsync
