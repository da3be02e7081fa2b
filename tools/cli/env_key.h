// tools/cli/env_key.h: the keys fieldsync-cli reads from its environment, never from argv.
//
// Arguments are visible to every user of the machine (ps, /proc/<pid>/cmdline) and land in shell
// history, so secrets come only from environment variables:
//
//   FIELDSYNC_PASSPHRASE      the current passphrase          -> PassphraseKeyProvider
//   FIELDSYNC_KEY_HEX         the current 32-byte host key,   -> RawKeyProvider
//                             as 64 hex digits (either case)
//   FIELDSYNC_NEW_PASSPHRASE  the passphrase to switch to (passwd, and optionally rekey)
//
// Setting both current-key variables is ambiguous and therefore a usage error, as is an empty or
// malformed value. Problems are described without ever quoting the value. Decoded key bytes live
// only in SecretBytes (wiped on destruction); the providers keep their own wiped copies.
#pragma once

#include <memory>
#include <string>

#include "fieldsync/key_provider.h"

namespace fieldsync::cli {

inline constexpr char kPassphraseVar[] = "FIELDSYNC_PASSPHRASE";
inline constexpr char kKeyHexVar[] = "FIELDSYNC_KEY_HEX";
inline constexpr char kNewPassphraseVar[] = "FIELDSYNC_NEW_PASSPHRASE";

// A key provider built from the environment, or the usage error that prevented building one.
struct EnvKey {
  std::unique_ptr<KeyProvider> provider;  // null exactly when `problem` is non-empty, or when an
                                          // optional variable is unset
  std::string problem;                    // what is wrong, for `error: usage: ...`
};

// The key that opens the database: FIELDSYNC_PASSPHRASE or FIELDSYNC_KEY_HEX (exactly one).
EnvKey CurrentKeyFromEnvironment();

// FIELDSYNC_NEW_PASSPHRASE. When it is unset and not `required`, returns neither provider nor
// problem. When it is set it must be non-empty.
EnvKey NewPassphraseFromEnvironment(bool required);

}  // namespace fieldsync::cli
