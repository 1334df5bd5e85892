// Bounded, seeded mutation testing of the decoder: valid events, damaged at random, must always
// come back as a verdict (never an exception), and the verdict must not depend on where in memory
// the bytes sit (parsed in place, or copied because simdjson's padding would cross a page).
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "codec/decode.hpp"

using lims::ImageEvent;
using lims::RecordOrigin;
using lims::codec::DecodeError;
using lims::codec::Decoder;
using lims::codec::DecodeResult;
using lims::codec::RawRecord;

namespace {

constexpr std::string_view kTopic = "potato";
constexpr std::int32_t kPartition = 3;
constexpr std::int64_t kOffset = 42;
constexpr int kIterations = 20'000;
constexpr std::size_t kMaxValue = 6000;  // mutated values never grow past this
constexpr std::size_t kPage = 4096;      // the decoder's page assumption, not the system's

// A valid event to start from: its value (nullopt for a tombstone) and its key.
struct Seed {
  std::optional<std::string> value;
  std::optional<std::string> key;
};

std::vector<Seed> seeds() {
  const std::string hex(128, 'a');
  return {
      {R"({"id": 7, "camera_id": 3, "data": ")" + hex +
           R"(", "gps_coordinates": )"
           R"([48.476563, 16.585654], "created_at": "2023-10-08T15:39:49.123123", )"
           R"("updated_at": null, "is_active": false, "is_deleted": false, "disease": null, )"
           R"("percentage": null})",
       "potato-7"},
      {R"({"_id": {"$oid": "652300000000000000000000"}, "id": 8, "camera_id": 0, )"
       R"("data": "\/9j\/4AAQSkZJRg==", "gps_coordinates": [-90, 180.0], )"
       R"("created_at": "2023-10-08 15:39:49Z", "updated_at": "2023-10-08T17:39:49+02:00", )"
       R"("is_active": true, "is_deleted": false, "disease": "Early Blight \u00e4 \"x\"", )"
       R"("percentage": 0.25})",
       "8"},
      {R"({"id": 9223372036854775807, "camera_id": 1, "data": {"$binary": {"base64": )"
       R"("/9j/4A==", "subType": "00"}}, "gps_coordinates": [0.5, -0.5], "created_at": )"
       R"({"$date": "2023-10-08T15:39:49.123Z"}, "updated_at": {"$date": {"$numberLong": )"
       R"("1696779589123"}}, "is_active": true, "is_deleted": true, "disease": "Healthy", )"
       R"("percentage": 1e0, "extra": [1, {"a": [null, true, -3.5e2, "\u0041"]}, {}], )"
       R"("": {"": 1}})",
       std::nullopt},
      {R"({"percentage": 0, "disease": null, "is_deleted": false, "is_active": true, )"
       R"("updated_at": {"$date": -1000}, "created_at": {"$date": 1696779589123}, )"
       R"("gps_coordinates": [1, 2], "data": {"$type": "0", "$binary": "_9j_4A"}, )"
       R"("camera_id": 5, "id": 11})",
       "potato-11"},
      {std::nullopt, "potato-7"},  // a tombstone
  };
}

// splitmix64: tiny, seeded, the same on every platform.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform enough in [0, n), n > 0.
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }

 private:
  std::uint64_t state_;
};

// Bytes that matter to JSON and to the decoder's readers.
constexpr std::array<std::string_view, 24> kTokens{"{",
                                                   "}",
                                                   "[",
                                                   "]",
                                                   "\"",
                                                   ",",
                                                   ":",
                                                   "\\",
                                                   "\\u",
                                                   "\\ud800",
                                                   "null",
                                                   "true",
                                                   "fals",
                                                   "-",
                                                   "1e999",
                                                   "0.5",
                                                   "9223372036854775808",
                                                   "\"$date\": ",
                                                   "{\"$binary\": ",
                                                   "\xff",
                                                   "\xc3",
                                                   "\x01",
                                                   " ",
                                                   "\"id\": 1, "};

// One random damage to `s`: overwrite, insert, truncate, delete or duplicate.
void mutate(std::string& s, Rng& rng) {
  const std::size_t at = s.empty() ? 0 : rng.below(s.size());
  switch (rng.below(6)) {
    case 0:
      if (!s.empty()) s[at] = static_cast<char>(rng.below(256));
      break;
    case 1:
      if (!s.empty()) s[at] = kTokens[rng.below(kTokens.size())][0];
      break;
    case 2:
      if (s.size() < kMaxValue - 32) s.insert(at, kTokens[rng.below(kTokens.size())]);
      break;
    case 3: s.resize(at); break;
    case 4: s.erase(at, 1 + rng.below(16)); break;
    default:
      if (s.size() < kMaxValue - 32) {
        const std::string copy = s.substr(at, 1 + rng.below(32));
        s.insert(rng.below(s.size() + 1), copy);
      }
      break;
  }
}

// Page-aligned scratch memory holding a value at two places: ending mid-page (simdjson's padding
// is readable, so the decoder parses in place unless the byte after could start a JSON token) and
// ending exactly at a page end (always copied).
class Placements {
 public:
  Placements() : storage_(std::make_unique<char[]>(9 * kPage)) {
    const auto addr = reinterpret_cast<std::uintptr_t>(storage_.get());
    base_ = storage_.get() + (kPage - addr % kPage) % kPage;  // 8 aligned pages
  }
  // `value` ending 1000 bytes into page 2, followed by `fill` bytes.
  const char* mid_page(std::string_view value, char fill) {
    char* end = base_ + 2 * kPage + 1000;
    std::fill(end, end + 128, fill);
    return place(value, end);
  }
  // `value` ending at the end of page 5.
  const char* page_end(std::string_view value) { return place(value, base_ + 6 * kPage); }

 private:
  static const char* place(std::string_view value, char* end) {
    char* start = end - value.size();
    if (!value.empty()) std::memcpy(start, value.data(), value.size());
    return start;
  }
  std::unique_ptr<char[]> storage_;
  char* base_ = nullptr;
};

DecodeResult decode_at(Decoder& decoder, const char* value, std::size_t size,
                       const std::optional<std::string>& key) {
  RawRecord r;
  r.origin = RecordOrigin{kTopic, kPartition, kOffset};
  if (key) {
    r.key = key->data();
    r.key_size = key->size();
  }
  r.value = value;
  r.value_size = size;
  return decoder.decode(r);
}

// What is wrong with a verdict, or "" if nothing: a rejection must name a field, say where the
// record came from, fit on one line, and not come from an exception escaping the readers.
std::string flaw(const DecodeResult& result) {
  const auto* error = std::get_if<DecodeError>(&result);
  if (error == nullptr) return {};
  if (error->field.empty()) return "a rejection without a field";
  if (error->problem.empty()) return "a rejection without a problem";
  if (error->problem.starts_with("could not decode")) return "an exception: " + error->problem;
  const std::string message = error->message(RecordOrigin{kTopic, kPartition, kOffset});
  if (!message.starts_with("potato/3@42: ")) return "a message without the origin: " + message;
  if (message.find('\n') != std::string::npos) return "a message of several lines: " + message;
  return {};
}

bool same_verdict(const DecodeResult& a, const DecodeResult& b) {
  if (a.index() != b.index()) return false;
  if (const auto* ea = std::get_if<DecodeError>(&a)) {
    const auto& eb = std::get<DecodeError>(b);
    return ea->field == eb.field && ea->problem == eb.problem;
  }
  const auto& va = std::get<ImageEvent>(a);
  const auto& vb = std::get<ImageEvent>(b);
  return va.plant == vb.plant && va.id == vb.id && va.record == vb.record;
}

std::string verdict_text(const DecodeResult& r) {
  if (const auto* e = std::get_if<DecodeError>(&r)) return "[" + e->field + ": " + e->problem + "]";
  return "[an event]";
}

// The bytes, printable, for a failure report.
std::string printable(std::string_view bytes) {
  std::string out;
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7F) {
      out += ch;
    } else {
      constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0x0F];
    }
  }
  return out;
}

// One damaged record and the byte that follows its value in memory.
struct Trial {
  std::optional<std::string> value;  // nullopt: a tombstone
  std::optional<std::string> key;
  char fill = ' ';
};

Trial damage(const Seed& seed, Rng& rng) {
  Trial t{seed.value, seed.key};
  const bool damage_key = !t.value || rng.below(16) == 0;
  if (damage_key && !t.key) t.key.emplace();
  std::string& target = damage_key ? *t.key : *t.value;
  for (std::size_t n = 1 + rng.below(3); n > 0; --n) mutate(target, rng);
  constexpr std::string_view kFills("\0 }]\"x,:n1\xff\t", 12);
  t.fill = kFills[rng.below(kFills.size())];
  return t;
}

// Decodes `t` in place and copied; what is wrong with the verdicts, or "" if nothing.
std::string try_trial(Decoder& decoder, Placements& memory, const Trial& t, bool& rejected) {
  const std::string_view value = t.value ? std::string_view(*t.value) : std::string_view();
  std::optional<DecodeResult> in_place, copied;
  try {
    in_place =
        decode_at(decoder, t.value ? memory.mid_page(value, t.fill) : nullptr, value.size(), t.key);
    copied = decode_at(decoder, t.value ? memory.page_end(value) : nullptr, value.size(), t.key);
  } catch (...) {
    return "decode threw";
  }
  rejected = std::holds_alternative<DecodeError>(*in_place);
  if (std::string problem = flaw(*in_place); !problem.empty()) return problem;
  if (std::string problem = flaw(*copied); !problem.empty()) return problem;
  if (!same_verdict(*in_place, *copied))
    return "the verdict depends on the bytes' place in memory: " + verdict_text(*in_place) +
           " in place, " + verdict_text(*copied) + " copied";
  return {};
}

}  // namespace

TEST_CASE("codec: mutated events always get a one-line verdict, wherever they sit in memory") {
  const std::vector<Seed> start = seeds();
  Decoder decoder;
  Placements memory;
  for (const Seed& seed : start) {
    bool rejected = true;
    CAPTURE(seed.value.value_or("<tombstone>"));
    REQUIRE(try_trial(decoder, memory, Trial{seed.value, seed.key}, rejected).empty());
    REQUIRE_FALSE(rejected);
  }
  Rng rng(20231008);
  int failures = 0;
  int rejections = 0;
  for (int i = 0; i < kIterations && failures < 10; ++i) {
    const Trial t = damage(start[static_cast<std::size_t>(i) % start.size()], rng);
    bool rejected = false;
    const std::string problem = try_trial(decoder, memory, t, rejected);
    rejections += rejected ? 1 : 0;
    if (problem.empty()) continue;
    ++failures;
    FAIL_CHECK(problem << "\n  iteration " << i
                       << ", value: " << printable(t.value.value_or("<tombstone>"))
                       << "\n  key: " << printable(t.key.value_or("<none>")));
  }
  CHECK(failures == 0);
  MESSAGE(rejections << " of " << kIterations << " mutated records rejected");
  CHECK(rejections > kIterations / 2);  // the mutations do damage
  CHECK(rejections < kIterations);      // ... and some leave a valid event
}
