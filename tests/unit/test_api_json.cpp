#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "codec/api_json.hpp"
#include "codec/binary.hpp"

using lims::ImageRecord;
using lims::codec::DataEncoding;
using lims::codec::to_api_json;
using lims::codec::to_event_json;

namespace {

ImageRecord example() {
  ImageRecord r;
  r.id = 1;
  r.camera_id = 1;
  r.data = {0xff, 0xd8, 0xff, 0xe0};
  r.latitude = 48.476563;
  r.longitude = 16.585654;
  r.created_at = 1'696'779'589'123'123;  // 2023-10-08T15:39:49.123123
  r.updated_at = 1'696'779'589'123'123;
  return r;
}

std::string percentage_text(double p) {
  ImageRecord r = example();
  r.percentage = p;
  const std::string json = to_api_json(r, false);
  const std::string key = "\"percentage\":";
  return json.substr(json.find(key) + key.size(), json.size() - json.find(key) - key.size() - 1);
}

}  // namespace

TEST_CASE("codec: api_json: the Image API's shape, key order and compact form") {
  CHECK(to_api_json(example()) ==
        R"({"id":1,"camera_id":1,"data":"ffd8ffe0","gps_coordinates":[48.476563,16.585654],)"
        R"("created_at":"2023-10-08T15:39:49.123123","updated_at":"2023-10-08T15:39:49.123123",)"
        R"("is_active":false,"is_deleted":false,"disease":null,"percentage":null})");
  const auto parsed = nlohmann::ordered_json::parse(to_api_json(example()));
  std::vector<std::string> keys;
  for (const auto& item : parsed.items()) keys.push_back(item.key());
  CHECK(keys == std::vector<std::string>{"id", "camera_id", "data", "gps_coordinates", "created_at",
                                         "updated_at", "is_active", "is_deleted", "disease",
                                         "percentage"});
}

TEST_CASE("codec: api_json: nulls, booleans, whole seconds and no data") {
  ImageRecord r = example();
  r.updated_at.reset();
  r.created_at = 1'696'779'589'000'000;
  r.is_active = true;
  r.is_deleted = true;
  r.disease = "Bacterial Spot";
  r.percentage = 0.87;
  CHECK(to_api_json(r, false) ==
        R"({"id":1,"camera_id":1,"gps_coordinates":[48.476563,16.585654],)"
        R"("created_at":"2023-10-08T15:39:49","updated_at":null,)"
        R"("is_active":true,"is_deleted":true,"disease":"Bacterial Spot","percentage":0.87})");
}

TEST_CASE("codec: api_json: doubles print as Python's repr") {
  CHECK(percentage_text(0.0) == "0.0");
  CHECK(percentage_text(1.0) == "1.0");
  CHECK(percentage_text(0.1) == "0.1");
  CHECK(percentage_text(1e-05) == "1e-05");
  CHECK(percentage_text(0.0001) == "0.0001");
  CHECK(percentage_text(1.5e-7) == "1.5e-07");
  CHECK(percentage_text(100.0) == "100.0");
  CHECK(percentage_text(-0.0) == "-0.0");
  CHECK(percentage_text(1e15) == "1000000000000000.0");
  CHECK(percentage_text(1e16) == "1e+16");
  CHECK(percentage_text(123456789.123) == "123456789.123");
  CHECK(percentage_text(-48.5) == "-48.5");
  CHECK(percentage_text(0.30000000000000004) == "0.30000000000000004");
  CHECK(percentage_text(1.7976931348623157e308) == "1.7976931348623157e+308");
  CHECK(percentage_text(5e-324) == "5e-324");
}

TEST_CASE("codec: api_json: disease strings are escaped as JSON, UTF-8 kept") {
  ImageRecord r = example();
  r.disease = "a\"b\\c\nd\te\x01 Fleckenkrankheit \xc3\xa4";
  const std::string json = to_api_json(r, false);
  CHECK(json.find(R"("disease":"a\"b\\c\nd\te\u0001 Fleckenkrankheit )"
                  "\xc3\xa4\"") != std::string::npos);
  CHECK(nlohmann::json::parse(json)["disease"] == *r.disease);
}

TEST_CASE("codec: api_json: event JSON carries data as hex or base64") {
  const ImageRecord r = example();
  const auto hex = nlohmann::json::parse(to_event_json(r, DataEncoding::hex));
  CHECK(hex["data"] == "ffd8ffe0");
  const auto b64 = nlohmann::json::parse(to_event_json(r, DataEncoding::base64));
  CHECK(b64["data"] == "/9j/4A==");
  CHECK(to_event_json(r) == to_api_json(r));
}
