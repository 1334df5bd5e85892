#include "sim/noise.hpp"

#include <algorithm>

namespace lims::sim::detail {

std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

ValueNoise::ValueNoise(std::uint64_t key, int cell_log2, int width, int height)
    : shift_(cell_log2), mask_((1 << cell_log2) - 1), grid_w_((width >> cell_log2) + 2) {
  const int grid_h = (height >> cell_log2) + 2;
  values_.resize(static_cast<std::size_t>(grid_w_) * static_cast<std::size_t>(grid_h));
  for (std::size_t i = 0; i < values_.size(); ++i) {
    values_[i] = static_cast<int>(mix64(key + i) >> 56) - 128;
  }
  const int cell = 1 << cell_log2;
  weights_.resize(static_cast<std::size_t>(cell));
  for (int f = 0; f < cell; ++f) {
    const int t = (f << 8) >> cell_log2;                                    // 0..255, Q8
    weights_[static_cast<std::size_t>(f)] = (t * t * (768 - 2 * t)) >> 16;  // smoothstep, Q8
  }
}

void ValueNoise::fill_row(int y, std::vector<int>& out) {
  const int wy = weights_[static_cast<std::size_t>(y & mask_)];
  const std::size_t grid_w = static_cast<std::size_t>(grid_w_);
  const std::size_t base = static_cast<std::size_t>(y >> shift_) * grid_w;
  columns_.resize(grid_w);
  for (std::size_t gx = 0; gx < grid_w; ++gx) {
    columns_[gx] = values_[base + gx] * (256 - wy) + values_[base + grid_w + gx] * wy;
  }
  const std::size_t cell = std::size_t{1} << shift_;
  for (std::size_t x0 = 0, gx = 0; x0 < out.size(); x0 += cell, ++gx) {
    const int c0 = columns_[gx];
    const int c1 = columns_[gx + 1];
    const std::size_t n = std::min(cell, out.size() - x0);
    for (std::size_t f = 0; f < n; ++f) {
      out[x0 + f] = (c0 * (256 - weights_[f]) + c1 * weights_[f]) >> 16;
    }
  }
}

const std::vector<std::int8_t>& grain_table() {
  static const std::vector<std::int8_t> table = [] {
    std::vector<std::int8_t> t(std::size_t{1} << 17);
    SplitMix64 rng(0x677261696EULL);  // "grain"
    for (std::size_t i = 0; i < t.size(); i += 4) {
      const std::uint64_t bits = rng.next();
      for (std::size_t k = 0; k < 4; ++k) {
        const int u = static_cast<int>((bits >> (16 * k)) & 0xFF);
        const int v = static_cast<int>((bits >> (16 * k + 8)) & 0xFF);
        t[i + k] = static_cast<std::int8_t>((u + v - 255) / 2);
      }
    }
    return t;
  }();
  return table;
}

}  // namespace lims::sim::detail
