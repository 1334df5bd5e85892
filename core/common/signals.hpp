#pragma once
// Orderly shutdown: SIGINT and SIGTERM set one atomic flag that every loop checks.

#include <atomic>

namespace lims {

/// The process-wide stop flag, set by SIGINT/SIGTERM once install_stop_handlers() ran.
std::atomic<bool>& stop_flag();
/// Routes SIGINT and SIGTERM to stop_flag(). A second signal ends the process at once, with
/// exit code 128 + the signal number (130 for SIGINT), as shells report it.
void install_stop_handlers();
/// Blocks SIGINT and SIGTERM in the calling thread and the threads it starts later. Call before
/// starting threads, then wait_for_stop_signal().
void block_stop_signals();
/// Waits until SIGINT or SIGTERM arrives (after block_stop_signals()). Returns the signal.
int wait_for_stop_signal();

}  // namespace lims
