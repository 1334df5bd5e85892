#pragma once
// The order `lims replay play` produces a capture in: by time across partitions, by offset
// within each partition, so that every key's records keep their order.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace lims::replay {

/// Where a captured record came from and when it was stamped.
struct CapturedStamp {
  std::string_view topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::int64_t timestamp_ms = -1;  // -1: unknown
};

/// The play order of `records` (indices into it) and each record's timestamp as used for pacing.
struct PlayOrder {
  std::vector<std::size_t> order;
  std::vector<std::int64_t> time_ms;  // indexed like `records`; never -1
};

/// Merges the records of each (topic, partition), taken in offset order (ties keep their input
/// order), by timestamp: next comes the partition whose next record has the smallest timestamp
/// (input order breaks ties). A partition's records are never reordered, even where their
/// timestamps go back in time. An unknown timestamp counts as the partition's previous one (at
/// its start, its next known one; 0 when it has none).
PlayOrder merge_by_time(const std::vector<CapturedStamp>& records);

}  // namespace lims::replay
