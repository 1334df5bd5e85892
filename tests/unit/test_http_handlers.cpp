// The HTTP handlers without sockets: the Image API's shapes, every kind of bad request as a 4xx,
// a failing store as a 503, and the probes.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "codec/api_json.hpp"
#include "http/handlers.hpp"
#include "store_contract.hpp"

namespace lims {
namespace {

http::Response get(http::Handlers& h, std::string_view path, std::string_view fields = {},
                   std::string_view accept = {}) {
  return h.handle({"GET", path, fields, accept});
}

void check_error(const http::Response& r, int status, std::string_view detail_part) {
  CHECK(r.status == status);
  CHECK(r.content_type == "application/json");
  const auto j = nlohmann::json::parse(r.body);
  REQUIRE(j.contains("detail"));
  CHECK(j["detail"].get<std::string>().find(detail_part) != std::string::npos);
}

/// A store whose every call fails, as an unreachable one does.
class DownStore final : public store::ImageStore {
 public:
  std::vector<store::WriteResult> apply(std::span<const store::Write>) override { fail(); }
  std::optional<ImageRecord> get(Plant, std::int64_t) override { fail(); }
  std::int64_t count(Plant) override { fail(); }
  void scan_since(Plant, Micros, const std::function<bool(ImageRecord&&)>&) override { fail(); }
  std::string describe() const override { return "down"; }

 private:
  [[noreturn]] static void fail() { throw store::TransientError("connection refused"); }
};

struct Fixture {
  std::unique_ptr<store::ImageStore> store = store::open_store("sqlite::memory:");
  ImageRecord record = test::sample_record(42);
  Fixture() {
    REQUIRE(test::apply_one(*store, test::upsert_of(Plant::tomato, record)) ==
            store::Outcome::applied);
  }
};

}  // namespace

TEST_CASE("http: the image handlers answer in the Image API's shapes") {
  Fixture f;
  http::Handlers h(*f.store);

  auto r = get(h, "/ping");
  CHECK(r.status == 200);
  CHECK(r.body == "\"Hello, I am alive\"");

  r = get(h, "/image-plant/tomato/42");
  CHECK(r.status == 200);
  CHECK(r.content_type == "application/json");
  CHECK(r.body == codec::to_api_json(f.record));

  r = get(h, "/image-plant/tomato/42", "meta");
  CHECK(r.body == codec::to_api_json(f.record, false));

  for (const auto& jpeg : {get(h, "/image-plant/tomato/42", {}, "image/jpeg, */*"),
                           get(h, "/image-plant/tomato/42/jpeg")}) {
    CHECK(jpeg.status == 200);
    CHECK(jpeg.content_type == "image/jpeg");
    CHECK(jpeg.body == std::string(f.record.data.begin(), f.record.data.end()));
  }

  for (const char* path : {"/image-plant/tomato/total/", "/image-plant/tomato/total"}) {
    r = get(h, path);
    CHECK(r.status == 200);
    CHECK(r.body == "{\"total_images\":1}");
  }
  CHECK(get(h, "/image-plant/potato/total/").body == "{\"total_images\":0}");
}

TEST_CASE("http: bad requests get a 4xx naming what was wrong, never a 5xx") {
  Fixture f;
  http::Handlers h(*f.store);
  check_error(get(h, "/image-plant/tomato/43"), 404, "Image not found");
  check_error(get(h, "/image-plant/potato/42"), 404, "Image not found");
  check_error(get(h, "/image-plant/cabbage/1"), 422, "plant: expected potato, tomato or pepper");
  check_error(get(h, "/image-plant/cabbage/total/"), 422, "plant");
  for (const char* id : {"-1", "0", "+1", "1.5", "abc", "1e3", "9223372036854775808",
                         "99999999999999999999999999", " 1"}) {
    CAPTURE(id);
    check_error(get(h, std::string("/image-plant/tomato/") + id), 422, "image_id: expected");
  }
  check_error(get(h, "/image-plant/tomato/42/png"), 404, "Not Found");
  check_error(get(h, "/image-plant/../../etc/passwd"), 400, "must not contain");
  check_error(get(h, "/image-plant/tomato/./42"), 400, "must not contain");
  check_error(get(h, "/" + std::string(5000, 'a')), 414, "longer than");
  check_error(get(h, "/nothing/here"), 404, "Not Found");
  check_error(get(h, "/metrics"), 404, "Not Found");  // no metrics given
  check_error(h.handle({"POST", "/image-plant/tomato/42", {}, {}}), 405, "Method Not Allowed");
  // A value shown in a message is short and printable.
  const auto long_plant = get(h, "/image-plant/" + std::string(300, 'x') + "\x01/1");
  CHECK(long_plant.status == 422);
  CHECK(long_plant.body.size() < 200);
}

TEST_CASE("http: probes and metrics") {
  Fixture f;
  std::optional<std::string> objection;
  http::Handlers h(
      *f.store, [&] { return objection; }, [] { return std::string("lims_up 1\n"); });
  CHECK(get(h, "/healthz").status == 200);
  auto r = get(h, "/readyz");
  CHECK(r.status == 200);
  CHECK(r.body == "{\"status\":\"ready\"}");
  objection = "backing off: the store is failing";
  r = get(h, "/readyz");
  CHECK(r.status == 503);
  CHECK(nlohmann::json::parse(r.body)["reason"] == "backing off: the store is failing");
  r = get(h, "/metrics");
  CHECK(r.status == 200);
  CHECK(r.content_type == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(r.body == "lims_up 1\n");
}

TEST_CASE("http: a failing store is a 503 with the reason, and not ready") {
  DownStore down;
  http::Handlers h(down);
  check_error(get(h, "/image-plant/tomato/1"), 503, "store unavailable: connection refused");
  check_error(get(h, "/image-plant/tomato/total/"), 503, "store unavailable");
  const auto r = get(h, "/readyz");
  CHECK(r.status == 503);
  CHECK(nlohmann::json::parse(r.body)["reason"] == "store: connection refused");
  CHECK(get(h, "/healthz").status == 200);  // alive all the same
}

}  // namespace lims
