// bench's child processes: their own process group, no inherited descriptors, the parent named
// for follow_parent(), their usage, and a stop that escalates to SIGKILL.

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "bench/child.hpp"

namespace lims {
namespace {

namespace fs = std::filesystem;

/// A log file in the temp dir, removed on destruction.
struct TempLog {
  std::string path = (fs::temp_directory_path() /
                      ("lims-child-test-" + std::to_string(::getpid()) + "-" + std::to_string(++n)))
                         .string();
  ~TempLog() { fs::remove(path); }
  std::string text() const {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static inline int n = 0;
};

/// Runs `script` under /bin/sh as a Child and returns what it printed, once it has exited.
std::string run_sh(const std::string& script) {
  TempLog log;
  bench::Child child({"/bin/sh", "-c", script}, log.path);
  while (child.running()) ::usleep(5000);
  CHECK(child.usage().exit_code == 0);
  return log.text();
}

TEST_CASE("bench: a child leads a process group of its own and inherits no descriptor") {
  const int extra = ::open("/dev/null", O_RDONLY);  // not close-on-exec
  REQUIRE(extra > 2);
  // Field 5 of /proc/PID/stat is the process group; `test` and `read` are built into sh.
  const std::string out = run_sh(
      "read -r pid comm state ppid pgrp rest < /proc/$$/stat; echo \"pgrp=$((pgrp == $$))\"; "
      "test -e /proc/$$/fd/" + std::to_string(extra) + " && echo fd=open || echo fd=closed; "
      "echo \"parent=$LIMS_BENCH_PARENT_PID\"");
  ::close(extra);
  CHECK(out.find("pgrp=1\n") != std::string::npos);
  CHECK(out.find("fd=closed\n") != std::string::npos);
  CHECK(out.find("parent=" + std::to_string(::getpid()) + "\n") != std::string::npos);
}

TEST_CASE("bench: follow_parent holds only in a child whose named parent is its parent") {
  ::unsetenv("LIMS_BENCH_PARENT_PID");
  CHECK(bench::follow_parent());  // not a child of bench: nothing to do
  ::setenv("LIMS_BENCH_PARENT_PID", std::to_string(::getppid()).c_str(), 1);
  CHECK(bench::follow_parent());
  int signal = 0;
  ::prctl(PR_GET_PDEATHSIG, &signal);
  CHECK(signal == SIGTERM);
  ::setenv("LIMS_BENCH_PARENT_PID", "1", 1);  // its parent died: it was re-parented
  CHECK_FALSE(bench::follow_parent());
  ::unsetenv("LIMS_BENCH_PARENT_PID");
  ::prctl(PR_SET_PDEATHSIG, 0);
}

/// Waits until the log holds `n` lines "trapped" (the child has set its SIGTERM handler).
void wait_trapped(const TempLog& log, std::size_t n) {
  for (;;) {
    const std::string text = log.text();
    std::size_t count = 0;
    for (auto at = text.find("trapped\n"); at != std::string::npos;
         at = text.find("trapped\n", at + 1))
      ++count;
    if (count >= n) return;
    ::usleep(5000);
  }
}

TEST_CASE("bench: stop ends a child with SIGTERM, or SIGKILL after the grace period") {
  TempLog log;
  {
    bench::Child child(
        {"/bin/sh", "-c", "trap 'exit 7' TERM; echo trapped; while :; do sleep 0.05; done"},
        log.path);
    wait_trapped(log, 1);
    CHECK(child.stop(10).exit_code == 7);
  }
  bench::Child stubborn(
      {"/bin/sh", "-c", "trap '' TERM; echo trapped; while :; do sleep 0.05; done"}, log.path);
  wait_trapped(log, 2);
  const auto usage = stubborn.stop(0.2);
  CHECK(usage.exit_code == -1);  // killed by a signal
  CHECK_FALSE(stubborn.running());
}

}  // namespace
}  // namespace lims
