#pragma once
// `lims replay record`: the records of some topics, from the beginning, as record lines
// (codec/record_line.hpp), read outside any consumer group and never committed.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "kafka/reader.hpp"

namespace lims::replay {

struct RecordOptions {
  std::vector<std::string> topics;  // as the cluster names them
  std::string topic_prefix;         // left out of the topic names written
  bool follow = false;              // keep going past the end offsets at the start, until `stop`
  std::chrono::milliseconds progress_interval{5000};
};

/// What record() did; written on its thread.
struct RecordStats {
  std::map<std::string, std::uint64_t> per_topic;
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;  // written
  double seconds = 0;
  bool stopped = false;  // by `stop`, before the end
};

/// Writes every record of the topics to `out` (named `out_name` in errors), one line each, from
/// each partition's beginning up to the end offset it had when record() started (with follow:
/// until `stop`; the output is flushed whenever no record is waiting). Calls `progress` every
/// progress_interval. Throws lims::Error: usage for a topic the cluster does not have, failure
/// when the output cannot be written.
void record(kafka::Reader& reader, const RecordOptions& options, std::FILE* out,
            const std::string& out_name, const std::atomic<bool>& stop, RecordStats& stats,
            const std::function<void(const RecordStats&)>& progress = {});

/// "record: N records (pepper P, potato Q, tomato R), B bytes in T s"
std::string record_summary(const RecordStats& stats);

}  // namespace lims::replay
