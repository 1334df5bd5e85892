// bench's child processes: their own process group, no inherited descriptors, the parent named
// for follow_parent(), their usage, and a stop that escalates to SIGKILL.

#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "bench/child.hpp"
#include "common/process.hpp"

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
  REQUIRE(child.wait(30));
  CHECK(child.usage().exit_code == 0);
  return log.text();
}

TEST_CASE("bench: a child leads a process group of its own and inherits no descriptor") {
  const int extra = ::open("/dev/null", O_RDONLY);  // not close-on-exec
  REQUIRE(extra > 2);
  // Field 5 of /proc/PID/stat is the process group; `test` and `read` are built into sh.
  const std::string out = run_sh(
      "read -r pid comm state ppid pgrp rest < /proc/$$/stat; echo \"pgrp=$((pgrp == $$))\"; "
      "test -e /proc/$$/fd/" +
      std::to_string(extra) +
      " && echo fd=open || echo fd=closed; "
      "echo \"parent=$LIMS_BENCH_PARENT_PID\"");
  ::close(extra);
  CHECK(out.find("pgrp=1\n") != std::string::npos);
  CHECK(out.find("fd=closed\n") != std::string::npos);
  CHECK(out.find("parent=" + std::to_string(::getpid()) + "\n") != std::string::npos);
}

TEST_CASE("bench: follow_parent holds only in a child whose named parent is its parent") {
  ::unsetenv("LIMS_BENCH_PARENT_PID");
  CHECK(follow_parent());  // not a child of bench: nothing to do
  ::setenv("LIMS_BENCH_PARENT_PID", std::to_string(::getppid()).c_str(), 1);
  CHECK(follow_parent());
  int signal = 0;
  ::prctl(PR_GET_PDEATHSIG, &signal);
  CHECK(signal == SIGTERM);
  ::setenv("LIMS_BENCH_PARENT_PID", "1", 1);  // its parent died: it was re-parented
  CHECK_FALSE(follow_parent());
  ::unsetenv("LIMS_BENCH_PARENT_PID");
  ::prctl(PR_SET_PDEATHSIG, 0);
}

/// A named pipe a child writes a line to once it has set its SIGTERM handler (the child
/// inherits no descriptor, so it opens the pipe by name).
struct ReadyPipe {
  TempLog name;
  int fd = -1;
  ReadyPipe() {
    REQUIRE(::mkfifo(name.path.c_str(), 0600) == 0);
    fd = ::open(name.path.c_str(), O_RDONLY | O_NONBLOCK);  // no writer needed to open
    REQUIRE(fd >= 0);
  }
  ~ReadyPipe() { ::close(fd); }
  /// Waits up to 30 s for the child's line; false if none came.
  bool wait() const {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 30000) == 1 && (p.revents & POLLIN);
  }
};

/// Stops a child that handles SIGTERM with `on_term` (a trap action) once it is ready, and
/// returns its usage. It idles in `wait`, which a trapped signal interrupts; its `sleep` is in
/// the child's process group, killed afterwards.
bench::ChildUsage stop_idle_child(const std::string& on_term, double grace_s) {
  TempLog log;
  ReadyPipe ready;
  bench::Child child(
      {"/bin/sh", "-c",
       "trap '" + on_term + "' TERM; echo ready > " + ready.name.path + "; sleep 60 & wait"},
      log.path);
  REQUIRE(ready.wait());
  const auto usage = child.stop(grace_s);
  ::kill(-child.pid(), SIGKILL);
  CHECK_FALSE(child.running());
  return usage;
}

TEST_CASE("bench: stop ends a child with SIGTERM, or SIGKILL after the grace period") {
  CHECK(stop_idle_child("exit 7", 10).exit_code == 7);
  CHECK(stop_idle_child("", 0.2).exit_code == -1);  // SIGTERM ignored: killed by SIGKILL
}

}  // namespace
}  // namespace lims
