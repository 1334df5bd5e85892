// Process-wide settings: with the allocator tuned, memory freed and allocated again is reused
// rather than handed back and faulted in anew.

#include <doctest/doctest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "common/process.hpp"
#include "skip.hpp"

namespace {

long minor_faults() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

/// Allocates and writes `bytes`, as librdkafka does with each fetch response, and frees them:
/// the minor page faults it took (one per 4 KiB page when they are fresh).
long faults_of_one_fetch(std::size_t bytes) {
  const long before = minor_faults();
  auto* buffer = static_cast<char*>(std::malloc(bytes));
  std::memset(buffer, 1, bytes);
  const volatile char last = buffer[bytes - 1];  // the writes happen
  (void)last;
  const long faults = minor_faults() - before;
  std::free(buffer);
  return faults;
}

}  // namespace

TEST_CASE("process: the tuned allocator reuses freed memory without faulting it in again") {
#if defined(__SANITIZE_ADDRESS__)
  LIMS_SKIP("AddressSanitizer replaces malloc, and mallopt() does not reach its allocator");
#endif
  // In a child of its own: the settings are process-wide, and the environment must not hold
  // GLIBC_TUNABLES (which the tuning leaves alone).
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::unsetenv("GLIBC_TUNABLES");
    lims::tune_allocator();
    faults_of_one_fetch(8 << 20);  // the heap grows: its pages fault in once
    long worst = 0;
    for (int i = 0; i < 5; ++i) {  // fetches of other sizes reuse them (untuned glibc faults in
      const long f = faults_of_one_fetch((i % 2 ? 8 : 4) << 20);  // 1,024 pages at first)
      worst = f > worst ? f : worst;
    }
    ::_exit(worst < 100 ? 0 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
