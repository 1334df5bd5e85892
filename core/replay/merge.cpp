#include "replay/merge.hpp"

#include <algorithm>
#include <map>
#include <queue>
#include <tuple>
#include <utility>

namespace lims::replay {
namespace {

/// Each (topic, partition)'s record indices, in offset order.
std::vector<std::vector<std::size_t>> partition_sequences(
    const std::vector<CapturedStamp>& records) {
  std::map<std::pair<std::string_view, std::int32_t>, std::size_t> which;
  std::vector<std::vector<std::size_t>> sequences;
  for (std::size_t i = 0; i < records.size(); ++i) {
    auto [it, added] =
        which.try_emplace({records[i].topic, records[i].partition}, sequences.size());
    if (added) sequences.emplace_back();
    sequences[it->second].push_back(i);
  }
  for (auto& seq : sequences)
    std::stable_sort(seq.begin(), seq.end(), [&](std::size_t a, std::size_t b) {
      return records[a].offset < records[b].offset;
    });
  return sequences;
}

/// Fills in unknown timestamps along one partition: the previous known one, else the next.
void resolve_times(const std::vector<CapturedStamp>& records, const std::vector<std::size_t>& seq,
                   std::vector<std::int64_t>& time_ms) {
  std::int64_t known = -1;
  for (std::size_t i : seq)
    if (records[i].timestamp_ms >= 0) {
      known = records[i].timestamp_ms;
      break;
    }
  if (known < 0) known = 0;
  for (std::size_t i : seq) {
    if (records[i].timestamp_ms >= 0) known = records[i].timestamp_ms;
    time_ms[i] = known;
  }
}

}  // namespace

PlayOrder merge_by_time(const std::vector<CapturedStamp>& records) {
  PlayOrder out;
  out.time_ms.assign(records.size(), 0);
  out.order.reserve(records.size());
  const auto sequences = partition_sequences(records);
  for (const auto& seq : sequences) resolve_times(records, seq, out.time_ms);

  // Min-heap of each partition's next record: (timestamp, input index, partition, position).
  using Head = std::tuple<std::int64_t, std::size_t, std::size_t, std::size_t>;
  std::priority_queue<Head, std::vector<Head>, std::greater<>> heads;
  for (std::size_t s = 0; s < sequences.size(); ++s)
    heads.emplace(out.time_ms[sequences[s][0]], sequences[s][0], s, 0);
  while (!heads.empty()) {
    const auto [time, index, s, position] = heads.top();
    heads.pop();
    out.order.push_back(index);
    if (position + 1 < sequences[s].size()) {
      const std::size_t next = sequences[s][position + 1];
      heads.emplace(out.time_ms[next], next, s, position + 1);
    }
  }
  return out;
}

}  // namespace lims::replay
