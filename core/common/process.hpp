#pragma once
// A process started by another lims process (lims bench's paths) ends with its parent.

namespace lims {

/// The environment variable naming the parent whose death a child follows (set by the parent
/// when it starts the child; see bench::Child).
inline constexpr const char* kFollowParentVariable = "LIMS_BENCH_PARENT_PID";

/// Called first thing in main(): in a process started with kFollowParentVariable set, arranges
/// for SIGTERM to arrive when that parent dies (even by SIGKILL), so no child outlives it;
/// returns false if the parent is gone already. A no-op (true) in any other process.
bool follow_parent();

}  // namespace lims
