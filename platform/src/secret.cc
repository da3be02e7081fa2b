// secret.cc: self-wiping key buffers, constant-time comparison and the CSPRNG.
//
// Every path that releases a SecretBytes buffer (destructor, move-assignment, Wipe) zeroes it with
// OPENSSL_cleanse first, which the compiler may not elide the way it may elide a plain memset of
// memory about to be freed. Comparison uses CRYPTO_memcmp so that a MAC or key check does not
// leak, through timing, how many leading bytes matched.
#include "fieldsync/secret.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <string>
#include <utility>

namespace fieldsync {

SecretBytes::SecretBytes(size_t size) {
  if (size == 0) return;
  data_ = new uint8_t[size]();
  size_ = size;
}

SecretBytes::SecretBytes(const uint8_t* data, size_t size) : SecretBytes(size) {
  if (size != 0) std::memcpy(data_, data, size);
}

SecretBytes SecretBytes::FromString(std::string_view s) {
  return SecretBytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

SecretBytes::~SecretBytes() { Wipe(); }

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Wipe();  // the key being replaced must not survive in freed memory
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void SecretBytes::Wipe() {
  if (data_ != nullptr) {
    OPENSSL_cleanse(data_, size_);
    delete[] data_;
  }
  data_ = nullptr;
  size_ = 0;
}

bool ConstantTimeEquals(const uint8_t* a, const uint8_t* b, size_t n) {
  if (n == 0) return true;
  return CRYPTO_memcmp(a, b, n) == 0;
}

Status SecureRandom(uint8_t* out, size_t n) {
  // RAND_bytes takes an int length; larger requests are served in chunks.
  while (n > 0) {
    const size_t chunk = std::min<size_t>(n, INT_MAX);
    if (RAND_bytes(out, static_cast<int>(chunk)) != 1) {
      char reason[256] = "unknown error";
      const unsigned long err = ERR_get_error();
      if (err != 0) ERR_error_string_n(err, reason, sizeof(reason));
      ERR_clear_error();
      // The caller cannot fix or usefully retry a CSPRNG failure, and must never fall back to
      // weaker randomness, so this is reported as an internal failure rather than retryable.
      return Status::Internal(std::string("secure random generator failed: ") + reason);
    }
    out += chunk;
    n -= chunk;
  }
  return Status::OK();
}

void WipeMemory(void* p, size_t n) {
  if (p != nullptr && n != 0) OPENSSL_cleanse(p, n);
}

}  // namespace fieldsync
