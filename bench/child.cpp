#include "bench/child.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "common/error.hpp"

extern char** environ;

namespace lims::bench {

Child::Child(const std::vector<std::string>& argv, const std::string& log_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int error = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) throw Error("cannot start " + argv[0] + ": " + std::strerror(error));
}

Child::~Child() {
  if (exited_ || pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  reap(0);
}

bool Child::reap(int flags) {
  int status = 0;
  rusage ru{};
  pid_t r;
  do r = ::wait4(pid_, &status, flags, &ru);
  while (r < 0 && errno == EINTR);
  if (r != pid_) return false;
  exited_ = true;
  usage_.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  usage_.cpu_s = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  usage_.peak_rss_mib = static_cast<double>(ru.ru_maxrss) / 1024;  // KiB on Linux
  return true;
}

bool Child::running() { return !exited_ && !reap(WNOHANG); }

namespace {

/// The process's peak resident memory in MiB (VmHWM), or 0 if unknown. Unlike wait4()'s
/// ru_maxrss it excludes the parent's memory the child had before exec.
double peak_rss_mib_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("VmHWM:")) return std::strtod(line.c_str() + 6, nullptr) / 1024;
  return 0;
}

}  // namespace

ChildUsage Child::stop(double grace_s) {
  if (!running()) return usage_;
  const double peak_rss_mib = peak_rss_mib_of(pid_);
  // A pidfd becomes readable when the child exits: wait on it, bounded by the grace period.
  const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  ::kill(pid_, SIGTERM);
  if (fd >= 0) {
    pollfd p{fd, POLLIN, 0};
    int r;
    do r = ::poll(&p, 1, static_cast<int>(grace_s * 1000));
    while (r < 0 && errno == EINTR);
    ::close(fd);
  }
  if (!reap(WNOHANG)) {
    ::kill(pid_, SIGKILL);
    reap(0);
  }
  if (peak_rss_mib > 0) usage_.peak_rss_mib = peak_rss_mib;
  return usage_;
}

}  // namespace lims::bench
