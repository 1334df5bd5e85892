#include "codec/decode.hpp"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <exception>
#include <memory>

#include "codec/diagnostics.hpp"
#include "codec/ignored_field.hpp"
#include "codec/record_fields.hpp"

namespace lims::codec {

namespace od = simdjson::ondemand;
using detail::append_printable;
using detail::broken_json;
using detail::expected_got;
using detail::field_index;
using detail::field_label;
using detail::kExpected;
using detail::kFieldCount;
using detail::kFieldNames;
using detail::Problem;
using detail::quoted;
using detail::read_field;
using detail::read_ignored;
using detail::snippet;

namespace {

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

// The record's key as an error message shows it.
std::string shown_key(const RawRecord& r) {
  return quoted(std::string_view(r.key, r.key_size), false);
}

// The key's verdict for a record of `plant`: nullopt when usable. An upsert takes its id from the
// value, so it ignores a key that does not parse; a tombstone needs one. A key that parses but
// names another plant is a routing error either way.
std::optional<DecodeError> check_key(const Key& key, const RawRecord& r, Plant plant,
                                     bool tombstone) {
  if (!key.valid) {
    if (!tombstone) return std::nullopt;
    constexpr std::string_view expected =
        "a tombstone needs a key holding the image id: expected \"<id>\" or \"<plant>-<id>\" "
        "with an id >= 1";
    return DecodeError{"key", expected_got(expected, key.present ? shown_key(r) : "no key")};
  }
  if (key.plant && *key.plant != plant) {
    const std::string for_plant =
        "expected a key for plant " + std::string(plant_name(plant)) + " (the topic's plant)";
    return DecodeError{"key", expected_got(for_plant, shown_key(r))};
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

// The padding's content is irrelevant to a good value, but not to a broken one: simdjson checks
// whether the first padding byte is '}', and when a malformed value makes on-demand run past the
// last token it reads that byte as the next token. Which error it reports then depends on that
// byte. So the decoder only parses in place when the byte after the value starts no JSON token
// (nothing like '}', '"', 'n' or a digit), and pads its copy with '\0': the same verdict, word
// for word, wherever the value sits.
bool neutral_padding(char after) {
  return std::string_view("{}[]\",:-0123456789tfn").find(after) == std::string_view::npos;
}

// ---- the value's shape ----------------------------------------------------------------------

// Why a document that simdjson started on is not a JSON object (`error` from get_object()).
DecodeError not_an_object(od::document& doc, simdjson::error_code error, std::string_view json) {
  od::json_type type;
  if (doc.type().get(type) != simdjson::SUCCESS) {
    std::string_view raw;
    if (doc.raw_json_token().get(raw) != simdjson::SUCCESS) raw = {};
    return DecodeError{"value", expected_got("expected a JSON object",
                                             "something that is not JSON: " + snippet(raw))};
  }
  if (type == od::json_type::object) return DecodeError{"value", broken_json(error)};
  if (type == od::json_type::array)
    return DecodeError{"value", expected_got("expected a JSON object", "an array")};
  // simdjson types a scalar by its first byte alone ("not json" looks like null): show it all.
  return DecodeError{"value", expected_got("expected a JSON object", snippet(json))};
}

// A field of the object could not be read; `previous` is the last key read (null data if none).
DecodeError malformed_field(std::string_view previous, simdjson::error_code error) {
  return DecodeError{"value", "expected a JSON object; got malformed JSON " +
                                  (previous.data() ? "after field " + quoted(previous)
                                                   : std::string("at its start")) +
                                  " (" + simdjson::error_message(error) + ")"};
}

// After the whole object: the first field never seen, else anything but whitespace left over.
std::optional<DecodeError> check_complete(unsigned seen, od::document& doc, std::string_view json) {
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
  if (!padding_readable_in_place(data, size) || !neutral_padding(data[size])) {
    if (buffer_capacity < capacity) {
      buffer_capacity = std::max(capacity, buffer_capacity * 2);
      buffer = std::make_unique_for_overwrite<char[]>(buffer_capacity);
    }
    std::memcpy(buffer.get(), data, size);
    std::memset(buffer.get() + size, 0, simdjson::SIMDJSON_PADDING);
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
  if (auto error = doc.get_object().get(object)) return not_an_object(doc, error, json);
  unsigned seen = 0;
  std::string_view previous;
  for (auto result : object) {
    od::field field;
    std::string_view key;
    auto error = std::move(result).get(field);
    if (!error) error = field.unescaped_key().get(key);
    if (error) return malformed_field(previous, error);
    previous = key;
    const int index = field_index(key);
    if (index < 0) {  // unknown fields ("_id", ...) are ignored, once known to be valid JSON
      if (Problem p = read_ignored(field.value()))
        return DecodeError{field_label(key), *std::move(p)};
      continue;
    }
    const unsigned bit = 1u << index;
    if (seen & bit) return DecodeError{std::string(key), "expected the field once; got it twice"};
    seen |= bit;
    if (Problem p = read_field(static_cast<unsigned>(index), field.value(), out))
      return DecodeError{std::string(key), *std::move(p)};
  }
  return check_complete(seen, doc, json);
}

}  // namespace lims::codec
