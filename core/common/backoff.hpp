#pragma once
// Delays between retries: exponential, capped, with jitter (as cppkafka's backoff_performer).

#include <chrono>
#include <optional>
#include <random>

namespace lims {

class Backoff {
 public:
  /// Steps from `initial`, doubling up to `max`.
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max);
  /// The delay before the next try, drawn from [step / 2, step]; then the step doubles, up to
  /// the maximum. Jitter keeps many members from retrying in lockstep.
  std::chrono::milliseconds next();
  /// Back to the first step, after a success.
  void reset() { step_ = initial_; }

 private:
  std::chrono::milliseconds initial_, max_, step_;
  std::optional<std::mt19937> random_;  // seeded at the first delay only: most tries succeed
};

}  // namespace lims
