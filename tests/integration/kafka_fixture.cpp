#include "kafka_fixture.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

#include "common/error.hpp"
#include "kafka/admin.hpp"
#include "kafka/mock_cluster.hpp"

// Where the broker fixture's scripts are (tests/CMakeLists.txt defines it).
#ifndef LIMS_KAFKA_FIXTURE_DIR
#define LIMS_KAFKA_FIXTURE_DIR "tests/fixtures/kafka"
#endif

namespace lims::test {
namespace {
std::unique_ptr<kafka::MockCluster>& embedded() {
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
    if (!brokers_.empty()) fixture_dir_ = std::filesystem::path(file).parent_path().string();
  }
  if (brokers_.empty()) {
    embedded() = std::make_unique<kafka::MockCluster>();
    brokers_ = embedded()->bootstrap_servers();
    is_mock_ = true;
  }
}

TestKafka& TestKafka::get() {
  static TestKafka instance;
  return instance;
}

kafka::MockCluster* TestKafka::mock() const { return embedded().get(); }

pid_t TestKafka::fixture_pid() const {
  if (fixture_dir_.empty()) throw Error("no Kafka broker fixture: no pid to signal");
  std::ifstream in(fixture_dir_ + "/pid");
  pid_t pid = 0;
  if (!(in >> pid) || pid <= 0) throw Error("no broker pid in " + fixture_dir_ + "/pid");
  return pid;
}

void TestKafka::restart_fixture() const {
  if (fixture_dir_.empty()) throw Error("no Kafka broker fixture to restart");
  const std::string command =
      std::string(LIMS_KAFKA_FIXTURE_DIR) + "/start '" + fixture_dir_ + "' --restart >/dev/null";
  if (int rc = std::system(command.c_str()); rc != 0)
    throw Error("restarting the Kafka broker fixture failed (" + command + ": status " +
                std::to_string(rc) + ")");
}

void TestKafka::create_topics(const std::vector<std::string>& topics, int partitions) {
  if (is_mock_) {
    for (const auto& t : topics) embedded()->create_topic(t, partitions);
  } else {
    kafka::create_topics(brokers_, topics, partitions);
  }
}

std::string TestKafka::unique(const std::string& stem) {
  static std::atomic<int> counter{0};
  return stem + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

}  // namespace lims::test
