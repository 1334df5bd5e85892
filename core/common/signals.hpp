#pragma once
// Orderly shutdown: SIGINT and SIGTERM set one atomic flag that every loop checks.

#include <atomic>
#include <chrono>

namespace lims {

/// The process-wide stop flag, set by SIGINT/SIGTERM once install_stop_handlers() ran.
std::atomic<bool>& stop_flag();
/// Routes SIGINT and SIGTERM to stop_flag(). A second signal ends the process at once, with
/// exit code 128 + the signal number (130 for SIGINT), as shells report it.
void install_stop_handlers();
/// Bounds a graceful stop: once the stop flag is raised by a signal, the process gets `timeout`
/// to finish, then logs why and exits 1 at once (nothing more is committed; what was not is
/// read again on the next start).
void arm_shutdown_deadline(std::chrono::milliseconds timeout);
/// Blocks SIGINT and SIGTERM in the calling thread and the threads it starts later. Call before
/// starting threads, then wait_for_stop_signal().
void block_stop_signals();
/// Waits until SIGINT or SIGTERM arrives (after block_stop_signals()). Returns the signal.
int wait_for_stop_signal();
/// Waits until stop_flag() is raised (woken by the signal itself) or `deadline` passes; returns
/// whether it was raised.
bool wait_for_stop(std::chrono::steady_clock::time_point deadline);

}  // namespace lims
