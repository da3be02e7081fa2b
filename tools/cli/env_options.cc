// tools/cli/env_options.cc: DatabaseOptions from FIELDSYNC_* environment variables (see
// env_options.h).
#include "env_options.h"

#include <cstdlib>
#include <string_view>

namespace fieldsync::cli {
namespace {

bool IsAsciiLetter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

}  // namespace

EnvOptions DatabaseOptionsFromEnvironment() {
  EnvOptions env;
  const char* region = std::getenv(kRegionVar);
  if (region == nullptr) return env;
  const std::string_view value(region);
  // Checked here because the validator cannot tell a mistyped region from an unknown one: it
  // would refuse every local number instead, naming the field rather than the variable.
  if (value.size() != 2 || !IsAsciiLetter(value[0]) || !IsAsciiLetter(value[1])) {
    env.problem = std::string(kRegionVar) + " must be a two-letter region code such as CN";
    return env;
  }
  env.options.default_region = std::string(value);  // the validator upper-cases it
  return env;
}

}  // namespace fieldsync::cli
