#pragma once
// Internal to sim/jpeg.cpp: the leaf picture, drawn from a seed with integer arithmetic and a
// splitmix64 generator only, so the pixels are the same on every platform.

#include <cstdint>
#include <vector>

namespace lims::sim::detail {

struct Rgb {
  int r, g, b;
};

struct SpotSpec {
  int s16;        // position along the leaf axis, Q16 of the half-length
  int t16;        // position across, Q16 of the local half-width
  int radius_pm;  // radius, per mille of the half-length
  Rgb core;
};

/// The scene, drawn from the seed independently of the image size.
struct SceneSpec {
  std::uint64_t seed;
  int cx_pm, cy_pm;  // leaf centre, per mille of width / height
  int ux, uy;        // leaf axis (base -> tip), unit vector in Q14
  int half_len_pm;   // half-length, per mille of the height
  int half_width_pct;
  int skew16;        // how much wider the base half is than the tip half, Q16
  int veins;         // side veins per unit of the half-length
  int vein_slope16;  // how far a side vein runs toward the tip, Q16
  Rgb leaf, soil;
  std::vector<SpotSpec> spots;
};

/// The scene for `seed` (placement, shape, colours, spots); the same on every platform.
SceneSpec make_scene(std::uint64_t seed);

/// Draws `scene` into `rgb`, resized to width x height x 3 bytes (RGB); deterministic.
void render(const SceneSpec& scene, int width, int height, std::vector<std::uint8_t>& rgb);

}  // namespace lims::sim::detail
