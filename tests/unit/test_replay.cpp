// lims replay's pieces without a broker: the record-line format, the play order, the capture
// file, and --since's durations.

#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <variant>

#include "codec/record_line.hpp"
#include "codec/time.hpp"
#include "common/error.hpp"
#include "replay/merge.hpp"
#include "replay/play.hpp"

namespace lims {
namespace {

using codec::LineError;
using codec::RecordLine;

std::string line_of(const RecordLine& r) {
  std::string out;
  codec::append_record_line(out, r.view());
  return out;
}

RecordLine parsed(std::string_view line) {
  codec::RecordLineParser parser;
  auto result = parser.parse(line);
  if (const auto* e = std::get_if<LineError>(&result)) FAIL_CHECK(e->message("test", 1));
  REQUIRE(std::holds_alternative<RecordLine>(result));
  return std::get<RecordLine>(std::move(result));
}

/// The message of the error a bad line gets ("f:3: <field>: <problem>").
std::string error_of(std::string_view line) {
  codec::RecordLineParser parser;
  auto result = parser.parse(line);
  REQUIRE(std::holds_alternative<LineError>(result));
  return std::get<LineError>(result).message("f", 3);
}

RecordLine example() {
  return {"tomato", 2, 41, 1696779589123, "17", R"({"id": 17, "data": "ffd8"})"};
}

}  // namespace

TEST_CASE("replay: a record line has the documented shape") {
  CHECK(line_of(example()) ==
        R"({"topic":"tomato","partition":2,"offset":41,"timestamp":1696779589123,"key":"17",)"
        R"("value":"{\"id\": 17, \"data\": \"ffd8\"}"})");
  RecordLine tombstone{"potato", 0, 0, -1, std::nullopt, std::nullopt};
  CHECK(line_of(tombstone) ==
        R"({"topic":"potato","partition":0,"offset":0,"timestamp":-1,"key":null,"value":null})");
  const auto j = nlohmann::json::parse(line_of(example()));  // any JSON reader takes it
  CHECK(j["value"] == R"({"id": 17, "data": "ffd8"})");
}

TEST_CASE("replay: record lines round trip, bytes included") {
  std::vector<RecordLine> cases = {
      example(),
      {"potato", 0, 0, -1, std::nullopt, std::nullopt},            // no key, tombstone
      {"pepper", 7, 1LL << 40, 0, "", ""},                         // empty, not null
      {"stg.tomato", 2147483647, 3, 5, "tomato-3", std::nullopt},  // biggest partition
      {"t", 1, 2, 3, std::string("\xff\x00\xfe", 3), std::string("a\0b\xc3", 4)},  // not UTF-8
      {"t", 1, 2, 3, "\xc3\xa9t\xc3\xa9 \xe2\x82\xac",
       "\"\\/\b\f\n\r\t\x01\x7f"},  // UTF-8, escapes
  };
  for (const auto& r : cases) {
    const std::string line = line_of(r);
    CAPTURE(line);
    CHECK(line.find('\n') == std::string::npos);
    CHECK(parsed(line) == r);
  }
  SUBCASE("bytes that are not UTF-8 go as base64") {
    const auto j = nlohmann::json::parse(line_of(cases[4]));
    CHECK(j["key_base64"] == "/wD+");
    CHECK(j["value_base64"] == "YQBiww==");
    CHECK_FALSE(j.contains("key"));
    CHECK_FALSE(j.contains("value"));
  }
}

TEST_CASE("replay: a record line may order its fields freely and carry more") {
  const RecordLine r =
      parsed(R"( {"value":"v","extra":{"a":[1,2]},"key":null,"timestamp":9,"offset":8,)"
             R"("partition":7,"topic":"potato"} )");
  CHECK(r == RecordLine{"potato", 7, 8, 9, std::nullopt, "v"});
}

TEST_CASE("replay: a bad line is named by file, line and field") {
  const std::string good_head = R"({"topic":"x","partition":0,"offset":0,"timestamp":1,)";
  CHECK(error_of(good_head + R"("key":"a"})") ==
        "f:3: value: expected the field (a string, null, or value_base64); it is missing");
  CHECK(error_of(R"({"partition":0,"offset":0,"timestamp":1,"key":"a","value":"1"})") ==
        "f:3: topic: expected the field; it is missing");
  CHECK(error_of(good_head + R"("key":"a","value":"1","value_base64":"AA=="})") ==
        "f:3: value_base64: expected either value or value_base64; got both");
  CHECK(error_of(
            R"({"topic":"x","partition":"zero","offset":0,"timestamp":1,"key":"a","value":"1"})") ==
        "f:3: partition: expected a partition number (an integer >= 0); got a string \"zero\"");
  CHECK(
      error_of(R"({"topic":"x","partition":-1,"offset":0,"timestamp":1,"key":"a","value":"1"})") ==
      "f:3: partition: expected a partition number (an integer >= 0); got -1");
  CHECK(
      error_of(
          R"({"topic":"x","partition":4294967296,"offset":0,"timestamp":1,"key":"a","value":"1"})") ==
      "f:3: partition: expected a partition number (an integer >= 0); got 4294967296 (beyond 32 "
      "bits)");
  CHECK(error_of(R"({"topic":"x","partition":0,"offset":0,"timestamp":1.5,"key":"a","value":"1"})")
            .starts_with("f:3: timestamp: expected milliseconds since the epoch"));
  CHECK(error_of(good_head + R"("key":7,"value":"1"})") ==
        "f:3: key: expected a string or null; got 7");
  CHECK(error_of(good_head + R"("key":"a","value_base64":"!!"})") ==
        "f:3: value_base64: expected base64 bytes; got a string that is not base64: \"!!\"");
  CHECK(error_of(R"({"topic":"a b","partition":0,"offset":0,"timestamp":1,"key":"a","value":"1"})")
            .starts_with("f:3: topic: expected a Kafka topic name"));
  CHECK(error_of(good_head + R"("key":"a","key":"b","value":"1"})") ==
        "f:3: key: expected the field once; got it twice");
  CHECK(error_of("not json") == "f:3: line: expected a JSON object; got not json");
  CHECK(error_of("[1]") == "f:3: line: expected a JSON object; got an array");
  CHECK(error_of("") == "f:3: line: expected a JSON object, got only whitespace");
  CHECK(error_of(good_head + R"("key":"a","value":"1"} {})")
            .starts_with("f:3: line: expected nothing after the JSON object; got {}"));
  CHECK(error_of(good_head + R"("key":"a","value":"1")")
            .starts_with("f:3: line: expected one whole JSON object"));
  CHECK(error_of(good_head + "\"key\":\"a\",\"value\":\"\xff\"}") ==
        "f:3: line: expected a JSON object; got invalid UTF-8");
  // What a message shows is printable and on one line, whatever the line held.
  const std::string shown = error_of("\x01\x02\n");
  CHECK(std::none_of(shown.begin(), shown.end(), [](char c) { return c == '\n' || c == 1; }));
}

// ---- the play order -----------------------------------------------------------------------------

TEST_CASE("replay: the merge goes by time across partitions, by offset within one") {
  // p0's timestamps go back in time (30 after 50): its order still holds.
  const std::vector<replay::CapturedStamp> records = {
      {"potato", 0, 0, 10}, {"potato", 0, 1, 50}, {"potato", 0, 2, 30},
      {"potato", 1, 0, 20}, {"potato", 1, 1, 40}, {"tomato", 0, 0, 35},
  };
  const auto merged = replay::merge_by_time(records);
  CHECK(merged.order == std::vector<std::size_t>{0, 3, 5, 4, 1, 2});
  CHECK(merged.time_ms == std::vector<std::int64_t>{10, 50, 30, 20, 40, 35});
}

TEST_CASE("replay: the merge sorts a partition by offset and breaks ties by input order") {
  const std::vector<replay::CapturedStamp> records = {
      {"t", 0, 5, 100}, {"t", 1, 0, 100}, {"t", 0, 4, 100}, {"u", 0, 0, 100}, {"t", 0, 4, 100},
  };
  // t/0 by offset: 4 (index 2), 4 (index 4, a duplicate keeps its place), 5 (index 0).
  CHECK(replay::merge_by_time(records).order == std::vector<std::size_t>{1, 2, 3, 4, 0});
}

TEST_CASE("replay: an unknown timestamp takes its partition's previous one, else its next") {
  const std::vector<replay::CapturedStamp> records = {
      {"t", 0, 0, -1}, {"t", 0, 1, 70}, {"t", 0, 2, -1}, {"t", 1, 0, -1}, {"t", 2, 0, 60},
  };
  const auto merged = replay::merge_by_time(records);
  CHECK(merged.time_ms == std::vector<std::int64_t>{70, 70, 70, 0, 60});
  CHECK(merged.order == std::vector<std::size_t>{3, 4, 0, 1, 2});
}

TEST_CASE("replay: the merge keeps every key's order on random captures") {
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    std::vector<replay::CapturedStamp> records;
    std::map<int, std::int64_t> next_offset;
    const int n = 1 + static_cast<int>(rng() % 200);
    for (int i = 0; i < n; ++i) {
      const int p = static_cast<int>(rng() % 4);
      records.push_back({p % 2 ? "potato" : "tomato", p, next_offset[p]++,
                         static_cast<std::int64_t>(rng() % 1000) - 1});
    }
    std::shuffle(records.begin(), records.end(), rng);  // file order need not be offset order
    const auto merged = replay::merge_by_time(records);
    REQUIRE(merged.order.size() == records.size());
    std::vector<bool> seen(records.size());
    std::map<int, std::int64_t> last;  // per partition: the offset played last
    for (std::size_t i : merged.order) {
      REQUIRE_FALSE(seen[i]);
      seen[i] = true;
      const auto& r = records[i];
      CHECK(r.offset == (last.count(r.partition) ? last[r.partition] + 1 : 0));
      last[r.partition] = r.offset;
    }
  }
}

TEST_CASE("replay: with timestamps that grow in each partition, the merge is in time order") {
  std::mt19937 rng(11);
  std::vector<replay::CapturedStamp> records;
  std::vector<std::int64_t> clock(3, 0);
  for (int i = 0; i < 300; ++i) {
    const int p = static_cast<int>(rng() % 3);
    clock[p] += rng() % 50;
    records.push_back({"t", p, i, clock[p]});
  }
  const auto merged = replay::merge_by_time(records);
  for (std::size_t k = 1; k < merged.order.size(); ++k)
    CHECK(records[merged.order[k - 1]].timestamp_ms <= records[merged.order[k]].timestamp_ms);
}

// ---- the capture file ---------------------------------------------------------------------------

namespace {

std::string temp_capture(const std::string& text) {
  char path[] = "/tmp/lims-capture-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  ::close(fd);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

}  // namespace

TEST_CASE("replay: a capture is checked whole, then read in play order") {
  std::string text;
  const std::vector<RecordLine> lines = {
      {"tomato", 0, 0, 300, "1", "a"},
      {"potato", 0, 0, 100, "1", std::nullopt},
      {"tomato", 0, 1, 200, std::nullopt, std::string("\xff", 1)},
  };
  for (const auto& r : lines) text += line_of(r) + "\n\n";  // blank lines are skipped
  const std::string path = temp_capture(text);
  replay::Capture capture(path);
  REQUIRE(capture.size() == 3);
  CHECK(capture.order() == std::vector<std::size_t>{1, 0, 2});
  for (std::size_t i = 0; i < 3; ++i) CHECK(capture.read(i) == lines[i]);
  CHECK(capture.time_ms(2) == 200);
  ::unlink(path.c_str());
}

TEST_CASE("replay: a capture with a bad line is refused with file:line, exit 2") {
  const std::string path = temp_capture(line_of(example()) + "\n\n" +
                                        R"({"topic":"x","partition":0,"offset":0})" + "\n");
  try {
    replay::Capture capture(path);
    FAIL("a bad line was accepted");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == path + ":3: timestamp: expected the field; it is missing");
    CHECK(e.code() == ExitCode::usage);
  }
  ::unlink(path.c_str());
  CHECK_THROWS_AS(replay::Capture("/nonexistent/capture"), Error);
}

}  // namespace lims
