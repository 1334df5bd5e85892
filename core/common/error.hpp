#pragma once
// One error type for setup and configuration failures, and the process exit codes.

#include <stdexcept>
#include <string>

namespace lims {

/// Process exit codes, kept in one place (see README "Exit codes").
enum class ExitCode : int {
  ok = 0,
  failure = 1,      // runtime failure, or "not found" for get-image
  usage = 2,        // unknown flag or bad value
  unreachable = 3,  // broker or store could not be reached in time
  data = 4,         // a bad record under --on-bad-record=fail
};

/// A failure the user can act on: the message says what went wrong and what to do.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, ExitCode code = ExitCode::failure)
      : std::runtime_error(message), code_(code) {}
  /// The exit code the process should end with when this error reaches main().
  ExitCode code() const noexcept { return code_; }

 private:
  ExitCode code_;
};

}  // namespace lims
