#pragma once
// A child process whose CPU time and peak memory are measured: each path `lims bench` compares
// runs as a process of its own, as it would in production.

#include <sys/types.h>

#include <string>
#include <vector>

namespace lims::bench {

/// What a child used, from wait4()'s rusage.
struct ChildUsage {
  int exit_code = -1;       // -1 if killed by a signal
  double cpu_s = 0;         // user + system
  double peak_rss_mib = 0;  // ru_maxrss
};

class Child {
 public:
  /// Starts `argv` in a process group of its own (a Ctrl-C on the terminal reaches only the
  /// parent, which stops its children in order), with stdin from /dev/null, stdout and stderr
  /// appended to `log_path`, no other descriptor inherited, and lims::follow_parent() armed (the
  /// child's main() calls it), so it ends with this process; throws
  /// lims::Error if it cannot be started.
  Child(const std::vector<std::string>& argv, const std::string& log_path);
  /// Kills and reaps the child if it still runs.
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  /// True until the child has exited (reaps it then; see usage()).
  bool running();
  /// Waits up to `timeout_s` for the child to exit; true if it has (reaped; see usage()).
  bool wait(double timeout_s);
  /// Reads the peak memory, sends SIGTERM and waits for the exit (SIGKILL after `grace_s`);
  /// returns its usage.
  ChildUsage stop(double grace_s = 30);
  /// The usage once the child has exited.
  const ChildUsage& usage() const { return usage_; }
  pid_t pid() const { return pid_; }

 private:
  bool reap(int flags);
  pid_t pid_ = -1;
  bool exited_ = false;
  ChildUsage usage_;
};

}  // namespace lims::bench
