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

}  // namespace lims::kafka
