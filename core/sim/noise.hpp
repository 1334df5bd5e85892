#pragma once
// Internal to the leaf drawing: deterministic randomness and noise with integer arithmetic only
// (no std distributions), so the pictures are the same on every platform.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lims::sim::detail {

/// splitmix64's finalizer: a well-mixed 64-bit value of `z`.
std::uint64_t mix64(std::uint64_t z);

/// splitmix64: a small, fast, seedable generator.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    state_ += 0x9E3779B97F4A7C15ULL;
    return mix64(state_);
  }
  /// Uniform-enough integer in [lo, hi] (multiply-shift; the bias is irrelevant here).
  int range(int lo, int hi) {
    const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
    return lo + static_cast<int>(((next() >> 32) * span) >> 32);
  }

 private:
  std::uint64_t state_;
};

/// Value noise on a power-of-two lattice, integer only.
class ValueNoise {
 public:
  /// Lattice cell of 2^cell_log2 pixels over a width x height image; values in about -128..127.
  ValueNoise(std::uint64_t key, int cell_log2, int width, int height);
  /// The noise along row y, for x in [0, out.size()); same values as a per-pixel bilinear lookup.
  void fill_row(int y, std::vector<int>& out);

 private:
  int shift_;
  int mask_;
  int grid_w_;
  std::vector<int> values_;
  std::vector<int> weights_;
  std::vector<int> columns_;  // scratch: the lattice blended vertically for the current row
};

/// Sensor grain: triangular white noise in -127..127, one fixed table (more than any row wide),
/// the same in every process; rows read it from seed-chosen offsets.
const std::vector<std::int8_t>& grain_table();

}  // namespace lims::sim::detail
