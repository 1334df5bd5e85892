#include "kafka/mock_cluster.hpp"

#include "common/error.hpp"
#include "kafka/client.hpp"

namespace lims::kafka {

struct MockCluster::Impl {
  KafkaHandle rk;  // the handle the cluster hangs off: declared first, destroyed last
  MockClusterHandle cluster;
};

MockCluster::MockCluster(int brokers) : impl_(std::make_unique<Impl>()) {
  // The handle only hosts the cluster: it has no brokers of its own to be warned about.
  impl_->rk = detail::make_client(RD_KAFKA_PRODUCER, detail::make_conf({{"log_level", "3"}}));
  impl_->cluster.reset(rd_kafka_mock_cluster_new(impl_->rk.get(), brokers));
  if (!impl_->cluster) throw Error("cannot start the embedded Kafka (librdkafka mock cluster)");
}

MockCluster::~MockCluster() = default;

std::string MockCluster::bootstrap_servers() const {
  return rd_kafka_mock_cluster_bootstraps(impl_->cluster.get());
}

void MockCluster::create_topic(const std::string& topic, int partitions) {
  if (rd_kafka_resp_err_t err =
          rd_kafka_mock_topic_create(impl_->cluster.get(), topic.c_str(), partitions, 1))
    throw Error("creating topic " + topic + ": " + rd_kafka_err2str(err));
}

}  // namespace lims::kafka
