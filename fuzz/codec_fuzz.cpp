// libFuzzer target for the codec: lims::codec::Decoder::decode on arbitrary Kafka records.
//
// Input layout (so that mutations reach every path):
//   byte 0   bits 0-2: the topic (mod 5): potato, tomato, pepper, lims.tomato, weird
//            bit 3: a tombstone (null value; the rest of the input is ignored after the key)
//            bit 4: no key at all (a null key, not an empty one)
//   byte 1   the key's length, cut to what is left
//   then     the key, then the value (the rest)
//
// What it checks (a violation calls __builtin_trap(), which libFuzzer reports as a crash):
//   - decode never crashes, and never reads outside its input (ASan, UBSan; the key and the
//     value each sit at the very end of their own allocation);
//   - a DecodeError names a field, and message(origin) is one non-empty printable line that
//     starts with "<topic>/<partition>@<offset>: ";
//   - an event's plant is the topic's; a delete comes only from a tombstone and has an id >= 1;
//   - an upsert's id is its record's, and the record holds only values the validator allows;
//   - the record round-trips: to_event_json (hex, and base64 unless that text reads as hex, which
//     the decoder by design takes as hex) decodes again to an equal record;
//   - decoding the same record again gives the same verdict (the reused buffers keep no state).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "codec/api_json.hpp"
#include "codec/binary.hpp"
#include "codec/decode.hpp"

namespace {

using lims::ImageEvent;
using lims::ImageRecord;
using lims::RecordOrigin;
using lims::codec::DataEncoding;
using lims::codec::DecodeError;
using lims::codec::DecodeResult;
using lims::codec::RawRecord;

constexpr std::string_view kTopics[] = {"potato", "tomato", "pepper", "lims.tomato", "weird"};
constexpr std::int32_t kPartition = 2;
constexpr std::int64_t kOffset = 1234567;

// The times the decoder accepts: the years 1..9999.
constexpr lims::Micros kMinTime = -62'135'596'800'000'000;
constexpr lims::Micros kMaxTime = 253'402'300'799'999'999;

[[noreturn]] void fail(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "codec_fuzz: invariant violated: %s\n", what);
  if (!detail.empty())
    std::fprintf(stderr, "codec_fuzz:   %.2000s\n", detail.c_str());  // cut: it may be huge
  __builtin_trap();
}

void check(bool ok, const char* what, const std::string& detail = {}) {
  if (!ok) fail(what, detail);
}

lims::codec::Decoder& decoder() {
  static lims::codec::Decoder d;  // reused across inputs, as the consumer does
  return d;
}

void check_error(const DecodeError& error, const RecordOrigin& origin) {
  const std::string message = error.message(origin);
  check(!error.field.empty(), "a DecodeError names a field", message);
  check(!message.empty(), "a DecodeError's message is not empty");
  check(message.find('\n') == std::string::npos, "a DecodeError's message is one line", message);
  for (const char ch : message) {
    const auto c = static_cast<unsigned char>(ch);
    check(c >= 0x20 && c != 0x7F, "a DecodeError's message is printable", message);
  }
  check(message.starts_with(lims::describe(origin) + ": "),
        "a DecodeError's message starts with its origin", message);
}

void check_valid(const ImageRecord& r, const std::string& shown) {
  check(r.id >= 1, "an upsert's id is >= 1", shown);
  check(r.camera_id >= 0, "an upsert's camera_id is >= 0", shown);
  check(!r.data.empty(), "an upsert carries image bytes", shown);
  check(std::isfinite(r.latitude) && std::abs(r.latitude) <= 90, "|latitude| <= 90", shown);
  check(std::isfinite(r.longitude) && std::abs(r.longitude) <= 180, "|longitude| <= 180", shown);
  check(!r.percentage || (*r.percentage >= 0 && *r.percentage <= 1), "percentage in [0, 1]", shown);
  check(r.created_at >= kMinTime && r.created_at <= kMaxTime, "created_at in the years 1..9999",
        shown);
  check(!r.updated_at || (*r.updated_at >= kMinTime && *r.updated_at <= kMaxTime),
        "updated_at in the years 1..9999", shown);
}

// Decodes `json` (an event value the codec wrote) on `topic` and checks it yields `expected`.
void check_round_trip(const ImageRecord& expected, const std::string& json,
                      const RecordOrigin& origin) {
  RawRecord again;
  again.origin = origin;
  again.value = json.data();
  again.value_size = json.size();
  const DecodeResult result = decoder().decode(again);
  if (const auto* error = std::get_if<DecodeError>(&result))
    fail("to_event_json of a decoded record decodes again", error->message(origin) + " in " + json);
  const ImageEvent& event = std::get<ImageEvent>(result);
  check(event.record.has_value(), "to_event_json decodes to an upsert", json);
  check(*event.record == expected, "to_event_json decodes to an equal record", json);
}

void check_event(const ImageEvent& event, const RawRecord& record) {
  const std::optional<lims::Plant> plant = lims::codec::plant_of_topic(record.origin.topic);
  check(plant.has_value() && *plant == event.plant, "an event's plant is its topic's");
  if (event.is_delete()) {
    check(record.value == nullptr, "only a tombstone decodes to a delete");
    check(event.id >= 1, "a delete's id is >= 1");
    return;
  }
  check(record.value != nullptr, "a tombstone never decodes to an upsert");
  const ImageRecord& r = *event.record;
  const std::string hex = lims::codec::to_event_json(r, DataEncoding::hex);
  check(event.id == r.id, "an upsert's id is its record's", hex);
  check_valid(r, hex);
  check_round_trip(r, hex, record.origin);
  const std::string base64 = lims::codec::encode_base64(r.data);
  if (!lims::codec::looks_like_hex(base64))
    check_round_trip(r, lims::codec::to_event_json(r, DataEncoding::base64), record.origin);
}

bool same_verdict(const DecodeResult& a, const DecodeResult& b) {
  if (a.index() != b.index()) return false;
  if (const auto* ea = std::get_if<DecodeError>(&a)) {
    const auto& eb = std::get<DecodeError>(b);
    return ea->field == eb.field && ea->problem == eb.problem;
  }
  const auto& ea = std::get<ImageEvent>(a);
  const auto& eb = std::get<ImageEvent>(b);
  return ea.plant == eb.plant && ea.id == eb.id && ea.record == eb.record;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return -1;  // not a record: keep it out of the corpus
  const unsigned flags = data[0];
  const std::size_t key_size = std::min<std::size_t>(data[1], size - 2);
  const std::uint8_t* rest = data + 2;

  RawRecord record;
  record.origin = RecordOrigin{kTopics[(flags & 7u) % 5], kPartition, kOffset};
  // The key in an allocation of its own, exactly its size, so that reading past it is caught.
  std::unique_ptr<char[]> key;
  if (!(flags & 0x10u)) {
    key = std::make_unique_for_overwrite<char[]>(key_size);
    std::memcpy(key.get(), rest, key_size);
    record.key = key.get();
    record.key_size = key_size;
  }
  // The value is the tail of libFuzzer's input, itself an allocation of exactly its size.
  if (!(flags & 0x08u)) {
    record.value = reinterpret_cast<const char*>(rest + key_size);
    record.value_size = size - 2 - key_size;
  }

  const DecodeResult result = decoder().decode(record);
  if (const auto* error = std::get_if<DecodeError>(&result))
    check_error(*error, record.origin);
  else
    check_event(std::get<ImageEvent>(result), record);
  check(same_verdict(result, decoder().decode(record)), "the same record gets the same verdict");
  return 0;
}
