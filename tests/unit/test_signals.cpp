// Orderly shutdown: a stop signal wakes a waiter at once, and the stop stays raised.

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <thread>

#include "common/signals.hpp"

namespace {

using Clock = std::chrono::steady_clock;

/// Runs `body` in a child process (the stop flag and the signal handlers are process-wide) and
/// returns its exit code.
template <class Body>
int in_child(Body body) {
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) ::_exit(body());
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

}  // namespace

TEST_CASE("signals: wait_for_stop returns false at its deadline when no stop came") {
  CHECK(in_child([] {
          lims::install_stop_handlers();
          const auto deadline = Clock::now() + std::chrono::milliseconds(20);
          if (lims::wait_for_stop(deadline)) return 1;  // no signal came
          if (Clock::now() < deadline) return 2;        // it waited the whole time
          return lims::stop_flag() ? 3 : 0;
        }) == 0);
}

TEST_CASE("signals: SIGTERM wakes wait_for_stop long before its deadline, and the stop stays") {
  CHECK(in_child([] {
          lims::install_stop_handlers();
          const auto t0 = Clock::now();
          std::thread signaller([] { ::kill(::getpid(), SIGTERM); });
          // An hour's deadline: only the signal can end this wait in any reasonable time (ctest's
          // timeout would end the test otherwise).
          const bool stopped = lims::wait_for_stop(t0 + std::chrono::hours(1));
          signaller.join();
          if (!stopped || !lims::stop_flag()) return 1;
          // A later wait sees the stop at once, whatever its deadline.
          if (!lims::wait_for_stop(Clock::now() + std::chrono::hours(1))) return 2;
          return 0;
        }) == 0);
}
