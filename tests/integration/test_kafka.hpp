#pragma once
// The Kafka the integration tests run against: the embedded mock cluster, the real broker
// fixture (LIMS_KAFKA_BOOTSTRAP_FILE), or any cluster named by LIMS_TEST_BROKERS.

#include <string>
#include <vector>

namespace lims::test {

class TestKafka {
 public:
  /// The process-wide instance, chosen by the environment at first use.
  static TestKafka& get();
  const std::string& brokers() const { return brokers_; }
  bool is_mock() const { return is_mock_; }
  /// Creates fresh topics with `partitions` partitions each.
  void create_topics(const std::vector<std::string>& topics, int partitions);
  /// A name unique to this test process, for topic prefixes and groups.
  static std::string unique(const std::string& stem);

 private:
  TestKafka();
  std::string brokers_;
  bool is_mock_ = false;
};

}  // namespace lims::test
