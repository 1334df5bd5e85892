// The HTTP handlers without sockets: the Image API's shapes, every kind of bad request as a 4xx,
// a failing store as a 503, and the probes.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "codec/api_json.hpp"
#include "http/handlers.hpp"
#include "metrics/registry.hpp"
#include "forwarding_store.hpp"
#include "store_contract.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace lims {
namespace {

http::Response get(http::Handlers& h, std::string_view path, std::string_view fields = {},
                   std::string_view accept = {}) {
  return h.handle({"GET", path, fields, accept});
}

http::Response latest(http::Handlers& h, std::string_view plant, std::string_view n = {}) {
  return h.handle({"GET", "/api/latest", {}, {}, plant, n});
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
  void scan_after(Plant, store::CopyPosition, const std::function<bool(ImageRecord&&)>&) override {
    fail();
  }
  std::optional<store::CopyPosition> load_position(const std::string&) override { fail(); }
  void save_position(const std::string&, store::CopyPosition) override { fail(); }
  std::vector<ImageRecord> latest(Plant, std::size_t) override { fail(); }
  std::string describe() const override { return "down"; }
  std::string identity() const override { return "down"; }
  std::size_t expire_markers(Micros) override { fail(); }

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

/// Where the reads of several connections meet: each read waits (10 s at most) until `want`
/// reads are inside the store at once, so reads that run in parallel all get through, and a
/// read that had to wait for another alone times out.
struct Meeting {
  int want = 1;
  std::mutex mutex;
  std::condition_variable met;
  int inside = 0;
  int most = 0;
  bool timed_out = false;
};

/// One connection: counts its reads at once (never more than one may run on a connection).
class MeetingStore final : public test::ForwardingStore {
 public:
  MeetingStore(store::ImageStore& inner, std::mutex& inner_mutex, Meeting& meeting)
      : ForwardingStore(inner), inner_mutex_(inner_mutex), meeting_(meeting) {}
  std::optional<ImageRecord> get(Plant plant, std::int64_t id) override {
    if (++running_ > 1) overlapped = true;
    {
      std::unique_lock lock(meeting_.mutex);
      meeting_.most = std::max(meeting_.most, ++meeting_.inside);
      meeting_.met.notify_all();
      if (!meeting_.met.wait_for(lock, std::chrono::seconds(10),
                                 [this] { return meeting_.most >= meeting_.want; }))
        meeting_.timed_out = true;
      --meeting_.inside;
    }
    std::optional<ImageRecord> record;
    {
      std::lock_guard lock(inner_mutex_);
      record = inner_.get(plant, id);
    }
    --running_;
    return record;
  }
  std::atomic<bool> overlapped = false;

 private:
  std::mutex& inner_mutex_;
  Meeting& meeting_;
  std::atomic<int> running_ = 0;
};

}  // namespace

TEST_CASE("http: reads spread over the store connections, one request per connection at once") {
  auto store = store::open_store("sqlite::memory:");
  REQUIRE(test::apply_one(*store, test::upsert_of(Plant::tomato, test::sample_record(7))) ==
          store::Outcome::applied);
  std::mutex inner_mutex;
  Meeting meeting;
  auto run = [&](std::vector<store::ImageStore*> connections, int requests) {
    http::Handlers h(std::move(connections));
    std::vector<std::thread> threads;
    std::atomic<int> ok = 0;
    for (int i = 0; i < requests; ++i)
      threads.emplace_back([&] { ok += get(h, "/image-plant/tomato/7").status == 200; });
    for (auto& t : threads) t.join();
    return ok.load();
  };
  SUBCASE("two connections: two reads run at once") {
    MeetingStore a(*store, inner_mutex, meeting), b(*store, inner_mutex, meeting);
    meeting.want = 2;
    CHECK(run({&a, &b}, 2) == 2);
    CHECK_FALSE(meeting.timed_out);
    CHECK(meeting.most == 2);
    CHECK_FALSE(a.overlapped);
    CHECK_FALSE(b.overlapped);
  }
  SUBCASE("one connection: reads take turns") {
    MeetingStore a(*store, inner_mutex, meeting);
    meeting.want = 1;
    CHECK(run({&a}, 4) == 4);
    CHECK(meeting.most == 1);
    CHECK_FALSE(a.overlapped);
  }
  CHECK_THROWS_AS(http::Handlers(std::vector<store::ImageStore*>{}), Error);
}

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
  metrics::Registry registry;
  registry.gauge("lims_up", "up").with().set(1);
  http::Handlers h(*f.store, {.readiness = [&] { return objection; }, .metrics = &registry});
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
  CHECK(r.body.starts_with("# HELP lims_up up\n# TYPE lims_up gauge\nlims_up 1\n"));
}

TEST_CASE("http: every request is counted by route template and status, never by id") {
  Fixture f;
  metrics::Registry registry;
  http::Handlers h(*f.store, {.metrics = &registry});
  const auto full = get(h, "/image-plant/tomato/42");
  REQUIRE(full.status == 200);
  const auto jpeg = get(h, "/image-plant/tomato/42/jpeg");
  REQUIRE(jpeg.status == 200);
  CHECK(get(h, "/image-plant/tomato/43").status == 404);
  CHECK(get(h, "/image-plant/tomato/4x").status == 422);
  CHECK(get(h, "/image-plant/cabbage/1").status == 422);
  CHECK(get(h, "/image-plant/pepper/total/").status == 200);
  CHECK(get(h, "/nowhere/at/all").status == 404);
  CHECK(h.handle({"PUT", "/ping", {}, {}}).status == 405);
  CHECK(get(h, "/ping").status == 200);
  const std::string text = registry.render();
  auto value = [&](const std::string& series) {
    const auto at = text.find("\n" + series + " ");
    REQUIRE_MESSAGE(at != std::string::npos, series);
    return std::stod(text.substr(at + series.size() + 2));
  };
  CHECK(value(R"(lims_http_requests_total{route="/image-plant/{plant}/{id}",code="200"})") == 1);
  CHECK(value(R"(lims_http_requests_total{route="/image-plant/{plant}/{id}/jpeg",code="200"})") ==
        1);
  CHECK(value(R"(lims_http_requests_total{route="/image-plant/{plant}/{id}",code="404"})") == 1);
  CHECK(value(R"(lims_http_requests_total{route="/image-plant/{plant}/{id}",code="422"})") == 2);
  CHECK(value(R"(lims_http_requests_total{route="/image-plant/{plant}/total/",code="200"})") == 1);
  CHECK(value(R"(lims_http_requests_total{route="other",code="404"})") == 1);
  CHECK(value(R"(lims_http_requests_total{route="other",code="405"})") == 1);
  CHECK(value(R"(lims_http_requests_total{route="/ping",code="200"})") == 1);
  CHECK(value(R"(lims_http_request_duration_seconds_count{route="/image-plant/{plant}/{id}"})") ==
        4);
  CHECK(value(R"(lims_http_response_bytes_total{route="/image-plant/{plant}/{id}/jpeg"})") ==
        static_cast<double>(jpeg.body.size()));
  // Images served: the two answered with the image, by plant, with their bytes.
  CHECK(value(R"(lims_images_served_total{plant="tomato"})") == 2);
  CHECK(value(R"(lims_images_served_total{plant="pepper"})") == 0);
  CHECK(value(R"(lims_image_bytes_served_total{plant="tomato"})") ==
        static_cast<double>(full.body.size() + jpeg.body.size()));
  // Bounded cardinality: no series names an image id.
  CHECK(text.find("/42") == std::string::npos);
  CHECK(text.find("\"42\"") == std::string::npos);
  CHECK(text.find("cabbage") == std::string::npos);
  CHECK(text.find("nowhere") == std::string::npos);
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

TEST_CASE("http: GET / is the gallery page, self-contained") {
  Fixture f;
  http::Handlers h(*f.store);
  const auto r = get(h, "/");
  CHECK(r.status == 200);
  CHECK(r.content_type == "text/html; charset=utf-8");
  CHECK(r.body.starts_with("<!DOCTYPE html>"));
  for (const char* part : {"<script>", "setInterval", "fetch(", "/api/latest?plant=", "/api/stats",
                           "/total/", "/jpeg", "potato", "tomato", "pepper", "</html>"}) {
    CAPTURE(part);
    CHECK(r.body.find(part) != std::string::npos);
  }
  // Nothing from elsewhere, and no markup built from data.
  for (const char* part : {"http://", "https://", "//cdn", "@import", "innerHTML", "eval("}) {
    CAPTURE(part);
    CHECK(r.body.find(part) == std::string::npos);
  }
  CHECK(get(h, "").body == r.body);
  check_error(get(h, "/index.html"), 404, "Not Found");
}

TEST_CASE("http: /api/latest lists the newest records of a plant without data") {
  Fixture f;  // tomato 42 at sample_record(42)'s version
  std::vector<ImageRecord> records;
  for (std::int64_t id = 1; id <= 14; ++id) {
    ImageRecord r = test::sample_record(id, id * 1'000'000);  // newer with each id
    if (id == 3) r.updated_at = test::kT0 + 100'000'000;      // 3 updated last of all
    if (id == 5) r.is_deleted = true;
    records.push_back(r);
  }
  std::vector<store::Write> writes;
  for (const auto& r : records) writes.push_back(test::upsert_of(Plant::tomato, r));
  f.store->apply(writes);
  http::Handlers h(*f.store);

  auto r = latest(h, "tomato", "4");
  CHECK(r.status == 200);
  CHECK(r.content_type == "application/json");
  auto j = nlohmann::json::parse(r.body);
  REQUIRE(j.is_array());
  REQUIRE(j.size() == 4);
  CHECK(j[0]["id"] == 3);
  CHECK(j[1]["id"] == 14);
  CHECK(j[2]["id"] == 13);
  CHECK(j[3]["id"] == 12);
  // Each as the Image API shapes a record with ?fields=meta.
  CHECK(j[0] == nlohmann::json::parse(codec::to_api_json(records[2], false)));
  for (const auto& item : j) CHECK_FALSE(item.contains("data"));

  j = nlohmann::json::parse(latest(h, "tomato").body);  // default: 12
  REQUIRE(j.size() == 12);
  CHECK(j[11]["id"] == 4);
  j = nlohmann::json::parse(latest(h, "tomato", "100").body);  // all 15, 42 the oldest
  REQUIRE(j.size() == 15);
  CHECK(j[14]["id"] == 42);
  CHECK(j[10]["id"] == 5);
  CHECK(j[10]["is_deleted"] == true);  // soft-deleted records are listed
  CHECK(nlohmann::json::parse(latest(h, "tomato", "1").body).size() == 1);
  CHECK(latest(h, "pepper", "5").body == "[]");

  for (const char* n :
       {"0", "101", "-1", "+3", " 3", "3 ", "1.5", "abc", "1e2", "99999999999999999999999"}) {
    CAPTURE(n);
    check_error(latest(h, "tomato", n), 422, "n: expected an integer from 1 to 100");
  }
  check_error(latest(h, "cabbage", "3"), 422, "plant: expected potato, tomato or pepper");
  check_error(latest(h, ""), 422, "plant: expected");  // the plant is required
  check_error(h.handle({"POST", "/api/latest", {}, {}, "tomato", "3"}), 405, "Method Not Allowed");
  check_error(get(h, "/api/nothing"), 404, "Not Found");

  DownStore down;
  http::Handlers failing(down);
  check_error(latest(failing, "tomato"), 503, "store unavailable: connection refused");
}

TEST_CASE("http: /api/stats answers the stats callback, else an empty object") {
  Fixture f;
  http::Handlers without(*f.store);
  auto r = get(without, "/api/stats");
  CHECK(r.status == 200);
  CHECK(r.content_type == "application/json");
  CHECK(r.body == "{}");

  int calls = 0;
  http::Handlers with(*f.store, {.stats = [&] {
    ++calls;
    return std::string("{\"events_per_s\":2.5,\"lag\":3}");
  }});
  r = get(with, "/api/stats");
  CHECK(r.status == 200);
  CHECK(r.content_type == "application/json");
  CHECK(nlohmann::json::parse(r.body)["lag"] == 3);
  CHECK(get(with, "/api/stats").body == r.body);
  CHECK(calls == 2);
  check_error(get(with, "/metrics"), 404, "Not Found");  // only what was given
}

}  // namespace lims
