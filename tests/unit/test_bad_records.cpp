// The bad-record sinks that need no broker: the JSON-lines dead-letter file, skip and fail.

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "common/error.hpp"
#include "sync/bad_records.hpp"

namespace lims {
namespace {

codec::RawRecord raw(std::string_view key, std::optional<std::string_view> value,
                     std::int64_t offset = 7) {
  return {{"tomato", 2, offset},
          key.data(),
          key.size(),
          value ? value->data() : nullptr,
          value ? value->size() : 0};
}

std::string temp_path() {
  char path[] = "/tmp/lims-dead-letters-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  ::close(fd);
  return path;
}

}  // namespace

TEST_CASE("dead letters: a JSON line keeps the reason, the origin and the bytes") {
  SUBCASE("text key and value stay text, escaped") {
    const auto j = nlohmann::json::parse(sync::dead_letter_json(
        raw("42", std::string_view("{\"id\": \"x\"}\n\t")), "tomato/2@7: id: expected", "g1"));
    CHECK(j["error"] == "tomato/2@7: id: expected");
    CHECK(j["topic"] == "tomato");
    CHECK(j["partition"] == 2);
    CHECK(j["offset"] == 7);
    CHECK(j["group"] == "g1");
    CHECK(j["key"] == "42");
    CHECK(j["value"] == "{\"id\": \"x\"}\n\t");
  }
  SUBCASE("bytes that are not UTF-8 go as base64") {
    const std::string bytes("\xff\x00\xfe", 3);
    const auto j =
        nlohmann::json::parse(sync::dead_letter_json(raw("k", std::string_view(bytes)), "r", "g"));
    CHECK_FALSE(j.contains("value"));
    CHECK(j["value_base64"] == "/wD+");
  }
  SUBCASE("a tombstone and a missing key are null; an empty value is an empty string") {
    codec::RawRecord r = raw("", std::nullopt);
    r.key = nullptr;
    auto j = nlohmann::json::parse(sync::dead_letter_json(r, "r", "g"));
    CHECK(j["key"].is_null());
    CHECK(j["value"].is_null());
    j = nlohmann::json::parse(sync::dead_letter_json(raw("1", std::string_view("")), "r", "g"));
    CHECK(j["value"] == "");
  }
}

TEST_CASE("dead letters: the file gets one line per record, appended, and survives a reopen") {
  const std::string path = temp_path();
  {
    sync::DeadLetterFile file(path, "g");
    file.reject(raw("1", std::string_view("bad one"), 1), "tomato/2@1: value: expected JSON");
    file.reject(raw("2", std::string_view("bad two"), 2), "tomato/2@2: value: expected JSON");
    file.flush();
  }
  {
    sync::DeadLetterFile again(path, "g");  // appends, never truncates
    again.reject(raw("3", std::nullopt, 3), "tomato/2@3: key: expected an id");
  }  // the destructor flushes
  std::ifstream in(path);
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  REQUIRE(lines.size() == 3);
  CHECK(lines[0]["offset"] == 1);
  CHECK(lines[1]["value"] == "bad two");
  CHECK(lines[2]["error"] == "tomato/2@3: key: expected an id");
  std::remove(path.c_str());
}

TEST_CASE("dead letters: an unwritable file is a usage error naming it") {
  try {
    sync::DeadLetterFile file("/nonexistent-dir/dead.jsonl", "g");
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::usage);
    CHECK(std::string(e.what()).find("/nonexistent-dir/dead.jsonl") != std::string::npos);
  }
}

TEST_CASE("dead letters: fail stops the run with the reason, skip carries on") {
  sync::FailOnBadRecord fail;
  const auto stop =
      fail.reject(raw("1", std::string_view("x")), "tomato/2@7: value: expected JSON");
  CHECK(stop.stop);
  CHECK(stop.why.find("tomato/2@7: value: expected JSON") != std::string::npos);
  CHECK(stop.why.find("--on-bad-record=fail") != std::string::npos);
  sync::SkipBadRecords skip;
  CHECK_FALSE(
      skip.reject(raw("1", std::string_view("x")), "tomato/2@7: value: expected JSON").stop);
  CHECK_NOTHROW(skip.flush());
}

}  // namespace lims
