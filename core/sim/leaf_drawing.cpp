#include "sim/leaf_drawing.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "sim/noise.hpp"

namespace lims::sim::detail {
namespace {

// --- The scene laid out on one image size --------------------------------------------------------

/// The leaf in pixels for one image size: every length derives from the half-length.
struct LeafFrame {
  std::int64_t cx, cy;    // leaf centre, pixels
  std::int64_t ux, uy;    // leaf axis, Q14
  std::int64_t half_len;  // pixels
  std::int64_t half_width;
  std::int64_t inv_len, inv_width;  // Q32
  std::int64_t midrib16;            // midrib half-width at the centre, Q16 pixels
  std::int64_t vein_half;           // side-vein half-width, Q16 phase units
  std::int64_t stem_len16;          // petiole length, Q16 of the half-length
  std::int64_t stem16;              // petiole half-width, Q16 pixels
  std::int64_t shadow16;            // shadow width beyond the edge, Q16 pixels
};

struct Box {
  int x0, x1, y0, y1;
};

struct Spot {
  int x, y;
  std::int64_t r2;
  int reach;  // bounding half-extent in pixels (halo included)
  Rgb core;
};

int clamp_byte(int v) { return std::clamp(v, 0, 255); }

/// Leaf half-width profile at axial position s16 (Q16, |s16| < 65536), Q16 of the half-width.
std::int64_t leaf_profile(std::int64_t s16, int skew16) {
  const std::int64_t s2 = (s16 * s16) >> 16;
  return ((65536 - s2) * (65536 + skew16 - ((s16 * skew16) >> 15))) >> 16;
}

LeafFrame frame_leaf(const SceneSpec& scene, int width, int height) {
  LeafFrame f{};
  f.cx = width * scene.cx_pm / 1000;
  f.cy = height * scene.cy_pm / 1000;
  f.ux = scene.ux;
  f.uy = scene.uy;
  f.half_len = std::max(4, height * scene.half_len_pm / 1000);
  f.half_width = std::max<std::int64_t>(2, f.half_len * scene.half_width_pct / 100);
  f.inv_len = (std::int64_t{1} << 32) / f.half_len;
  f.inv_width = (std::int64_t{1} << 32) / f.half_width;
  f.midrib16 = std::max<std::int64_t>(65536, (f.half_len << 16) / 90);
  f.vein_half = std::max<std::int64_t>(65536, (f.half_len << 16) / 160) * scene.veins / f.half_len;
  f.stem_len16 = 65536 / 4;
  f.stem16 = std::max<std::int64_t>(65536, (f.half_len << 16) / 70);
  f.shadow16 = std::max<std::int64_t>(65536, (f.half_len << 16) / 25);
  return f;
}

/// Axis-aligned box around leaf, petiole and shadow; outside it there is only soil.
Box leaf_box(const LeafFrame& f, int width, int height) {
  Box box{width, 0, height, 0};
  const std::int64_t s_lo = -f.half_len - f.half_len / 4 - 2;
  const std::int64_t s_hi = f.half_len + 2;
  const std::int64_t t_hi = 2 * f.half_width + (f.shadow16 >> 16) + 2;
  for (const std::int64_t s : {s_lo, s_hi}) {
    for (const std::int64_t t : {-t_hi, t_hi}) {
      const auto x = static_cast<int>(f.cx + ((s * f.ux - t * f.uy) >> 14));
      const auto y = static_cast<int>(f.cy + ((s * f.uy + t * f.ux) >> 14));
      box.x0 = std::min(box.x0, x - 1);
      box.x1 = std::max(box.x1, x + 2);
      box.y0 = std::min(box.y0, y - 1);
      box.y1 = std::max(box.y1, y + 2);
    }
  }
  box.x0 = std::max(box.x0, 0);
  box.x1 = std::min(box.x1, width);
  box.y0 = std::max(box.y0, 0);
  box.y1 = std::min(box.y1, height);
  return box;
}

std::vector<Spot> place_spots(const SceneSpec& scene, const LeafFrame& f) {
  std::vector<Spot> spots;
  for (const SpotSpec& spec : scene.spots) {
    const std::int64_t along = (spec.s16 * f.half_len) >> 16;
    const std::int64_t across =
        (((spec.t16 * leaf_profile(spec.s16, scene.skew16)) >> 16) * f.half_width) >> 16;
    const int r = static_cast<int>(std::max<std::int64_t>(1, f.half_len * spec.radius_pm / 1000));
    spots.push_back({static_cast<int>(f.cx + ((along * f.ux - across * f.uy) >> 14)),
                     static_cast<int>(f.cy + ((along * f.uy + across * f.ux) >> 14)),
                     std::int64_t{r} * r, r * 9 / 4 + 2, spec.core});
  }
  return spots;
}

// --- One row at a time: soil, then leaf (petiole, shadow, body, veins, spots), then grain ------

constexpr int kSoilGrain = 28;  // grain amplitude on soil; the leaf is smoother
constexpr int kLeafGrain = 14;

/// One image row before grain: the noise, the colour channels and the grain amplitude per pixel.
struct Row {
  explicit Row(std::size_t width)
      : coarse(width), medium(width), red(width), green(width), blue(width), grain_amp(width) {}
  std::vector<int> coarse, medium;
  std::vector<int> red, green, blue, grain_amp;
};

/// A pixel inside the leaf outline, in leaf coordinates.
struct LeafPoint {
  int x, y;
  std::int64_t s16;   // along the axis, Q16 of the half-length
  std::int64_t at16;  // |across|, Q16 pixels
  int rel;            // 0..255 centre -> edge
  int n_coarse, n_medium;
};

/// Soil everywhere (a simple loop the compiler can vectorise).
void paint_soil(const Rgb& soil, Row& row) {
  for (std::size_t x = 0; x < row.red.size(); ++x) {
    const int n_coarse = row.coarse[x];
    const int n_medium = row.medium[x];
    row.red[x] = soil.r + ((n_coarse * 30) >> 7) + ((n_medium * 14) >> 7);
    row.green[x] = soil.g + ((n_coarse * 24) >> 7) + ((n_medium * 11) >> 7);
    row.blue[x] = soil.b + ((n_coarse * 16) >> 7) + ((n_medium * 8) >> 7);
    row.grain_amp[x] = kSoilGrain;
  }
}

/// The leaf's own colour, darker toward the edge.
Rgb leaf_body(const Rgb& leaf, const LeafPoint& p) {
  Rgb c{leaf.r + ((p.n_coarse * 12) >> 7) + ((p.n_medium * 5) >> 7),
        leaf.g + ((p.n_coarse * 20) >> 7) + ((p.n_medium * 7) >> 7),
        leaf.b + ((p.n_coarse * 8) >> 7) + ((p.n_medium * 3) >> 7)};
  const int edge = (p.rel * p.rel) >> 8;
  c.r -= (edge * 18) >> 8;
  c.g -= (edge * 40) >> 8;
  c.b -= (edge * 12) >> 8;
  return c;
}

/// Lightens the midrib, or else a side vein running from it toward the tip.
void add_veins(const SceneSpec& scene, const LeafFrame& f, const LeafPoint& p, Rgb& c) {
  const std::int64_t midrib_here = (f.midrib16 * (98304 - p.s16)) >> 17;
  if (p.at16 < midrib_here) {
    c.r += 45;
    c.g += 45;
    c.b += 28;
  } else if (p.s16 > -60000 && p.s16 < 60000 && p.rel < 235) {
    const std::int64_t across16 = (p.at16 * f.inv_width) >> 32;  // Q16 of the half-width
    const std::int64_t phase = p.s16 * scene.veins - ((across16 * scene.vein_slope16) >> 16);
    const std::int64_t ph = phase & 0xFFFF;
    if (std::min(ph, 65536 - ph) < f.vein_half) {
      const int k = 256 - p.rel;
      c.r += (26 * k) >> 8;
      c.g += (30 * k) >> 8;
      c.b += (16 * k) >> 8;
    }
  }
}

/// Paints the spots near this row over the leaf: a brown core with a darker rim, a yellow halo.
void add_spots(const std::vector<const Spot*>& row_spots, const LeafPoint& p, Rgb& c) {
  for (const Spot* spot : row_spots) {
    const int dx = p.x - spot->x;
    if (dx > spot->reach || dx < -spot->reach) continue;
    const int dy = p.y - spot->y;
    const std::int64_t d2 =
        ((std::int64_t{dx} * dx + std::int64_t{dy} * dy) * (256 + p.n_medium)) >> 8;
    if (d2 < spot->r2) {
      const bool rim = d2 * 4 > spot->r2 * 3;
      c.r = spot->core.r - (rim ? 35 : 0) + ((p.n_medium * 10) >> 7);
      c.g = spot->core.g - (rim ? 25 : 0) + ((p.n_medium * 8) >> 7);
      c.b = spot->core.b - (rim ? 12 : 0);
    } else if (d2 * 4 < spot->r2 * 9) {
      // Chlorotic halo: blend toward yellow, fading outwards.
      const int k = static_cast<int>((spot->r2 * 9 - d2 * 4) * 150 / (spot->r2 * 5));
      c.r += ((185 - c.r) * k) >> 8;
      c.g += ((175 - c.g) * k) >> 8;
      c.b += ((60 - c.b) * k) >> 8;
    }
  }
}

/// Draws the petiole, the shadow and the leaf over the soil, within the box on row y.
void paint_leaf_row(const SceneSpec& scene, const LeafFrame& f, const Box& box, int y,
                    const std::vector<const Spot*>& row_spots, Row& row) {
  // Leaf coordinates, stepped along the row: s along the axis, t across it (Q14 pixels).
  const std::int64_t px0 = box.x0 - f.cx;
  const std::int64_t py = y - f.cy;
  std::int64_t s_raw = px0 * f.ux + py * f.uy;
  std::int64_t t_raw = py * f.ux - px0 * f.uy;
  for (int xi = box.x0; xi < box.x1; ++xi, s_raw += f.ux, t_raw -= f.uy) {
    const auto x = static_cast<std::size_t>(xi);
    const std::int64_t s16 = (s_raw * f.inv_len) >> 30;          // Q16 of the half-length
    const std::int64_t at16 = (t_raw < 0 ? -t_raw : t_raw) * 4;  // |t|, Q16 pixels
    const int n_medium = row.medium[x];
    if (s16 <= -65536 || s16 >= 65536) {
      if (s16 <= -65536 && s16 > -65536 - f.stem_len16 && at16 < f.stem16) {
        row.red[x] = 95 + ((n_medium * 8) >> 7);  // petiole
        row.green[x] = 115 + ((n_medium * 8) >> 7);
        row.blue[x] = 50;
        row.grain_amp[x] = kLeafGrain;
      }
      continue;
    }
    const std::int64_t hw16 =
        std::max<std::int64_t>(0, leaf_profile(s16, scene.skew16) + n_medium * 24) * f.half_width;
    if (at16 >= hw16) {
      if (at16 < hw16 + f.shadow16) {
        row.red[x] = (row.red[x] * 3) >> 2;  // soft shadow around the leaf
        row.green[x] = (row.green[x] * 3) >> 2;
        row.blue[x] = (row.blue[x] * 3) >> 2;
      }
      continue;
    }
    const int rel = static_cast<int>((at16 << 8) / hw16);
    const LeafPoint p{xi, y, s16, at16, rel, row.coarse[x], n_medium};
    Rgb c = leaf_body(scene.leaf, p);
    add_veins(scene, f, p, c);
    add_spots(row_spots, p, c);
    row.red[x] = c.r;
    row.green[x] = c.g;
    row.blue[x] = c.b;
    row.grain_amp[x] = kLeafGrain;
  }
}

/// Adds sensor grain (mostly luminance, a little chroma), clamps and interleaves the row to `out`.
void store_with_grain(const Row& row, std::uint64_t offsets, std::uint8_t* out) {
  const std::vector<std::int8_t>& grain = grain_table();
  const std::size_t w = row.red.size();
  const std::size_t span = grain.size() - w;
  const std::int8_t* lum = grain.data() + ((offsets & 0xFFFFF) % span);
  const std::int8_t* chroma_r = grain.data() + (((offsets >> 20) & 0xFFFFF) % span);
  const std::int8_t* chroma_b = grain.data() + (((offsets >> 40) & 0xFFFFF) % span);
  for (std::size_t x = 0; x < w; ++x) {
    const int l = (lum[x] * row.grain_amp[x]) >> 7;
    out[0] = static_cast<std::uint8_t>(clamp_byte(row.red[x] + l + ((chroma_r[x] * 5) >> 7)));
    out[1] = static_cast<std::uint8_t>(clamp_byte(row.green[x] + l));
    out[2] = static_cast<std::uint8_t>(clamp_byte(row.blue[x] + l + ((chroma_b[x] * 5) >> 7)));
    out += 3;
  }
}

}  // namespace

SceneSpec make_scene(std::uint64_t seed) {
  SplitMix64 rng(mix64(seed ^ 0x6C656166ULL));  // "leaf"
  SceneSpec s{};
  s.seed = seed;
  s.cx_pm = rng.range(450, 550);
  s.cy_pm = rng.range(450, 550);
  // A random direction without trigonometry: a random vector normalised (sqrt is exact here).
  for (;;) {
    const int dx = rng.range(-1024, 1024);
    const int dy = rng.range(-1024, 1024);
    const int len2 = dx * dx + dy * dy;
    if (len2 < 256 * 256 || len2 > 1024 * 1024) continue;
    const int len = static_cast<int>(std::sqrt(static_cast<double>(len2)));
    s.ux = dx * 16384 / len;
    s.uy = dy * 16384 / len;
    break;
  }
  s.half_len_pm = rng.range(380, 460);
  s.half_width_pct = rng.range(30, 44);
  s.skew16 = rng.range(8000, 20000);
  s.veins = rng.range(5, 9);
  s.vein_slope16 = rng.range(30000, 60000);
  s.leaf = {rng.range(55, 95), rng.range(115, 160), rng.range(30, 60)};
  s.soil = {rng.range(95, 135), rng.range(70, 95), rng.range(45, 65)};
  const int spot_count = rng.range(2, 9);
  for (int i = 0; i < spot_count; ++i) {
    SpotSpec spot{};
    spot.s16 = rng.range(-46000, 46000);
    spot.t16 = rng.range(-45000, 45000);
    spot.radius_pm = rng.range(25, 80);
    spot.core = {rng.range(105, 140), rng.range(65, 90), rng.range(25, 45)};
    s.spots.push_back(spot);
  }
  return s;
}

void render(const SceneSpec& scene, int width, int height, std::vector<std::uint8_t>& rgb) {
  const auto w = static_cast<std::size_t>(width);
  rgb.resize(w * static_cast<std::size_t>(height) * 3);

  const LeafFrame frame = frame_leaf(scene, width, height);
  const Box box = leaf_box(frame, width, height);
  const std::vector<Spot> spots = place_spots(scene, frame);
  ValueNoise coarse(mix64(scene.seed + 1), 5, width, height);
  ValueNoise medium(mix64(scene.seed + 2), 3, width, height);
  SplitMix64 grain_offsets(mix64(scene.seed + 3));
  Row row(w);
  std::vector<const Spot*> row_spots;

  std::uint8_t* out = rgb.data();
  for (int y = 0; y < height; ++y, out += 3 * w) {
    coarse.fill_row(y, row.coarse);
    medium.fill_row(y, row.medium);
    paint_soil(scene.soil, row);
    if (y >= box.y0 && y < box.y1) {
      row_spots.clear();
      for (const Spot& spot : spots) {
        if (y >= spot.y - spot.reach && y <= spot.y + spot.reach) row_spots.push_back(&spot);
      }
      paint_leaf_row(scene, frame, box, y, row_spots, row);
    }
    store_with_grain(row, grain_offsets.next(), out);
  }
}

}  // namespace lims::sim::detail
