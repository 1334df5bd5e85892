#include "sim/jpeg.hpp"

#include <turbojpeg.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <memory>
#include <string>
#include <utility>

#include "common/error.hpp"
#include "sim/leaf_drawing.hpp"

namespace lims::sim {
namespace {

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

std::vector<std::uint8_t> compress(tjhandle handle, const std::vector<std::uint8_t>& rgb, int width,
                                   int height) {
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
                " bytes is outside what can be generated (" + std::to_string(kMinTarget) + " .. " +
                std::to_string(kMaxTarget) + " bytes); choose a size in that range");
  }
  const TjHandle handle(tjInitCompress());
  if (!handle) {
    throw Error(std::string("make_leaf_jpeg: cannot initialise TurboJPEG: ") +
                tjGetErrorStr2(nullptr));
  }

  const detail::SceneSpec scene = detail::make_scene(seed);
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
    detail::render(scene, width, height, rgb);
    std::vector<std::uint8_t> jpeg = compress(handle.get(), rgb, width, height);
    const std::size_t size = jpeg.size();
    if (best.empty() || distance(size, target) < distance(best.size(), target)) {
      best = std::move(jpeg);
    }
    if (distance(size, target) * 100 <= target * 3) break;  // within 3%: done

    // Bytes grow about linearly with the area beyond the fixed headers.
    const std::uint64_t area =
        static_cast<std::uint64_t>(width) * static_cast<std::uint64_t>(height);
    const std::uint64_t got = std::max<std::uint64_t>(size, kHeaderBytes + 64) - kHeaderBytes;
    width = width_for_area(area * payload / got);
  }
  return best;
}

}  // namespace lims::sim
