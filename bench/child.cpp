#include "bench/child.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>

#include "common/error.hpp"
#include "common/process.hpp"

extern char** environ;

namespace lims::bench {

Child::Child(const std::vector<std::string>& argv, const std::string& log_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);  // librdkafka's pipes, sockets
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::string prefix = std::string(kFollowParentVariable) + "=";
  const std::string follow = prefix + std::to_string(::getpid());
  std::vector<char*> env;
  for (char** e = environ; *e != nullptr; ++e)
    if (!std::string_view(*e).starts_with(prefix)) env.push_back(*e);
  env.push_back(const_cast<char*>(follow.c_str()));
  env.push_back(nullptr);
  const int error = posix_spawn(&pid_, args[0], &actions, &attributes, args.data(), env.data());
  posix_spawnattr_destroy(&attributes);
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

bool Child::wait(double timeout_s) {
  if (exited_) return true;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  // A pidfd becomes readable when the child exits: wait on it, bounded by the deadline.
  const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  if (fd < 0) {  // no pidfd (an old kernel, a seccomp filter): look every 20 ms
    while (!reap(WNOHANG) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return exited_;
  }
  pollfd p{fd, POLLIN, 0};
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) >= 0 || errno != EINTR)
      break;
  }
  ::close(fd);
  return reap(WNOHANG);
}

ChildUsage Child::stop(double grace_s) {
  if (!running()) return usage_;
  const double peak_rss_mib = peak_rss_mib_of(pid_);
  ::kill(pid_, SIGTERM);
  if (!wait(grace_s)) {
    ::kill(pid_, SIGKILL);
    reap(0);
  }
  if (peak_rss_mib > 0) usage_.peak_rss_mib = peak_rss_mib;
  return usage_;
}

}  // namespace lims::bench
