#pragma once
// Synthetic but real JPEG images of a leaf, for the event simulator and the benchmarks.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lims::sim {

/// A real baseline JPEG of a leaf-like picture, deterministic in `seed`, whose size is within
/// about ±10% of `target_bytes` (supported range 4 kB .. 200 kB). Throws lims::Error on failure.
///
/// The picture (a green leaf with veins and brownish spots on a soil background) is drawn with
/// integer arithmetic and a splitmix64 generator only, so the pixels are the same on every
/// platform; the image is 4:3, quality 85, 4:2:0, and its side length is searched for the size.
/// Targets below 1 KiB or above 8 MiB are rejected with lims::Error; between those bounds but
/// outside the supported range the size is best effort.
std::vector<std::uint8_t> make_leaf_jpeg(std::uint64_t seed, std::size_t target_bytes);

}  // namespace lims::sim
