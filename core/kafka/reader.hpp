#pragma once
// A consumer outside the stream's consumer group: it reads the partitions it is given from the
// offsets it is given and never commits (for tools such as `lims replay record`), and looks up
// offsets by time.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kafka/config.hpp"
#include "kafka/message.hpp"

namespace lims::kafka {

/// Offsets with a meaning of their own (librdkafka's): a partition's first and next offset.
inline constexpr std::int64_t kOffsetBeginning = -2;
inline constexpr std::int64_t kOffsetEnd = -1;

struct ReaderConfig {
  std::string brokers;
  int connect_timeout_ms = 10000;
  Properties extra;  // -X pass-through, applied last
  /// How long a fetch may wait for records: a new assignment's first fetch can wait behind it
  /// (the embedded Kafka holds an empty fetch this long), so offsets_at_time() wants it short.
  int fetch_wait_max_ms = 100;
};

/// A partition (its offset unused) with its watermarks: the first offset kept, and the offset
/// the next record will get.
struct PartitionRange {
  TopicPartition partition;
  std::int64_t low = 0;
  std::int64_t high = 0;
};

class Reader {
 public:
  /// Connects (bounded by connect_timeout_ms, else lims::Error unreachable). It holds a group
  /// id of its own, which it never joins and never commits to.
  explicit Reader(const ReaderConfig& config);
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  /// Every partition of `topics`, in order, with its watermarks now. Throws lims::Error: usage
  /// for a topic the cluster does not have, unreachable when the brokers do not answer.
  std::vector<PartitionRange> partitions(const std::vector<std::string>& topics,
                                         int timeout_ms = 10000);
  /// Reads `parts` from their offsets (an offset, kOffsetBeginning or kOffsetEnd) from now on,
  /// instead of what it read before.
  void assign(const std::vector<TopicPartition>& parts);
  /// The next record or partition-EOF event, or nullopt after `timeout_ms` without one. Every
  /// Message must be gone before the Reader is.
  std::optional<Message> poll(int timeout_ms);
  /// The record at `at` (topic, partition and offset), read again; replaces the assignment.
  /// nullopt when the partition no longer holds it (retention or compaction removed it). Throws
  /// lims::Error (unreachable) when the brokers do not answer within `timeout_ms`.
  std::optional<RecordCopy> read_at(const TopicPartition& at, int timeout_ms = 10000);
  /// For each of `parts`, the offset of its earliest record stamped at or after `time_ms` (ms
  /// since the epoch), or its end offset when it has none. The brokers' time index answers;
  /// where a broker knows no such record although the partition's last record is that recent
  /// (librdkafka's mock cluster, the embedded Kafka, cannot look times up), a binary search over
  /// the records' timestamps finds it, taking them to grow with the offset. Replaces the
  /// assignment. Throws lims::Error when the brokers do not answer within `timeout_ms`.
  std::vector<TopicPartition> offsets_at_time(const std::vector<TopicPartition>& parts,
                                              std::int64_t time_ms, int timeout_ms = 10000);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lims::kafka
