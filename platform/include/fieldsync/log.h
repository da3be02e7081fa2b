// fieldsync/log.h: the one logging sink of the library, replaceable by the host.
//
// fieldsync logs rarely (a recovered torn write, a clock warning). Messages never contain key
// material, passphrases, tokens or customer personal data; callers pass identifiers (page numbers,
// record ids), never field values. The default sink writes warnings and errors to stderr; a host
// app routes everything to its own logger with SetLogSink().
//
// Thread safety: Log() and SetLogSink() may be called from any thread. The sink is called
// without any fieldsync lock held and must itself be thread-safe.
#pragma once

#include <functional>
#include <string_view>

namespace fieldsync {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

const char* LogLevelName(LogLevel level);

// component: a short subsystem name such as "vfs" or "store".
using LogSink =
    std::function<void(LogLevel level, std::string_view component, std::string_view message)>;

// Replaces the sink; an empty function restores the default stderr sink.
void SetLogSink(LogSink sink);
// Messages below this level are dropped before reaching the sink (default: kInfo).
void SetLogLevel(LogLevel min_level);

void Log(LogLevel level, std::string_view component, std::string_view message);

}  // namespace fieldsync
