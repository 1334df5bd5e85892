// lims dev-broker: the embedded Kafka (librdkafka's mock cluster) as a standalone process.

#include <iostream>

#include "commands.hpp"
#include "common/log.hpp"
#include "common/signals.hpp"
#include "kafka/mock_cluster.hpp"

namespace lims::cli {
namespace {

struct DevBrokerOptions {
  int partitions = 1;
  int brokers = 1;
  TopicOptions topics;
};

int run_dev_broker(const DevBrokerOptions& o) {
  block_stop_signals();  // before the cluster starts its threads, so only sigwait sees them
  kafka::MockCluster cluster(o.brokers);
  const auto topics = o.topics.names();
  for (const auto& t : topics) cluster.create_topic(t, o.partitions);
  std::cout << cluster.bootstrap_servers() << std::endl;  // first line of stdout, flushed
  log::info("embedded Kafka at " + cluster.bootstrap_servers() + " with " +
            std::to_string(topics.size()) + " topics of " + std::to_string(o.partitions) +
            " partitions; Ctrl-C to stop");
  wait_for_stop_signal();
  return 0;
}

}  // namespace

Command setup_dev_broker(CLI::App& app) {
  auto o = std::make_shared<DevBrokerOptions>();
  CLI::App* c = app.add_subcommand(
      "dev-broker",
      "Run the embedded Kafka (librdkafka's mock cluster) until SIGINT or SIGTERM. The first\n"
      "line of stdout is its bootstrap address host:port. It speaks the real Kafka protocol,\n"
      "but keeps everything in memory, and each partition keeps only its newest 5 MiB (and\n"
      "100,000 records): size test data or partitions to fit. A group join takes about 3 s.");
  c->add_option("-p,--partitions", o->partitions, "Partitions per topic")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  add_topic_options(c, o->topics, "create");
  c->add_option("--broker-count", o->brokers, "Number of brokers in the cluster")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  return {c, [o] { return run_dev_broker(*o); }};
}

}  // namespace lims::cli
