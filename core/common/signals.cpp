#include "common/signals.hpp"

#include <unistd.h>

#include <csignal>

namespace lims {
namespace {

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the stop flag must be async-signal-safe");

extern "C" void on_stop_signal(int signo) {
  if (g_stop.exchange(true)) _exit(128 + signo);  // the second Ctrl-C: the user means it
}

sigset_t stop_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

std::atomic<bool>& stop_flag() { return g_stop; }

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

void block_stop_signals() {
  sigset_t set = stop_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int wait_for_stop_signal() {
  sigset_t set = stop_set();
  int signo = 0;
  sigwait(&set, &signo);
  g_stop = true;
  return signo;
}

}  // namespace lims
