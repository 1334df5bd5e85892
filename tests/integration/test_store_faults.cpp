// Store faults under a running stream: a transient outage pauses fetching and keeps the batch
// in hand until the store answers, with memory bounded and nothing skipped or committed early;
// a record the store refuses for good is dead-lettered alone.

#include <doctest/doctest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "codec/api_json.hpp"
#include "forwarding_store.hpp"
#include "http/handlers.hpp"
#include "kafka/producer.hpp"
#include "scenario.hpp"
#include "store/image_store.hpp"
#include "sync/bad_records.hpp"
#include "sync/stream.hpp"

namespace lims {
namespace {

constexpr int kPartitions = 4;
constexpr std::int64_t kIds = 150;  // per plant
constexpr int kVersions = 3;
constexpr Micros kT0 = 1696779589123123;

ImageRecord version_of(std::int64_t id, int version) {
  ImageRecord r;
  r.id = id;
  r.camera_id = version;
  r.data.assign(300, static_cast<std::uint8_t>(id + version));
  r.latitude = 48.5;
  r.longitude = 16.9;
  r.created_at = kT0 + id;
  if (version > 1) r.updated_at = kT0 + id + version * 1000000;
  r.is_active = version % 2 == 1;
  return r;
}

/// Fresh topics with every id of every plant in kVersions versions, in order; their names.
std::vector<std::string> produce_versions(const std::string& stem) {
  const std::string prefix = test::TestKafka::unique(stem) + ".";
  std::vector<std::string> topics;
  for (Plant p : kPlants) topics.push_back(prefix + std::string(plant_name(p)));
  test::TestKafka::get().create_topics(topics, kPartitions);
  kafka::Producer producer({test::TestKafka::get().brokers(), 10000, {}});
  for (int v = 1; v <= kVersions; ++v)
    for (std::size_t t = 0; t < topics.size(); ++t)
      for (std::int64_t id = 1; id <= kIds; ++id)
        producer.produce(topics[t], std::to_string(id), codec::to_event_json(version_of(id, v)),
                         static_cast<std::int32_t>(id % kPartitions));
  producer.flush(30000);
  REQUIRE(producer.failed() == 0);
  return topics;
}

constexpr std::uint64_t kEvents = 3 * kIds * kVersions;

void check_final_state(store::ImageStore& store, const std::set<std::int64_t>& refused = {}) {
  for (Plant p : kPlants) {
    CAPTURE(plant_name(p));
    CHECK(store.count(p) == kIds - static_cast<std::int64_t>(refused.size()));
    for (std::int64_t id = 1; id <= kIds; ++id) {
      CAPTURE(id);
      auto got = store.get(p, id);
      if (refused.count(id))
        CHECK_FALSE(got.has_value());
      else
        CHECK(got == version_of(id, kVersions));
    }
  }
}

/// Keeps each rejected record's reason, key and value.
class CountingSink final : public sync::BadRecordSink {
 public:
  sync::Verdict reject(const codec::RawRecord& r, std::string_view reason) override {
    std::lock_guard lock(mutex);
    reasons.emplace_back(reason);
    keys.emplace_back(r.key ? std::string(r.key, r.key_size) : "");
    values.emplace_back(r.value ? std::string(r.value, r.value_size) : "");
    return sync::Verdict::carry_on();
  }
  std::mutex mutex;
  std::vector<std::string> reasons, keys, values;
};

/// Waits (bounded) until `done` holds.
void wait_for(const sync::StreamSync& stream,
              const std::function<bool(const sync::StreamCounters&)>& done, const char* what) {
  if (!stream.wait_for(done, std::chrono::seconds(60))) FAIL("timed out waiting until " << what);
}

}  // namespace

TEST_CASE("fault: a store outage pauses fetching, keeps the batch and loses nothing") {
  const auto topics = produce_versions("outage");
  auto inner = store::open_store("sqlite::memory:");
  test::FaultyStore store(*inner);
  CountingSink bad;
  sync::StreamOptions options;
  options.exit_at_end = true;
  options.batch_max_events = 40;
  options.retry_initial_ms = 5;
  options.retry_max_ms = 40;
  const auto config = test::consumer_of(topics, test::TestKafka::unique("g"));
  sync::StreamSync stream(config, store, bad, options);
  const auto& c = stream.counters();
  // /readyz as `consume --listen` answers it (its store answering: a store of its own here).
  auto probe = store::open_store("sqlite::memory:");
  http::Handlers handlers(*probe, {.readiness = [&] { return stream.unready_reason(); }});
  auto readyz = [&] { return handlers.handle({"GET", "/readyz", {}, {}}); };
  CHECK(readyz().status == 503);  // before the first assignment
  CHECK(readyz().body.find("no partitions assigned") != std::string::npos);

  test::RunInBackground runner(stream);
  wait_for(
      stream, [](const auto& c) { return c.committed_records >= 100; },
      "some records are committed");
  CHECK(readyz().status == 200);
  store.set_down(true);
  wait_for(
      stream, [](const auto& c) { return c.backing_off.load(); }, "the stream backs off");
  const auto backing_off = readyz();
  CHECK(backing_off.status == 503);
  CHECK(backing_off.body.find("backing off: the store is failing") != std::string::npos);
  REQUIRE(store.wait_attempts(store.attempts() +
                              8));  // several retries, with the consumer paused meanwhile
  const std::uint64_t committed = c.committed_records;
  const std::uint64_t in_hand = c.records - committed;
  // The batch being retried plus the one filled meanwhile: no more is fetched while paused.
  CHECK(in_hand <= 2 * options.batch_max_events + 1);
  CHECK(c.backing_off);
  REQUIRE(store.wait_attempts(store.attempts() + 4));
  CHECK(c.records - c.committed_records == in_hand);  // paused: nothing more came in
  CHECK(c.committed_records == committed);            // and nothing was committed
  store.set_down(false);
  runner.join();

  CHECK_FALSE(c.backing_off);
  CHECK(c.records == kEvents);
  CHECK(c.committed_records == kEvents);
  CHECK(bad.reasons.empty());
  check_final_state(*inner);
}

TEST_CASE("fault: a locked SQLite file is waited out, then the stream goes on") {
  const auto topics = produce_versions("locked");
  char path[] = "/tmp/lims-locked-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  ::close(fd);
  const std::string file = path;
  auto store = store::open_store("sqlite:" + file);

  // Another process holds the write lock from before the stream starts.
  sqlite3* other = nullptr;
  REQUIRE(sqlite3_open(file.c_str(), &other) == SQLITE_OK);
  REQUIRE(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) == SQLITE_OK);

  CountingSink bad;
  sync::StreamOptions options;
  options.exit_at_end = true;
  options.retry_initial_ms = 10;
  options.retry_max_ms = 100;
  sync::StreamSync stream(test::consumer_of(topics, test::TestKafka::unique("g")), *store, bad,
                          options);
  test::RunInBackground runner(stream);
  wait_for(
      stream, [](const auto& c) { return c.backing_off.load(); }, "the stream backs off");
  CHECK(stream.counters().committed_records == 0);
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  runner.join();

  CHECK(stream.counters().committed_records == kEvents);
  check_final_state(*store);
  std::remove(file.c_str());
  std::remove((file + "-wal").c_str());
  std::remove((file + "-shm").c_str());
}

TEST_CASE("fault: a record the store refuses is dead-lettered alone") {
  const auto topics = produce_versions("refused");
  auto inner = store::open_store("sqlite::memory:");
  test::FaultyStore store(*inner);
  store.refused = {7, 42};
  CountingSink bad;
  sync::StreamOptions options;
  options.exit_at_end = true;
  sync::StreamSync stream(test::consumer_of(topics, test::TestKafka::unique("g")), store, bad,
                          options);
  std::atomic<bool> stop{false};
  stream.run(stop);

  // Each refused id is rejected once per batch that carried it (its versions may collapse into
  // one write): at least once per plant and id, at most once per version.
  CHECK(bad.reasons.size() >= 3 * store.refused.size());
  CHECK(bad.reasons.size() <= 3 * store.refused.size() * kVersions);
  for (std::size_t i = 0; i < bad.reasons.size(); ++i) {
    CAPTURE(bad.reasons[i]);
    CHECK(bad.reasons[i].find(": store: refused by the test") != std::string::npos);
    CHECK(bad.reasons[i].find("no longer holds") == std::string::npos);
    // The dead letter holds the record's original bytes, read again from Kafka.
    const std::int64_t id = std::stoll(bad.keys[i]);
    CHECK(store.refused.count(id));
    bool original = false;
    for (int v = 1; v <= kVersions; ++v)
      original = original || bad.values[i] == codec::to_event_json(version_of(id, v));
    CHECK(original);
  }
  CHECK(stream.counters().committed_records == kEvents);
  check_final_state(*inner, store.refused);
}

}  // namespace lims
