#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "codec/binary.hpp"

using lims::codec::decode_base64;
using lims::codec::decode_hex;
using lims::codec::encode_base64;
using lims::codec::encode_hex;
using lims::codec::looks_like_hex;

namespace {

std::vector<std::uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

std::vector<std::uint8_t> all_byte_values() {
  std::vector<std::uint8_t> v;
  for (int i = 0; i < 256; ++i) v.push_back(static_cast<std::uint8_t>(i));
  return v;
}

// Deterministic pseudo-random bytes (no I/O, no global state).
std::vector<std::uint8_t> pseudo_random(std::size_t n, std::uint32_t seed) {
  std::vector<std::uint8_t> v(n);
  for (auto& b : v) {
    seed = seed * 1664525u + 1013904223u;
    b = static_cast<std::uint8_t>(seed >> 24);
  }
  return v;
}

}  // namespace

TEST_CASE("codec: binary: hex encodes lowercase and decodes either case") {
  CHECK(encode_hex(bytes_of("\xff\xd8\xff\xe0")) == "ffd8ffe0");
  CHECK(encode_hex({}) == "");
  std::vector<std::uint8_t> out{1, 2, 3};
  REQUIRE(decode_hex("FFd8fFE0", out));
  CHECK(out == bytes_of("\xff\xd8\xff\xe0"));
  REQUIRE(decode_hex("", out));
  CHECK(out.empty());
  const auto all = all_byte_values();
  REQUIRE(decode_hex(encode_hex(all), out));
  CHECK(out == all);
}

TEST_CASE("codec: binary: hex rejects odd lengths and non-hex digits anywhere") {
  std::vector<std::uint8_t> out;
  CHECK_FALSE(decode_hex("abc", out));
  CHECK_FALSE(decode_hex("0g", out));
  CHECK_FALSE(decode_hex("g0", out));
  CHECK_FALSE(decode_hex("0 ", out));
  CHECK_FALSE(decode_hex(std::string("0\0", 2), out));
  // A bad digit in a later block, and in the last byte, is still found.
  std::string big = encode_hex(pseudo_random(5000, 1));
  for (std::size_t pos : {std::size_t{0}, std::size_t{777}, big.size() - 1}) {
    std::string bad = big;
    bad[pos] = 'x';
    CHECK_FALSE(decode_hex(bad, out));
    bad[pos] = '\xc3';
    CHECK_FALSE(decode_hex(bad, out));
  }
  REQUIRE(decode_hex(big, out));
  CHECK(out == pseudo_random(5000, 1));
}

TEST_CASE("codec: binary: hex classifies every byte value, in the vector and the scalar path") {
  std::vector<std::uint8_t> out;
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    const bool is_hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    for (std::size_t pos : {std::size_t{0}, std::size_t{17}, std::size_t{31}, std::size_t{64},
                            std::size_t{69}}) {  // 70 chars: 2 vector blocks, 3 scalar bytes
      std::string text(70, '0');
      text[pos] = ch;
      CAPTURE(c);
      CAPTURE(pos);
      REQUIRE(decode_hex(text, out) == is_hex);
      CHECK(looks_like_hex(text) == is_hex);
      if (is_hex) {
        const int value = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
        CHECK(out[pos / 2] == (pos % 2 ? value : value << 4));
      }
    }
  }
}

TEST_CASE("codec: binary: looks_like_hex") {
  CHECK(looks_like_hex("00ffAB"));
  CHECK_FALSE(looks_like_hex(""));
  CHECK_FALSE(looks_like_hex("abc"));
  CHECK_FALSE(looks_like_hex("/9j/"));
  CHECK_FALSE(looks_like_hex("zz"));
}

TEST_CASE("codec: binary: base64 RFC 4648 vectors, with and without padding") {
  const std::pair<std::string_view, std::string_view> vectors[] = {{"", ""},
                                                                   {"f", "Zg=="},
                                                                   {"fo", "Zm8="},
                                                                   {"foo", "Zm9v"},
                                                                   {"foob", "Zm9vYg=="},
                                                                   {"fooba", "Zm9vYmE="},
                                                                   {"foobar", "Zm9vYmFy"}};
  for (auto [plain, encoded] : vectors) {
    CAPTURE(plain);
    CHECK(encode_base64(bytes_of(plain)) == encoded);
    std::vector<std::uint8_t> out;
    REQUIRE(decode_base64(encoded, out));
    CHECK(out == bytes_of(plain));
    std::string unpadded(encoded.substr(0, encoded.find('=')));
    REQUIRE(decode_base64(unpadded, out));
    CHECK(out == bytes_of(plain));
  }
}

TEST_CASE("codec: binary: base64 standard and URL-safe alphabets") {
  const auto all = all_byte_values();
  const std::string standard = encode_base64(all);
  CHECK(standard.find('+') != std::string::npos);
  CHECK(standard.find('/') != std::string::npos);
  std::string url = standard;
  for (char& c : url) c = c == '+' ? '-' : c == '/' ? '_' : c;
  std::vector<std::uint8_t> out;
  REQUIRE(decode_base64(standard, out));
  CHECK(out == all);
  REQUIRE(decode_base64(url, out));
  CHECK(out == all);
  for (std::size_t n = 0; n < 40; ++n) {
    const auto bytes = pseudo_random(n, static_cast<std::uint32_t>(n));
    REQUIRE(decode_base64(encode_base64(bytes), out));
    CHECK(out == bytes);
  }
}

TEST_CASE("codec: binary: base64 rejects bad characters and impossible lengths") {
  std::vector<std::uint8_t> out;
  CHECK_FALSE(decode_base64("Z", out));  // 6 bits are not a byte
  CHECK_FALSE(decode_base64("Zm9vY", out));
  CHECK_FALSE(decode_base64("Zm9v!mFy", out));
  CHECK_FALSE(decode_base64("Zm 9", out));
  CHECK_FALSE(decode_base64("Zg=", out));  // padding must complete the group of four
  CHECK_FALSE(decode_base64("Z===", out));
  CHECK_FALSE(decode_base64("====", out));
  CHECK_FALSE(decode_base64("Zg==Zg==", out));  // '=' only at the end
  CHECK_FALSE(decode_base64("Zm9\n", out));
  std::string big = encode_base64(pseudo_random(3000, 9));
  big[2500] = '*';
  CHECK_FALSE(decode_base64(big, out));
  CHECK(out.empty());
}
