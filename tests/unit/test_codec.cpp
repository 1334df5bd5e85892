#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "codec/api_json.hpp"
#include "codec/binary.hpp"
#include "codec/decode.hpp"

using lims::ImageEvent;
using lims::ImageRecord;
using lims::Micros;
using lims::Plant;
using lims::RecordOrigin;
using lims::codec::DataEncoding;
using lims::codec::DecodeError;
using lims::codec::Decoder;
using lims::codec::DecodeResult;
using lims::codec::RawRecord;

namespace {

constexpr Micros kCreated = 1'696'779'589'123'123;  // 2023-10-08T15:39:49.123123
constexpr std::int32_t kPartition = 3;
constexpr std::int64_t kOffset = 42;

// A LIMS event value built field by field, so a test can replace, drop or repeat one raw field.
class Doc {
 public:
  Doc& set(const std::string& name, std::string raw) {
    for (auto& [n, r] : fields_)
      if (n == name) {
        r = std::move(raw);
        return *this;
      }
    return add(name, std::move(raw));
  }
  Doc& add(const std::string& name, std::string raw) {
    fields_.emplace_back(name, std::move(raw));
    return *this;
  }
  Doc& remove(const std::string& name) {
    std::erase_if(fields_, [&](const auto& f) { return f.first == name; });
    return *this;
  }
  std::string str() const {
    std::string s = "{";
    for (const auto& [name, raw] : fields_) {
      if (s.size() > 1) s += ", ";
      s += "\"" + name + "\": " + raw;
    }
    return s + "}";
  }

 private:
  std::vector<std::pair<std::string, std::string>> fields_{
      {"id", "7"},
      {"camera_id", "3"},
      {"data", "\"ffd8ffe0\""},
      {"gps_coordinates", "[48.476563, 16.585654]"},
      {"created_at", "\"2023-10-08T15:39:49.123123\""},
      {"updated_at", "null"},
      {"is_active", "false"},
      {"is_deleted", "false"},
      {"disease", "null"},
      {"percentage", "null"}};
};

// The record Doc{} describes.
ImageRecord base_record() {
  ImageRecord r;
  r.id = 7;
  r.camera_id = 3;
  r.data = {0xff, 0xd8, 0xff, 0xe0};
  r.latitude = 48.476563;
  r.longitude = 16.585654;
  r.created_at = kCreated;
  return r;
}

Decoder& decoder() {
  static Decoder d;  // shared on purpose: reuse across sizes is part of what is tested
  return d;
}

DecodeResult decode_raw(const char* value, std::size_t value_size,
                        std::optional<std::string_view> key = std::nullopt,
                        std::string_view topic = "potato") {
  RawRecord r;
  r.origin = RecordOrigin{topic, kPartition, kOffset};
  if (key) {
    r.key = key->data();
    r.key_size = key->size();
  }
  r.value = value;
  r.value_size = value_size;
  return decoder().decode(r);
}

DecodeResult decode(const std::string& value, std::optional<std::string_view> key = std::nullopt,
                    std::string_view topic = "potato") {
  return decode_raw(value.data(), value.size(), key, topic);
}

DecodeResult tombstone(std::optional<std::string_view> key, std::string_view topic = "potato") {
  return decode_raw(nullptr, 0, key, topic);
}

// The upsert's record, after checking it is one for `plant`.
ImageRecord record_of(const DecodeResult& result, Plant plant = Plant::potato) {
  if (const auto* error = std::get_if<DecodeError>(&result))
    FAIL(error->message(RecordOrigin{"potato", kPartition, kOffset}));
  const auto& event = std::get<ImageEvent>(result);
  REQUIRE(event.record.has_value());
  CHECK(event.plant == plant);
  CHECK(event.id == event.record->id);
  return *event.record;
}

// Checks a rejection names `field`, says where the record came from, and fits on one line.
void check_rejected(const DecodeResult& result, std::string_view field,
                    std::string_view contains = {}, std::string_view topic = "potato") {
  REQUIRE(std::holds_alternative<DecodeError>(result));
  const auto& error = std::get<DecodeError>(result);
  const std::string message = error.message(RecordOrigin{topic, kPartition, kOffset});
  CAPTURE(message);
  CHECK(error.field == field);
  CHECK(message.starts_with(std::string(topic) + "/3@42: " + std::string(field) + ": "));
  CHECK(message.find('\n') == std::string::npos);
  CHECK(message.size() < 600);
  if (!contains.empty()) CHECK(message.find(contains) != std::string::npos);
}

void check_field_rejected(const std::string& field, const std::string& raw,
                          std::string_view contains = {}) {
  const std::string value = Doc().set(field, raw).str();
  CAPTURE(value.substr(0, 300));
  check_rejected(decode(value), field, contains);
}

std::vector<std::uint8_t> pseudo_random(std::size_t n, std::uint32_t seed) {
  std::vector<std::uint8_t> v(n);
  for (auto& b : v) {
    seed = seed * 1664525u + 1013904223u;
    b = static_cast<std::uint8_t>(seed >> 24);
  }
  return v;
}

}  // namespace

// ---- accepted --------------------------------------------------------------------------------

TEST_CASE("codec: decodes a LIMS event into an upsert") {
  const DecodeResult result = decode(Doc().str());
  CHECK(record_of(result) == base_record());
  CHECK_FALSE(std::get<ImageEvent>(result).is_delete());
}

TEST_CASE("codec: plant_of_topic takes the whole name or its last segment") {
  using lims::codec::plant_of_topic;
  CHECK(plant_of_topic("potato") == Plant::potato);
  CHECK(plant_of_topic("stg.tomato") == Plant::tomato);
  CHECK(plant_of_topic("lims-test-pepper") == Plant::pepper);
  CHECK(plant_of_topic("a_b.potato") == Plant::potato);
  CHECK_FALSE(plant_of_topic("carrot"));
  CHECK_FALSE(plant_of_topic("potato.stg"));
  CHECK_FALSE(plant_of_topic("potatoes"));
  CHECK_FALSE(plant_of_topic(""));
  CHECK_FALSE(plant_of_topic("stg."));
}

TEST_CASE("codec: every key form, and the id in the value wins") {
  const std::string value = Doc().str();
  for (std::optional<std::string_view> key :
       {std::optional<std::string_view>{}, std::optional<std::string_view>{""},
        std::optional<std::string_view>{"7"}, std::optional<std::string_view>{"potato-7"},
        std::optional<std::string_view>{"99"}, std::optional<std::string_view>{"potato-99"},
        std::optional<std::string_view>{"007"}}) {
    CAPTURE(key.value_or("<none>"));
    const DecodeResult result = decode(value, key);
    CHECK(record_of(result).id == 7);
    CHECK(std::get<ImageEvent>(result).id == 7);
  }
}

TEST_CASE("codec: the plant comes from the topic") {
  const std::string value = Doc().str();
  CHECK(std::get<ImageEvent>(decode(value, std::nullopt, "tomato")).plant == Plant::tomato);
  CHECK(std::get<ImageEvent>(decode(value, "pepper-7", "stg.pepper")).plant == Plant::pepper);
  CHECK(std::get<ImageEvent>(decode(value, "7", "lims-test-potato")).plant == Plant::potato);
}

TEST_CASE("codec: a tombstone deletes the key's id") {
  for (std::string_view key : {"7", "potato-7"}) {
    const DecodeResult result = tombstone(key);
    REQUIRE(std::holds_alternative<ImageEvent>(result));
    const auto& event = std::get<ImageEvent>(result);
    CHECK(event.is_delete());
    CHECK(event.plant == Plant::potato);
    CHECK(event.id == 7);
  }
  CHECK(std::get<ImageEvent>(tombstone("9223372036854775807", "tomato")).id == INT64_MAX);
}

TEST_CASE("codec: data as hex, base64 and Extended JSON $binary") {
  const std::vector<std::uint8_t> jpeg{0xff, 0xd8, 0xff, 0xe0};
  const std::string forms[] = {
      "\"ffd8ffe0\"",
      "\"FFD8FFE0\"",
      "\"/9j/4A==\"",
      "\"/9j/4A\"",
      "\"_9j_4A==\"",
      "\"_9j_4A\"",
      R"("\/9j\/4A==")",  // JSON may escape '/'
      R"("\u0066fd8ffe0")",
      R"({"$binary": {"base64": "/9j/4A==", "subType": "00"}})",
      R"({"$binary": {"subType": "0", "base64": "/9j/4A"}})",
      R"({"$binary": {"base64": "\/9j\/4A=="}})",
      R"({"$binary": "/9j/4A==", "$type": "00"})",
      R"({"$type": "00", "$binary": "/9j/4A=="})",
      R"({"$binary": "/9j/4A=="})",
  };
  for (const std::string& raw : forms) {
    CAPTURE(raw);
    CHECK(record_of(decode(Doc().set("data", raw).str())).data == jpeg);
  }
  // A string that is valid hex is hex, even if it is valid base64 too.
  CHECK(record_of(decode(Doc().set("data", "\"abcd\"").str())).data ==
        std::vector<std::uint8_t>{0xab, 0xcd});
  // Otherwise base64: odd length, or a non-hex letter.
  CHECK(record_of(decode(Doc().set("data", "\"abc\"").str())).data ==
        std::vector<std::uint8_t>{0x69, 0xb7});
  CHECK(record_of(decode(Doc().set("data", "\"abcz\"").str())).data ==
        std::vector<std::uint8_t>{0x69, 0xb7, 0x33});
}

TEST_CASE("codec: time forms, zones and fraction digits") {
  const Micros base = 1'696'779'589'000'000;  // 2023-10-08T15:39:49
  const std::pair<std::string, Micros> forms[] = {
      {"\"2023-10-08T15:39:49\"", base},
      {"\"2023-10-08T15:39:49.1\"", base + 100'000},
      {"\"2023-10-08T15:39:49.12\"", base + 120'000},
      {"\"2023-10-08T15:39:49.123\"", base + 123'000},
      {"\"2023-10-08T15:39:49.1231\"", base + 123'100},
      {"\"2023-10-08T15:39:49.12312\"", base + 123'120},
      {"\"2023-10-08T15:39:49.123123\"", kCreated},
      {"\"2023-10-08 15:39:49.123123\"", kCreated},
      {"\"2023-10-08T15:39:49.123123Z\"", kCreated},
      {"\"2023-10-08T17:39:49.123123+02:00\"", kCreated},
      {"\"2023-10-08T17:39:49.123123+0200\"", kCreated},
      {"\"2023-10-08T13:39:49.123123-02:00\"", kCreated},
      {R"({"$date": "2023-10-08T15:39:49.123Z"})", base + 123'000},
      {R"({"$date": "2023-10-08T17:39:49.123+02:00"})", base + 123'000},
      {R"({"$date": {"$numberLong": "1696779589123"}})", base + 123'000},
      {R"({"$date": 1696779589123})", base + 123'000},
      {R"({"$date": -1000})", -1'000'000},
      {R"({"$date": {"$numberLong": "-62135596800000"}})", -62'135'596'800'000'000},
  };
  for (const auto& [raw, micros] : forms) {
    CAPTURE(raw);
    const ImageRecord created = record_of(decode(Doc().set("created_at", raw).str()));
    CHECK(created.created_at == micros);
    const ImageRecord updated = record_of(decode(Doc().set("updated_at", raw).str()));
    CHECK(updated.updated_at == micros);
  }
}

TEST_CASE("codec: field order, unknown fields and whitespace do not matter") {
  const std::string value =
      "\n{ \"percentage\" : 0.5 ,\"disease\":\"Bacterial Spot\", \"_id\": {\"$oid\": "
      "\"652300000000000000000000\"}, \"is_deleted\":true,\"is_active\":true, \"extra\": [1, "
      "{\"a\": [null, \"x\"]}], \"updated_at\": \"2023-10-08T15:39:49.123123\", \"created_at\": "
      "\"2023-10-08T15:39:49.123123\", \"gps_coordinates\": [ 48 , -16.5 ], \"data\": "
      "\"ffd8ffe0\", \"camera_id\": 0, \"id\": 9223372036854775807 }\r\n\t ";
  ImageRecord expected = base_record();
  expected.id = INT64_MAX;
  expected.camera_id = 0;
  expected.latitude = 48;
  expected.longitude = -16.5;
  expected.updated_at = kCreated;
  expected.is_active = true;
  expected.is_deleted = true;
  expected.disease = "Bacterial Spot";
  expected.percentage = 0.5;
  CHECK(record_of(decode(value)) == expected);
}

TEST_CASE("codec: edge values within range are accepted") {
  CHECK(record_of(decode(Doc().set("gps_coordinates", "[90, -180]").str())).longitude == -180);
  CHECK(record_of(decode(Doc().set("gps_coordinates", "[-90.0, 180.0]").str())).latitude == -90);
  CHECK(record_of(decode(Doc().set("percentage", "0").str())).percentage == 0.0);
  CHECK(record_of(decode(Doc().set("percentage", "1").str())).percentage == 1.0);
  CHECK(record_of(decode(Doc().set("percentage", "1.0e0").str())).percentage == 1.0);
  CHECK(
      record_of(decode(Doc().set("disease", R"("Fleckenkrankheit \u00e4 \"x\"")").str())).disease ==
      "Fleckenkrankheit \xc3\xa4 \"x\"");
  CHECK(record_of(decode(Doc().set("disease", "\"\"").str())).disease == "");
  CHECK(record_of(decode(Doc().set("camera_id", "9223372036854775807").str())).camera_id ==
        INT64_MAX);
}

TEST_CASE("codec: unknown fields are read through and ignored, nested up to 64 deep") {
  const std::string deep_arrays = std::string(64, '[') + std::string(64, ']');
  CHECK(record_of(decode(Doc().add("deep", deep_arrays).str())) == base_record());
  std::string deep_objects;
  for (int i = 0; i < 63; ++i) deep_objects += "{\"a\":";
  deep_objects += "1" + std::string(63, '}');
  CHECK(record_of(decode(Doc().add("deep", deep_objects).str())) == base_record());
  const std::string mixed =
      R"({"$oid": "652300000000000000000000", "n": [1, [2, {"x": null}], -3.5e2, true, )"
      R"("\u00e4"], "e": {}, "f": []})";
  CHECK(record_of(decode(Doc().add("_id", mixed).add("zzz", "[]").str())) == base_record());
}

TEST_CASE("codec: huge strings are fine where a string is allowed") {
  const std::string huge(2'000'000, 'x');
  CHECK(record_of(decode(Doc().set("disease", "\"" + huge + "\"").str())).disease == huge);
  CHECK(record_of(decode(Doc().add("note", "\"" + huge + "\"").str())) == base_record());
  const auto big = pseudo_random(3'000'000, 5);
  CHECK(
      record_of(decode(Doc().set("data", "\"" + lims::codec::encode_hex(big) + "\"").str())).data ==
      big);
}

TEST_CASE("codec: to_event_json round-trips through decode, to the microsecond") {
  std::uint32_t seed = 77;
  for (int i = 0; i < 60; ++i) {
    ImageRecord r;
    r.id = 1 + i * 7919;
    r.camera_id = i % 5;
    r.data = pseudo_random(static_cast<std::size_t>(1 + i * 517), seed++);
    r.latitude = 48.476563 + i * 0.000123456789;
    r.longitude = -16.585654 - i / 3.0;
    r.created_at = kCreated + i * 1'000'001;
    if (i % 2) r.updated_at = r.created_at + 999'999;
    if (i % 3) r.disease = i % 2 ? "Healthy" : "Early Blight \"quoted\" \\ \n";
    if (i % 4) r.percentage = 1.0 / (i + 1);
    r.is_active = i % 5 == 0;
    r.is_deleted = i % 7 == 0;
    for (DataEncoding encoding : {DataEncoding::hex, DataEncoding::base64}) {
      const std::string value = lims::codec::to_event_json(r, encoding);
      CHECK(record_of(decode(value, std::to_string(r.id), "tomato"), Plant::tomato) == r);
    }
    CHECK(record_of(decode(lims::codec::to_api_json(r))) == r);
  }
}

TEST_CASE("codec: values at a page end are parsed correctly, copied or in place") {
  constexpr std::size_t kPage = 4096;
  auto storage = std::make_unique<char[]>(4 * kPage);
  const auto addr = reinterpret_cast<std::uintptr_t>(storage.get());
  char* page = storage.get() + (kPage - addr % kPage) % kPage;  // 4096-aligned, 3 pages usable
  const std::string value = Doc().str();
  // Ends exactly at a page end (the padding would cross into the next page: copied) ...
  char* at_end = page + kPage - value.size();
  std::copy(value.begin(), value.end(), at_end);
  CHECK(record_of(decode_raw(at_end, value.size())) == base_record());
  // ... ends mid-page (padding readable: parsed in place; the bytes after are garbage) ...
  std::fill(page + kPage, page + 2 * kPage, 'x');
  std::copy(value.begin(), value.end(), page + kPage);
  CHECK(record_of(decode_raw(page + kPage, value.size())) == base_record());
  // ... unless the byte after could start a JSON token (copied, padded with '\0').
  page[kPage + value.size()] = '}';
  CHECK(record_of(decode_raw(page + kPage, value.size())) == base_record());
  // ... and the reused buffer grows and shrinks between records.
  const std::string big = Doc().set("data", "\"" + std::string(100000, 'a') + "\"").str();
  CHECK(record_of(decode(big)).data.size() == 50000);
  CHECK(record_of(decode_raw(at_end, value.size())) == base_record());
}

// ---- rejected --------------------------------------------------------------------------------

TEST_CASE("codec: the error message format") {
  const DecodeResult result = decode(Doc().set("gps_coordinates", "[1, 2, 3]").str());
  REQUIRE(std::holds_alternative<DecodeError>(result));
  CHECK(std::get<DecodeError>(result).message(RecordOrigin{"potato", 3, 42}) ==
        "potato/3@42: gps_coordinates: expected [lat, lon], two finite numbers with |lat|<=90 "
        "and |lon|<=180; got 3 elements");
}

TEST_CASE("codec: a topic that is not a plant") {
  for (std::string_view topic : {"carrot", "potatoes", "potato.stg", "stg.carrot", ""}) {
    CAPTURE(topic);
    check_rejected(decode(Doc().str(), std::nullopt, topic), "topic", "expected a plant topic",
                   topic);
    check_rejected(tombstone("7", topic), "topic", {}, topic);
  }
}

// Keys that do not parse as "<id>" or "<plant>-<id>" with an id >= 1.
constexpr std::string_view kBadKeys[] = {
    "abc",        "potato-",    "-7",        "0",
    "potato-0",   "potato-abc", "carrot-7",  "99999999999999999999",
    "7 ",         "+7",         "potato--7", "potato_7",
    "tomato-abc", "tomato-0",   "\xff\n"};

TEST_CASE("codec: an upsert ignores a key that does not parse, and the value's id is used") {
  const std::string value = Doc().str();
  for (std::string_view key : kBadKeys) {
    CAPTURE(key);
    const DecodeResult result = decode(value, key);
    CHECK(record_of(result).id == 7);
    CHECK(std::get<ImageEvent>(result).id == 7);
  }
}

TEST_CASE("codec: a tombstone needs a key that parses") {
  for (std::string_view key : kBadKeys) {
    CAPTURE(key);
    check_rejected(tombstone(key), "key", "a tombstone needs a key holding the image id");
  }
}

TEST_CASE("codec: a key for another plant than the topic's is rejected") {
  const std::string value = Doc().str();
  check_rejected(decode(value, "tomato-7"), "key", "expected a key for plant potato");
  check_rejected(decode(value, "tomato-99"), "key", "expected a key for plant potato");
  check_rejected(tombstone("tomato-7"), "key", "expected a key for plant potato");
  check_rejected(decode(value, "pepper-7", "stg.tomato"), "key", "tomato", "stg.tomato");
  check_rejected(tombstone("pepper-7", "stg.tomato"), "key", "tomato", "stg.tomato");
}

TEST_CASE("codec: a tombstone without a key") {
  check_rejected(tombstone(std::nullopt), "key", "a tombstone needs a key holding the image id");
  check_rejected(tombstone(""), "key", "a tombstone needs a key holding the image id");
}

TEST_CASE("codec: empty and blank values") {
  const char empty[] = "";
  check_rejected(decode_raw(empty, 0), "value", "expected a JSON object, got an empty value");
  check_rejected(decode(" \n\t "), "value", "whitespace");
}

TEST_CASE("codec: not JSON, or JSON but not an object") {
  for (const char* value : {"hello", "<xml/>", "}", "[1, 2]", "\"str\"", "42", "null", "true",
                            "{'id': 1}", "{id: 1}", "\x89PNG", "{\"id\" 7}", "{,}"}) {
    CAPTURE(value);
    check_rejected(decode(value), "value", "expected");
  }
  check_rejected(decode("[1, 2]"), "value", "got an array");
  // A scalar is shown as it is, not by the type its first byte suggests.
  check_rejected(decode("not json"), "value", "not json");
  check_rejected(decode("42"), "value", "got 42");
}

TEST_CASE("codec: truncated JSON, at every length") {
  const std::string value = Doc().set("updated_at", R"({"$date": {"$numberLong": "1"}})").str();
  REQUIRE(std::holds_alternative<ImageEvent>(decode(value)));
  for (std::size_t n = 1; n < value.size(); ++n) {
    const std::string cut = value.substr(0, n);
    CAPTURE(cut);
    const DecodeResult result = decode(cut);
    REQUIRE(std::holds_alternative<DecodeError>(result));
    const std::string message = std::get<DecodeError>(result).message({"potato", 3, 42});
    CHECK(message.starts_with("potato/3@42: "));
  }
}

TEST_CASE("codec: content after the object") {
  for (const char* tail : {" x", "}", "{}", " 1", " null", ",", "]", " {\"id\": 1}"}) {
    CAPTURE(tail);
    check_rejected(decode(Doc().str() + tail), "value", "expected");
  }
}

TEST_CASE("codec: deep nesting never exhausts the stack") {
  check_rejected(decode(std::string(100000, '[')), "value", "got an array");
  check_rejected(decode(std::string(100000, '{')), "value");
  check_rejected(decode(std::string(100000, '[') + std::string(100000, ']')), "value");
  check_rejected(decode(Doc().add("deep", std::string(100000, '[')).str()), "deep", "64");
  const std::string balanced = std::string(100000, '[') + std::string(100000, ']');
  check_rejected(decode(Doc().add("deep", balanced).str()), "deep", "nested at most 64 levels");
  const std::string just_over = std::string(65, '[') + std::string(65, ']');
  check_rejected(decode(Doc().add("deep", just_over).str()), "deep", "nested at most 64 levels");
  check_rejected(decode("{\"x\": " + std::string(100000, '{')), "value");
  check_field_rejected("gps_coordinates", std::string(100000, '[') + std::string(100000, ']'),
                       "expected [lat, lon]");
  check_field_rejected(
      "data", R"({"$binary": )" + std::string(100000, '[') + std::string(100000, ']') + "}");
  check_field_rejected("created_at", R"({"$date": )" + std::string(50000, '{') + "}");
}

TEST_CASE("codec: huge strings in the wrong place give a short message") {
  const std::string huge = "\"" + std::string(1'000'000, 'z') + "\"";
  check_field_rejected("id", huge, "bytes)");
  check_field_rejected("data", "\"" + std::string(1'000'001, '!') + "\"",
                       "a string of length 1000001");
  check_field_rejected("created_at", huge);
  check_rejected(decode(Doc().str() + " " + huge), "value");
  // An unknown field is named in the message, shortened and printable.
  const std::string long_key(5000, 'k');
  check_rejected(decode(Doc().add(long_key, "[1,").str()), std::string(48, 'k') + "...");
  check_rejected(decode(Doc().add("a\\nb", "[1,").str()), "a\\x0ab");
}

TEST_CASE("codec: bad ids") {
  for (const char* raw : {"-1",
                          "0",
                          "-0",
                          "1.0",
                          "7.5",
                          "1e3",
                          "7E0",
                          "true",
                          "false",
                          "\"7\"",
                          "null",
                          "[7]",
                          "{}",
                          "9223372036854775808",
                          "-9223372036854775809",
                          "123456789012345678901234567890",
                          "07",
                          "NaN",
                          "Infinity",
                          "0x7"}) {
    CAPTURE(raw);
    check_field_rejected("id", raw, "expected an integer >= 1");
  }
  check_field_rejected("id", "9223372036854775808", "beyond 64 bits");
  check_field_rejected("id", "1.0", "not an integer");
  check_field_rejected("id", "\"7\"", "got a string \"7\"");
}

TEST_CASE("codec: bad camera ids") {
  for (const char* raw : {"-1", "1.5", "\"3\"", "null", "false", "1e2", "18446744073709551615"}) {
    CAPTURE(raw);
    check_field_rejected("camera_id", raw, "expected an integer >= 0");
  }
}

TEST_CASE("codec: bad data") {
  const char* bad[] = {
      "123",
      "null",
      "true",
      "[]",
      "[\"ffd8\"]",
      "\"\"",  // empty
      "\"a\"",
      "\"ffd8 ffe0\"",
      "\"xyz!\"",
      "\"Zg=\"",
      "\"Zg==Zg==\"",
      "\"ff\\nd8\"",
      R"({"$binary": 5})",
      R"({"$binary": null})",
      R"({"$binary": ""})",
      R"({"$binary": {"base64": ""}})",
      R"({"$binary": {"base64": "Zg==", "subType": "04"}})",
      R"({"$binary": {"base64": "Zg==", "subType": 0}})",
      R"({"$binary": {"base64": "Zg==", "extra": 1}})",
      R"({"$binary": {"subType": "00"}})",
      R"({"$binary": "Zg==", "$type": "05"})",
      R"({"$binary": "ffd8ffe0!"})",
      R"({"$binary": "Zg==", "$binary": "Zg=="})",
      R"({"$binary": "Zg==", "other": 1})",
      R"({"$oid": "652300000000000000000000"})",
      R"({})",
  };
  for (const char* raw : bad) {
    CAPTURE(raw);
    check_field_rejected("data", raw, "expected");
  }
  check_field_rejected("data", "\"\"", "empty");
  check_field_rejected("data", "\"ffd8 ffe0\"", "bad character ' ' at 4");
}

TEST_CASE("codec: bad gps_coordinates") {
  for (const char* raw :
       {"[1]", "[1, 2, 3]", "[]", "[91, 0]", "[0, 181]", "[-90.0001, 0]", "[0, -180.5]",
        "[\"48\", 16]", "[48, null]", "null", "{\"lat\": 1}", "[NaN, 1]", "[1, Infinity]",
        "[1, -Infinity]", "[1e400, 0]", "[[1], 2]", "48.5", "\"48.5,16.5\""}) {
    CAPTURE(raw);
    check_field_rejected("gps_coordinates", raw, "expected [lat, lon]");
  }
  check_field_rejected("gps_coordinates", "[91, 0]", "got [91, 0]");
  check_field_rejected("gps_coordinates", "[1]", "got 1 elements");
}

TEST_CASE("codec: bad times") {
  const char* bad[] = {
      "null",
      "\"\"",
      "\"2023-10-08\"",
      "\"2023-02-30T00:00:00\"",
      "\"2023-10-08T15:39:49.1234567\"",
      "\"2023-10-08T24:00:00\"",
      "\"0000-01-01T00:00:00\"",
      "1696779589",
      "true",
      "[]",
      R"({"$date": "bad"})",
      R"({"$date": 1.5})",
      R"({"$date": null})",
      R"({"$date": true})",
      R"({"$date": {"$numberLong": "12x"}})",
      R"({"$date": {"$numberLong": ""}})",
      R"({"$date": {"$numberLong": 12}})",
      R"({"$date": {"$numberLong": "99999999999999999999"}})",
      R"({"$date": {"$numberInt": "1"}})",
      R"({"$date": 1, "x": 2})",
      R"({"$date": 1, "$date": 2})",
      R"({"$date": 99999999999999999})",
      R"({"$date": -62135596800001})",
      R"({})",
  };
  for (const char* raw : bad) {
    CAPTURE(raw);
    check_field_rejected("created_at", raw, "expected a time");
    if (std::string_view(raw) != "null") check_field_rejected("updated_at", raw, "expected a time");
  }
}

TEST_CASE("codec: bad booleans") {
  for (const char* field : {"is_active", "is_deleted"}) {
    for (const char* raw : {"0", "1", "\"true\"", "null", "tru", "True", "[]", "falsey"}) {
      CAPTURE(raw);
      check_field_rejected(field, raw, "expected true or false");
    }
  }
}

TEST_CASE("codec: bad disease and percentage") {
  for (const char* raw : {"1", "true", "[]", "{}", "nul", "nulll"}) {
    CAPTURE(raw);
    check_field_rejected("disease", raw, "expected a string or null");
  }
  for (const char* raw :
       {"-0.1", "1.5", "\"0.5\"", "true", "NaN", "-Infinity", "Infinity", "1e400", "[]", "-"}) {
    CAPTURE(raw);
    check_field_rejected("percentage", raw, "expected a number in [0, 1] or null");
  }
}

TEST_CASE("codec: nulls where a value is required") {
  for (const char* field :
       {"id", "camera_id", "data", "gps_coordinates", "created_at", "is_active", "is_deleted"}) {
    CAPTURE(field);
    check_field_rejected(field, "null", "got null");
  }
}

TEST_CASE("codec: missing fields") {
  for (const char* field : {"id", "camera_id", "data", "gps_coordinates", "created_at",
                            "updated_at", "is_active", "is_deleted", "disease", "percentage"}) {
    CAPTURE(field);
    check_rejected(decode(Doc().remove(field).str()), field, "the field is missing");
  }
  check_rejected(decode("{}"), "id", "the field is missing");
}

TEST_CASE("codec: a duplicated field") {
  check_rejected(decode(Doc().add("id", "8").str()), "id", "twice");
  check_rejected(decode(Doc().add("data", "\"ffd8\"").str()), "data", "twice");
}

TEST_CASE("codec: invalid UTF-8 and unescaped control characters") {
  check_rejected(decode(Doc().set("disease", "\"Healthy\xff\"").str()), "value", "UTF-8");
  check_rejected(decode(Doc().set("disease", "\"\xc3\x28\"").str()), "value", "UTF-8");
  check_rejected(decode(Doc().add("note", "\"\xed\xa0\x80\"").str()), "value", "UTF-8");
  check_rejected(decode(Doc().add("\xc0\xaf", "1").str()), "value", "UTF-8");
  check_rejected(decode(Doc().set("disease", "\"a\x01b\"").str()), "value");
  check_rejected(decode(Doc().set("disease", R"("\ud800")").str()), "disease", "bad escape");
  check_rejected(decode(Doc().set("disease", R"("\x41")").str()), "disease");
}

TEST_CASE("codec: malformed JSON inside an ignored field is rejected") {
  for (const char* raw : {"[1 2]", "{\"a\" 1}", "{\"a\": }", "tru", "NaN", "[1,]", "{,}", "\"\\x\"",
                          "[01]", "-", "nul"}) {
    CAPTURE(raw);
    check_rejected(decode(Doc().add("_id", raw).str()), "_id",
                   "the field is ignored, but must be valid");
  }
}

TEST_CASE("codec: a bad ignored field with an empty name is still named") {
  check_rejected(decode(Doc().add("", "tru").str()), "\"\"", "an invalid literal");
  CHECK(record_of(decode(Doc().add("", "{\"\": []}").str())) == base_record());
}

TEST_CASE("codec: the verdict never depends on the bytes after the value") {
  // simdjson looks at the first padding byte when the braces do not balance, and on-demand
  // skipping is lenient: these must be rejected whatever follows them in memory.
  const std::string unbalanced[] = {
      Doc().add("_id", R"("$oid": "x"})").str(),
      Doc().set("data", R"({"$binary": "base64": "AQID", "subType": "00"}})").str(),
      Doc().set("created_at", R"({"$date": "2023-10-08T15:39:49Z"}})").str(),
      Doc().str() + "}",
  };
  for (const std::string& value : unbalanced) {
    for (char fill : {'\0', ' ', '}', ']', 'x', '"'}) {
      CAPTURE(value);
      CAPTURE(static_cast<int>(fill));
      std::vector<char> buffer(value.size() + 128, fill);
      std::copy(value.begin(), value.end(), buffer.begin());
      const DecodeResult result = decode_raw(buffer.data(), value.size());
      REQUIRE(std::holds_alternative<DecodeError>(result));
      CHECK(std::get<DecodeError>(result).message({"potato", 3, 42}).starts_with("potato/3@42: "));
    }
  }
}

TEST_CASE("codec: NaN and Infinity are not JSON") {
  check_field_rejected("percentage", "NaN", "got NaN");
  check_field_rejected("gps_coordinates", "[NaN, 0]", "NaN");
  check_field_rejected("camera_id", "Infinity");
  check_field_rejected("id", "-Infinity");
}
