// Durations as every duration flag spells them (--since, --sla, --delete-marker-retention, ...).

#include <doctest/doctest.h>

#include "common/error.hpp"
#include "common/time_units.hpp"

namespace lims {

TEST_CASE("durations: one grammar for every duration flag") {
  constexpr Micros s = 1'000'000;
  CHECK(parse_duration("90s") == 90 * s);
  CHECK(parse_duration("30m") == 1800 * s);
  CHECK(parse_duration("1h30m") == 5400 * s);
  CHECK(parse_duration("2d") == 172800 * s);
  CHECK(parse_duration("0s") == 0);
  CHECK(parse_duration("500ms") == 500'000);
  CHECK(parse_duration("1.5s") == 1'500'000);
  CHECK(parse_duration("0.25h") == 900 * s);
  CHECK(parse_duration("1m500ms") == 60 * s + 500'000);
  for (const char* bad : {"", "h", "1", "1x", "-1h", "1h 30m", ".5s", "1.s", "1..5s", "ms",
                          "99999999999999s", "40000d", "1e3s"})
    CHECK_MESSAGE(!parse_duration(bad), bad);
}

TEST_CASE("durations: a bad one is a usage error naming the option and the grammar") {
  CHECK(duration_arg("10s", "--sla") == 10'000'000);
  try {
    duration_arg("10 seconds", "--sla");
    FAIL("expected a usage error");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::usage);
    CHECK(std::string(e.what()).starts_with("--sla '10 seconds': expected a duration"));
  }
}

}  // namespace lims
