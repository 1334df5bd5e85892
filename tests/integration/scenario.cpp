#include "scenario.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>

#include "codec/api_json.hpp"
#include "kafka/producer.hpp"

namespace lims::test {
namespace {

constexpr Micros kT0 = 1696779589123123;  // 2023-10-08T15:39:49.123123

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

}  // namespace

std::vector<Produced> scenario() {
  std::mt19937 rng(42);
  std::vector<Produced> out;
  for (Plant p : kPlants) {
    for (std::int64_t id = 1; id <= kIdsPerPlant; ++id) {
      std::vector<ImageRecord> versions;
      for (int v = 1; v <= 3; ++v) versions.push_back(make_record(id, v, rng));
      for (const auto& r : versions) out.push_back({p, id, r, {}});
      if (id % 3 == 0) out.push_back({p, id, versions[2], {}});   // redelivery
      if (id % 4 == 0) out.push_back({p, id, versions[0], {}});   // stale replay
      if (id % 5 == 0) out.push_back({p, id, std::nullopt, {}});  // tombstone
      if (id % 5 == 0) out.push_back({p, id, versions[2], {}});   // redelivered after it: stale
      if (id % 10 == 0) out.push_back({p, id, make_record(id, 4, rng), {}});  // re-create
      if (id % 7 == 0) out.push_back({p, id, std::nullopt, "{\"id\": -1}", true});
    }
    out.push_back({p, 1, std::nullopt, "not json at all", true});
    out.push_back({p, 2, std::nullopt, "", true});
  }
  return out;
}

std::map<std::pair<Plant, std::int64_t>, ImageRecord> expected_state(
    const std::vector<Produced>& events) {
  std::map<std::pair<Plant, std::int64_t>, ImageRecord> state;
  std::map<std::pair<Plant, std::int64_t>, Micros> deleted;  // the delete markers' versions
  for (const auto& e : events) {
    if (e.malformed) continue;
    auto key = std::make_pair(e.plant, e.id);
    auto it = state.find(key);
    if (!e.record) {
      if (it != state.end()) {
        deleted[key] = it->second.version();
        state.erase(it);
      }
      continue;
    }
    if (it != state.end()) {
      if (e.record->version() >= it->second.version()) it->second = *e.record;
      continue;
    }
    if (auto marker = deleted.find(key); marker != deleted.end()) {
      if (e.record->version() <= marker->second) continue;  // not newer than what was deleted
      deleted.erase(marker);
    }
    state[key] = *e.record;
  }
  return state;
}

void produce_all(const std::string& prefix, const std::vector<Produced>& events,
                 const std::string& brokers, const kafka::Properties& producer_extra) {
  kafka::Producer producer({brokers, 10000, producer_extra});
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

kafka::ConsumerConfig consumer_of(std::vector<std::string> topics, const std::string& group,
                                  const std::string& brokers) {
  kafka::ConsumerConfig c;
  c.brokers = brokers;
  c.group = group;
  c.topics = std::move(topics);
  c.report_eof = true;
  // The mock makes a rejoin after a leave wait the session timeout less 1 s: keep it short.
  c.extra = {{"session.timeout.ms", "6000"}};
  return c;
}

kafka::ConsumerConfig consumer_config(const std::string& prefix, const std::string& group,
                                      const std::string& brokers) {
  return consumer_of(topics_for(prefix), group, brokers);
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

sync::Verdict QuietBadRecords::reject(const codec::RawRecord&, std::string_view reason) {
  CHECK(reason.find('@') != std::string_view::npos);  // names topic/partition@offset
  ++count;
  return sync::Verdict::carry_on();
}

Prepared prepare(const std::string& stem) {
  Prepared p{TestKafka::unique(stem) + ".", TestKafka::unique("g"), scenario()};
  TestKafka::get().create_topics(topics_for(p.prefix), kPartitions);
  produce_all(p.prefix, p.events);
  return p;
}

sync::StreamSnapshot consume(const kafka::ConsumerConfig& config, store::ImageStore& store,
                             sync::BadRecordSink& bad, const sync::StreamOptions& options) {
  std::atomic<bool> stop{false};
  sync::StreamSync stream(config, store, bad, options);
  stream.run(stop);
  return stream.snapshot();
}

sync::StreamOptions until_end() {
  sync::StreamOptions options;
  options.exit_at_end = true;
  return options;
}

RunInBackground::RunInBackground(sync::StreamSync& stream)
    : thread_([this, &stream] {
        try {
          stream.run(stop);
        } catch (...) {
          failure_ = std::current_exception();
        }
      }) {}

RunInBackground::~RunInBackground() {
  stop = true;
  if (thread_.joinable()) thread_.join();
}

void RunInBackground::join() {
  thread_.join();
  if (failure_) std::rethrow_exception(failure_);
}

void require_kafka(bool mock) {
  REQUIRE_MESSAGE(TestKafka::get().is_mock() == mock,
                  "this case needs " << (mock ? "the embedded Kafka" : "a real Kafka")
                                     << ": run it through its ctest test, whose filter picks it");
}

}  // namespace lims::test
