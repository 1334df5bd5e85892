#pragma once
// Internal to core/kafka: building rd_kafka_conf_t and client handles with lims's callbacks.

#include <string>

#include "kafka/config.hpp"
#include "kafka/handles.hpp"

namespace lims::kafka::detail {

/// A conf with `props` applied and the log callback routed into lims::log. Throws lims::Error
/// (usage) naming the property librdkafka refused.
ConfHandle make_conf(const Properties& props);
/// Creates the client; takes ownership of `conf` (also on failure).
KafkaHandle make_client(rd_kafka_type_t type, ConfHandle conf);
/// Waits up to `timeout_ms` for cluster metadata from `rk`; throws lims::Error (unreachable)
/// naming `brokers` otherwise.
void wait_for_cluster(rd_kafka_t* rk, const std::string& brokers, int timeout_ms);
/// The value of a configuration property of a client ("" if unknown).
std::string property(rd_kafka_t* rk, const char* name);
/// A librdkafka partition list of `parts`, offsets included.
PartitionListHandle to_list(const std::vector<TopicPartition>& parts);
/// Converts a librdkafka partition list.
std::vector<TopicPartition> to_vector(const rd_kafka_topic_partition_list_t* list);

}  // namespace lims::kafka::detail
