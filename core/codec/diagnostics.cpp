#include "codec/diagnostics.hpp"

#include <algorithm>

namespace lims::codec::detail {
namespace {

constexpr std::size_t kSnippetBytes = 48;

// Appends at most kSnippetBytes of `text`, printable; for UTF-8, cut at a character boundary.
// True if it had to cut.
bool append_short(std::string& out, std::string_view text, bool utf8_ok) {
  std::size_t cut = std::min(text.size(), kSnippetBytes);
  while (utf8_ok && cut > 0 && cut < text.size() &&
         (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
    --cut;
  append_printable(out, text.substr(0, cut), utf8_ok);
  return cut < text.size();
}

}  // namespace

void append_printable(std::string& out, std::string_view text, bool utf8_ok) {
  constexpr char kHex[] = "0123456789abcdef";
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F || (!utf8_ok && c >= 0x80)) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0x0F];
    } else {
      out += ch;
    }
  }
}

std::string field_label(std::string_view key) {
  if (key.empty()) return "\"\"";
  std::string out;
  if (append_short(out, key, true)) out += "...";
  return out;
}

std::string snippet(std::string_view raw) {
  raw = trim_right(raw);
  std::string out;
  if (append_short(out, raw, true)) out += "... (" + std::to_string(raw.size()) + " bytes)";
  return out;
}

std::string quoted(std::string_view text, bool utf8_ok) {
  std::string s = "\"";
  if (append_short(s, text, utf8_ok)) s += "...";
  s += '"';
  return s;
}

std::string found(od::value& v) {
  od::json_type type;
  if (v.type().get(type) != simdjson::SUCCESS) return snippet(v.raw_json_token());
  switch (type) {
    case od::json_type::object: return "an object";
    case od::json_type::array: return "an array";
    case od::json_type::string: return "a string " + snippet(v.raw_json_token());
    default: return snippet(v.raw_json_token());
  }
}

std::string expected_got(std::string_view expected, std::string_view got) {
  std::string s(expected);
  s += "; got ";
  s += got;
  return s;
}

std::string unexpected_key(std::string_view object, std::string_view key,
                           std::string_view allowed) {
  std::string s(object.empty() ? "an object" : object);
  s += " with a field " + quoted(key) + " (only ";
  s += allowed;
  s += " allowed)";
  return s;
}

std::string broken_json(simdjson::error_code error) {
  switch (error) {
    case simdjson::UTF8_ERROR: return "expected a JSON object; got invalid UTF-8";
    case simdjson::UNCLOSED_STRING:
      return "expected a JSON object; got truncated JSON (a string never ends)";
    case simdjson::INCOMPLETE_ARRAY_OR_OBJECT:
      return "expected one complete JSON object; got truncated JSON or content after the object";
    case simdjson::UNESCAPED_CHARS:
      return "expected a JSON object; got a string holding an unescaped control character";
    case simdjson::EMPTY: return "expected a JSON object, got only whitespace";
    case simdjson::DEPTH_ERROR: return "expected a JSON object; got nesting too deep";
    default:
      return std::string("expected a JSON object; got malformed JSON (") +
             simdjson::error_message(error) + ")";
  }
}

}  // namespace lims::codec::detail
