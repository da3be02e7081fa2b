// tools/cli/env_key.cc: builds key providers from FIELDSYNC_* environment variables (see
// env_key.h). Values are read in place from the environment and copied only into wiped memory.
#include "env_key.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fieldsync/secret.h"

namespace fieldsync::cli {
namespace {

// The variable's value, or nullptr when unset. The string belongs to the environment.
const char* GetVar(const char* name) { return std::getenv(name); }

int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

EnvKey Problem(std::string problem) {
  EnvKey key;
  key.problem = std::move(problem);
  return key;
}

EnvKey RawKeyFromHex(std::string_view hex) {
  if (hex.size() != 2 * kKeySize) {
    // The length is not secret enough to hide, and it is what the user needs to fix.
    return Problem(std::string(kKeyHexVar) + " must be " + std::to_string(2 * kKeySize) +
                   " hex digits, got " + std::to_string(hex.size()) + " characters");
  }
  SecretBytes key(kKeySize);
  for (size_t i = 0; i < kKeySize; ++i) {
    const int high = HexDigitValue(hex[2 * i]);
    const int low = HexDigitValue(hex[2 * i + 1]);
    if (high < 0 || low < 0) {
      return Problem(std::string(kKeyHexVar) + " contains a character that is not a hex digit");
    }
    key.data()[i] = static_cast<uint8_t>(high * 16 + low);
  }
  EnvKey result;
  result.provider = std::make_unique<RawKeyProvider>(key.data(), key.size());
  return result;  // `key` is wiped here; the provider holds its own wiped copy.
}

}  // namespace

EnvKey CurrentKeyFromEnvironment() {
  const char* passphrase = GetVar(kPassphraseVar);
  const char* key_hex = GetVar(kKeyHexVar);
  if (passphrase != nullptr && key_hex != nullptr) {
    return Problem(std::string("set only one of ") + kPassphraseVar + " and " + kKeyHexVar);
  }
  if (key_hex != nullptr) {
    if (*key_hex == '\0') return Problem(std::string(kKeyHexVar) + " is empty");
    return RawKeyFromHex(key_hex);
  }
  if (passphrase == nullptr) {
    return Problem(std::string("set ") + kPassphraseVar + " (or " + kKeyHexVar +
                   ") in the environment; keys are never taken from arguments");
  }
  if (*passphrase == '\0') return Problem(std::string(kPassphraseVar) + " is empty");
  EnvKey result;
  result.provider = std::make_unique<PassphraseKeyProvider>(passphrase);
  return result;
}

EnvKey NewPassphraseFromEnvironment(bool required) {
  const char* passphrase = GetVar(kNewPassphraseVar);
  if (passphrase == nullptr) {
    if (!required) return EnvKey{};
    return Problem(std::string("set ") + kNewPassphraseVar + " in the environment");
  }
  if (*passphrase == '\0') return Problem(std::string(kNewPassphraseVar) + " is empty");
  EnvKey result;
  result.provider = std::make_unique<PassphraseKeyProvider>(passphrase);
  return result;
}

}  // namespace fieldsync::cli
