// Tests for fieldsync/log.h: sink replacement, the level filter and the default stderr sink.
//
// Logging state is process-wide, so every case restores the default sink and level on exit.
#include "fieldsync/log.h"

#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fieldsync {
namespace {

struct Entry {
  LogLevel level;
  std::string component;
  std::string message;
};

// Installs a recording sink and restores the defaults when the case ends.
class CapturingSink {
 public:
  CapturingSink() {
    SetLogSink([this](LogLevel level, std::string_view component, std::string_view message) {
      std::lock_guard<std::mutex> lock(mu_);
      entries_.push_back({level, std::string(component), std::string(message)});
    });
  }
  ~CapturingSink() {
    SetLogSink(nullptr);
    SetLogLevel(LogLevel::kInfo);
  }
  CapturingSink(const CapturingSink&) = delete;
  CapturingSink& operator=(const CapturingSink&) = delete;

  std::vector<Entry> entries() {
    std::lock_guard<std::mutex> lock(mu_);
    return entries_;
  }

 private:
  std::mutex mu_;
  std::vector<Entry> entries_;
};

// Redirects file descriptor 2 to a temporary file for the lifetime of the object.
class StderrCapture {
 public:
  StderrCapture() {
    char tmpl[] = "/tmp/fieldsync-log-test-XXXXXX";
    int fd = ::mkstemp(tmpl);
    REQUIRE(fd >= 0);
    path_ = tmpl;
    std::fflush(stderr);
    saved_ = ::dup(2);
    REQUIRE(saved_ >= 0);
    REQUIRE(::dup2(fd, 2) == 2);
    ::close(fd);
  }
  ~StderrCapture() {
    Restore();
    ::unlink(path_.c_str());
  }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;

  std::string Finish() {
    Restore();
    std::ifstream in(path_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

 private:
  void Restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }

  std::string path_;
  int saved_ = -1;
};

TEST_CASE("every log level has its name") {
  CHECK(std::string(LogLevelName(LogLevel::kDebug)) == "debug");
  CHECK(std::string(LogLevelName(LogLevel::kInfo)) == "info");
  CHECK(std::string(LogLevelName(LogLevel::kWarning)) == "warning");
  CHECK(std::string(LogLevelName(LogLevel::kError)) == "error");
}

TEST_CASE("a replacement sink receives level component and message") {
  CapturingSink sink;
  Log(LogLevel::kWarning, "vfs", "recovered torn write on page 12");
  Log(LogLevel::kError, "store", "disk full");
  std::vector<Entry> got = sink.entries();
  REQUIRE(got.size() == 2);
  CHECK(got[0].level == LogLevel::kWarning);
  CHECK(got[0].component == "vfs");
  CHECK(got[0].message == "recovered torn write on page 12");
  CHECK(got[1].level == LogLevel::kError);
  CHECK(got[1].component == "store");
  CHECK(got[1].message == "disk full");
}

TEST_CASE("the level filter drops messages below the minimum") {
  CapturingSink sink;
  // Default minimum is info: debug is dropped, info passes.
  Log(LogLevel::kDebug, "t", "debug-default");
  Log(LogLevel::kInfo, "t", "info-default");
  SetLogLevel(LogLevel::kWarning);
  Log(LogLevel::kInfo, "t", "info-dropped");
  Log(LogLevel::kWarning, "t", "warning-kept");
  SetLogLevel(LogLevel::kDebug);
  Log(LogLevel::kDebug, "t", "debug-kept");
  std::vector<Entry> got = sink.entries();
  REQUIRE(got.size() == 3);
  CHECK(got[0].message == "info-default");
  CHECK(got[1].message == "warning-kept");
  CHECK(got[2].message == "debug-kept");
}

TEST_CASE("the default sink writes warnings and errors to stderr in the documented format") {
  SetLogSink(nullptr);
  SetLogLevel(LogLevel::kDebug);
  StderrCapture capture;
  Log(LogLevel::kDebug, "vfs", "not shown");
  Log(LogLevel::kInfo, "vfs", "not shown either");
  Log(LogLevel::kWarning, "vfs", "page 3 rewritten");
  Log(LogLevel::kError, "store", "open failed");
  const std::string out = capture.Finish();
  SetLogLevel(LogLevel::kInfo);
  CHECK(out ==
        "fieldsync [warning] vfs: page 3 rewritten\n"
        "fieldsync [error] store: open failed\n");
}

TEST_CASE("an empty sink restores the default and the replaced sink receives nothing more") {
  std::vector<std::string> seen;
  SetLogSink([&seen](LogLevel, std::string_view, std::string_view message) {
    seen.emplace_back(message);
  });
  Log(LogLevel::kWarning, "t", "to custom");
  SetLogSink(nullptr);
  StderrCapture capture;
  Log(LogLevel::kWarning, "t", "to stderr");
  const std::string out = capture.Finish();
  CHECK(seen == std::vector<std::string>{"to custom"});
  CHECK(out == "fieldsync [warning] t: to stderr\n");
}

TEST_CASE("a sink may log and replace the sink without deadlocking") {
  std::atomic<int> inner_calls{0};
  SetLogSink([&inner_calls](LogLevel, std::string_view component, std::string_view) {
    if (component == "outer") {
      // Both would self-deadlock if the sink were called with the log mutex held.
      SetLogSink([&inner_calls](LogLevel, std::string_view, std::string_view) { ++inner_calls; });
      Log(LogLevel::kWarning, "inner", "from inside a sink");
    }
  });
  Log(LogLevel::kWarning, "outer", "start");
  CHECK(inner_calls.load() == 1);
  SetLogSink(nullptr);
}

TEST_CASE("concurrent logging and sink replacement deliver every message to some sink") {
  std::atomic<int> delivered{0};
  auto counting = [&delivered](LogLevel, std::string_view, std::string_view) { ++delivered; };
  SetLogSink(counting);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([] {
      for (int i = 0; i < kPerThread; ++i) Log(LogLevel::kWarning, "t", "m");
    });
  }
  for (int i = 0; i < 200; ++i) SetLogSink(counting);
  for (std::thread& t : threads) t.join();
  SetLogSink(nullptr);
  CHECK(delivered.load() == kThreads * kPerThread);
}

}  // namespace
}  // namespace fieldsync
