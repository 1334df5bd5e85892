// The stream's writer without Kafka: a batch goes to a fake store, then its offsets to a fake
// consumer; a failing store is retried with backoff, nothing committed meanwhile; a stop
// during the backoff leaves the batch unwritten; a record the store refuses is dead-lettered
// with its original bytes, read again from the consumer.

#include <doctest/doctest.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>

#include "codec/api_json.hpp"
#include "forwarding_store.hpp"
#include "store_contract.hpp"
#include "sync/batch_writer.hpp"
#include "sync/stream.hpp"

namespace lims {
namespace {

using namespace std::chrono_literals;

/// The consumer's side: records the commits, and reads records again from `kept` (by offset),
/// failing the first `unreachable` tries.
struct FakeConsumer final : sync::ConsumerSide {
  void commit(const std::vector<kafka::TopicPartition>& next) override {
    std::lock_guard lock(mutex);
    commits.push_back(next);
  }
  std::optional<kafka::RecordCopy> reread(const kafka::TopicPartition& at) override {
    std::lock_guard lock(mutex);
    rereads.push_back(at);
    if (unreachable > 0 && unreachable--)
      throw Error("kafka test: no answer", ExitCode::unreachable);
    auto it = kept.find(at.offset);
    if (it == kept.end()) return std::nullopt;
    return it->second;
  }
  std::mutex mutex;
  std::vector<std::vector<kafka::TopicPartition>> commits;
  std::vector<kafka::TopicPartition> rereads;
  std::map<std::int64_t, kafka::RecordCopy> kept;
  int unreachable = 0;
};

/// Keeps a copy of each rejected record.
struct RecordingSink final : sync::BadRecordSink {
  struct Rejected {
    std::optional<std::string> key, value;
    std::string reason;
  };
  sync::Verdict reject(const codec::RawRecord& r, std::string_view reason) override {
    std::lock_guard lock(mutex);
    Rejected& got = rejected.emplace_back();
    if (r.key) got.key.emplace(r.key, r.key_size);
    if (r.value) got.value.emplace(r.value, r.value_size);
    got.reason = reason;
    return sync::Verdict::carry_on();
  }
  std::mutex mutex;
  std::vector<Rejected> rejected;
};

struct Fixture {
  std::unique_ptr<store::ImageStore> inner = store::open_store("sqlite::memory:");
  test::FaultyStore store{*inner};
  RecordingSink bad;
  FakeConsumer consumer;
  sync::StreamCounters counters;
  metrics::Registry registry;
  sync::StreamMetrics metrics{registry, counters};
  sync::StreamOptions options = [] {
    sync::StreamOptions o;
    o.retry_initial_ms = 1;
    o.retry_max_ms = 4;
    return o;
  }();
  sync::PartitionSlots slots;
  sync::BatchWriter writer{store, bad, consumer, counters, metrics, options, [] {}};

  /// Adds an event at `offset` of tomato/0 to the filling batch.
  void add(ImageEvent event, std::int64_t offset) {
    sync::StreamBatch& b = writer.filling();
    const std::size_t slot = slots.slot("tomato", 0);
    b.add_record(slot, offset, 100);
    b.collapser.add(std::move(event), static_cast<std::uint32_t>(b.origins.size()));
    b.origins.push_back({&slots.partition(slot), offset});
    b.timestamps_ms.push_back(0);
  }
};

ImageEvent upsert(std::int64_t id, Micros version_offset = 0) {
  return {Plant::tomato, id, test::sample_record(id, version_offset)};
}

}  // namespace

TEST_CASE("batch writer: the store takes the batch, then its offsets are committed") {
  test::contract_tick() = 1;
  Fixture f;
  f.add(upsert(1), 10);
  f.add(upsert(2), 11);
  f.add(upsert(1, 5), 12);  // collapses with the first
  f.add({Plant::tomato, 2, std::nullopt}, 13);
  REQUIRE(f.writer.write_all(f.slots));
  test::check_same_record(f.inner->get(Plant::tomato, 1), test::sample_record(1, 5));
  CHECK_FALSE(f.inner->get(Plant::tomato, 2).has_value());
  REQUIRE(f.consumer.commits.size() == 1);
  REQUIRE(f.consumer.commits[0].size() == 1);
  CHECK(f.consumer.commits[0][0] == kafka::TopicPartition{"tomato", 0, 14});
  CHECK(f.counters.applied == 3);
  CHECK(f.counters.deleted == 1);
  CHECK(f.counters.committed_records == 4);
  CHECK(f.counters.committed_bytes == 400);
  CHECK(f.writer.filling().empty());
}

TEST_CASE("batch writer: a failing store is retried with backoff, nothing committed meanwhile") {
  test::contract_tick() = 1;
  Fixture f;
  f.store.set_down(true);
  f.add(upsert(7), 3);
  REQUIRE(f.writer.submit(f.slots, 0ms) == sync::BatchWriter::Handoff::taken);
  REQUIRE(f.store.wait_attempts(3));
  CHECK(f.counters.backing_off);
  CHECK(f.writer.backoff_reason() == "the store is failing");
  {
    std::lock_guard lock(f.consumer.mutex);
    CHECK(f.consumer.commits.empty());
  }
  f.store.set_down(false);
  REQUIRE(f.writer.write_all(f.slots));
  CHECK_FALSE(f.counters.backing_off);
  CHECK(f.writer.backoff_reason().empty());
  CHECK(f.consumer.commits.size() == 1);
  CHECK(f.inner->get(Plant::tomato, 7).has_value());
}

TEST_CASE("batch writer: a stop while the store fails leaves the batch unwritten and uncommitted") {
  test::contract_tick() = 1;
  Fixture f;
  std::atomic<bool> stop{false};
  f.writer.watch_stop(&stop);
  f.store.set_down(true);
  f.add(upsert(8), 0);
  REQUIRE(f.writer.submit(f.slots, 0ms) == sync::BatchWriter::Handoff::taken);
  REQUIRE(f.store.wait_attempts(2));
  stop = true;
  CHECK_FALSE(f.writer.write_all(f.slots));  // the writer gave up on the batch
  CHECK(f.consumer.commits.empty());
  CHECK(f.counters.committed_records == 0);
  CHECK_FALSE(f.inner->get(Plant::tomato, 8).has_value());
}

TEST_CASE("batch writer: a record the store refuses is dead-lettered with its original bytes") {
  test::contract_tick() = 1;
  Fixture f;
  f.store.refused = {5};
  f.consumer.kept[21] = {std::string("5"), std::string("the original bytes")};
  f.consumer.unreachable = 2;  // Kafka does not answer at first: the writer backs off
  f.add(upsert(4), 20);
  f.add(upsert(5), 21);
  REQUIRE(f.writer.write_all(f.slots));
  REQUIRE(f.bad.rejected.size() == 1);
  CHECK(f.bad.rejected[0].key == "5");
  CHECK(f.bad.rejected[0].value == "the original bytes");
  CHECK(f.bad.rejected[0].reason == "tomato/0@21: store: refused by the test");
  CHECK(f.consumer.rereads.size() == 3);
  CHECK(f.consumer.rereads.back() == kafka::TopicPartition{"tomato", 0, 21});
  CHECK_FALSE(f.counters.backing_off);
  CHECK(f.counters.bad == 1);
  CHECK(f.counters.applied == 1);
  REQUIRE(f.consumer.commits.size() == 1);  // the dead letter is kept: the offsets go on
  CHECK(f.consumer.commits[0][0] == kafka::TopicPartition{"tomato", 0, 22});
}

TEST_CASE("batch writer: a refused record Kafka no longer holds is dead-lettered as decoded") {
  test::contract_tick() = 1;
  Fixture f;
  f.store.refused = {6};
  const ImageEvent event = upsert(6);
  const std::string decoded = codec::to_event_json(*event.record);
  f.add(event, 30);
  REQUIRE(f.writer.write_all(f.slots));
  REQUIRE(f.bad.rejected.size() == 1);
  CHECK(f.bad.rejected[0].key == "6");
  CHECK(f.bad.rejected[0].value == decoded);
  CHECK(f.bad.rejected[0].reason.find("Kafka no longer holds the record") != std::string::npos);
}

}  // namespace lims
