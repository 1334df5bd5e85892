#pragma once
// librdkafka configuration: named properties, -X pass-through, and shared client setup.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lims::kafka {

/// librdkafka properties in the order they are applied; later entries win.
using Properties = std::vector<std::pair<std::string, std::string>>;

/// Parses one "-X key=value"; throws lims::Error (usage) naming the argument otherwise.
std::pair<std::string, std::string> parse_property(std::string_view text);

/// True for a property whose value is a secret (passwords, keys, OAuth/SASL configs): its value
/// is never printed.
bool is_sensitive(std::string_view key);

/// A topic and partition, with an offset where one matters.
struct TopicPartition {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = -1001;  // RD_KAFKA_OFFSET_INVALID

  bool operator==(const TopicPartition&) const = default;
};

}  // namespace lims::kafka
