// tools/cli/command.h: the command table of fieldsync-cli and its exit codes.
//
// Every command is one row of Commands(): a name, its exact positional arguments and a handler.
// main.cc parses argv, checks the argument count against the row, then calls the handler with the
// positional arguments, then the values of its options (see Command::options). A handler writes its
// result to stdout, reports failures through report.h and returns the process exit code. Adding a
// command means writing one handler in commands.cc and adding one row; nothing else changes.
//
// Exit codes are part of the contract (scripts branch on them) and never change meaning.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace fieldsync::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,       // any error without a code of its own (not_found, invalid SQL, ...)
  kExitUsage = 2,         // unknown command or option, wrong argument count, missing env var
  kExitWrongKey = 3,      // StatusCode::kWrongKey: ask the user for the key again
  kExitCorrupt = 4,       // StatusCode::kCorruption, or integrity_check problems: stop
  kExitIOError = 5,       // StatusCode::kIOError
  kExitInvalidInput = 6,  // record commands (put, get, ...): a record, collection or query that
                          // core refused as invalid_argument; the message names each bad field;
                          // resolve: a value that is not JSON
};
// sync reports every network and server failure with exit 1 and its code on the error line:
// `error: unavailable: ...` (server unreachable, 5xx: retry later) or
// `error: failed_precondition: login: HTTP 401 ...` (wrong user or password: ask again).

using Args = std::vector<std::string>;

struct Command;

// Runs `self` with its positional arguments (already counted); returns the exit code.
using Handler = int (*)(const Command& self, const Args& args);

struct Command {
  const char* name;
  std::vector<const char*> arg_names;  // exact positional arguments, e.g. {"DB", "\"SQL\""}
  // Required options that take a value, e.g. {"--server URL"}: the name, a space, the value's
  // name. main.cc accepts `--server URL` and `--server=URL`, each exactly once, and passes the
  // values after the positional arguments, in this order. Any other option is refused.
  std::vector<const char*> options;
  const char* summary;  // one line for --help
  Handler run;
};

// Every command, in the order --help lists them.
const std::vector<Command>& Commands();

// The row named `name`, or nullptr.
const Command* FindCommand(std::string_view name);

// `sql DB "SQL"`: the command's name, arguments and options.
std::string CommandLine(const Command& command);

// `fieldsync-cli sql DB "SQL"`: the synopsis printed after a usage error.
std::string Synopsis(const Command& command);

}  // namespace fieldsync::cli
