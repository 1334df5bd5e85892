// A fatal librdkafka error (here: this member fenced by another with the same static
// group.instance.id) ends the stream with a clear lims::Error instead of a silent stall.

#include <doctest/doctest.h>

#include <thread>

#include "common/error.hpp"
#include "store/image_store.hpp"
#include "sync/bad_records.hpp"
#include "sync/stream.hpp"
#include "test_kafka.hpp"

namespace lims {

TEST_CASE("fault: a fenced static member fails for good with a clear message") {
  auto& kafka = test::TestKafka::get();
  if (kafka.is_mock()) {
    MESSAGE("skipped: the embedded Kafka does not fence static members");
    return;
  }
  const std::string topic = test::TestKafka::unique("fenced") + ".pepper";
  kafka.create_topics({topic}, 1);
  kafka::ConsumerConfig config;
  config.brokers = kafka.brokers();
  config.group = test::TestKafka::unique("g");
  config.topics = {topic};
  config.extra = {{"session.timeout.ms", "6000"}, {"group.instance.id", "lims-static-1"}};

  auto store = store::open_store("sqlite::memory:");
  sync::SkipBadRecords bad;
  sync::StreamSync first(config, *store, bad, {});
  std::atomic<bool> stop{false};
  std::string error;
  std::thread runner([&] {
    try {
      first.run(stop);
    } catch (const Error& e) {
      error = e.what();
    }
  });
  // The first member must have joined before the second takes its identity.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (first.counters().assigned == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(first.counters().assigned > 0);
  {
    auto other = store::open_store("sqlite::memory:");
    sync::StreamSync second(config, *other, bad, {});
    std::atomic<bool> stop_second{false};
    std::thread second_runner([&] { second.run(stop_second); });
    runner.join();  // the fenced first member ends by itself
    stop_second = true;
    second_runner.join();
  }
  CHECK(error.find("failed for good") != std::string::npos);
}

}  // namespace lims
