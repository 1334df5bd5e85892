// A fatal librdkafka error (here: this member fenced by another with the same static
// group.instance.id) ends the stream with a clear lims::Error instead of a silent stall.

#include <doctest/doctest.h>

#include "common/error.hpp"
#include "scenario.hpp"
#include "store/image_store.hpp"
#include "sync/bad_records.hpp"
#include "sync/stream.hpp"

namespace lims {

// The embedded Kafka does not fence static members: a real broker's case (fault.kafka).
TEST_CASE("fault: kafka: a fenced static member fails for good with a clear message") {
  auto& kafka = test::TestKafka::get();
  test::require_kafka(false);
  const std::string topic = test::TestKafka::unique("fenced") + ".pepper";
  kafka.create_topics({topic}, 1);
  kafka::ConsumerConfig config = test::consumer_of({topic}, test::TestKafka::unique("g"));
  config.extra.emplace_back("group.instance.id", "lims-static-1");

  auto store = store::open_store("sqlite::memory:");
  sync::SkipBadRecords bad;
  sync::StreamSync first(config, *store, bad, {});
  test::RunInBackground runner(first);
  // The first member must have joined before the second takes its identity.
  REQUIRE(first.wait_for([](const sync::StreamCounters& c) { return c.assigned > 0; },
                         std::chrono::seconds(30)));
  auto other = store::open_store("sqlite::memory:");
  sync::StreamSync second(config, *other, bad, {});
  test::RunInBackground second_runner(second);
  std::string error;
  try {
    runner.join();  // the fenced first member ends by itself
  } catch (const Error& e) {
    error = e.what();
  }
  CHECK(error.find("failed for good") != std::string::npos);
}

}  // namespace lims
