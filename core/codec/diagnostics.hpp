#pragma once
// Internal to the codec: how the decoder describes what it found, short and on one line.

#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>

namespace lims::codec::detail {

namespace od = simdjson::ondemand;

/// A field reader's verdict: nullopt when the value was good, else the problem.
using Problem = std::optional<std::string>;

/// `s` without trailing JSON whitespace.
inline std::string_view trim_right(std::string_view s) {
  const std::size_t end = s.find_last_not_of(" \t\n\r");
  return s.substr(0, end == std::string_view::npos ? 0 : end + 1);
}

/// Appends `text` printable and on one line: control bytes (and, unless `utf8_ok`, bytes >= 0x80)
/// as \xNN.
void append_printable(std::string& out, std::string_view text, bool utf8_ok);
/// An unknown field's name as an error names it: shortened and printable, `""` when empty.
std::string field_label(std::string_view key);
/// A short, one-line excerpt of JSON text, with its size when cut.
std::string snippet(std::string_view raw);
/// `text` in quotes, shortened and printable; `utf8_ok` false for bytes that may not be UTF-8.
std::string quoted(std::string_view text, bool utf8_ok = true);
/// What a JSON value is, as a message shows it: "an object", "a string \"abc\"", "1.5", "NaN".
std::string found(od::value& v);
/// "<expected>; got <got>".
std::string expected_got(std::string_view expected, std::string_view got);
/// "<object> with a field \"x\" (only <allowed> allowed)"; `object` empty means "an object".
std::string unexpected_key(std::string_view object, std::string_view key, std::string_view allowed);
/// Why simdjson could not start on a value, as "expected a JSON object; got ...".
std::string broken_json(simdjson::error_code error);

}  // namespace lims::codec::detail
