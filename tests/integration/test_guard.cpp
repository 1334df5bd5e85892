// The stale-event guard around deletes, with a real consumer group: a member that lost its
// partition still writes the batch it holds; a tombstone in it deletes nothing that the
// partition's new owner wrote from later in the partition. On the embedded Kafka and on the
// real brokers (integration.mock, integration.kafka, integration.kafka4).

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "codec/api_json.hpp"
#include "forwarding_store.hpp"
#include "kafka/producer.hpp"
#include "scenario.hpp"

namespace lims {
namespace {

using namespace std::chrono_literals;

/// A store shared by several consumers and the test: one call at a time.
class LockedStore final : public test::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  std::vector<store::WriteResult> apply(std::span<const store::Write> writes) override {
    std::lock_guard lock(mutex_);
    return inner_.apply(writes);
  }
  std::optional<ImageRecord> get(Plant plant, std::int64_t id) override {
    std::lock_guard lock(mutex_);
    return inner_.get(plant, id);
  }

 private:
  std::mutex mutex_;
};

/// Once armed, holds the first write that carries a tombstone until released, and keeps what the
/// store answered it.
class HoldingStore final : public test::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  std::vector<store::WriteResult> apply(std::span<const store::Write> writes) override {
    bool held = false;
    {
      std::unique_lock lock(mutex_);
      for (const auto& w : writes) held = held || (armed_ && w.delete_first);
      if (held) {
        armed_ = false;
        holding_ = true;
        cv_.notify_all();
        cv_.wait(lock, [&] { return released_; });
      }
    }
    auto results = inner_.apply(writes);
    if (held) {
      std::lock_guard lock(mutex_);
      held_results_ = results;
      cv_.notify_all();
    }
    return results;
  }
  void arm() {
    std::lock_guard lock(mutex_);
    armed_ = true;
  }
  /// Waits (bounded) until a write is held.
  bool wait_holding(std::chrono::seconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return holding_; });
  }
  /// Lets the held write go and waits (bounded) for the store's answer to it.
  std::optional<std::vector<store::WriteResult>> release(std::chrono::seconds timeout) {
    std::unique_lock lock(mutex_);
    released_ = true;
    cv_.notify_all();
    cv_.wait_for(lock, timeout, [&] { return held_results_.has_value(); });
    return held_results_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool armed_ = false, holding_ = false, released_ = false;
  std::optional<std::vector<store::WriteResult>> held_results_;
};

ImageRecord version_of(std::int64_t id, int version) {
  ImageRecord r;
  r.id = id;
  r.camera_id = version;
  r.data = {0xff, 0xd8, static_cast<std::uint8_t>(version), 0xff, 0xd9};
  r.created_at = 1696779589123123;
  if (version > 1) r.updated_at = r.created_at + version * 1000000;
  r.is_active = true;
  return r;
}

/// A group member running in the background; its run's error, if any, is kept, not thrown.
class Member {
 public:
  Member(const kafka::ConsumerConfig& config, store::ImageStore& store,
         const sync::StreamOptions& options)
      : stream_(config, store, bad_, options), thread_([this] {
          try {
            stream_.run(stop_);
          } catch (const std::exception& e) {
            error_ = e.what();
          }
        }) {}
  ~Member() { stop(); }
  Member(const Member&) = delete;
  Member& operator=(const Member&) = delete;
  const sync::StreamCounters& counters() const { return stream_.counters(); }
  bool wait_for(const std::function<bool(const sync::StreamCounters&)>& condition) const {
    return stream_.wait_for(condition, 90s);
  }
  std::string stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return error_;
  }

 private:
  test::QuietBadRecords bad_;
  std::atomic<bool> stop_{false};
  std::string error_;
  sync::StreamSync stream_;
  std::thread thread_;
};

}  // namespace

TEST_CASE(
    "stream: a tombstone a member writes after losing its partition spares the re-created "
    "record") {
  const std::string topic = test::TestKafka::unique("zombie") + ".potato";
  test::TestKafka::get().create_topics({topic}, 1);
  kafka::Producer producer({test::TestKafka::get().brokers(), 10000, {}});
  auto produce = [&](const std::optional<ImageRecord>& r) {
    producer.produce(topic, "9001",
                     r ? std::optional<std::string>(codec::to_event_json(*r)) : std::nullopt, 0);
    producer.flush(30000);
    REQUIRE(producer.failed() == 0);
  };
  kafka::ConsumerConfig config = test::consumer_of({topic}, test::TestKafka::unique("g"));
  // A member stuck past this is out of the group: the coordinator waits that long (the largest
  // of its members') for everyone to rejoin a rebalance. librdkafka's least: the session timeout.
  config.extra.emplace_back("max.poll.interval.ms", "6000");
  sync::StreamOptions options;
  options.batch_max_ms = 10;
  options.stop_commit_timeout_ms = 2000;

  auto inner = store::open_store("sqlite::memory:");
  LockedStore shared(*inner);
  HoldingStore first_store(shared);
  const ImageRecord v1 = version_of(9001, 1), v2 = version_of(9001, 2);

  Member first(config, first_store, options);
  produce(v1);
  REQUIRE(first.wait_for([](const auto& c) { return c.committed_records >= 1; }));
  // The tombstone reaches the first member, whose write of it is held (a store gone quiet).
  first_store.arm();
  produce(std::nullopt);
  REQUIRE(first_store.wait_holding(60s));

  // A second member joins. The first, revoking, waits for its held write, stuck past the
  // rebalance's deadline: the partition goes to the second, which reads from the last commit.
  Member second(config, shared, options);
  REQUIRE_MESSAGE(second.wait_for([](const auto& c) { return c.committed_records >= 1; }),
                  "the partition never reached the second member");
  CHECK(second.counters().deleted == 1);
  CHECK_FALSE(shared.get(Plant::potato, 9001).has_value());
  produce(v2);  // LIMS re-creates the image, newer
  REQUIRE(second.wait_for([](const auto& c) { return c.committed_records >= 2; }));
  REQUIRE(shared.get(Plant::potato, 9001) == v2);

  // The first member's write goes through at last: its tombstone is older than the write the
  // record now comes from, in the same partition, and deletes nothing.
  const auto results = first_store.release(60s);
  REQUIRE(results.has_value());
  REQUIRE(results->size() == 1);
  CHECK((*results)[0].outcome == store::Outcome::stale);
  CHECK((*results)[0].delete_refused);
  CHECK(shared.get(Plant::potato, 9001) == v2);
  CHECK(first.wait_for([](const auto& c) { return c.stale >= 1; }));
  first.stop();
  second.stop();
  CHECK(shared.get(Plant::potato, 9001) == v2);
}

}  // namespace lims
