#include "codec/decode.hpp"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <vector>

#include "codec/binary.hpp"
#include "codec/time.hpp"

namespace lims::codec {
namespace {

namespace od = simdjson::ondemand;

// A field reader's verdict: nullopt when the value was good, else the problem.
using Problem = std::optional<std::string>;

// ---- describing what we found, for messages -------------------------------------------------

constexpr std::size_t kSnippetBytes = 48;

// Appends `text` printable and on one line: control bytes (and, unless `utf8_ok`, bytes >= 0x80)
// as \xNN.
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

std::string_view trim_right(std::string_view s) {
  const std::size_t end = s.find_last_not_of(" \t\n\r");
  return s.substr(0, end == std::string_view::npos ? 0 : end + 1);
}

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

// A short, one-line excerpt of JSON text.
std::string snippet(std::string_view raw) {
  raw = trim_right(raw);
  std::string out;
  if (append_short(out, raw, true)) out += "... (" + std::to_string(raw.size()) + " bytes)";
  return out;
}

// `text` in quotes, shortened and printable; `utf8_ok` false for bytes that may not be UTF-8.
std::string quoted(std::string_view text, bool utf8_ok = true) {
  std::string s = "\"";
  if (append_short(s, text, utf8_ok)) s += "...";
  s += '"';
  return s;
}

// What a JSON value is, as a message shows it: "an object", "a string \"abc\"", "1.5", "NaN".
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

// ---- the record's fields ---------------------------------------------------------------------

enum FieldId : unsigned {
  kId, kCameraId, kData, kGps, kCreatedAt, kUpdatedAt, kIsActive, kIsDeleted, kDisease,
  kPercentage, kFieldCount
};

constexpr std::array<std::string_view, kFieldCount> kFieldNames{
    "id", "camera_id", "data", "gps_coordinates", "created_at", "updated_at", "is_active",
    "is_deleted", "disease", "percentage"};

constexpr std::array<std::string_view, kFieldCount> kExpected{
    "expected an integer >= 1 that fits in 64 bits",
    "expected an integer >= 0 that fits in 64 bits",
    "expected the image bytes as a hex or base64 string, or {\"$binary\": ...}",
    "expected [lat, lon], two finite numbers with |lat|<=90 and |lon|<=180",
    "expected a time: an ISO-8601 string or {\"$date\": ...}",
    "expected a time (an ISO-8601 string or {\"$date\": ...}) or null",
    "expected true or false",
    "expected true or false",
    "expected a string or null",
    "expected a number in [0, 1] or null"};

int field_index(std::string_view key) {
  for (unsigned i = 0; i < kFieldCount; ++i)
    if (kFieldNames[i] == key) return static_cast<int>(i);
  return -1;
}

// LIMS times come from Python datetimes: years 1..9999.
constexpr Micros kMinTime = -62'135'596'800'000'000;     // 0001-01-01T00:00:00
constexpr Micros kMaxTime = 253'402'300'799'999'999;     // 9999-12-31T23:59:59.999999

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
    const bool all_digits = !digits.empty() && digits.find_first_not_of("0123456789") ==
                                                   std::string_view::npos;
    return expected_got(expected, snippet(raw) + (all_digits && digits[0] != '0'
                                                       ? " (beyond 64 bits)"
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

// ---- times ----------------------------------------------------------------------------------

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

// "<object> with a field \"x\" (only <allowed> allowed)".
std::string unexpected_key(std::string_view object, std::string_view key,
                           std::string_view allowed) {
  std::string s(object.empty() ? "an object" : object);
  s += " with a field " + quoted(key) + " (only ";
  s += allowed;
  s += " allowed)";
  return s;
}

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
        return expected_got(expected,
                            unexpected_key("{\"$date\": {...}}", key, "\"$numberLong\""));
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

// A time: an ISO-8601 string, or {"$date": "<iso>" | <ms> | {"$numberLong": "<ms>"}}.
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
    if (date.type().get(date_type) != simdjson::SUCCESS)
      return expected_got(expected, found(date));
    return date_type == od::json_type::string ? read_iso_string(date, out, expected)
                                              : read_millis(date, out, expected);
  });
  if (p) return p;
  if (!have) return expected_got(expected, "an object without \"$date\"");
  return std::nullopt;
}

// ---- image bytes ----------------------------------------------------------------------------

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
  std::string why = "a string of length " + std::to_string(text.size()) + " that is neither";
  const std::size_t bad = text.find_first_not_of(
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_=");
  if (bad != std::string_view::npos) {
    why += " (bad character '";
    append_printable(why, text.substr(bad, 1), false);
    why += "' at " + std::to_string(bad) + ")";
  } else {
    why += " (impossible length or misplaced '=')";
  }
  return expected_got(
      base64_only ? "expected base64 image bytes" : "expected hex or base64 image bytes", why);
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
      return expected_got(expected, unexpected_key("{\"$binary\": {...}}", k,
                                                   "\"base64\" and \"subType\""));
    });
  });
  if (p) return p;
  if (!have_bytes) return expected_got(expected, "an object without \"$binary\" bytes");
  return std::nullopt;
}

Problem read_data(od::value& v, std::vector<std::uint8_t>& out) {
  const std::string_view expected = kExpected[kData];
  od::json_type type;
  if (v.type().get(type) != simdjson::SUCCESS) return expected_got(expected, found(v));
  if (type == od::json_type::string) return read_bytes(v, out, false, expected);
  if (type == od::json_type::object) return read_binary_object(v, out, expected);
  return expected_got(expected, found(v));
}

// ---- the other fields -----------------------------------------------------------------------

std::string format_number(double x) {
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, res.ptr);
}

Problem read_gps(od::value& v, double& lat, double& lon) {
  const std::string_view expected = kExpected[kGps];
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
  if (std::abs(xy[0]) > 90 || std::abs(xy[1]) > 180)
    return expected_got(expected, "[" + format_number(xy[0]) + ", " + format_number(xy[1]) + "]");
  lat = xy[0];
  lon = xy[1];
  return std::nullopt;
}

// A nullable field: null resets `out`; anything else must satisfy `read`.
template <class T, class Read>
Problem read_nullable(od::value& v, std::optional<T>& out, std::string_view expected, Read read) {
  bool is_null = false;
  if (v.is_null().get(is_null) != simdjson::SUCCESS) return expected_got(expected, found(v));
  if (is_null) {
    out.reset();
    return std::nullopt;
  }
  T value{};
  if (Problem p = read(v, value)) return p;
  out = std::move(value);
  return std::nullopt;
}

Problem read_disease(od::value& v, std::optional<std::string>& out) {
  const std::string_view expected = kExpected[kDisease];
  return read_nullable(v, out, expected, [&](od::value& s, std::string& disease) -> Problem {
    std::string_view text;
    if (Problem p = read_string(s, text, expected)) return p;
    disease.assign(text);
    return std::nullopt;
  });
}

Problem read_percentage(od::value& v, std::optional<double>& out) {
  const std::string_view expected = kExpected[kPercentage];
  return read_nullable(v, out, expected, [&](od::value& n, double& x) -> Problem {
    const std::string_view raw = n.raw_json_token();
    if (Problem p = read_double(n, x, expected)) return p;
    if (x < 0 || x > 1) return expected_got(expected, snippet(raw));
    return std::nullopt;
  });
}

Problem read_updated_at(od::value& v, std::optional<Micros>& out) {
  const std::string_view expected = kExpected[kUpdatedAt];
  return read_nullable(v, out, expected, [&](od::value& t, Micros& micros) {
    return read_time(t, micros, expected);
  });
}

Problem read_field(unsigned field, od::value& v, ImageRecord& r) {
  switch (field) {
    case kId: return read_int(v, 1, r.id, kExpected[kId]);
    case kCameraId: return read_int(v, 0, r.camera_id, kExpected[kCameraId]);
    case kData: return read_data(v, r.data);
    case kGps: return read_gps(v, r.latitude, r.longitude);
    case kCreatedAt: return read_time(v, r.created_at, kExpected[kCreatedAt]);
    case kUpdatedAt: return read_updated_at(v, r.updated_at);
    case kIsActive: return read_bool(v, r.is_active, kExpected[kIsActive]);
    case kIsDeleted: return read_bool(v, r.is_deleted, kExpected[kIsDeleted]);
    case kDisease: return read_disease(v, r.disease);
    case kPercentage: return read_percentage(v, r.percentage);
    default: return std::nullopt;
  }
}

// ---- ignored fields --------------------------------------------------------------------------

// Deeper than this, an ignored value is rejected (simdjson's own default maximum depth).
constexpr std::size_t kMaxIgnoredDepth = 1024;

simdjson::error_code check_scalar(od::value& v, od::json_type type) {
  switch (type) {
    case od::json_type::string: {
      std::string_view s;
      return v.get_string().get(s);
    }
    case od::json_type::number: {
      od::number n;
      return v.get_number().get(n);
    }
    case od::json_type::boolean: {
      bool b = false;
      return v.get_bool().get(b);
    }
    default: {
      bool is_null = false;
      const auto error = v.is_null().get(is_null);
      return error ? error : is_null ? simdjson::SUCCESS : simdjson::INCORRECT_TYPE;
    }
  }
}

// Reads an ignored value ("_id", ...) all the way through, so malformed JSON inside it is caught.
// On-demand skipping alone does not validate what it skips: an unbalanced '}' inside a skipped
// value can end the object early, and whether simdjson notices then depends on the byte after
// the input. Iterative, with an explicit stack: nesting can never exhaust the call stack.
Problem read_ignored(od::value& root) {
  struct Level {
    bool is_array = false;
    bool advance = false;  // a child was visited: step past it before looking for the next
    od::array_iterator array_at, array_end;
    od::object_iterator object_at, object_end;
  };
  std::vector<Level> stack;
  // Validates a scalar, or pushes a container's level.
  auto enter = [&stack](od::value& v) -> simdjson::error_code {
    od::json_type type;
    SIMDJSON_TRY(v.type().get(type));
    if (type == od::json_type::array) {
      od::array a;
      Level level;
      level.is_array = true;
      SIMDJSON_TRY(v.get_array().get(a));
      SIMDJSON_TRY(a.begin().get(level.array_at));
      SIMDJSON_TRY(a.end().get(level.array_end));
      stack.push_back(level);
      return simdjson::SUCCESS;
    }
    if (type == od::json_type::object) {
      od::object o;
      Level level;
      SIMDJSON_TRY(v.get_object().get(o));
      SIMDJSON_TRY(o.begin().get(level.object_at));
      SIMDJSON_TRY(o.end().get(level.object_end));
      stack.push_back(level);
      return simdjson::SUCCESS;
    }
    return check_scalar(v, type);
  };
  auto step = [&stack, &enter]() -> simdjson::error_code {
    Level& level = stack.back();
    if (level.advance) {
      if (level.is_array) ++level.array_at;
      else ++level.object_at;
    }
    level.advance = true;
    const bool more = level.is_array ? level.array_at != level.array_end
                                     : level.object_at != level.object_end;
    if (!more) {
      stack.pop_back();
      return simdjson::SUCCESS;
    }
    od::value child;
    if (level.is_array) {
      SIMDJSON_TRY((*level.array_at).get(child));
    } else {
      od::field field;
      std::string_view key;
      SIMDJSON_TRY((*level.object_at).get(field));
      SIMDJSON_TRY(field.unescaped_key().get(key));
      child = field.value();
    }
    if (stack.size() >= kMaxIgnoredDepth) return simdjson::DEPTH_ERROR;
    return enter(child);  // may push: `level` is not used after this
  };
  simdjson::error_code error = enter(root);
  while (!error && !stack.empty()) error = step();
  if (error == simdjson::DEPTH_ERROR)
    return "expected JSON nested at most " + std::to_string(kMaxIgnoredDepth) +
           " levels deep (the field is ignored, but must be valid); got deeper nesting";
  if (error)
    return std::string("expected valid JSON (the field is ignored, but must be valid); got ") +
           (error == simdjson::INCORRECT_TYPE
                ? "an invalid literal"
                : std::string("malformed JSON (") + simdjson::error_message(error) + ")");
  return std::nullopt;
}

// ---- the Kafka key --------------------------------------------------------------------------

struct Key {
  bool present = false;  // a non-empty key
  bool valid = false;    // "<id>" or "<plant>-<id>"
  std::optional<Plant> plant;
  std::int64_t id = 0;
};

Key parse_key(const char* data, std::size_t size) {
  Key key;
  if (data == nullptr || size == 0) return key;
  key.present = true;
  std::string_view text(data, size);
  if (const std::size_t dash = text.rfind('-'); dash != std::string_view::npos) {
    key.plant = parse_plant(text.substr(0, dash));
    if (!key.plant) return key;
    text.remove_prefix(dash + 1);
  }
  if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos) return key;
  const auto res = std::from_chars(text.data(), text.data() + text.size(), key.id);
  key.valid = res.ec == std::errc() && res.ptr == text.data() + text.size() && key.id >= 1;
  return key;
}

// The key's verdict for a record of `plant`: nullopt when usable.
std::optional<DecodeError> check_key(const Key& key, const RawRecord& r, Plant plant,
                                     bool tombstone) {
  const std::string_view expected =
      tombstone ? "a tombstone needs a key holding the image id: expected \"<id>\" or "
                  "\"<plant>-<id>\" with an id >= 1"
                : "expected no key, \"<id>\" or \"<plant>-<id>\" with an id >= 1";
  if (!key.present) {
    if (!tombstone) return std::nullopt;
    return DecodeError{"key", expected_got(expected, "no key")};
  }
  const std::string got = quoted(std::string_view(r.key, r.key_size), false);
  if (!key.valid) return DecodeError{"key", expected_got(expected, got)};
  if (key.plant && *key.plant != plant) {
    const std::string for_plant =
        "expected a key for plant " + std::string(plant_name(plant)) + " (the topic's plant)";
    return DecodeError{"key", expected_got(for_plant, got)};
  }
  return std::nullopt;
}

// ---- the page trick -------------------------------------------------------------------------

// simdjson reads up to SIMDJSON_PADDING bytes past the end of its input (content irrelevant).
// Memory is readable in whole pages (4096 bytes at least), so if the padding ends in the same
// 4096-byte page as the last byte of the value, reading it cannot fault and we parse in place.
// AddressSanitizer (and MemorySanitizer) would still report the read, so there we always copy.
bool padding_readable_in_place(const char* data, std::size_t size) {
#if defined(__SANITIZE_ADDRESS__)
  return false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
  return false;
#endif
#endif
  constexpr std::uintptr_t kPage = 4096;
  const auto last = reinterpret_cast<std::uintptr_t>(data) + size - 1;
  return last / kPage == (last + simdjson::SIMDJSON_PADDING) / kPage;
}

}  // namespace

// ---- public ---------------------------------------------------------------------------------

std::string DecodeError::message(const RecordOrigin& origin) const {
  std::string s = describe(origin);
  s += ": ";
  append_printable(s, field, true);
  s += ": ";
  append_printable(s, problem, true);
  return s;
}

std::optional<Plant> plant_of_topic(std::string_view topic) {
  if (auto plant = parse_plant(topic)) return plant;
  const std::size_t sep = topic.find_last_of(".-_");
  if (sep == std::string_view::npos) return std::nullopt;
  return parse_plant(topic.substr(sep + 1));
}

struct Decoder::Impl {
  od::parser parser;
  std::unique_ptr<char[]> buffer;  // reused copy of a value whose padding is not readable
  std::size_t buffer_capacity = 0;

  DecodeResult decode(const RawRecord& r);
  std::optional<DecodeError> parse_value(const char* data, std::size_t size, ImageRecord& out);
  std::optional<DecodeError> read_object(od::document& doc, std::string_view json,
                                         ImageRecord& out);
};

Decoder::Decoder() : impl_(std::make_unique<Impl>()) {}
Decoder::~Decoder() = default;

DecodeResult Decoder::decode(const RawRecord& record) {
  try {
    return impl_->decode(record);
  } catch (const std::exception& e) {  // e.g. std::bad_alloc for an absurd value
    return DecodeError{"value", std::string("could not decode: ") + e.what()};
  } catch (...) {
    return DecodeError{"value", "could not decode: unknown exception"};
  }
}

DecodeResult Decoder::Impl::decode(const RawRecord& r) {
  const std::optional<Plant> plant = plant_of_topic(r.origin.topic);
  if (!plant)
    return DecodeError{"topic", expected_got("expected a plant topic (potato, tomato, pepper, or a "
                                             "name ending in .potato, -potato, _potato, ...)",
                                             quoted(r.origin.topic, false))};
  const bool tombstone = r.value == nullptr;
  const Key key = parse_key(r.key, r.key_size);
  if (auto error = check_key(key, r, *plant, tombstone)) return *std::move(error);
  if (tombstone) return ImageEvent{*plant, key.id, std::nullopt};
  if (r.value_size == 0) return DecodeError{"value", "expected a JSON object, got an empty value"};

  ImageRecord record;
  if (auto error = parse_value(r.value, r.value_size, record)) return *std::move(error);
  const std::int64_t id = record.id;
  return ImageEvent{*plant, id, std::move(record)};
}

std::optional<DecodeError> Decoder::Impl::parse_value(const char* data, std::size_t size,
                                                      ImageRecord& out) {
  std::size_t capacity = size + simdjson::SIMDJSON_PADDING;
  if (!padding_readable_in_place(data, size)) {
    if (buffer_capacity < capacity) {
      buffer_capacity = std::max(capacity, buffer_capacity * 2);
      buffer = std::make_unique_for_overwrite<char[]>(buffer_capacity);
    }
    std::memcpy(buffer.get(), data, size);
    data = buffer.get();
    capacity = buffer_capacity;
  }
  od::document doc;
  if (auto error = parser.iterate(data, size, capacity).get(doc))
    return DecodeError{"value", broken_json(error)};
  return read_object(doc, std::string_view(data, size), out);
}

std::optional<DecodeError> Decoder::Impl::read_object(od::document& doc, std::string_view json,
                                                      ImageRecord& out) {
  od::object object;
  if (auto error = doc.get_object().get(object)) {
    od::json_type type;
    if (doc.type().get(type) != simdjson::SUCCESS) {
      std::string_view raw;
      if (doc.raw_json_token().get(raw) != simdjson::SUCCESS) raw = {};
      return DecodeError{"value", expected_got("expected a JSON object",
                                               "something that is not JSON: " + snippet(raw))};
    }
    if (type == od::json_type::object) return DecodeError{"value", broken_json(error)};
    static constexpr const char* kTypeNames[] = {"", "an array", "an object", "a number",
                                                 "a string", "a boolean", "null"};
    return DecodeError{"value",
                       expected_got("expected a JSON object", kTypeNames[static_cast<int>(type)])};
  }
  unsigned seen = 0;
  std::string_view previous;
  for (auto result : object) {
    od::field field;
    std::string_view key;
    auto error = std::move(result).get(field);
    if (!error) error = field.unescaped_key().get(key);
    if (error)
      return DecodeError{"value", "expected a JSON object; got malformed JSON " +
                                      (previous.data() ? "after field " + quoted(previous)
                                                       : std::string("at its start")) +
                                      " (" + simdjson::error_message(error) + ")"};
    previous = key;
    const int index = field_index(key);
    if (index < 0) {  // unknown fields ("_id", ...) are ignored, once known to be valid JSON
      if (Problem p = read_ignored(field.value()))
        return DecodeError{std::string(key), *std::move(p)};
      continue;
    }
    const unsigned bit = 1u << index;
    if (seen & bit) return DecodeError{std::string(key), "expected the field once; got it twice"};
    seen |= bit;
    if (Problem p = read_field(static_cast<unsigned>(index), field.value(), out))
      return DecodeError{std::string(key), *std::move(p)};
  }
  for (unsigned i = 0; i < kFieldCount; ++i)
    if (!(seen & (1u << i)))
      return DecodeError{std::string(kFieldNames[i]),
                         expected_got(kExpected[i], "nothing: the field is missing")};
  const char* rest = nullptr;
  if (doc.current_location().get(rest) == simdjson::SUCCESS) {
    const auto offset = static_cast<std::size_t>(rest - json.data());
    return DecodeError{"value", expected_got("expected nothing after the JSON object",
                                             snippet(json.substr(offset)))};
  }
  return std::nullopt;
}

}  // namespace lims::codec
