#pragma once
// Cluster administration the tools need: creating topics.

#include <string>
#include <vector>

#include "kafka/config.hpp"

namespace lims::kafka {

/// Creates each topic with `partitions` partitions (replication 1) unless it exists already.
/// Throws lims::Error naming the topic that could not be created.
void create_topics(const std::string& brokers, const std::vector<std::string>& topics,
                   int partitions, const Properties& extra = {}, int timeout_ms = 15000);

/// What ensure_topic() found.
enum class TopicState { existed, created };

/// Makes sure `topic` exists, as Kafka Connect does for its dead-letter queue: looks it up
/// without letting the lookup create it, and when it is missing creates it with `partitions`
/// partitions and the broker's default replication factor (brokers from Kafka 2.4). Another
/// client creating it meanwhile counts as existed. Throws lims::Error with ExitCode::unreachable
/// when the brokers do not answer within `timeout_ms`, and lims::Error saying why otherwise
/// (not authorized, no controller, the broker refused the topic, ...).
TopicState ensure_topic(const std::string& brokers, const std::string& topic, int partitions,
                        const Properties& extra = {}, int timeout_ms = 10000);

}  // namespace lims::kafka
