#include "common/signals.hpp"

#include <semaphore.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <stdexcept>
#include <string>
#include <thread>

#include "common/log.hpp"

namespace lims {
namespace {

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the stop flag must be async-signal-safe");
// Posted once when a signal raises the flag (sem_post is async-signal-safe): g_stopped for the
// deadline, g_wake for wait_for_stop().
sem_t g_stopped, g_wake;
const bool g_stopped_ready = sem_init(&g_stopped, 0, 0) == 0;
const bool g_wake_ready = sem_init(&g_wake, 0, 0) == 0;

void raised() {
  sem_post(&g_stopped);
  sem_post(&g_wake);
}

extern "C" void on_stop_signal(int signo) {
  if (g_stop.exchange(true)) _exit(128 + signo);  // the second Ctrl-C: the user means it
  raised();
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

void arm_shutdown_deadline(std::chrono::milliseconds timeout) {
  if (!g_stopped_ready) return;
  std::thread([timeout] {
    while (sem_wait(&g_stopped) != 0 && errno == EINTR) {
    }
    std::this_thread::sleep_for(timeout);
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", static_cast<double>(timeout.count()) / 1000);
    log::error(std::string("shutdown did not finish within ") + seconds +
               " s (--shutdown-timeout): exiting now; what was not committed is read again on "
               "the next start");
    std::_Exit(1);
  }).detach();
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
  raised();
  return signo;
}

bool wait_for_stop(std::chrono::steady_clock::time_point deadline) {
  if (!g_wake_ready) throw std::runtime_error("no semaphore for wait_for_stop()");
  // steady_clock is CLOCK_MONOTONIC.
  const auto since_epoch = deadline.time_since_epoch();
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  const timespec at{
      static_cast<time_t>(secs.count()),
      static_cast<long>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch - secs).count())};
  while (!g_stop) {
    if (sem_clockwait(&g_wake, CLOCK_MONOTONIC, &at) == 0) {
      sem_post(&g_wake);  // the stop stays raised: a later wait returns at once too
      break;
    }
    if (errno == ETIMEDOUT) break;
  }
  return g_stop;
}

}  // namespace lims
