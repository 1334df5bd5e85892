#include "codec/binary.hpp"

#include <algorithm>
#include <array>
#include <cstddef>

#if defined(__SSE2__)  // always on x86-64
#include <emmintrin.h>
#endif

namespace lims::codec {
namespace {

// Lookup tables: a digit's value, or a value with the high bit set for anything else. Decoders
// OR every looked-up value into one flag and test it once per block instead of once per byte.
constexpr std::uint8_t kInvalid = 0xFF;

constexpr std::array<std::uint8_t, 256> make_hex_table() {
  std::array<std::uint8_t, 256> table{};
  table.fill(kInvalid);
  for (int c = '0'; c <= '9'; ++c) table[c] = static_cast<std::uint8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) table[c] = static_cast<std::uint8_t>(c - 'a' + 10);
  for (int c = 'A'; c <= 'F'; ++c) table[c] = static_cast<std::uint8_t>(c - 'A' + 10);
  return table;
}

// Standard ('+', '/') and URL-safe ('-', '_') alphabets share one table.
constexpr std::array<std::uint8_t, 256> make_base64_table() {
  std::array<std::uint8_t, 256> table{};
  table.fill(kInvalid);
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = static_cast<std::uint8_t>(c - 'A');
  for (int c = 'a'; c <= 'z'; ++c) table[c] = static_cast<std::uint8_t>(c - 'a' + 26);
  for (int c = '0'; c <= '9'; ++c) table[c] = static_cast<std::uint8_t>(c - '0' + 52);
  table['+'] = table['-'] = 62;
  table['/'] = table['_'] = 63;
  return table;
}

constexpr auto kHexValue = make_hex_table();
constexpr auto kBase64Value = make_base64_table();

// kBase64Shifted[k][c]: the 6 bits of c already shifted into place for position k of a group of
// four, or kBase64Bad (above the 24 data bits) for a character outside the alphabets.
constexpr std::uint32_t kBase64Bad = 0x0100'0000;

constexpr std::array<std::array<std::uint32_t, 256>, 4> make_base64_shifted() {
  std::array<std::array<std::uint32_t, 256>, 4> tables{};
  for (int k = 0; k < 4; ++k)
    for (int c = 0; c < 256; ++c)
      tables[k][c] =
          kBase64Value[c] == kInvalid ? kBase64Bad : std::uint32_t{kBase64Value[c]} << (18 - 6 * k);
  return tables;
}

constexpr auto kBase64Shifted = make_base64_shifted();
constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kBase64Digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Output bytes decoded between two checks of the invalid-character flag: big enough to keep the
// inner loop branch-free, small enough that a base64 string tried as hex fails fast.
constexpr std::size_t kBlock = 256;

inline const unsigned char* bytes_of(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

#if defined(__SSE2__)
// The nibble values of 16 hex digits; marks each non-hex byte in `bad` (0xFF). SSE2 has only
// signed byte compares, so "x <= 9" is spelled as a saturating x - 9 == 0.
inline __m128i hex_nibbles(__m128i chars, __m128i& bad) {
  const __m128i digit = _mm_sub_epi8(chars, _mm_set1_epi8('0'));
  const __m128i letter = _mm_sub_epi8(_mm_or_si128(chars, _mm_set1_epi8(0x20)), _mm_set1_epi8('a'));
  const __m128i zero = _mm_setzero_si128();
  const __m128i is_digit = _mm_cmpeq_epi8(_mm_subs_epu8(digit, _mm_set1_epi8(9)), zero);
  const __m128i is_letter = _mm_cmpeq_epi8(_mm_subs_epu8(letter, _mm_set1_epi8(5)), zero);
  bad = _mm_or_si128(bad, _mm_cmpeq_epi8(_mm_or_si128(is_digit, is_letter), zero));
  return _mm_or_si128(_mm_and_si128(is_digit, digit),
                      _mm_and_si128(is_letter, _mm_add_epi8(letter, _mm_set1_epi8(10))));
}

// Pairs of nibbles (high first) into bytes, one per 16-bit lane, ready for _mm_packus_epi16.
inline __m128i join_nibbles(__m128i nibbles) {
  return _mm_or_si128(_mm_slli_epi16(_mm_and_si128(nibbles, _mm_set1_epi16(0x00FF)), 4),
                      _mm_srli_epi16(nibbles, 8));
}
#endif

}  // namespace

bool looks_like_hex(std::string_view text) {
  if (text.empty() || text.size() % 2 != 0) return false;
  std::uint8_t flags = 0;
  for (unsigned char c : text) flags |= kHexValue[c];
  return (flags & 0xF0) == 0;
}

bool decode_hex(std::string_view text, std::vector<std::uint8_t>& out) {
  if (text.size() % 2 != 0) {
    out.clear();
    return false;
  }
  const std::size_t n = text.size() / 2;
  out.resize(n);
  const unsigned char* in = bytes_of(text);
  std::uint8_t* dst = out.data();
  for (std::size_t i = 0; i < n;) {
    const std::size_t end = std::min(n, i + kBlock);
    bool bad = false;
#if defined(__SSE2__)
    __m128i simd_flags = _mm_setzero_si128();
    for (; i + 16 <= end; i += 16) {
      const auto* chars = reinterpret_cast<const __m128i*>(in + 2 * i);
      const __m128i a = hex_nibbles(_mm_loadu_si128(chars), simd_flags);
      const __m128i b = hex_nibbles(_mm_loadu_si128(chars + 1), simd_flags);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i),
                       _mm_packus_epi16(join_nibbles(a), join_nibbles(b)));
    }
    bad = _mm_movemask_epi8(simd_flags) != 0;
#endif
    std::uint8_t flags = 0;
    for (; i < end; ++i) {
      const std::uint8_t hi = kHexValue[in[2 * i]];
      const std::uint8_t lo = kHexValue[in[2 * i + 1]];
      flags |= hi | lo;
      dst[i] = static_cast<std::uint8_t>((hi << 4) | lo);
    }
    if (bad || (flags & 0xF0)) {
      out.clear();
      return false;
    }
  }
  return true;
}

bool decode_base64(std::string_view text, std::vector<std::uint8_t>& out) {
  out.clear();
  std::size_t len = text.size();
  // Padding is optional, but when present it must complete the last group of four.
  if (len % 4 == 0 && len > 0 && text[len - 1] == '=') {
    --len;
    if (text[len - 1] == '=') --len;
  }
  const std::size_t groups = len / 4;
  const std::size_t tail = len % 4;
  if (tail == 1) return false;  // one character holds only 6 bits: not a whole byte
  out.resize(groups * 3 + (tail == 0 ? 0 : tail - 1));
  const unsigned char* in = bytes_of(text);
  std::uint8_t* dst = out.data();
  std::uint32_t flags = 0;
  for (std::size_t g = 0; g < groups;) {
    const std::size_t end = std::min(groups, g + kBlock / 3);
    for (; g < end; ++g, in += 4, dst += 3) {
      const std::uint32_t v = kBase64Shifted[0][in[0]] | kBase64Shifted[1][in[1]] |
                              kBase64Shifted[2][in[2]] | kBase64Shifted[3][in[3]];
      flags |= v;
      dst[0] = static_cast<std::uint8_t>(v >> 16);
      dst[1] = static_cast<std::uint8_t>(v >> 8);
      dst[2] = static_cast<std::uint8_t>(v);
    }
    if (flags & kBase64Bad) {
      out.clear();
      return false;
    }
  }
  if (tail >= 2) {
    const std::uint32_t v = kBase64Shifted[0][in[0]] | kBase64Shifted[1][in[1]] |
                            (tail == 3 ? kBase64Shifted[2][in[2]] : 0);
    flags |= v;
    dst[0] = static_cast<std::uint8_t>(v >> 16);
    if (tail == 3) dst[1] = static_cast<std::uint8_t>(v >> 8);
  }
  if (flags & kBase64Bad) {
    out.clear();
    return false;
  }
  return true;
}

std::string encode_hex(std::span<const std::uint8_t> bytes) {
  std::string out(bytes.size() * 2, '\0');
  char* dst = out.data();
  for (std::uint8_t b : bytes) {
    *dst++ = kHexDigits[b >> 4];
    *dst++ = kHexDigits[b & 0x0F];
  }
  return out;
}

std::string encode_base64(std::span<const std::uint8_t> bytes) {
  std::string out((bytes.size() + 2) / 3 * 4, '=');
  char* dst = out.data();
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3, dst += 4) {
    const std::uint32_t v = (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8) |
                            std::uint32_t{bytes[i + 2]};
    dst[0] = kBase64Digits[(v >> 18) & 63];
    dst[1] = kBase64Digits[(v >> 12) & 63];
    dst[2] = kBase64Digits[(v >> 6) & 63];
    dst[3] = kBase64Digits[v & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t v = std::uint32_t{bytes[i]} << 16;
    if (rest == 2) v |= std::uint32_t{bytes[i + 1]} << 8;
    dst[0] = kBase64Digits[(v >> 18) & 63];
    dst[1] = kBase64Digits[(v >> 12) & 63];
    if (rest == 2) dst[2] = kBase64Digits[(v >> 6) & 63];
  }
  return out;
}

}  // namespace lims::codec
