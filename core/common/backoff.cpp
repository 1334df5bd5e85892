#include "common/backoff.hpp"

#include <algorithm>

namespace lims {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
    : initial_(std::max(initial, std::chrono::milliseconds(1))),
      max_(std::max(max, initial_)),
      step_(initial_) {}

std::chrono::milliseconds Backoff::next() {
  if (!random_) random_.emplace(std::random_device{}());
  const auto step = step_.count();
  const std::chrono::milliseconds delay(
      std::uniform_int_distribution<std::int64_t>(step / 2, step)(*random_));
  step_ = std::min(step_ * 2, max_);
  return delay;
}

}  // namespace lims
