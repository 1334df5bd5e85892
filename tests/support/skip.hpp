#pragma once
// Skipping a test case that cannot run here (no MongoDB named, a cluster whose processes cannot
// be signalled) so that ctest reports SKIP, never a pass: the test binary (tests/support/main.cpp)
// exits 77, ctest's SKIP_RETURN_CODE, when a case skipped and nothing failed.

#include <string>

namespace lims::test {

/// Records that the running test case skips, and why (printed at the end of the run).
void skip(const std::string& reason);

}  // namespace lims::test

/// Skips the running test case: records `reason` and returns from it.
#define LIMS_SKIP(reason)           \
  do {                              \
    ::lims::test::skip(reason);     \
    return;                         \
  } while (0)
