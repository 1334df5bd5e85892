#pragma once
// The Kafka the integration tests run against: the embedded mock cluster, the real broker
// fixture (LIMS_KAFKA_BOOTSTRAP_FILE), or any cluster named by LIMS_TEST_BROKERS.

#include <sys/types.h>

#include <string>
#include <vector>

namespace lims::kafka {
class MockCluster;
}

namespace lims::test {

class TestKafka {
 public:
  /// The process-wide instance, chosen by the environment at first use.
  static TestKafka& get();
  const std::string& brokers() const { return brokers_; }
  bool is_mock() const { return is_mock_; }
  /// The embedded cluster, for fault injection; null when the tests run against a real broker.
  kafka::MockCluster* mock() const;
  /// The state directory of the broker fixture (tests/fixtures/kafka) the tests run against, or
  /// "" when they do not (the mock, or a cluster named by LIMS_TEST_BROKERS).
  const std::string& fixture_dir() const { return fixture_dir_; }
  /// The fixture broker's process id (from fixture_dir()/pid); throws lims::Error without one.
  pid_t fixture_pid() const;
  /// Restarts the fixture broker on the same port and data (`start DIR --restart`), waiting
  /// until it serves again; throws lims::Error if it does not.
  void restart_fixture() const;
  /// Creates fresh topics with `partitions` partitions each.
  void create_topics(const std::vector<std::string>& topics, int partitions);
  /// A name unique to this test process, for topic prefixes and groups.
  static std::string unique(const std::string& stem);

 private:
  TestKafka();
  std::string brokers_;
  std::string fixture_dir_;
  bool is_mock_ = false;
};

}  // namespace lims::test
