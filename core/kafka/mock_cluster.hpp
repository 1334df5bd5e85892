#pragma once
// The embedded Kafka: librdkafka's mock cluster, speaking the real protocol on loopback TCP.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lims::kafka {

/// Each partition keeps only its newest ~5 MiB (and 100k records). A consumer group join takes
/// about 3 s. Lives until destroyed.
class MockCluster {
 public:
  /// Starts `brokers` brokers on free loopback ports; throws lims::Error if it cannot.
  explicit MockCluster(int brokers = 1);
  ~MockCluster();
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  /// "host:port[,host:port...]" to give clients as bootstrap.servers.
  std::string bootstrap_servers() const;
  /// Creates `topic` with `partitions` partitions. Throws lims::Error on failure.
  void create_topic(const std::string& topic, int partitions);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lims::kafka
