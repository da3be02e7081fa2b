// fieldsync/secret.h: key material that wipes itself, and secure random bytes.
//
// SecretBytes owns a fixed-size heap buffer that is zeroed with OPENSSL_cleanse when destroyed
// or reassigned, so keys and passphrases do not linger in freed memory. It is move-only: copies
// of a key are explicit (Clone()). It never prints its contents.
//
// Thread safety: a SecretBytes is a value; concurrent reads are safe, writes need external sync.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fieldsync/status.h"

namespace fieldsync {

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t size);  // zero-filled
  SecretBytes(const uint8_t* data, size_t size);
  static SecretBytes FromString(std::string_view s);
  ~SecretBytes();

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  SecretBytes Clone() const { return SecretBytes(data_, size_); }

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Zeroes and releases the buffer now.
  void Wipe();

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Compares in time independent of where the first difference is.
bool ConstantTimeEquals(const uint8_t* a, const uint8_t* b, size_t n);

// Fills out with n bytes from OpenSSL's CSPRNG (seeded by the OS).
Status SecureRandom(uint8_t* out, size_t n);

// Overwrites a buffer that held secrets; not optimized away.
void WipeMemory(void* p, size_t n);

}  // namespace fieldsync
