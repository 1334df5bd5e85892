#include "test_kafka.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>

#include "kafka/admin.hpp"
#include "kafka/mock_cluster.hpp"

namespace lims::test {
namespace {
std::unique_ptr<kafka::MockCluster>& mock() {
  static std::unique_ptr<kafka::MockCluster> cluster;
  return cluster;
}
}  // namespace

TestKafka::TestKafka() {
  if (const char* brokers = std::getenv("LIMS_TEST_BROKERS"); brokers && *brokers) {
    brokers_ = brokers;
  } else if (const char* file = std::getenv("LIMS_KAFKA_BOOTSTRAP_FILE"); file && *file) {
    std::ifstream in(file);
    std::getline(in, brokers_);
  }
  if (brokers_.empty()) {
    mock() = std::make_unique<kafka::MockCluster>();
    brokers_ = mock()->bootstrap_servers();
    is_mock_ = true;
  }
}

TestKafka& TestKafka::get() {
  static TestKafka instance;
  return instance;
}

void TestKafka::create_topics(const std::vector<std::string>& topics, int partitions) {
  if (is_mock_) {
    for (const auto& t : topics) mock()->create_topic(t, partitions);
  } else {
    kafka::create_topics(brokers_, topics, partitions);
  }
}

std::string TestKafka::unique(const std::string& stem) {
  static std::atomic<int> counter{0};
  return stem + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

}  // namespace lims::test
