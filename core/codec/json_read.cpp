#include "codec/json_read.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "codec/binary.hpp"
#include "codec/time.hpp"

namespace lims::codec::detail {
namespace {

// LIMS times come from Python datetimes: years 1..9999.
constexpr Micros kMinTime = -62'135'596'800'000'000;  // 0001-01-01T00:00:00
constexpr Micros kMaxTime = 253'402'300'799'999'999;  // 9999-12-31T23:59:59.999999

// Calls fn(key, value) for each field of the object `v`; the first problem wins.
template <class Fn>
Problem for_each_field(od::value& v, std::string_view expected, Fn&& fn) {
  od::object o;
  if (v.get_object().get(o) != simdjson::SUCCESS) return expected_got(expected, found(v));
  for (auto result : o) {
    od::field f;
    std::string_view key;
    if (std::move(result).get(f) != simdjson::SUCCESS ||
        f.unescaped_key().get(key) != simdjson::SUCCESS)
      return expected_got(expected, "malformed JSON");
    if (Problem p = fn(key, f.value())) return p;
  }
  return std::nullopt;
}

// ---- times ----------------------------------------------------------------------------------

Problem check_time_range(Micros t, std::string_view expected, std::string_view raw) {
  if (t < kMinTime || t > kMaxTime)
    return expected_got(expected, snippet(raw) + " (outside the years 1..9999)");
  return std::nullopt;
}

Problem read_iso_string(od::value& v, Micros& out, std::string_view expected) {
  const std::string_view raw = v.raw_json_token();
  std::string_view text;
  if (auto p = read_string(v, text, expected)) return p;
  const std::optional<Micros> t = parse_iso_time(text);
  if (!t)
    return expected_got(expected, "a string " + snippet(raw) +
                                      " (not YYYY-MM-DDTHH:MM:SS[.ffffff][Z|+HH:MM|-HH:MM])");
  out = *t;
  return check_time_range(out, expected, raw);
}

// The milliseconds of {"$date": <ms>} or {"$date": {"$numberLong": "<ms>"}}.
Problem read_millis(od::value& v, Micros& out, std::string_view expected) {
  const std::string_view raw = v.raw_json_token();
  std::int64_t ms = 0;
  od::json_type type;
  if (v.type().get(type) != simdjson::SUCCESS) return expected_got(expected, found(v));
  if (type == od::json_type::number) {
    if (read_int(v, std::numeric_limits<std::int64_t>::min(), ms, expected))
      return expected_got(expected, "{\"$date\": " + snippet(raw) + "} (not whole milliseconds)");
  } else {
    std::string_view text;
    bool have = false;
    Problem p = for_each_field(v, expected, [&](std::string_view key, od::value& fv) -> Problem {
      if (key != "$numberLong" || have)
        return expected_got(expected, unexpected_key("{\"$date\": {...}}", key, "\"$numberLong\""));
      have = true;
      return read_string(fv, text, expected);
    });
    if (p) return p;
    const auto res = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (text.empty() || res.ec != std::errc() || res.ptr != text.data() + text.size())
      return expected_got(expected, "{\"$date\": {\"$numberLong\": " + quoted(text) +
                                        "}} (expected whole milliseconds in 64 bits)");
  }
  if (ms < kMinTime / 1000 || ms > kMaxTime / 1000)
    return expected_got(expected, std::to_string(ms) + " ms (outside the years 1..9999)");
  out = ms * 1000;
  return std::nullopt;
}

// ---- image bytes ----------------------------------------------------------------------------

// Why `text` is neither hex nor base64: its first bad character, else its length or padding.
std::string why_not_bytes(std::string_view text) {
  std::string why = "a string of length " + std::to_string(text.size()) + " that is neither";
  const std::size_t bad =
      text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_=");
  if (bad != std::string_view::npos) {
    why += " (bad character '";
    append_printable(why, text.substr(bad, 1), false);
    why += "' at " + std::to_string(bad) + ")";
  } else {
    why += " (impossible length or misplaced '=')";
  }
  return why;
}

// Decodes a JSON string of hex or base64 straight from the input buffer into `out` (the one
// copy of the image bytes). Only a string with escapes ("\/" is legal JSON) is unescaped first.
Problem read_bytes(od::value& v, std::vector<std::uint8_t>& out, bool base64_only,
                   std::string_view expected) {
  od::json_type type;
  if (v.type().get(type) != simdjson::SUCCESS || type != od::json_type::string)
    return expected_got(expected, found(v));
  const std::string_view raw = trim_right(v.raw_json_token());  // "\"...\"", quotes included
  std::string_view text = raw.size() >= 2 ? raw.substr(1, raw.size() - 2) : std::string_view{};
  // Either way the string is consumed: on-demand's skipping of an unconsumed value is lenient.
  od::raw_json_string unused;
  if (std::memchr(text.data(), '\\', text.size()) != nullptr) {
    if (v.get_string().get(text) != simdjson::SUCCESS)
      return expected_got(expected, "a string with a bad escape sequence");
  } else if (v.get_raw_json_string().get(unused) != simdjson::SUCCESS) {
    return expected_got(expected, found(v));
  }
  if (text.empty()) return expected_got(expected, "an empty string (no image bytes)");
  bool ok = !base64_only && text.size() % 2 == 0 && decode_hex(text, out);
  if (!ok) ok = decode_base64(text, out);
  if (ok) return std::nullopt;
  return expected_got(
      base64_only ? "expected base64 image bytes" : "expected hex or base64 image bytes",
      why_not_bytes(text));
}

// MongoDB subtype 0 (generic binary), as "00" or "0".
Problem read_subtype(od::value& v) {
  std::string_view sub;
  constexpr std::string_view kExpectSubtype = "expected subType \"00\" (generic binary)";
  if (auto p = read_string(v, sub, kExpectSubtype)) return p;
  if (sub != "00" && sub != "0") return expected_got(kExpectSubtype, quoted(sub));
  return std::nullopt;
}

// {"$binary": {"base64": "...", "subType": "00"}} (canonical Extended JSON) or the legacy
// {"$binary": "...", "$type": "00"}.
Problem read_binary_object(od::value& v, std::vector<std::uint8_t>& out,
                           std::string_view expected) {
  bool have_bytes = false;
  auto take_bytes = [&](od::value& bytes) -> Problem {
    if (have_bytes) return expected_got(expected, "the image bytes twice");
    have_bytes = true;
    return read_bytes(bytes, out, true, expected);
  };
  Problem p = for_each_field(v, expected, [&](std::string_view key, od::value& fv) -> Problem {
    if (key == "$type") return read_subtype(fv);
    if (key != "$binary")
      return expected_got(expected, unexpected_key("", key, "\"$binary\" and \"$type\""));
    od::json_type type;
    if (fv.type().get(type) != simdjson::SUCCESS || type != od::json_type::object)
      return take_bytes(fv);  // legacy form; read_bytes rejects anything but a string
    return for_each_field(fv, expected, [&](std::string_view k, od::value& inner) -> Problem {
      if (k == "base64") return take_bytes(inner);
      if (k == "subType") return read_subtype(inner);
      return expected_got(expected,
                          unexpected_key("{\"$binary\": {...}}", k, "\"base64\" and \"subType\""));
    });
  });
  if (p) return p;
  if (!have_bytes) return expected_got(expected, "an object without \"$binary\" bytes");
  return std::nullopt;
}

std::string format_number(double x) {
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, res.ptr);
}

}  // namespace

// ---- scalars --------------------------------------------------------------------------------

Problem read_int(od::value& v, std::int64_t min, std::int64_t& out, std::string_view expected) {
  od::json_type type;
  if (v.type().get(type) != simdjson::SUCCESS || type != od::json_type::number)
    return expected_got(expected, found(v));
  const std::string_view raw = trim_right(v.raw_json_token());
  if (raw.find_first_of(".eE") != std::string_view::npos)
    return expected_got(expected, snippet(raw) + " (not an integer)");
  std::int64_t x = 0;
  if (v.get_int64().get(x) != simdjson::SUCCESS) {
    const std::string_view digits = raw.substr(raw.starts_with('-') ? 1 : 0);
    const bool all_digits =
        !digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos;
    return expected_got(
        expected, snippet(raw) + (all_digits && digits[0] != '0' ? " (beyond 64 bits)"
                                                                 : " (not a valid JSON number)"));
  }
  if (x < min) return expected_got(expected, snippet(raw));
  out = x;
  return std::nullopt;
}

Problem read_double(od::value& v, double& out, std::string_view expected) {
  od::json_type type;
  if (v.type().get(type) != simdjson::SUCCESS || type != od::json_type::number)
    return expected_got(expected, found(v));
  const std::string_view raw = v.raw_json_token();
  if (v.get_double().get(out) != simdjson::SUCCESS || !std::isfinite(out))
    return expected_got(expected, snippet(raw) + " (not a finite number)");
  return std::nullopt;
}

Problem read_bool(od::value& v, bool& out, std::string_view expected) {
  od::json_type type;
  if (v.type().get(type) != simdjson::SUCCESS || type != od::json_type::boolean ||
      v.get_bool().get(out) != simdjson::SUCCESS)
    return expected_got(expected, found(v));
  return std::nullopt;
}

Problem read_string(od::value& v, std::string_view& out, std::string_view expected) {
  od::json_type type;
  if (v.type().get(type) != simdjson::SUCCESS || type != od::json_type::string)
    return expected_got(expected, found(v));
  const std::string_view raw = v.raw_json_token();
  if (v.get_string().get(out) != simdjson::SUCCESS)
    return expected_got(expected, "a string with a bad escape sequence: " + snippet(raw));
  return std::nullopt;
}

// ---- composite values -----------------------------------------------------------------------

Problem read_time(od::value& v, Micros& out, std::string_view expected) {
  od::json_type type;
  if (v.type().get(type) != simdjson::SUCCESS) return expected_got(expected, found(v));
  if (type == od::json_type::string) return read_iso_string(v, out, expected);
  if (type != od::json_type::object) return expected_got(expected, found(v));
  bool have = false;
  Problem p = for_each_field(v, expected, [&](std::string_view key, od::value& date) -> Problem {
    if (key != "$date" || have) return expected_got(expected, unexpected_key("", key, "\"$date\""));
    have = true;
    od::json_type date_type;
    if (date.type().get(date_type) != simdjson::SUCCESS) return expected_got(expected, found(date));
    return date_type == od::json_type::string ? read_iso_string(date, out, expected)
                                              : read_millis(date, out, expected);
  });
  if (p) return p;
  if (!have) return expected_got(expected, "an object without \"$date\"");
  return std::nullopt;
}

Problem read_data(od::value& v, std::vector<std::uint8_t>& out, std::string_view expected) {
  od::json_type type;
  if (v.type().get(type) != simdjson::SUCCESS) return expected_got(expected, found(v));
  if (type == od::json_type::string) return read_bytes(v, out, false, expected);
  if (type == od::json_type::object) return read_binary_object(v, out, expected);
  return expected_got(expected, found(v));
}

Problem read_gps(od::value& v, double& lat, double& lon, std::string_view expected) {
  od::array a;
  od::json_type type;
  if (v.type().get(type) != simdjson::SUCCESS || type != od::json_type::array ||
      v.get_array().get(a) != simdjson::SUCCESS)
    return expected_got(expected, found(v));
  double xy[2] = {0, 0};
  std::size_t count = 0;
  for (auto element : a) {
    od::value e;
    if (element.get(e) != simdjson::SUCCESS) return expected_got(expected, "malformed JSON");
    if (count < 2) {
      if (read_double(e, xy[count], expected))
        return expected_got(expected, "element " + std::to_string(count) + " is " + found(e));
    }
    ++count;  // elements past the second are skipped, only counted
  }
  if (count != 2) return expected_got(expected, std::to_string(count) + " elements");
  if (std::abs(xy[0]) > 90 || std::abs(xy[1]) > 180) {
    // Appended step by step: "[" + std::string trips GCC 12's -Wrestrict at -O3.
    std::string got = "[";
    got += format_number(xy[0]);
    got += ", ";
    got += format_number(xy[1]);
    got += ']';
    return expected_got(expected, got);
  }
  lat = xy[0];
  lon = xy[1];
  return std::nullopt;
}

}  // namespace lims::codec::detail
