// lims replay's Kafka side against the embedded and the real Kafka: offsets by time (the real
// broker's time index, the embedded one's search), a consumer starting at a time, and a stream
// that ends at the end offsets it was given while records keep coming.

#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "codec/api_json.hpp"
#include "kafka/producer.hpp"
#include "kafka/reader.hpp"
#include "scenario.hpp"

namespace lims {
using namespace test;  // the shared scenario helpers (scenario.hpp)

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Produces `events` as produce_all() does, each stamped `time_ms(index)`.
void produce_stamped(const std::string& prefix, const std::vector<Produced>& events,
                     const std::function<std::int64_t(std::size_t)>& time_ms) {
  kafka::Producer producer({TestKafka::get().brokers(), 10000, {}});
  for (std::size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    const std::string topic = prefix + std::string(plant_name(e.plant));
    const auto partition = static_cast<std::int32_t>(e.id % kPartitions);
    std::optional<std::string> value;
    if (e.malformed)
      value = e.raw;
    else if (e.record)
      value = codec::to_event_json(*e.record);
    producer.produce(topic, std::to_string(e.id), value, partition, time_ms(i));
  }
  producer.flush(30000);
  REQUIRE(producer.failed() == 0);
}

}  // namespace

TEST_CASE("replay: offsets by time: each partition's first record that recent, else its end") {
  const std::string topic = TestKafka::unique("times");
  TestKafka::get().create_topics({topic}, 3);
  const std::int64_t base = now_ms() - 3'600'000;  // within any retention
  {
    kafka::Producer producer({TestKafka::get().brokers(), 10000, {}});
    for (int i = 0; i < 50; ++i) producer.produce(topic, "a", "x", 0, base + i * 1000);
    for (int i = 0; i < 20; ++i) producer.produce(topic, "b", "y", 1, base + i * 1000);
    producer.flush(30000);  // partition 2 stays empty
    REQUIRE(producer.failed() == 0);
  }
  kafka::Reader reader({TestKafka::get().brokers(), 10000, {}});
  const auto ranges = reader.partitions({topic});
  REQUIRE(ranges.size() == 3);
  CHECK(ranges[0].high == 50);
  CHECK(ranges[1].high == 20);
  CHECK(ranges[2].high == 0);
  const std::vector<kafka::TopicPartition> parts = {{topic, 0}, {topic, 1}, {topic, 2}};
  auto offsets = [&](std::int64_t t) {
    std::vector<std::int64_t> out;
    for (const auto& tp : reader.offsets_at_time(parts, t)) out.push_back(tp.offset);
    return out;
  };
  CHECK(offsets(base + 25'500) == std::vector<std::int64_t>{26, 20, 0});
  CHECK(offsets(base + 30'000) == std::vector<std::int64_t>{30, 20, 0});  // at the time counts
  CHECK(offsets(base - 1) == std::vector<std::int64_t>{0, 0, 0});
  CHECK(offsets(base + 49'000) == std::vector<std::int64_t>{49, 20, 0});
  CHECK(offsets(base + 60'000) == std::vector<std::int64_t>{50, 20, 0});
  CHECK_THROWS_AS(reader.partitions({TestKafka::unique("missing")}), Error);
}

TEST_CASE("replay: a consumer with a start time reads only the records stamped since") {
  const std::string prefix = TestKafka::unique("since") + ".";
  TestKafka::get().create_topics(topics_for(prefix), kPartitions);
  const auto events = scenario();
  const std::size_t half = events.size() / 2;
  const std::int64_t base = now_ms() - 3'600'000;
  produce_stamped(prefix, events, [&](std::size_t i) {
    return base + static_cast<std::int64_t>(i) + (i < half ? 0 : 600'000);
  });
  const std::vector<Produced> later(events.begin() + static_cast<std::ptrdiff_t>(half),
                                    events.end());

  auto store = store::open_store("sqlite::memory:");
  QuietBadRecords bad;
  auto config = consumer_config(prefix, TestKafka::unique("g"));
  config.start_time_ms = base + 300'000;
  const auto s = consume(config, *store, bad, until_end());
  CHECK(s.records == later.size());
  CHECK(s.bad == malformed_count(later));
  check_store(*store, later);  // exactly the later changes, applied in order
}

TEST_CASE("replay: a stream given end offsets ends there although records keep coming") {
  const auto [prefix, group, events] = prepare("ends");
  std::vector<kafka::TopicPartition> ends;
  std::int64_t total = 0;
  for (const auto& range :
       kafka::Reader({TestKafka::get().brokers(), 10000, {}}).partitions(topics_for(prefix))) {
    ends.push_back({range.partition.topic, range.partition.partition, range.high});
    total += range.high;
  }
  std::atomic<bool> stop_producing{false};
  std::atomic<std::uint64_t> produced{0};
  std::thread more([&] {  // tombstones of an id the scenario never uses, into every partition
    kafka::Producer producer({TestKafka::get().brokers(), 10000, {}});
    for (int i = 0; !stop_producing; ++i) {
      producer.produce(prefix + "potato", "999", std::nullopt, i % kPartitions);
      ++produced;
      producer.poll(2);
    }
    producer.flush(10000);
  });

  auto store = store::open_store("sqlite::memory:");
  QuietBadRecords bad;
  sync::StreamOptions options = until_end();
  options.end_offsets = ends;
  const auto s = consume(consumer_config(prefix, group), *store, bad, options);
  const std::uint64_t produced_while_consuming = produced;
  stop_producing = true;
  more.join();
  // It read everything below the end offsets, and ended although records kept coming (without
  // them, its end would prove nothing).
  CHECK(s.records >= static_cast<std::uint64_t>(total));
  CHECK(produced_while_consuming > 0);
  check_store(*store, events);  // everything below the end offsets is in
}

}  // namespace lims
