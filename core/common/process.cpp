#include "common/process.hpp"

#include <malloc.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <string>

namespace lims {

bool follow_parent() {
  const char* parent = std::getenv(kFollowParentVariable);
  if (parent == nullptr) return true;
  // The parent may have died between the spawn and now; then this process was re-parented.
  return ::prctl(PR_SET_PDEATHSIG, SIGTERM) == 0 && std::to_string(::getppid()) == parent;
}

void tune_allocator() {
  if (std::getenv("GLIBC_TUNABLES") != nullptr) return;
  constexpr int kMiB = 1 << 20;
  ::mallopt(M_MMAP_THRESHOLD, 32 * kMiB);
  ::mallopt(M_TRIM_THRESHOLD, 128 * kMiB);
  ::mallopt(M_TOP_PAD, 16 * kMiB);
}

}  // namespace lims
