// The test binaries' main: doctest's, with two outcomes doctest lacks. A run in which a case
// skipped (test::skip) and nothing failed exits 77, which ctest shows as SKIP; a run whose
// filters matched no test case at all fails, since a filter that selects nothing tests nothing.

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <iostream>
#include <mutex>
#include <vector>

#include "skip.hpp"

namespace {

constexpr int kSkipped = 77;

std::mutex skipped_mutex;
std::vector<std::string> skipped;  // "test case: reason"
unsigned cases_run = 0;

/// Remembers how many test cases passed the filters.
struct RunListener : doctest::IReporter {
  explicit RunListener(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats& stats) override {
    cases_run = stats.numTestCasesPassingFilters;
  }
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};
REGISTER_LISTENER("lims-run", 1, RunListener);

}  // namespace

namespace lims::test {

void skip(const std::string& reason) {
  const std::string what = std::string(doctest::getContextOptions()->currentTest->m_name) + ": " +
                           reason;
  MESSAGE("SKIPPED: " << reason);
  std::lock_guard lock(skipped_mutex);
  skipped.push_back(what);
}

}  // namespace lims::test

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int result = context.run();
  if (context.shouldExit()) return result;  // --help, --list-test-cases, ...
  if (result != 0) return result;
  if (cases_run == 0) {
    std::cerr << "no test case matched the filters: nothing was tested\n";
    return 1;
  }
  if (!skipped.empty()) {
    std::cerr << "skipped " << skipped.size() << " test case(s):\n";
    for (const auto& s : skipped) std::cerr << "  " << s << "\n";
    return kSkipped;
  }
  return 0;
}
