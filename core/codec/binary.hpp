#pragma once
// Table-driven hex and base64 codecs for the image bytes.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lims::codec {

/// True if `text` is non-empty, of even length and only [0-9a-fA-F].
bool looks_like_hex(std::string_view text);
/// Decodes hex into `out` (replacing its contents). False on an odd length or a non-hex digit.
bool decode_hex(std::string_view text, std::vector<std::uint8_t>& out);
/// Decodes standard or URL-safe base64, with or without '=' padding, into `out`.
/// False on a character outside the alphabet or an impossible length.
bool decode_base64(std::string_view text, std::vector<std::uint8_t>& out);
/// Lowercase hex of `bytes`.
std::string encode_hex(std::span<const std::uint8_t> bytes);
/// Standard base64 with padding.
std::string encode_base64(std::span<const std::uint8_t> bytes);

}  // namespace lims::codec
