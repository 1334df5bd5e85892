#include <doctest/doctest.h>
#include <turbojpeg.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/error.hpp"
#include "sim/jpeg.hpp"

namespace {

struct TjDeleter {
  void operator()(void* handle) const noexcept {
    if (handle != nullptr) tjDestroy(handle);
  }
};

struct Decoded {
  int width = 0;
  int height = 0;
  int subsampling = -1;
  std::vector<std::uint8_t> rgb;
};

/// Decodes with TurboJPEG; fails the test if the header or the data cannot be read.
Decoded decode(std::vector<std::uint8_t>& jpeg) {
  const std::unique_ptr<void, TjDeleter> handle(tjInitDecompress());
  REQUIRE(handle != nullptr);
  Decoded out;
  int colorspace = -1;
  REQUIRE(tjDecompressHeader3(handle.get(), jpeg.data(), static_cast<unsigned long>(jpeg.size()),
                              &out.width, &out.height, &out.subsampling, &colorspace) == 0);
  REQUIRE(out.width > 0);
  REQUIRE(out.height > 0);
  out.rgb.resize(static_cast<std::size_t>(out.width) * static_cast<std::size_t>(out.height) * 3);
  REQUIRE(tjDecompress2(handle.get(), jpeg.data(), static_cast<unsigned long>(jpeg.size()),
                        out.rgb.data(), out.width, 0, out.height, TJPF_RGB, 0) == 0);
  return out;
}

}  // namespace

TEST_CASE("jpeg: output is a complete JPEG that decodes to a leaf on soil") {
  std::vector<std::uint8_t> jpeg = lims::sim::make_leaf_jpeg(42, 30000);
  REQUIRE(jpeg.size() > 4);
  CHECK(jpeg[0] == 0xFF);
  CHECK(jpeg[1] == 0xD8);
  CHECK(jpeg[2] == 0xFF);
  CHECK(jpeg[jpeg.size() - 2] == 0xFF);
  CHECK(jpeg[jpeg.size() - 1] == 0xD9);

  const Decoded image = decode(jpeg);
  CHECK(image.width > image.height);  // 4:3 landscape
  CHECK(image.subsampling == TJSAMP_420);

  // A plausible picture: a good share of clearly green pixels (the leaf) and of
  // reddish-brown ones (soil, spots), not a flat or noise-only image.
  std::size_t green = 0;
  std::size_t brown = 0;
  const std::size_t pixels = image.rgb.size() / 3;
  for (std::size_t i = 0; i < pixels; ++i) {
    const int r = image.rgb[3 * i];
    const int g = image.rgb[3 * i + 1];
    const int b = image.rgb[3 * i + 2];
    if (g > r + 20 && g > b + 20) ++green;
    if (r > g && g > b) ++brown;
  }
  CHECK(green * 10 > pixels);  // > 10 %
  CHECK(brown * 10 > pixels);
}

TEST_CASE("jpeg: deterministic per seed, different across seeds") {
  const auto a = lims::sim::make_leaf_jpeg(7, 15000);
  const auto b = lims::sim::make_leaf_jpeg(7, 15000);
  const auto c = lims::sim::make_leaf_jpeg(8, 15000);
  CHECK(a == b);
  CHECK(a != c);
}

TEST_CASE("jpeg: size within 10% of the target") {
  for (const std::size_t target : {std::size_t{15000}, std::size_t{30000}, std::size_t{60000}}) {
    for (const std::uint64_t seed : {std::uint64_t{1}, std::uint64_t{2}, std::uint64_t{3}}) {
      std::vector<std::uint8_t> jpeg = lims::sim::make_leaf_jpeg(seed, target);
      CAPTURE(target);
      CAPTURE(seed);
      CAPTURE(jpeg.size());
      CHECK(jpeg.size() * 10 >= target * 9);
      CHECK(jpeg.size() * 10 <= target * 11);
      decode(jpeg);  // every one of them is a real JPEG
    }
  }
}

TEST_CASE("jpeg: the ends of the supported range decode") {
  for (const std::size_t target : {std::size_t{4000}, std::size_t{200000}}) {
    std::vector<std::uint8_t> jpeg = lims::sim::make_leaf_jpeg(99, target);
    CAPTURE(target);
    CAPTURE(jpeg.size());
    CHECK(jpeg.size() * 10 >= target * 9);
    CHECK(jpeg.size() * 10 <= target * 11);
    decode(jpeg);
  }
}

TEST_CASE("jpeg: an impossible target size is an error") {
  CHECK_THROWS_AS(lims::sim::make_leaf_jpeg(1, 0), lims::Error);
  CHECK_THROWS_AS(lims::sim::make_leaf_jpeg(1, 100), lims::Error);
  CHECK_THROWS_AS(lims::sim::make_leaf_jpeg(1, std::size_t{1} << 30), lims::Error);
}
