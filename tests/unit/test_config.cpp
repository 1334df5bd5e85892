// Small configuration parsers: -X properties, log levels, plant names.

#include <doctest/doctest.h>

#include "common/error.hpp"
#include "common/log.hpp"
#include "kafka/config.hpp"
#include "model/image.hpp"

namespace lims {

TEST_CASE("config: -X key=value splits at the first '='") {
  CHECK(kafka::parse_property("fetch.wait.max.ms=50") ==
        std::pair<std::string, std::string>{"fetch.wait.max.ms", "50"});
  CHECK(kafka::parse_property("sasl.password=a=b") ==
        std::pair<std::string, std::string>{"sasl.password", "a=b"});
  CHECK(kafka::parse_property("debug=") == std::pair<std::string, std::string>{"debug", ""});
  for (const char* bad : {"nonsense", "=value", ""}) {
    CAPTURE(bad);
    try {
      kafka::parse_property(bad);
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::usage);
      CHECK(std::string(e.what()).find("key=value") != std::string::npos);
    }
  }
}

TEST_CASE("config: secret -X properties are known as such, so their values are never printed") {
  for (const char* key : {"sasl.password", "ssl.key.password", "ssl.keystore.password",
                          "sasl.oauthbearer.client.secret", "sasl.oauthbearer.config",
                          "ssl.key.pem", "sasl.jaas.config"}) {
    CAPTURE(key);
    CHECK(kafka::is_sensitive(key));
  }
  for (const char* key : {"bootstrap.servers", "sasl.username", "security.protocol",
                          "ssl.ca.location", "fetch.wait.max.ms"}) {
    CAPTURE(key);
    CHECK_FALSE(kafka::is_sensitive(key));
  }
}

TEST_CASE("config: log levels") {
  CHECK(log::parse_level("debug") == log::Level::debug);
  CHECK(log::parse_level("warning") == log::Level::warn);
  CHECK(log::parse_level("off") == log::Level::off);
  CHECK_THROWS_AS(log::parse_level("loud"), Error);
}

TEST_CASE("config: plant names are exact") {
  for (Plant p : kPlants) CHECK(parse_plant(plant_name(p)) == p);
  CHECK_FALSE(parse_plant("Tomato").has_value());
  CHECK_FALSE(parse_plant("tomatoes").has_value());
  CHECK(describe({"tomato", 2, 17}) == "tomato/2@17");
}

}  // namespace lims
