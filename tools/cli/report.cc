// tools/cli/report.cc: error lines, exit codes and the log sink of fieldsync-cli (see report.h).
#include "report.h"

#include <iostream>

#include "command.h"
#include "fieldsync/log.h"

namespace fieldsync::cli {

int ExitCodeFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return kExitOk;
    case StatusCode::kWrongKey:
      return kExitWrongKey;
    case StatusCode::kCorruption:
      return kExitCorrupt;
    case StatusCode::kIOError:
      return kExitIOError;
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kAlreadyExists:
    case StatusCode::kUnavailable:
    case StatusCode::kAborted:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kInternal:
    case StatusCode::kCancelled:
    case StatusCode::kDeviceRevoked:
      break;
  }
  return kExitFailure;
}

int ReportError(const Status& status) {
  if (status.ok()) {
    // A handler reported success as an error: a bug here, but never exit 0 for it.
    return ReportInternal("an OK status was reported as an error");
  }
  std::cerr << "error: " << StatusCodeName(status.code()) << ": " << OneLine(status.message())
            << '\n';
  return ExitCodeFor(status.code());
}

int ReportRecordError(const Status& status) {
  const int exit_code = ReportError(status);
  return status.code() == StatusCode::kInvalidArgument ? kExitInvalidInput : exit_code;
}

int ReportUsage(std::string_view what, std::string_view hint) {
  std::cerr << "error: usage: " << OneLine(what) << '\n' << "usage: " << OneLine(hint) << '\n';
  return kExitUsage;
}

int ReportInternal(std::string_view what) {
  std::cerr << "error: internal: " << OneLine(what) << '\n';
  return kExitFailure;
}

int FinishOutput() {
  std::cout.flush();
  if (!std::cout) return ReportError(Status::IOError("cannot write to standard output"));
  return kExitOk;
}

std::string OneLine(std::string_view text) {
  std::string line(text);
  for (char& c : line) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) c = ' ';
  }
  return line;
}

void InstallLogSink() {
  SetLogLevel(LogLevel::kWarning);
  SetLogSink([](LogLevel level, std::string_view component, std::string_view message) {
    if (level < LogLevel::kWarning) return;
    std::cerr << "log: " << LogLevelName(level) << ": " << OneLine(component) << ": "
              << OneLine(message) << '\n';
  });
}

}  // namespace fieldsync::cli
