#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "codec/time.hpp"

using lims::Micros;
using lims::codec::format_time;
using lims::codec::parse_iso_time;

namespace {
constexpr Micros kExample = 1'696'779'589'123'123;  // 2023-10-08T15:39:49.123123 (Python)
}

TEST_CASE("codec: time: parses the LIMS form and its variants") {
  CHECK(parse_iso_time("1970-01-01T00:00:00") == Micros{0});
  CHECK(parse_iso_time("2023-10-08T15:39:49.123123") == kExample);
  CHECK(parse_iso_time("2023-10-08 15:39:49.123123") == kExample);
  CHECK(parse_iso_time("2023-10-08T15:39:49.123123Z") == kExample);
  CHECK(parse_iso_time("2023-10-08T15:39:49.123123+00:00") == kExample);
  CHECK(parse_iso_time("2023-10-08T17:39:49.123123+02:00") == kExample);
  CHECK(parse_iso_time("2023-10-08T17:39:49.123123+0200") == kExample);
  CHECK(parse_iso_time("2023-10-08T10:09:49.123123-05:30") == kExample);
  CHECK(parse_iso_time("2023-10-08T10:09:49.123123-0530") == kExample);
  CHECK(parse_iso_time("2023-10-08T15:39:49") == Micros{1'696'779'589'000'000});
  CHECK(parse_iso_time("0001-01-01T00:00:00") == Micros{-62'135'596'800'000'000});
  CHECK(parse_iso_time("9999-12-31T23:59:59.999999") == Micros{253'402'300'799'999'999});
  CHECK(parse_iso_time("1969-12-31T23:59:59.999999") == Micros{-1});
  CHECK(parse_iso_time("1900-03-01T00:00:00") == Micros{-2'203'891'200'000'000});
}

TEST_CASE("codec: time: 0 to 6 fraction digits scale to microseconds") {
  const Micros base = 1'696'779'589'000'000;
  CHECK(parse_iso_time("2023-10-08T15:39:49") == base);
  CHECK(parse_iso_time("2023-10-08T15:39:49.1") == base + 100'000);
  CHECK(parse_iso_time("2023-10-08T15:39:49.12") == base + 120'000);
  CHECK(parse_iso_time("2023-10-08T15:39:49.123") == base + 123'000);
  CHECK(parse_iso_time("2023-10-08T15:39:49.1231") == base + 123'100);
  CHECK(parse_iso_time("2023-10-08T15:39:49.12312") == base + 123'120);
  CHECK(parse_iso_time("2023-10-08T15:39:49.000001") == base + 1);
  CHECK(parse_iso_time("2023-10-08T15:39:49.1Z") == base + 100'000);
  CHECK_FALSE(parse_iso_time("2023-10-08T15:39:49.1231231"));
  CHECK_FALSE(parse_iso_time("2023-10-08T15:39:49."));
}

TEST_CASE("codec: time: leap years and days per month") {
  CHECK(parse_iso_time("2024-02-29T12:00:00") == Micros{1'709'208'000'000'000});
  CHECK(parse_iso_time("2000-02-29T00:00:00"));
  CHECK_FALSE(parse_iso_time("2023-02-29T00:00:00"));
  CHECK_FALSE(parse_iso_time("1900-02-29T00:00:00"));
  CHECK_FALSE(parse_iso_time("2023-04-31T00:00:00"));
  CHECK(parse_iso_time("2023-01-31T00:00:00"));
  CHECK(parse_iso_time("2023-12-31T00:00:00"));
}

TEST_CASE("codec: time: rejects malformed and out-of-range times") {
  const char* bad[] = {
      "",
      "2023-10-08",
      "2023-10-08T15:39",
      "2023-13-08T15:39:49",
      "2023-00-08T15:39:49",
      "2023-10-00T15:39:49",
      "2023-10-32T15:39:49",
      "2023-10-08T24:00:00",
      "2023-10-08T15:60:49",
      "2023-10-08T15:39:60",
      "2023-10-08T15:39:61",
      "0000-01-01T00:00:00",
      "2023/10/08T15:39:49",
      "2023-10-08t15:39:49",
      "2023-10-08T15:39:49 ",
      " 2023-10-08T15:39:49",
      "2023-10-08T15:39:49+02",
      "2023-10-08T15:39:49+2:00",
      "2023-10-08T15:39:49+24:00",
      "2023-10-08T15:39:49+02:60",
      "2023-10-08T15:39:49+02:00Z",
      "2023-10-08T15:39:49ZZ",
      "2023-10-08T15:39:49.12a",
      "+023-10-08T15:39:49",
      "2023-1a-08T15:39:49",
  };
  for (const char* text : bad) {
    CAPTURE(text);
    CHECK_FALSE(parse_iso_time(text));
  }
}

TEST_CASE("codec: time: formats like Python's isoformat") {
  CHECK(format_time(0) == "1970-01-01T00:00:00");
  CHECK(format_time(kExample) == "2023-10-08T15:39:49.123123");
  CHECK(format_time(1'696'779'589'000'000) == "2023-10-08T15:39:49");
  CHECK(format_time(1'696'779'589'100'000) == "2023-10-08T15:39:49.100000");
  CHECK(format_time(1) == "1970-01-01T00:00:00.000001");
  CHECK(format_time(-1) == "1969-12-31T23:59:59.999999");
  CHECK(format_time(-1'000'000) == "1969-12-31T23:59:59");
  CHECK(format_time(-2'203'891'200'000'000) == "1900-03-01T00:00:00");
  CHECK(format_time(-62'135'596'800'000'000) == "0001-01-01T00:00:00");
  CHECK(format_time(253'402'300'799'999'999) == "9999-12-31T23:59:59.999999");
  // The whole int64 range formats without overflow.
  CHECK_FALSE(format_time(std::numeric_limits<Micros>::min()).empty());
  CHECK_FALSE(format_time(std::numeric_limits<Micros>::max()).empty());
}

TEST_CASE("codec: time: format then parse round-trips to the microsecond") {
  std::uint64_t x = 12345;
  for (int i = 0; i < 2000; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    // Anywhere in years 1..9999.
    const Micros t = -62'135'596'800'000'000 + static_cast<Micros>(x % 315'537'897'600'000'000ull);
    const std::string text = format_time(t);
    CAPTURE(text);
    CHECK(parse_iso_time(text) == t);
  }
}
