#include "bench/jpeg.hpp"

#include <turbojpeg.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <string>
#include <utility>

#include "common/error.hpp"

namespace lims::bench {
namespace {

// --- Deterministic randomness (no std distributions: identical on every platform) -------------

std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

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

// --- Value noise on a power-of-two lattice, integer only ----------------------------------------

class ValueNoise {
 public:
  /// Lattice cell of 2^cell_log2 pixels over a width x height image; values in about -128..127.
  ValueNoise(std::uint64_t key, int cell_log2, int width, int height)
      : shift_(cell_log2), mask_((1 << cell_log2) - 1), grid_w_((width >> cell_log2) + 2) {
    const int grid_h = (height >> cell_log2) + 2;
    values_.resize(static_cast<std::size_t>(grid_w_) * static_cast<std::size_t>(grid_h));
    for (std::size_t i = 0; i < values_.size(); ++i) {
      values_[i] = static_cast<int>(mix64(key + i) >> 56) - 128;
    }
    const int cell = 1 << cell_log2;
    weights_.resize(static_cast<std::size_t>(cell));
    for (int f = 0; f < cell; ++f) {
      const int t = (f << 8) >> cell_log2;                          // 0..255, Q8
      weights_[static_cast<std::size_t>(f)] = (t * t * (768 - 2 * t)) >> 16;  // smoothstep, Q8
    }
  }

  /// The noise along row y, for x in [0, out.size()); same values as a per-pixel bilinear lookup.
  void fill_row(int y, std::vector<int>& out) {
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

 private:
  int shift_;
  int mask_;
  int grid_w_;
  std::vector<int> values_;
  std::vector<int> weights_;
  std::vector<int> columns_;  // scratch: the lattice blended vertically for the current row
};

// --- Sensor grain: one fixed table of white noise, read from seed-chosen offsets per row ----------

constexpr std::size_t kGrainTableSize = std::size_t{1} << 17;  // more than any row width

/// Triangular white noise in -127..127, the same in every process (fixed seed).
const std::vector<std::int8_t>& grain_table() {
  static const std::vector<std::int8_t> table = [] {
    std::vector<std::int8_t> t(kGrainTableSize);
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

// --- The scene, drawn from the seed independently of the image size ----------------------------

struct Rgb {
  int r, g, b;
};

struct SpotSpec {
  int s16;        // position along the leaf axis, Q16 of the half-length
  int t16;        // position across, Q16 of the local half-width
  int radius_pm;  // radius, per mille of the half-length
  Rgb core;
};

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

constexpr int kSoilGrain = 28;  // grain amplitude on soil; the leaf is smoother
constexpr int kLeafGrain = 14;

/// Draws the scene into an RGB buffer of width x height (3 bytes a pixel).
void render(const SceneSpec& scene, int width, int height, std::vector<std::uint8_t>& rgb) {
  const auto w = static_cast<std::size_t>(width);
  rgb.resize(w * static_cast<std::size_t>(height) * 3);

  ValueNoise coarse(mix64(scene.seed + 1), 5, width, height);
  ValueNoise medium(mix64(scene.seed + 2), 3, width, height);
  std::vector<int> coarse_row(w), medium_row(w);
  std::vector<int> red(w), green(w), blue(w), grain_amp(w);
  const std::vector<std::int8_t>& grain = grain_table();
  SplitMix64 grain_offsets(mix64(scene.seed + 3));

  const std::int64_t cx = width * scene.cx_pm / 1000;
  const std::int64_t cy = height * scene.cy_pm / 1000;
  const std::int64_t ux = scene.ux;
  const std::int64_t uy = scene.uy;
  const std::int64_t half_len = std::max(4, height * scene.half_len_pm / 1000);  // pixels
  const std::int64_t half_width = std::max<std::int64_t>(2, half_len * scene.half_width_pct / 100);
  const std::int64_t inv_len = (std::int64_t{1} << 32) / half_len;      // Q32
  const std::int64_t inv_width = (std::int64_t{1} << 32) / half_width;  // Q32
  const std::int64_t midrib16 = std::max<std::int64_t>(65536, (half_len << 16) / 90);
  const std::int64_t vein_half = std::max<std::int64_t>(65536, (half_len << 16) / 160) *
                                 scene.veins / half_len;  // Q16 phase units
  const std::int64_t stem_len16 = 65536 / 4;
  const std::int64_t stem16 = std::max<std::int64_t>(65536, (half_len << 16) / 70);
  const std::int64_t shadow16 = std::max<std::int64_t>(65536, (half_len << 16) / 25);

  // Axis-aligned box around leaf, petiole and shadow; outside it there is only soil.
  int box_x0 = width, box_x1 = 0, box_y0 = height, box_y1 = 0;
  {
    const std::int64_t s_lo = -half_len - half_len / 4 - 2;
    const std::int64_t s_hi = half_len + 2;
    const std::int64_t t_hi = 2 * half_width + (shadow16 >> 16) + 2;
    for (const std::int64_t s : {s_lo, s_hi}) {
      for (const std::int64_t t : {-t_hi, t_hi}) {
        const auto x = static_cast<int>(cx + ((s * ux - t * uy) >> 14));
        const auto y = static_cast<int>(cy + ((s * uy + t * ux) >> 14));
        box_x0 = std::min(box_x0, x - 1);
        box_x1 = std::max(box_x1, x + 2);
        box_y0 = std::min(box_y0, y - 1);
        box_y1 = std::max(box_y1, y + 2);
      }
    }
    box_x0 = std::max(box_x0, 0);
    box_x1 = std::min(box_x1, width);
    box_y0 = std::max(box_y0, 0);
    box_y1 = std::min(box_y1, height);
  }

  std::vector<Spot> spots;
  for (const SpotSpec& spec : scene.spots) {
    const std::int64_t along = (spec.s16 * half_len) >> 16;
    const std::int64_t across =
        (((spec.t16 * leaf_profile(spec.s16, scene.skew16)) >> 16) * half_width) >> 16;
    const int r = static_cast<int>(std::max<std::int64_t>(1, half_len * spec.radius_pm / 1000));
    spots.push_back({static_cast<int>(cx + ((along * ux - across * uy) >> 14)),
                     static_cast<int>(cy + ((along * uy + across * ux) >> 14)),
                     std::int64_t{r} * r, r * 9 / 4 + 2, spec.core});
  }
  std::vector<const Spot*> row_spots;

  std::uint8_t* out = rgb.data();
  for (int y = 0; y < height; ++y) {
    coarse.fill_row(y, coarse_row);
    medium.fill_row(y, medium_row);

    // Soil everywhere first (a simple loop the compiler can vectorise).
    for (std::size_t x = 0; x < w; ++x) {
      const int n_coarse = coarse_row[x];
      const int n_medium = medium_row[x];
      red[x] = scene.soil.r + ((n_coarse * 30) >> 7) + ((n_medium * 14) >> 7);
      green[x] = scene.soil.g + ((n_coarse * 24) >> 7) + ((n_medium * 11) >> 7);
      blue[x] = scene.soil.b + ((n_coarse * 16) >> 7) + ((n_medium * 8) >> 7);
      grain_amp[x] = kSoilGrain;
    }

    if (y >= box_y0 && y < box_y1) {
      row_spots.clear();
      for (const Spot& spot : spots) {
        if (y >= spot.y - spot.reach && y <= spot.y + spot.reach) row_spots.push_back(&spot);
      }
      // Leaf coordinates, stepped along the row: s along the axis, t across it (Q14 pixels).
      const std::int64_t px0 = box_x0 - cx;
      const std::int64_t py = y - cy;
      std::int64_t s_raw = px0 * ux + py * uy;
      std::int64_t t_raw = py * ux - px0 * uy;
      for (int xi = box_x0; xi < box_x1; ++xi, s_raw += ux, t_raw -= uy) {
        const auto x = static_cast<std::size_t>(xi);
        const std::int64_t s16 = (s_raw * inv_len) >> 30;  // Q16 of the half-length
        const std::int64_t at16 = (t_raw < 0 ? -t_raw : t_raw) * 4;  // |t|, Q16 pixels
        const int n_coarse = coarse_row[x];
        const int n_medium = medium_row[x];
        if (s16 <= -65536 || s16 >= 65536) {
          if (s16 <= -65536 && s16 > -65536 - stem_len16 && at16 < stem16) {
            red[x] = 95 + ((n_medium * 8) >> 7);  // petiole
            green[x] = 115 + ((n_medium * 8) >> 7);
            blue[x] = 50;
            grain_amp[x] = kLeafGrain;
          }
          continue;
        }
        const std::int64_t hw16 =
            std::max<std::int64_t>(0, leaf_profile(s16, scene.skew16) + n_medium * 24) *
            half_width;
        if (at16 >= hw16) {
          if (at16 < hw16 + shadow16) {
            red[x] = (red[x] * 3) >> 2;  // soft shadow around the leaf
            green[x] = (green[x] * 3) >> 2;
            blue[x] = (blue[x] * 3) >> 2;
          }
          continue;
        }

        const int rel = static_cast<int>((at16 << 8) / hw16);  // 0..255 centre -> edge
        int r = scene.leaf.r + ((n_coarse * 12) >> 7) + ((n_medium * 5) >> 7);
        int g = scene.leaf.g + ((n_coarse * 20) >> 7) + ((n_medium * 7) >> 7);
        int b = scene.leaf.b + ((n_coarse * 8) >> 7) + ((n_medium * 3) >> 7);
        const int edge = (rel * rel) >> 8;
        r -= (edge * 18) >> 8;
        g -= (edge * 40) >> 8;
        b -= (edge * 12) >> 8;

        const std::int64_t midrib_here = (midrib16 * (98304 - s16)) >> 17;
        if (at16 < midrib_here) {
          r += 45;
          g += 45;
          b += 28;
        } else if (s16 > -60000 && s16 < 60000 && rel < 235) {
          const std::int64_t across16 = (at16 * inv_width) >> 32;  // Q16 of the half-width
          const std::int64_t phase = s16 * scene.veins - ((across16 * scene.vein_slope16) >> 16);
          const std::int64_t p = phase & 0xFFFF;
          if (std::min(p, 65536 - p) < vein_half) {
            const int k = 256 - rel;
            r += (26 * k) >> 8;
            g += (30 * k) >> 8;
            b += (16 * k) >> 8;
          }
        }

        for (const Spot* spot : row_spots) {
          const int dx = xi - spot->x;
          if (dx > spot->reach || dx < -spot->reach) continue;
          const int dy = y - spot->y;
          const std::int64_t d2 =
              ((std::int64_t{dx} * dx + std::int64_t{dy} * dy) * (256 + n_medium)) >> 8;
          if (d2 < spot->r2) {
            const bool rim = d2 * 4 > spot->r2 * 3;
            r = spot->core.r - (rim ? 35 : 0) + ((n_medium * 10) >> 7);
            g = spot->core.g - (rim ? 25 : 0) + ((n_medium * 8) >> 7);
            b = spot->core.b - (rim ? 12 : 0);
          } else if (d2 * 4 < spot->r2 * 9) {
            // Chlorotic halo: blend toward yellow, fading outwards.
            const int k = static_cast<int>((spot->r2 * 9 - d2 * 4) * 150 / (spot->r2 * 5));
            r += ((185 - r) * k) >> 8;
            g += ((175 - g) * k) >> 8;
            b += ((60 - b) * k) >> 8;
          }
        }
        red[x] = r;
        green[x] = g;
        blue[x] = b;
        grain_amp[x] = kLeafGrain;
      }
    }

    // Sensor grain (mostly luminance, a little chroma), clamp, interleave.
    const std::size_t span = kGrainTableSize - w;
    const std::uint64_t offsets = grain_offsets.next();
    const std::int8_t* lum = grain.data() + ((offsets & 0xFFFFF) % span);
    const std::int8_t* chroma_r = grain.data() + (((offsets >> 20) & 0xFFFFF) % span);
    const std::int8_t* chroma_b = grain.data() + (((offsets >> 40) & 0xFFFFF) % span);
    for (std::size_t x = 0; x < w; ++x) {
      const int l = (lum[x] * grain_amp[x]) >> 7;
      out[0] = static_cast<std::uint8_t>(clamp_byte(red[x] + l + ((chroma_r[x] * 5) >> 7)));
      out[1] = static_cast<std::uint8_t>(clamp_byte(green[x] + l));
      out[2] = static_cast<std::uint8_t>(clamp_byte(blue[x] + l + ((chroma_b[x] * 5) >> 7)));
      out += 3;
    }
  }
}

// --- TurboJPEG, held in RAII -------------------------------------------------------------------

struct TjHandleDeleter {
  void operator()(void* handle) const noexcept {
    if (handle != nullptr) tjDestroy(handle);
  }
};
using TjHandle = std::unique_ptr<void, TjHandleDeleter>;

struct TjBufferDeleter {
  void operator()(unsigned char* buffer) const noexcept { tjFree(buffer); }
};
using TjBuffer = std::unique_ptr<unsigned char, TjBufferDeleter>;

constexpr int kQuality = 85;

std::vector<std::uint8_t> compress(tjhandle handle, const std::vector<std::uint8_t>& rgb,
                                   int width, int height) {
  unsigned char* raw = nullptr;
  unsigned long size = 0;
  const int rc = tjCompress2(handle, rgb.data(), width, 0, height, TJPF_RGB, &raw, &size,
                             TJSAMP_420, kQuality, 0);
  const TjBuffer buffer(raw);  // owns whatever TurboJPEG allocated, even on failure
  if (rc != 0 || raw == nullptr || size == 0) {
    throw Error(std::string("make_leaf_jpeg: TurboJPEG compression failed: ") +
                tjGetErrorStr2(handle));
  }
  return std::vector<std::uint8_t>(raw, raw + size);
}

// --- Size search ---------------------------------------------------------------------------------

constexpr std::size_t kMinTarget = 1024;
constexpr std::size_t kMaxTarget = std::size_t{8} << 20;
constexpr std::uint64_t kHeaderBytes = 600;  // headers and tables: the part that does not scale
constexpr int kMaxAttempts = 8;
constexpr int kMinWidth = 32;
constexpr int kMaxWidth = 12000;

/// Measured compressed bytes per megapixel beyond the headers, by payload size (it falls as the
/// image grows, since the leaf's features grow with it while the grain does not).
struct DensityPoint {
  std::uint64_t payload;
  std::uint64_t bytes_per_megapixel;
};
constexpr DensityPoint kDensity[] = {
    {0, 450000},      {1650, 403000},   {3000, 366000},   {5900, 358000},
    {11400, 347000},  {22000, 336000},  {43000, 328000},  {85000, 324000},
    {167000, 319000}, {332000, 316500}, {660000, 314500},
};

/// First guess of the image area (pixels) that compresses to `payload` bytes beyond the headers.
std::uint64_t guess_area(std::uint64_t payload) {
  std::uint64_t density = std::end(kDensity)[-1].bytes_per_megapixel;
  for (std::size_t i = 1; i < std::size(kDensity); ++i) {
    const DensityPoint& lo = kDensity[i - 1];
    const DensityPoint& hi = kDensity[i];
    if (payload < hi.payload) {
      // Linear interpolation (the density falls from lo to hi).
      density = lo.bytes_per_megapixel - (lo.bytes_per_megapixel - hi.bytes_per_megapixel) *
                                             (payload - lo.payload) / (hi.payload - lo.payload);
      break;
    }
  }
  return payload * 1000000 / density;
}

std::uint64_t isqrt(std::uint64_t n) {
  auto r = static_cast<std::uint64_t>(std::sqrt(static_cast<double>(n)));
  while (r > 0 && r * r > n) --r;
  while ((r + 1) * (r + 1) <= n) ++r;
  return r;
}

int width_for_area(std::uint64_t area) {
  const auto w = static_cast<std::int64_t>(isqrt(area * 4 / 3));
  return static_cast<int>(std::clamp<std::int64_t>(w, kMinWidth, kMaxWidth));
}

std::uint64_t distance(std::size_t a, std::size_t b) { return a > b ? a - b : b - a; }

}  // namespace

std::vector<std::uint8_t> make_leaf_jpeg(std::uint64_t seed, std::size_t target_bytes) {
  if (target_bytes < kMinTarget || target_bytes > kMaxTarget) {
    throw Error("make_leaf_jpeg: target size " + std::to_string(target_bytes) +
                " bytes is outside what can be generated (" + std::to_string(kMinTarget) +
                " .. " + std::to_string(kMaxTarget) + " bytes); choose a size in that range");
  }
  const TjHandle handle(tjInitCompress());
  if (!handle) {
    throw Error(std::string("make_leaf_jpeg: cannot initialise TurboJPEG: ") +
                tjGetErrorStr2(nullptr));
  }

  const SceneSpec scene = make_scene(seed);
  const std::uint64_t target = target_bytes;
  const std::uint64_t payload = target - kHeaderBytes;
  std::vector<std::uint8_t> rgb;
  std::vector<std::uint8_t> best;
  int width = width_for_area(guess_area(payload));
  std::vector<int> tried;

  // Render, compress, measure, rescale the area; usually one or two rounds.
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    if (std::find(tried.begin(), tried.end(), width) != tried.end()) break;  // no progress left
    tried.push_back(width);
    const int height = std::max(kMinWidth * 3 / 4, width * 3 / 4);
    render(scene, width, height, rgb);
    std::vector<std::uint8_t> jpeg = compress(handle.get(), rgb, width, height);
    const std::size_t size = jpeg.size();
    if (best.empty() || distance(size, target) < distance(best.size(), target)) {
      best = std::move(jpeg);
    }
    if (distance(size, target) * 100 <= target * 3) break;  // within 3%: done

    // Bytes grow about linearly with the area beyond the fixed headers.
    const std::uint64_t area = static_cast<std::uint64_t>(width) * static_cast<std::uint64_t>(height);
    const std::uint64_t got = std::max<std::uint64_t>(size, kHeaderBytes + 64) - kHeaderBytes;
    width = width_for_area(area * payload / got);
  }
  return best;
}

}  // namespace lims::bench
