#include "common/process.hpp"

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

}  // namespace lims
