// log.cc: the process-wide log sink and level filter.
//
// The sink is a std::function guarded by a mutex. Log() copies it under the lock and calls the
// copy after releasing it, so a slow or re-entrant sink (one that itself logs, or replaces the
// sink) cannot deadlock fieldsync or block other threads' SetLogSink(). The level is an atomic so
// that dropped messages cost one load and no lock.
#include "fieldsync/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>
#include <utility>

namespace fieldsync {

namespace {

std::mutex& SinkMutex() {
  // Function-local and leaked so that logging from static destructors still finds a live mutex.
  static std::mutex* const mu = new std::mutex();
  return *mu;
}

LogSink& SinkSlot() {  // guarded by SinkMutex(); empty means the default stderr sink
  static LogSink* const sink = new LogSink();
  return *sink;
}

std::atomic<int> g_min_level{static_cast<int>(LogLevel::kInfo)};

void DefaultSink(LogLevel level, std::string_view component, std::string_view message) {
  if (level < LogLevel::kWarning) return;
  // One fwrite per line so that lines from concurrent threads do not interleave mid-line.
  std::string line = "fieldsync [";
  line += LogLevelName(level);
  line += "] ";
  line += component;
  line += ": ";
  line += message;
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "unknown";
}

void SetLogSink(LogSink sink) {
  LogSink old;
  {
    std::lock_guard<std::mutex> lock(SinkMutex());
    old = std::exchange(SinkSlot(), std::move(sink));
  }
  // `old` is destroyed here, outside the lock: its captures may run arbitrary destructors.
}

void SetLogLevel(LogLevel min_level) {
  g_min_level.store(static_cast<int>(min_level), std::memory_order_relaxed);
}

void Log(LogLevel level, std::string_view component, std::string_view message) {
  if (static_cast<int>(level) < g_min_level.load(std::memory_order_relaxed)) return;
  LogSink sink;
  {
    std::lock_guard<std::mutex> lock(SinkMutex());
    sink = SinkSlot();
  }
  if (sink) {
    sink(level, component, message);
  } else {
    DefaultSink(level, component, message);
  }
}

}  // namespace fieldsync
