// The stream consumer end to end in-process: Kafka (mock or real) -> codec -> SQLite.

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <optional>
#include <random>

#include "codec/api_json.hpp"
#include "kafka/producer.hpp"
#include "store/image_store.hpp"
#include "sync/batch.hpp"
#include "sync/stream.hpp"
#include "test_kafka.hpp"

namespace lims {
namespace {

constexpr int kPartitions = 4;
constexpr int kIdsPerPlant = 30;
constexpr Micros kT0 = 1696779589123123;  // 2023-10-08T15:39:49.123123

struct Produced {
  Plant plant;
  std::int64_t id;
  std::optional<ImageRecord> record;  // nullopt: tombstone
  std::string raw;                    // set for a malformed value
  bool malformed = false;
};

ImageRecord make_record(std::int64_t id, int version, std::mt19937& rng) {
  ImageRecord r;
  r.id = id;
  r.camera_id = version;
  r.data.resize(200 + rng() % 2000);
  for (auto& b : r.data) b = static_cast<std::uint8_t>(rng());
  r.latitude = 48.5 + version * 0.001;
  r.longitude = 16.9 - id * 0.001;
  if (version > 1) {
    r.disease = "Healthy";
    r.percentage = 0.5 + version * 0.01;
  }
  r.created_at = kT0 + id;
  if (version > 1) r.updated_at = kT0 + id + version * 1000000;
  r.is_active = version % 2 == 1;
  r.is_deleted = version == 4;
  return r;
}

/// A few hundred changes: creates, updates, redeliveries, stale replays, tombstones (some
/// followed by a re-create) and malformed records, in the order they are produced.
std::vector<Produced> scenario() {
  std::mt19937 rng(42);
  std::vector<Produced> out;
  for (Plant p : kPlants) {
    for (std::int64_t id = 1; id <= kIdsPerPlant; ++id) {
      std::vector<ImageRecord> versions;
      for (int v = 1; v <= 3; ++v) versions.push_back(make_record(id, v, rng));
      for (const auto& r : versions) out.push_back({p, id, r, {}});
      if (id % 3 == 0) out.push_back({p, id, versions[2], {}});               // redelivery
      if (id % 4 == 0) out.push_back({p, id, versions[0], {}});               // stale replay
      if (id % 5 == 0) out.push_back({p, id, std::nullopt, {}});              // tombstone
      if (id % 10 == 0) out.push_back({p, id, make_record(id, 4, rng), {}});  // re-create
      if (id % 7 == 0) out.push_back({p, id, std::nullopt, "{\"id\": -1}", true});
    }
    out.push_back({p, 1, std::nullopt, "not json at all", true});
    out.push_back({p, 2, std::nullopt, "", true});
  }
  return out;
}

/// The state the store must reach: each key's changes applied in order under the guard.
std::map<std::pair<Plant, std::int64_t>, ImageRecord> expected_state(
    const std::vector<Produced>& events) {
  std::map<std::pair<Plant, std::int64_t>, ImageRecord> state;
  for (const auto& e : events) {
    if (e.malformed) continue;
    auto key = std::make_pair(e.plant, e.id);
    if (!e.record) {
      state.erase(key);
      continue;
    }
    auto it = state.find(key);
    if (it == state.end() || e.record->version() >= it->second.version()) state[key] = *e.record;
  }
  return state;
}

void produce_all(const std::string& prefix, const std::vector<Produced>& events) {
  kafka::Producer producer({test::TestKafka::get().brokers(), 10000, {}});
  for (const auto& e : events) {
    const std::string topic = prefix + std::string(plant_name(e.plant));
    const auto partition = static_cast<std::int32_t>(e.id % kPartitions);
    const std::string key = std::to_string(e.id);
    if (e.malformed)
      producer.produce(topic, key, std::string_view(e.raw), partition);
    else if (!e.record)
      producer.produce(topic, key, std::nullopt, partition);
    else
      producer.produce(topic, key,
                       codec::to_event_json(*e.record, e.id % 2 ? codec::DataEncoding::hex
                                                                : codec::DataEncoding::base64),
                       partition);
  }
  producer.flush(30000);
  REQUIRE(producer.failed() == 0);
}

std::vector<std::string> topics_for(const std::string& prefix) {
  std::vector<std::string> topics;
  for (Plant p : kPlants) topics.push_back(prefix + std::string(plant_name(p)));
  return topics;
}

kafka::ConsumerConfig consumer_config(const std::string& prefix, const std::string& group) {
  kafka::ConsumerConfig c;
  c.brokers = test::TestKafka::get().brokers();
  c.group = group;
  c.topics = topics_for(prefix);
  c.report_eof = true;
  // The mock makes a rejoin after a leave wait the session timeout less 1 s: keep it short.
  c.extra = {{"session.timeout.ms", "6000"}};
  return c;
}

void check_store(store::ImageStore& store, const std::vector<Produced>& events) {
  auto expected = expected_state(events);
  for (Plant p : kPlants) {
    std::int64_t count = 0;
    for (std::int64_t id = 1; id <= kIdsPerPlant; ++id) {
      auto it = expected.find({p, id});
      auto got = store.get(p, id);
      CAPTURE(plant_name(p));
      CAPTURE(id);
      REQUIRE(got.has_value() == (it != expected.end()));
      if (got) {
        CHECK(*got == it->second);
        ++count;
      }
    }
    CHECK(store.count(p) == count);
  }
}

std::uint64_t malformed_count(const std::vector<Produced>& events) {
  return static_cast<std::uint64_t>(
      std::count_if(events.begin(), events.end(), [](const auto& e) { return e.malformed; }));
}

class QuietBadRecords final : public sync::BadRecordSink {
 public:
  void reject(const codec::RawRecord&, std::string_view reason) override {
    CHECK(reason.find('@') != std::string_view::npos);  // names topic/partition@offset
    ++count;
  }
  std::uint64_t count = 0;
};

/// Fresh topics named after `stem`, filled with the scenario, and a group of their own.
struct Prepared {
  std::string prefix;
  std::string group;
  std::vector<Produced> events;
};

Prepared prepare(const std::string& stem) {
  Prepared p{test::TestKafka::unique(stem) + ".", test::TestKafka::unique("g"), scenario()};
  test::TestKafka::get().create_topics(topics_for(p.prefix), kPartitions);
  produce_all(p.prefix, p.events);
  return p;
}

/// Runs one consumer of `config` into `store` until it stops by itself; what it counted.
sync::StreamSnapshot consume(const kafka::ConsumerConfig& config, store::ImageStore& store,
                             sync::BadRecordSink& bad, const sync::StreamOptions& options) {
  std::atomic<bool> stop{false};
  sync::StreamSync stream(config, store, bad, options);
  stream.run(stop);
  return stream.snapshot();
}

/// exit_at_end, and defaults otherwise.
sync::StreamOptions until_end() {
  sync::StreamOptions options;
  options.exit_at_end = true;
  return options;
}

}  // namespace

TEST_CASE("stream: a mixed workload over three topics ends in the expected store state") {
  const auto [prefix, group, events] = prepare("mixed");

  auto store = store::open_store("sqlite::memory:");
  QuietBadRecords bad;
  sync::StreamOptions options = until_end();
  options.batch_max_events = 64;  // several batches, so collapsing crosses batch borders
  const auto s = consume(consumer_config(prefix, group), *store, bad, options);

  CHECK(s.records == events.size());
  CHECK(s.bad == malformed_count(events));
  CHECK(bad.count == malformed_count(events));
  CHECK(s.applied + s.stale + s.deleted + s.bad == s.records);
  CHECK(s.stale > 0);
  CHECK(s.deleted > 0);
  CHECK(s.steady_records == events.size());
  check_store(*store, events);
}

TEST_CASE("stream: a consumer stopped halfway and restarted loses nothing") {
  const auto [prefix, group, events] = prepare("restart");

  auto store = store::open_store("sqlite::memory:");
  QuietBadRecords bad;
  sync::StreamOptions options;
  options.batch_max_events = 50;
  options.max_records = events.size() / 2;
  const std::uint64_t first_run =
      consume(consumer_config(prefix, group), *store, bad, options).records;
  CHECK(first_run == events.size() / 2);
  options.max_records = 0;
  options.exit_at_end = true;
  const auto second = consume(consumer_config(prefix, group), *store, bad, options);
  // Resumed at the committed offsets: at most the unfinished tail is read again, never less.
  CHECK(second.records == events.size() - first_run);
  check_store(*store, events);
}

TEST_CASE("stream: --from-beginning replays everything and moves nothing back in time") {
  const auto [prefix, group, events] = prepare("replay");

  auto store = store::open_store("sqlite::memory:");
  QuietBadRecords bad;
  consume(consumer_config(prefix, group), *store, bad, until_end());
  auto config = consumer_config(prefix, group);
  config.from_beginning = true;  // the group has committed everything; read it all again
  const auto s = consume(config, *store, bad, until_end());
  CHECK(s.records == events.size());
  CHECK(s.stale > 0);  // the replayed old versions were refused by the guard
  check_store(*store, events);
}

TEST_CASE("stream: the stream and sync-batch end in identical stores") {
  const auto [prefix, group, events] = prepare("equivalence");
  // The producer store takes the same changes in order, as LIMS's Image API would.
  auto producer = store::open_store("sqlite::memory:");
  for (const auto& e : events) {
    if (e.malformed) continue;
    const store::Write w{e.plant, e.id, !e.record, e.record ? &*e.record : nullptr};
    producer->apply(std::vector<store::Write>{w});
  }
  auto streamed = store::open_store("sqlite::memory:");
  QuietBadRecords bad;
  consume(consumer_config(prefix, group), *streamed, bad, until_end());

  auto batched = store::open_store("sqlite::memory:");
  const std::string state = "/tmp/lims-equivalence-" + std::to_string(::getpid());
  sync::Watermark watermark(state);
  // Full mode: the batch path sees hard deletes only by comparing everything.
  const std::atomic<bool> stop{false};
  auto stats = sync::run_batch_sync(*producer, *batched, sync::BatchMode::full, watermark, stop);
  std::remove(state.c_str());
  CHECK(stats.images > 0);
  for (Plant p : kPlants) {
    CHECK(streamed->count(p) == batched->count(p));
    for (std::int64_t id = 1; id <= kIdsPerPlant; ++id) {
      CAPTURE(plant_name(p));
      CAPTURE(id);
      CHECK(streamed->get(p, id) == batched->get(p, id));
    }
  }
}

}  // namespace lims
