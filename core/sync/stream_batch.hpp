#pragma once
// The stream's batch: the records read since the last hand-over to the writer, their events
// collapsed per key, and how far they reach in each partition.

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string_view>
#include <vector>

#include "kafka/config.hpp"
#include "sync/collapse.hpp"

namespace lims::sync {

/// Dense numbers (slots) for the partitions a stream meets, so that per-partition state lives in
/// vectors. A record finds its slot at once when it comes from the partition of the record before
/// it (librdkafka hands out a partition's records together), else with a scan of the few
/// partitions known. Slots are never given back, and a slot's partition never moves in memory:
/// another thread may read it through a reference taken earlier. Used by one thread.
class PartitionSlots {
 public:
  /// The slot of (topic, partition), new the first time it is asked for.
  std::size_t slot(std::string_view topic, std::int32_t partition);
  /// The slot of a known partition, or nullopt.
  std::optional<std::size_t> find(const kafka::TopicPartition& tp) const;
  const kafka::TopicPartition& partition(std::size_t slot) const { return parts_[slot]; }
  std::size_t size() const { return parts_.size(); }

 private:
  std::deque<kafka::TopicPartition> parts_;
  std::size_t last_ = 0;  // the slot found last
};

/// The partitions a stream member holds, and whether each is drained: at its end (librdkafka's
/// partition EOF), or read past the offset given for it (StreamOptions::end_offsets).
class PartitionProgress {
 public:
  explicit PartitionProgress(std::vector<kafka::TopicPartition> end_offsets)
      : end_offsets_(std::move(end_offsets)) {}
  /// The slots of every partition met.
  const PartitionSlots& slots() const { return slots_; }
  std::size_t slot(std::string_view topic, std::int32_t partition) {
    return slots_.slot(topic, partition);
  }
  /// Partitions given to this member: not drained yet.
  void assign(const std::vector<kafka::TopicPartition>& parts);
  /// Partitions taken away; returns the slots of those it held.
  std::vector<std::size_t> remove(const std::vector<kafka::TopicPartition>& parts);
  /// The partition has no more records for now.
  void reached_end(std::size_t slot) { state(slot).at_end = true; }
  /// A record at `offset` was read: drained when it is the one before the end offset, or later.
  void read(std::size_t slot, std::int64_t offset);
  /// Partitions held now.
  int assigned() const { return assigned_; }
  /// True when partitions are held and every one of them is drained.
  bool at_end() const;

 private:
  struct State {
    bool assigned = false;
    bool at_end = false;
    std::int64_t end_offset = -1;  // from end_offsets_, or -1
  };
  State& state(std::size_t slot);

  std::vector<kafka::TopicPartition> end_offsets_;
  PartitionSlots slots_;
  std::vector<State> states_;  // by slot
  int assigned_ = 0;
};

/// A batch in the making (consuming thread) or being written (writer thread). It holds the
/// decoded events and where each came from, not librdkafka's messages: a message pins the whole
/// fetch response it came in, so the messages go as soon as they are decoded. The rare record
/// the store refuses is read again from Kafka for its dead letter (ConsumerSide::reread()).
struct StreamBatch {
  using Clock = std::chrono::steady_clock;

  /// Where a record whose event the collapser holds came from (the collapser's tag indexes it).
  struct Origin {
    const kafka::TopicPartition* partition;  // PartitionSlots' own: it outlives the batch
    std::int64_t offset;
  };
  std::vector<Origin> origins;
  std::vector<std::int64_t> timestamps_ms;  // their Kafka timestamps (<= 0: unknown), in order
  Collapser collapser;
  std::uint64_t records = 0;   // every record read into it, bad ones included
  std::uint64_t bytes = 0;     // their value bytes
  std::uint64_t rejected = 0;  // by the codec, already handed to the bad-record sink
  Clock::time_point opened;    // when its first record came
  /// The offsets to commit once it is written, one per partition (last offset + 1); made from
  /// the per-slot offsets when the batch is handed to the writer (close()).
  std::vector<kafka::TopicPartition> commit_offsets;

  bool empty() const { return records == 0; }
  /// Counts a record of `value_bytes` at `offset` in partition `slot`.
  void add_record(std::size_t slot, std::int64_t offset, std::size_t value_bytes);
  /// Leaves partition `slot` out of the offsets to commit (its partition was taken away).
  void forget(std::size_t slot);
  /// Makes commit_offsets, before the batch goes to the writer thread.
  void close(const PartitionSlots& slots);
  /// Empties it, keeping the memory for the next batch.
  void clear();

 private:
  std::vector<std::int64_t> next_offset_;  // by slot: the last offset + 1, or -1 for none
  std::vector<std::size_t> touched_;       // the slots with an offset, in first-seen order
};

}  // namespace lims::sync
