#pragma once
// The embedded Kafka: librdkafka's mock cluster, speaking the real protocol on loopback TCP.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lims::kafka {

/// A Kafka protocol request kind, for injecting faults into the mock cluster.
enum class MockRequest : std::uint8_t {
  produce,
  fetch,
  list_offsets,
  metadata,
  offset_commit,
  offset_fetch,
  find_coordinator,
  join_group,
  heartbeat,
  leave_group,
  sync_group,
};

/// An error a mock broker answers a request with. Values are Kafka protocol error codes, except
/// `disconnect`, which makes the broker drop the connection instead of answering.
enum class MockError : std::int16_t {
  none = 0,
  disconnect = -1,
  unknown_topic_or_partition = 3,
  leader_not_available = 5,
  not_leader_or_follower = 6,
  request_timed_out = 7,
  coordinator_load_in_progress = 14,
  coordinator_not_available = 15,
  not_coordinator = 16,
  not_enough_replicas = 19,
  rebalance_in_progress = 27,
  topic_authorization_failed = 29,
};

/// Each partition keeps only its newest ~5 MiB (and 100k records). A consumer group join takes
/// about 3 s. Lives until destroyed.
class MockCluster {
 public:
  /// Starts `brokers` brokers (ids 1..brokers) on free loopback ports; throws lims::Error if it
  /// cannot.
  explicit MockCluster(int brokers = 1);
  ~MockCluster();
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  /// "host:port[,host:port...]" to give clients as bootstrap.servers.
  std::string bootstrap_servers() const;
  /// How many brokers the cluster has.
  int brokers() const;
  /// Creates `topic` with `partitions` partitions. Throws lims::Error on failure.
  void create_topic(const std::string& topic, int partitions);

  // ---- fault injection (tests); each throws lims::Error if the cluster refuses ----------------

  /// Takes broker `broker_id` down (drops its connections, refuses new ones), or -1 for all.
  /// Partition leadership and the group coordinator stay where they are.
  void set_broker_down(std::int32_t broker_id);
  /// Lets broker `broker_id` (or -1: all) accept connections again.
  void set_broker_up(std::int32_t broker_id);
  /// The next requests of kind `request` to any broker fail with `errors`, one each, in order.
  void push_request_errors(MockRequest request, const std::vector<MockError>& errors);
  /// Forgets the errors pushed by push_request_errors() for `request` that no request took yet.
  void clear_request_errors(MockRequest request);
  /// The next requests of kind `request` to broker `broker_id` fail with `errors`, one each, in
  /// order, each answered after `delay_ms`. These go before the cluster-wide ones.
  void push_broker_request_errors(std::int32_t broker_id, MockRequest request,
                                  const std::vector<MockError>& errors, int delay_ms = 0);
  /// How many errors pushed on broker `broker_id` for `request` are still waiting for a request.
  std::size_t pending_broker_errors(std::int32_t broker_id, MockRequest request) const;
  /// Makes broker `broker_id` the coordinator of consumer group `group`; the previous one answers
  /// its members NOT_COORDINATOR from then on.
  void set_group_coordinator(const std::string& group, std::int32_t broker_id);
  /// Metadata requests for `topic` answer `error` from now on (none: answer normally again), so
  /// that unknown_topic_or_partition makes an existing topic look missing to clients, as on a
  /// broker that does not create topics on first use: records for it wait, then time out.
  void set_topic_error(const std::string& topic, MockError error);
  /// Moves the leadership of `topic`/`partition` to broker `broker_id` (-1: no leader).
  void set_partition_leader(const std::string& topic, std::int32_t partition,
                            std::int32_t broker_id);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lims::kafka
