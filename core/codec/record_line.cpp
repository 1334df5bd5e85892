#include "codec/record_line.hpp"

#include <simdjson.h>

#include <array>
#include <cstring>
#include <limits>
#include <vector>

#include "codec/binary.hpp"
#include "codec/diagnostics.hpp"
#include "codec/ignored_field.hpp"
#include "codec/json_read.hpp"
#include "codec/json_write.hpp"

namespace lims::codec {

namespace od = simdjson::ondemand;
using detail::expected_got;
using detail::found;
using detail::Problem;

namespace {

enum Field : unsigned {
  topic,
  partition,
  offset,
  timestamp,
  key,
  key_b64,
  value,
  value_b64,
  count
};
constexpr std::array<std::string_view, Field::count> kNames = {
    "topic", "partition", "offset", "timestamp", "key", "key_base64", "value", "value_base64"};

int field_of(std::string_view name) {
  for (unsigned i = 0; i < Field::count; ++i)
    if (kNames[i] == name) return static_cast<int>(i);
  return -1;
}

Problem read_topic(od::value& v, std::string& out) {
  constexpr std::string_view kExpected =
      "expected a Kafka topic name (1 to 249 of A-Z a-z 0-9 . _ -)";
  std::string_view text;
  if (auto p = detail::read_string(v, text, kExpected)) return p;
  if (text.empty() || text.size() > 249 ||
      text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
          std::string_view::npos)
    return expected_got(kExpected, detail::quoted(text));
  out = text;
  return std::nullopt;
}

/// A string (kept as its bytes), or null.
Problem read_text(od::value& v, std::optional<std::string>& out, std::string_view expected) {
  bool is_null = false;
  if (v.is_null().get(is_null) == simdjson::SUCCESS && is_null) {
    out.reset();
    return std::nullopt;
  }
  std::string_view text;
  if (auto p = detail::read_string(v, text, expected)) return p;
  out = std::string(text);
  return std::nullopt;
}

Problem read_base64(od::value& v, std::optional<std::string>& out, std::string_view expected) {
  std::string_view text;
  if (auto p = detail::read_string(v, text, expected)) return p;
  std::vector<std::uint8_t> bytes;
  if (!decode_base64(text, bytes))
    return expected_got(expected, "a string that is not base64: " + detail::quoted(text));
  out = std::string(bytes.begin(), bytes.end());
  return std::nullopt;
}

Problem read_known(unsigned field, od::value& v, RecordLine& out) {
  std::int64_t n = 0;
  switch (field) {
    case Field::topic: return read_topic(v, out.topic);
    case Field::partition:
      if (auto p = detail::read_int(v, 0, n, "expected a partition number (an integer >= 0)"))
        return p;
      if (n > std::numeric_limits<std::int32_t>::max())
        return expected_got("expected a partition number (an integer >= 0)",
                            std::to_string(n) + " (beyond 32 bits)");
      out.partition = static_cast<std::int32_t>(n);
      return std::nullopt;
    case Field::offset:
      return detail::read_int(v, 0, out.offset, "expected an offset (an integer >= 0)");
    case Field::timestamp:
      return detail::read_int(v, -1, out.timestamp_ms,
                              "expected milliseconds since the epoch (an integer; -1: unknown)");
    case Field::key: return read_text(v, out.key, "expected a string or null");
    case Field::value: return read_text(v, out.value, "expected a string or null");
    case Field::key_b64: return read_base64(v, out.key, "expected base64 bytes");
    default: return read_base64(v, out.value, "expected base64 bytes");
  }
}

/// The first required field never seen, or a pair given both ways.
std::optional<LineError> check_fields(unsigned seen) {
  auto has = [&](unsigned f) { return (seen & (1u << f)) != 0; };
  for (unsigned f : {Field::topic, Field::partition, Field::offset, Field::timestamp})
    if (!has(f)) return LineError{std::string(kNames[f]), "expected the field; it is missing"};
  constexpr std::array<std::pair<Field, Field>, 2> kPairs = {
      {{Field::key, Field::key_b64}, {Field::value, Field::value_b64}}};
  for (auto [text, b64] : kPairs) {
    if (has(text) && has(b64))
      return LineError{std::string(kNames[b64]), "expected either " + std::string(kNames[text]) +
                                                     " or " + std::string(kNames[b64]) +
                                                     "; got both"};
    if (!has(text) && !has(b64))
      return LineError{std::string(kNames[text]), "expected the field (a string, null, or " +
                                                      std::string(kNames[b64]) +
                                                      "); it is missing"};
  }
  return std::nullopt;
}

LineError not_an_object(od::document& doc, simdjson::error_code error, std::string_view json) {
  od::json_type type;
  if (doc.type().get(type) != simdjson::SUCCESS)
    return {"line", expected_got("expected a JSON object",
                                 "something that is not JSON: " + detail::snippet(json))};
  if (type == od::json_type::object)
    return {"line",
            expected_got("expected one whole JSON object",
                         detail::snippet(json) + " (" + simdjson::error_message(error) + ")")};
  if (type == od::json_type::array)
    return {"line", expected_got("expected a JSON object", "an array")};
  return {"line", expected_got("expected a JSON object", detail::snippet(json))};
}

}  // namespace

RecordView RecordLine::view() const {
  RecordView v{topic, partition, offset, timestamp_ms, std::nullopt, std::nullopt};
  if (key) v.key = *key;
  if (value) v.value = *value;
  return v;
}

std::string LineError::message(std::string_view file, std::uint64_t line) const {
  std::string s(file);
  s += ':' + std::to_string(line) + ": ";
  detail::append_printable(s, field, true);
  s += ": ";
  detail::append_printable(s, problem, true);
  return s;
}

void append_bytes_field(std::string& out, std::string_view name,
                        std::optional<std::string_view> bytes) {
  out += '"';
  out += name;
  if (!bytes) {
    out += "\":null";
    return;
  }
  if (simdjson::validate_utf8(bytes->data(), bytes->size())) {
    out += "\":";
    append_json_string(out, *bytes);
    return;
  }
  out += "_base64\":\"";
  out += encode_base64(std::span(reinterpret_cast<const std::uint8_t*>(bytes->data()),
                                 static_cast<std::size_t>(bytes->size())));
  out += '"';
}

void append_record_line(std::string& out, const RecordView& r) {
  out += "{\"topic\":";
  append_json_string(out, r.topic);
  out += ",\"partition\":";
  out += std::to_string(r.partition);
  out += ",\"offset\":";
  out += std::to_string(r.offset);
  out += ",\"timestamp\":";
  out += std::to_string(r.timestamp_ms);
  out += ',';
  append_bytes_field(out, "key", r.key);
  out += ',';
  append_bytes_field(out, "value", r.value);
  out += '}';
}

struct RecordLineParser::Impl {
  od::parser parser;
  std::string buffer;  // the line, padded for simdjson

  std::variant<RecordLine, LineError> parse(std::string_view line);
};

RecordLineParser::RecordLineParser() : impl_(std::make_unique<Impl>()) {}
RecordLineParser::~RecordLineParser() = default;

std::variant<RecordLine, LineError> RecordLineParser::parse(std::string_view line) {
  try {
    return impl_->parse(line);
  } catch (const std::exception& e) {  // std::bad_alloc for an absurd line
    return LineError{"line", std::string("could not read: ") + e.what()};
  }
}

std::variant<RecordLine, LineError> RecordLineParser::Impl::parse(std::string_view line) {
  buffer.assign(line);
  buffer.resize(line.size() + simdjson::SIMDJSON_PADDING, '\0');
  od::document doc;
  od::object object;
  if (auto error = parser.iterate(buffer.data(), line.size(), buffer.size()).get(doc))
    return LineError{"line", detail::broken_json(error)};
  if (auto error = doc.get_object().get(object)) return not_an_object(doc, error, line);
  RecordLine out;
  unsigned seen = 0;
  for (auto result : object) {
    od::field field;
    std::string_view name;
    auto error = std::move(result).get(field);
    if (!error) error = field.unescaped_key().get(name);
    if (error) return LineError{"line", detail::broken_json(error)};
    const int index = field_of(name);
    if (index < 0) {  // unknown fields are ignored, once known to be valid JSON
      if (Problem p = detail::read_ignored(field.value()))
        return LineError{detail::field_label(name), *std::move(p)};
      continue;
    }
    const unsigned bit = 1u << index;
    if (seen & bit) return LineError{std::string(name), "expected the field once; got it twice"};
    seen |= bit;
    if (Problem p = read_known(static_cast<unsigned>(index), field.value(), out))
      return LineError{std::string(name), *std::move(p)};
  }
  if (auto error = check_fields(seen)) return *std::move(error);
  const char* rest = nullptr;
  if (doc.current_location().get(rest) == simdjson::SUCCESS)
    return LineError{
        "line",
        expected_got("expected nothing after the JSON object",
                     detail::snippet(line.substr(static_cast<std::size_t>(rest - buffer.data()))))};
  return out;
}

}  // namespace lims::codec
