#pragma once
// The stream tests' shared workload: a scenario of changes, the store state it must end in,
// producing it, and running a consumer over it to its end.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "kafka/consumer.hpp"
#include "kafka_fixture.hpp"
#include "model/image.hpp"
#include "store/image_store.hpp"
#include "sync/bad_records.hpp"
#include "sync/stream.hpp"

namespace lims::test {

constexpr int kPartitions = 4;
constexpr int kIdsPerPlant = 30;

struct Produced {
  Plant plant;
  std::int64_t id;
  std::optional<ImageRecord> record;  // nullopt: tombstone
  std::string raw;                    // set for a malformed value
  bool malformed = false;
};

/// A few hundred changes: creates, updates, redeliveries, stale replays, tombstones (each followed
/// by a redelivery of the deleted version, some by a re-create) and malformed records, in the
/// order they are produced.
std::vector<Produced> scenario();

/// The state the store must reach: each key's changes applied in order under the guard (a
/// delete leaves a marker that only a newer version passes).
std::map<std::pair<Plant, std::int64_t>, ImageRecord> expected_state(
    const std::vector<Produced>& events);

/// Produces `events` to the topics `prefix`+plant of `brokers`, the key's id choosing the
/// partition, and waits until every one is acknowledged. `producer_extra`: librdkafka properties.
void produce_all(const std::string& prefix, const std::vector<Produced>& events,
                 const std::string& brokers = TestKafka::get().brokers(),
                 const kafka::Properties& producer_extra = {});

/// The three plant topics under `prefix`.
std::vector<std::string> topics_for(const std::string& prefix);

/// A consumer of `topics` in `group`, reporting partition ends, with the tests' short session
/// timeout.
kafka::ConsumerConfig consumer_of(std::vector<std::string> topics, const std::string& group,
                                  const std::string& brokers = TestKafka::get().brokers());
/// A consumer of the topics under `prefix` in `group`, reporting partition ends.
kafka::ConsumerConfig consumer_config(const std::string& prefix, const std::string& group,
                                      const std::string& brokers = TestKafka::get().brokers());

/// Requires `store` to hold exactly expected_state(events), field for field.
void check_store(store::ImageStore& store, const std::vector<Produced>& events);

std::uint64_t malformed_count(const std::vector<Produced>& events);

/// Counts rejected records, checking each reason names its topic/partition@offset.
class QuietBadRecords final : public sync::BadRecordSink {
 public:
  sync::Verdict reject(const codec::RawRecord&, std::string_view reason) override;
  std::atomic<std::uint64_t> count{0};
};

/// Fresh topics named after `stem`, filled with the scenario, and a group of their own.
struct Prepared {
  std::string prefix;
  std::string group;
  std::vector<Produced> events;
};

/// Creates the topics on TestKafka and produces the scenario into them.
Prepared prepare(const std::string& stem);

/// Runs one consumer of `config` into `store` until it stops by itself; what it counted.
sync::StreamSnapshot consume(const kafka::ConsumerConfig& config, store::ImageStore& store,
                             sync::BadRecordSink& bad, const sync::StreamOptions& options);

/// exit_at_end, and defaults otherwise.
sync::StreamOptions until_end();

/// Fails the running case unless the tests run against the embedded Kafka (`mock`) or a real
/// broker (!`mock`). Such cases are named "AREA: mock: ..." or "AREA: kafka: ...", and the ctest
/// filters run each against its own Kafka only (tests/CMakeLists.txt).
void require_kafka(bool mock);

/// StreamSync::run on a thread of its own; join() waits for it and rethrows what it threw.
class RunInBackground {
 public:
  explicit RunInBackground(sync::StreamSync& stream);
  ~RunInBackground();
  void join();
  std::atomic<bool> stop{false};

 private:
  std::exception_ptr failure_;
  std::thread thread_;
};

}  // namespace lims::test
