#pragma once
// Process-wide settings made first thing in main(): a child of another lims process (lims
// bench's paths) ends with its parent, and the allocator keeps the memory it reuses.

namespace lims {

/// The environment variable naming the parent whose death a child follows (set by the parent
/// when it starts the child; see bench::Child).
inline constexpr const char* kFollowParentVariable = "LIMS_BENCH_PARENT_PID";

/// Called first thing in main(): in a process started with kFollowParentVariable set, arranges
/// for SIGTERM to arrive when that parent dies (even by SIGKILL), so no child outlives it;
/// returns false if the parent is gone already. A no-op (true) in any other process.
bool follow_parent();

/// Called first thing in main(), before any thread starts: glibc's allocator keeps freed memory
/// for reuse instead of handing it back to the kernel and faulting it in again. Allocations
/// under 32 MiB come from the heap rather than their own mapping (librdkafka allocates each
/// fetch response anew, and every fresh mapping is a page fault per 4 KiB when the socket's
/// bytes are copied in); up to 128 MiB of free memory is kept rather than trimmed; the heap
/// grows 16 MiB at a time. See docs/performance.md for what it buys. Left alone when
/// GLIBC_TUNABLES is set: the user's own settings win.
void tune_allocator();

}  // namespace lims
