#include "kafka/mock_cluster.hpp"

#include "common/error.hpp"
#include "kafka/client.hpp"

namespace lims::kafka {
namespace {

// Kafka protocol api keys (librdkafka's RD_KAFKAP_*, which its public headers do not export).
std::int16_t api_key(MockRequest request) {
  switch (request) {
    case MockRequest::produce: return 0;
    case MockRequest::fetch: return 1;
    case MockRequest::list_offsets: return 2;
    case MockRequest::metadata: return 3;
    case MockRequest::offset_commit: return 8;
    case MockRequest::offset_fetch: return 9;
    case MockRequest::find_coordinator: return 10;
    case MockRequest::join_group: return 11;
    case MockRequest::heartbeat: return 12;
    case MockRequest::leave_group: return 13;
    case MockRequest::sync_group: return 14;
  }
  throw Error("unknown mock request kind");
}

rd_kafka_resp_err_t resp_err(MockError error) {
  if (error == MockError::disconnect) return RD_KAFKA_RESP_ERR__TRANSPORT;
  return static_cast<rd_kafka_resp_err_t>(error);
}

void check(rd_kafka_resp_err_t err, const std::string& what) {
  if (err) throw Error("embedded Kafka: " + what + ": " + rd_kafka_err2str(err));
}

}  // namespace

struct MockCluster::Impl {
  KafkaHandle rk;  // the handle the cluster hangs off: declared first, destroyed last
  MockClusterHandle cluster;
  int brokers = 0;
};

MockCluster::MockCluster(int brokers) : impl_(std::make_unique<Impl>()) {
  // The handle only hosts the cluster: it has no brokers of its own to be warned about.
  impl_->rk = detail::make_client(RD_KAFKA_PRODUCER, detail::make_conf({{"log_level", "3"}}));
  impl_->cluster.reset(rd_kafka_mock_cluster_new(impl_->rk.get(), brokers));
  if (!impl_->cluster) throw Error("cannot start the embedded Kafka (librdkafka mock cluster)");
  impl_->brokers = brokers;
}

MockCluster::~MockCluster() = default;

std::string MockCluster::bootstrap_servers() const {
  return rd_kafka_mock_cluster_bootstraps(impl_->cluster.get());
}

int MockCluster::brokers() const { return impl_->brokers; }

void MockCluster::create_topic(const std::string& topic, int partitions) {
  if (rd_kafka_resp_err_t err =
          rd_kafka_mock_topic_create(impl_->cluster.get(), topic.c_str(), partitions, 1))
    throw Error("creating topic " + topic + ": " + rd_kafka_err2str(err));
}

void MockCluster::set_broker_down(std::int32_t broker_id) {
  check(rd_kafka_mock_broker_set_down(impl_->cluster.get(), broker_id),
        "taking broker " + std::to_string(broker_id) + " down");
}

void MockCluster::set_broker_up(std::int32_t broker_id) {
  check(rd_kafka_mock_broker_set_up(impl_->cluster.get(), broker_id),
        "bringing broker " + std::to_string(broker_id) + " up");
}

void MockCluster::push_request_errors(MockRequest request, const std::vector<MockError>& errors) {
  std::vector<rd_kafka_resp_err_t> errs;
  errs.reserve(errors.size());
  for (MockError e : errors) errs.push_back(resp_err(e));
  rd_kafka_mock_push_request_errors_array(impl_->cluster.get(), api_key(request), errs.size(),
                                          errs.data());
}

void MockCluster::clear_request_errors(MockRequest request) {
  rd_kafka_mock_clear_request_errors(impl_->cluster.get(), api_key(request));
}

void MockCluster::push_broker_request_errors(std::int32_t broker_id, MockRequest request,
                                             const std::vector<MockError>& errors, int delay_ms) {
  // The varargs call takes (error, rtt) pairs: push them one at a time, which appends in order.
  for (MockError e : errors)
    check(rd_kafka_mock_broker_push_request_error_rtts(impl_->cluster.get(), broker_id,
                                                       api_key(request), 1, resp_err(e), delay_ms),
          "pushing request errors on broker " + std::to_string(broker_id));
}

std::size_t MockCluster::pending_broker_errors(std::int32_t broker_id, MockRequest request) const {
  std::size_t count = 0;
  check(rd_kafka_mock_broker_error_stack_cnt(impl_->cluster.get(), broker_id, api_key(request),
                                             &count),
        "counting request errors on broker " + std::to_string(broker_id));
  return count;
}

void MockCluster::set_group_coordinator(const std::string& group, std::int32_t broker_id) {
  check(rd_kafka_mock_coordinator_set(impl_->cluster.get(), "group", group.c_str(), broker_id),
        "moving the coordinator of group " + group);
}

void MockCluster::set_topic_error(const std::string& topic, MockError error) {
  rd_kafka_mock_topic_set_error(impl_->cluster.get(), topic.c_str(), resp_err(error));
}

void MockCluster::set_partition_leader(const std::string& topic, std::int32_t partition,
                                       std::int32_t broker_id) {
  check(
      rd_kafka_mock_partition_set_leader(impl_->cluster.get(), topic.c_str(), partition, broker_id),
      "moving the leader of " + topic + "/" + std::to_string(partition));
}

}  // namespace lims::kafka
