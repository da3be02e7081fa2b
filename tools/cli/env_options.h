// tools/cli/env_options.h: the DatabaseOptions fieldsync-cli reads from its environment.
//
//   FIELDSYNC_REGION  region for phone numbers written without a +country code, as a two-letter
//                     CLDR code in either case (CN, us, ...); unset means DatabaseOptions' default
//                     (CN). Only writes use it: stored numbers are already E.164.
//
// Like the key variables (env_key.h), a set but empty or malformed value is a usage error rather
// than a silent fall-back, so a typo never normalizes a batch of numbers with the wrong region.
#pragma once

#include <string>

#include "fieldsync/database.h"

namespace fieldsync::cli {

inline constexpr char kRegionVar[] = "FIELDSYNC_REGION";

// Options for Database::Create and Database::Open, or the usage error that prevented them.
struct EnvOptions {
  DatabaseOptions options;
  std::string problem;  // non-empty when a variable is malformed, for `error: usage: ...`
};

EnvOptions DatabaseOptionsFromEnvironment();

}  // namespace fieldsync::cli
