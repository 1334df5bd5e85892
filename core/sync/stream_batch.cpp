#include "sync/stream_batch.hpp"

#include <algorithm>

namespace lims::sync {

std::size_t PartitionSlots::slot(std::string_view topic, std::int32_t partition) {
  if (last_ < parts_.size() && parts_[last_].partition == partition && parts_[last_].topic == topic)
    return last_;
  last_ = parts_.size();
  for (std::size_t i = 0; i < parts_.size(); ++i)
    if (parts_[i].partition == partition && parts_[i].topic == topic) {
      last_ = i;
      return i;
    }
  parts_.push_back({std::string(topic), partition});
  return last_;
}

std::optional<std::size_t> PartitionSlots::find(const kafka::TopicPartition& tp) const {
  for (std::size_t i = 0; i < parts_.size(); ++i)
    if (parts_[i].partition == tp.partition && parts_[i].topic == tp.topic) return i;
  return std::nullopt;
}

PartitionProgress::State& PartitionProgress::state(std::size_t slot) {
  while (states_.size() <= slot) {
    const kafka::TopicPartition& tp = slots_.partition(states_.size());
    State& s = states_.emplace_back();
    for (const auto& end : end_offsets_)
      if (end.partition == tp.partition && end.topic == tp.topic) s.end_offset = end.offset;
  }
  return states_[slot];
}

void PartitionProgress::assign(const std::vector<kafka::TopicPartition>& parts) {
  for (const auto& tp : parts) {
    State& s = state(slots_.slot(tp.topic, tp.partition));
    if (!s.assigned) ++assigned_;
    s.assigned = true;
    s.at_end = false;
  }
}

std::vector<std::size_t> PartitionProgress::remove(
    const std::vector<kafka::TopicPartition>& parts) {
  std::vector<std::size_t> removed;
  for (const auto& tp : parts) {
    const auto slot = slots_.find(tp);
    if (!slot) continue;
    State& s = state(*slot);
    if (s.assigned) --assigned_;
    s.assigned = s.at_end = false;
    removed.push_back(*slot);
  }
  return removed;
}

void PartitionProgress::read(std::size_t slot, std::int64_t offset) {
  State& s = state(slot);
  s.at_end = s.end_offset >= 0 && offset + 1 >= s.end_offset;
}

bool PartitionProgress::at_end() const {
  return assigned_ > 0 && std::all_of(states_.begin(), states_.end(),
                                      [](const State& s) { return !s.assigned || s.at_end; });
}

void StreamBatch::add_record(std::size_t slot, std::int64_t offset, std::size_t value_bytes) {
  if (empty()) opened = Clock::now();
  ++records;
  bytes += value_bytes;
  if (slot >= next_offset_.size()) next_offset_.resize(slot + 1, -1);
  if (next_offset_[slot] < 0) touched_.push_back(slot);
  next_offset_[slot] = std::max(next_offset_[slot], offset + 1);
}

void StreamBatch::forget(std::size_t slot) {
  if (slot < next_offset_.size()) next_offset_[slot] = -1;
  std::erase(touched_, slot);
}

void StreamBatch::close(const PartitionSlots& slots) {
  commit_offsets.clear();
  for (std::size_t slot : touched_) {
    kafka::TopicPartition tp = slots.partition(slot);
    tp.offset = next_offset_[slot];
    commit_offsets.push_back(std::move(tp));
  }
}

void StreamBatch::clear() {
  origins.clear();
  timestamps_ms.clear();
  collapser.clear();
  records = bytes = rejected = 0;
  commit_offsets.clear();
  for (std::size_t slot : touched_) next_offset_[slot] = -1;
  touched_.clear();
}

}  // namespace lims::sync
