// tools/cli/main.cc: fieldsync-cli, a shell to inspect and maintain a local fieldsync database.
//
// USAGE
//   fieldsync-cli COMMAND DB [ARGS]       see PrintUsage() below or `fieldsync-cli --help`
//
// CONTRACT (other programs depend on it; change it only by adding)
//   Keys come from the environment only (env_key.h): FIELDSYNC_PASSPHRASE or FIELDSYNC_KEY_HEX,
//   and FIELDSYNC_NEW_PASSPHRASE for passwd/rekey. There is no option that takes a key. sync's
//   server credentials likewise come only from FIELDSYNC_USER and FIELDSYNC_PASSWORD.
//   FIELDSYNC_REGION sets the region of phone numbers without +country code (env_options.h).
//   Results go to stdout as JSON, one document per line (json_output.h); put prints the bare id.
//   Failures go to stderr as one line `error: <code>: <message>` (report.h).
//   Exit codes: 0 ok, 1 other error, 2 usage, 3 wrong key, 4 tampered or corrupt, 5 I/O error,
//   6 invalid input (command.h).
//
// ARGUMENTS
//   Options are recognized only as `--help`/`-h` and the value options a command declares
//   (sync's `--server URL` or `--server=URL`). Any other argument starting with `-` is refused
//   (a typed `--passphrase=...` must fail loudly, not become a file name); `--` ends options, so
//   `fieldsync-cli sql DB -- "-- comment"` passes SQL that starts with a dash (and
//   `fieldsync-cli search DB -- -8000` a search text that does). Refused options are
//   echoed only up to any `=`, so a value typed after it never reaches the terminal or a log.
//
// IMPLEMENTATION NOTES
//   main() is the only place exceptions are caught: any that escapes a handler becomes
//   `error: internal: ...` and exit 1, never a crash with a partial line.
#include <algorithm>
#include <cstddef>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "command.h"
#include "report.h"

namespace fieldsync::cli {
namespace {

constexpr char kHelpHint[] = "fieldsync-cli COMMAND DB [ARGS]; see fieldsync-cli --help";

void PrintUsage(std::ostream& out) {
  out << "fieldsync-cli: inspect and maintain a fieldsync encrypted database\n"
         "\n"
         "usage: fieldsync-cli COMMAND DB [ARGS]\n"
         "\n"
         "commands:\n";
  size_t width = 0;  // of the longest command line, to align the summaries
  for (const Command& command : Commands()) width = std::max(width, CommandLine(command).size());
  for (const Command& command : Commands()) {
    std::string line = CommandLine(command);
    line.resize(width, ' ');
    out << "  " << line << "  " << command.summary << '\n';
  }
  out << "\n"
         "environment (keys are never taken from arguments):\n"
         "  FIELDSYNC_PASSPHRASE      passphrase of the database\n"
         "  FIELDSYNC_KEY_HEX         host key, 64 hex digits (instead of a passphrase)\n"
         "  FIELDSYNC_NEW_PASSPHRASE  new passphrase for passwd (required) and rekey (optional)\n"
         "  FIELDSYNC_REGION          region of phone numbers written without +country code,\n"
         "                            two letters (default CN)\n"
         "  FIELDSYNC_USER            sync: the user name on the server (required)\n"
         "  FIELDSYNC_PASSWORD        sync: the user's password on the server (required)\n"
         "\n"
         "output: results on stdout as JSON, one document per line (put prints the bare id);\n"
         "  failures on stderr as one line  error: <code>: <message>\n"
         "exit codes: 0 ok, 1 other error (not_found, ...), 2 usage, 3 wrong key,\n"
         "  4 tampered or corrupt, 5 I/O error, 6 invalid input (the message names each bad "
         "field)\n"
         "sync failures exit 1: error: unavailable: ... when the server cannot be reached (retry\n"
         "  later), error: failed_precondition: login: HTTP 401 ... for a wrong user or password\n";
}

bool IsHelp(std::string_view arg) { return arg == "--help" || arg == "-h"; }

// An option-looking argument: starts with '-' and is not "-" itself.
bool IsOption(std::string_view arg) { return arg.size() > 1 && arg[0] == '-'; }

// `--server` of the option row "--server URL".
std::string OptionFlag(std::string_view option) {
  return std::string(option.substr(0, option.find(' ')));
}

// The option's name without any `=value`, which may be a secret typed by mistake.
std::string OptionName(std::string_view arg) { return OneLine(arg.substr(0, arg.find('='))); }

int Main(int argc, char** argv) {
  Args args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << "error: usage: no command given\n";
    PrintUsage(std::cerr);
    return kExitUsage;
  }
  if (IsHelp(args[0]) || args[0] == "help") {
    if (args.size() != 1) return ReportUsage("--help takes no arguments", kHelpHint);
    PrintUsage(std::cout);
    return FinishOutput();
  }
  if (IsOption(args[0])) return ReportUsage("unknown option " + OptionName(args[0]), kHelpHint);
  const Command* command = FindCommand(args[0]);
  if (command == nullptr) {
    return ReportUsage("unknown command '" + OneLine(args[0]) + "'", kHelpHint);
  }

  Args positional;
  // The values of the command's options, by their index in command->options.
  std::vector<std::optional<std::string>> option_values(command->options.size());
  bool options_ended = false;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!options_ended && arg == "--") {
      options_ended = true;
    } else if (!options_ended && IsHelp(arg)) {
      std::cout << "usage: " << Synopsis(*command) << "\n  " << command->summary << '\n';
      return FinishOutput();
    } else if (!options_ended && IsOption(arg)) {
      const std::string name = arg.substr(0, arg.find('='));
      size_t k = 0;
      while (k < command->options.size() && OptionFlag(command->options[k]) != name) ++k;
      if (k == command->options.size()) {
        return ReportUsage("unknown option " + OptionName(arg), Synopsis(*command));
      }
      if (option_values[k]) {
        return ReportUsage(name + " given more than once", Synopsis(*command));
      }
      if (name.size() < arg.size()) {
        option_values[k] = arg.substr(name.size() + 1);
      } else if (i + 1 < args.size()) {
        option_values[k] = args[++i];
      } else {
        return ReportUsage(name + " needs a value", Synopsis(*command));
      }
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.size() != command->arg_names.size()) {
    // The count only: an argument may be a secret the user hoped would work.
    return ReportUsage(std::string(command->name) + " takes " +
                           std::to_string(command->arg_names.size()) + " argument(s), got " +
                           std::to_string(positional.size()),
                       Synopsis(*command));
  }
  for (size_t k = 0; k < option_values.size(); ++k) {
    if (!option_values[k]) {
      return ReportUsage(std::string(command->name) + " needs " + command->options[k],
                         Synopsis(*command));
    }
    positional.push_back(*option_values[k]);
  }
  return command->run(*command, positional);
}

}  // namespace
}  // namespace fieldsync::cli

int main(int argc, char** argv) {
  try {
    fieldsync::cli::InstallLogSink();
    return fieldsync::cli::Main(argc, argv);
  } catch (const std::exception& e) {
    return fieldsync::cli::ReportInternal(e.what());
  } catch (...) {
    return fieldsync::cli::ReportInternal("unknown exception");
  }
}
