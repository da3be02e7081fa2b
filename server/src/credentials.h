// server/src/credentials.h: password hashes and bearer tokens.
//
// Passwords are hashed with scrypt (OpenSSL EVP_KDF "SCRYPT") under a random 16-byte salt; the
// stored string carries its parameters, so they can be raised later without breaking old hashes:
//   scrypt$<log2 N>$<r>$<p>$<salt, base64url>$<32-byte hash, base64url>
// Verification compares in constant time. Tokens are 32 random bytes, base64url (43 characters);
// the server stores only their SHA-256 (hex), so a leaked database holds no usable token.
//
// Nothing here logs, and callers must not log what they pass in.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "fieldsync/status.h"

namespace fieldsync::server {

struct PasswordParams {
  int log2_n = 15;  // N = 2^15, r = 8: about 110 ms and 32 MiB per hash (docs/security.md)
  uint32_t r = 8;
  uint32_t p = 1;
};

Result<std::string> HashPassword(std::string_view password, PasswordParams params = {});
// False for a wrong password or an unreadable hash. Costs one scrypt either way.
bool VerifyPassword(std::string_view password, const std::string& stored_hash);
// Spends the time of a verification without a stored hash, so an unknown user takes as long to
// refuse as a wrong password.
void BurnPasswordCheck(std::string_view password);

std::string NewToken();                         // 32 random bytes, base64url without padding
std::string TokenHash(std::string_view token);  // hex SHA-256

std::string Base64UrlEncode(std::string_view bytes);
// Empty optional-like: returns false on a character outside the alphabet.
bool Base64UrlDecode(std::string_view text, std::string* out);

}  // namespace fieldsync::server
