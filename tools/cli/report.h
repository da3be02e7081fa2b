// tools/cli/report.h: how fieldsync-cli reports failures and maps them to exit codes.
//
// Every failure is one line on stderr, `error: <code>: <message>`, where <code> is
// StatusCodeName() of the Status ("wrong_key", "corruption", ...), "usage" for bad invocations or
// "internal" for an exception caught in main(). Messages are flattened to one line so a caller can
// read stderr line by line. Library log messages (warnings and errors only) go to stderr as
// `log: <level>: <component>: <message>`, so they can never be mistaken for the error line.
//
// Nothing here ever receives a secret: callers pass statuses and descriptions, not key material.
#pragma once

#include <string>
#include <string_view>

#include "fieldsync/status.h"

namespace fieldsync::cli {

// The exit code for a non-OK status code: 3 wrong key, 4 corruption, 5 I/O, 1 anything else.
int ExitCodeFor(StatusCode code);

// Prints `error: <code>: <message>` for a non-OK status and returns ExitCodeFor(its code).
int ReportError(const Status& status);

// For the record commands (put, get, search, timeline, agenda): prints like ReportError, but
// invalid_argument exits kExitInvalidInput (6), since there it means the user's record, collection
// or query was refused. The message already names each bad field ("phones[0]: ...; grade: ...");
// problems that core separates with newlines stay on the one error line, separated by spaces.
int ReportRecordError(const Status& status);

// Prints `error: usage: <what>` and a one-line hint (`usage: <hint>`); returns kExitUsage.
int ReportUsage(std::string_view what, std::string_view hint);

// Prints `error: internal: <what>` for an exception that reached main(); returns kExitFailure.
int ReportInternal(std::string_view what);

// Flushes stdout; if any write to it failed, reports an io_error and returns kExitIOError,
// otherwise returns kExitOk. Every command that prints ends with this.
int FinishOutput();

// `text` with control characters (newlines included) replaced by spaces, so it fits one line.
std::string OneLine(std::string_view text);

// Routes fieldsync's log messages (warnings and errors) to stderr in the `log:` format above.
void InstallLogSink();

}  // namespace fieldsync::cli
