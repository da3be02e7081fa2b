// The doctest entry point shared by every fieldsync test executable.
//
// ctest runs each case alone as `<exe> --test-case=<name>`. A name that ctest cannot pass through
// intact (it splits on ';') would select nothing, and doctest counts "nothing ran" as success: a
// test that silently never runs. So a run whose filter selected no test case fails, loudly.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <atomic>
#include <cstdio>
#include <cstring>

namespace {

std::atomic<int> g_cases_started{0};

// Counts the test cases that actually start.
struct CaseCounter : doctest::IReporter {
  explicit CaseCounter(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override { ++g_cases_started; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

REGISTER_LISTENER("fieldsync_case_counter", 1, CaseCounter);

}  // namespace

int main(int argc, char** argv) {
  bool filtered = false, listing = false;
  for (int i = 1; i < argc; ++i) {
    filtered |=
        std::strncmp(argv[i], "--test-case=", 12) == 0 || std::strncmp(argv[i], "-tc=", 4) == 0;
    listing |= std::strncmp(argv[i], "--list", 6) == 0 || std::strncmp(argv[i], "-l", 2) == 0 ||
               std::strncmp(argv[i], "-ltc", 4) == 0;
  }
  doctest::Context context(argc, argv);
  const int result = context.run();
  if (context.shouldExit()) return result;
  if (filtered && !listing && g_cases_started == 0) {
    std::fprintf(stderr,
                 "error: the test-case filter selected no test case (does its name contain ';'?"
                 " ctest splits names there)\n");
    return result == 0 ? 1 : result;
  }
  return result;
}
