#pragma once
// `lims replay play`: a capture of record lines (codec/record_line.hpp) produced again, paced
// like the original or flat out, every key's records in their order.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "codec/record_line.hpp"
#include "kafka/producer.hpp"

namespace lims::replay {

/// A capture file, every line checked and indexed up front; records are read again one at a
/// time when played, so a capture of any size plays in little memory. Blank lines are skipped.
class Capture {
 public:
  /// Reads and checks every line of `path` (a regular file: it is read twice). Throws
  /// lims::Error (usage) "<path>:<line>: <field>: <problem>" at the first bad line, or naming
  /// the file when it cannot be read.
  explicit Capture(const std::string& path);
  ~Capture();
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  /// How many records it holds.
  std::size_t size() const { return index_.size(); }
  /// Record indices in play order (replay::merge_by_time).
  const std::vector<std::size_t>& order() const { return order_; }
  /// The timestamp record `i` is paced by (ms since the epoch).
  std::int64_t time_ms(std::size_t i) const { return time_ms_[i]; }
  /// Record `i` (in file order), read again; throws lims::Error if the file changed meanwhile.
  codec::RecordLine read(std::size_t i);

 private:
  struct Entry {
    std::int64_t at = 0;  // byte offset of the line
    std::size_t length = 0;
    std::uint64_t line = 0;
    std::uint32_t topic = 0;  // into topics_
    std::int32_t partition = 0;
    std::int64_t offset = 0;
    std::int64_t timestamp_ms = -1;
  };
  void index_lines();

  std::string path_;
  std::FILE* file_ = nullptr;
  std::vector<std::string> topics_;
  std::vector<Entry> index_;
  std::vector<std::size_t> order_;
  std::vector<std::int64_t> time_ms_;
  std::string buffer_;
  codec::RecordLineParser parser_;
};

struct PlayOptions {
  std::string topic_prefix;       // records go to <prefix><recorded topic>
  double rate_multiplier = 1;     // the original spacing is divided by this
  bool max = false;               // no spacing: as fast as the producer takes them
  int flush_timeout_ms = 120000;  // for the last deliveries
  std::chrono::milliseconds progress_interval{5000};
};

/// What play() did; written on its thread (progress is called there too).
struct PlayStats {
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;                         // key and value bytes
  std::uint64_t total = 0;                         // records in the capture
  std::map<std::string, std::uint64_t> per_topic;  // by destination topic
  std::int64_t capture_time_ms = 0;                // pacing time of the last record produced
  std::uint64_t delivered = 0, failed = 0;         // once flushed
  double seconds = 0;
  bool stopped = false;  // by `stop`, before the end
};

/// Produces the capture's records in play order, keyed as recorded (the partitioner maps the
/// key; no key is sent for a null or empty one), tombstones as tombstones, with the original
/// spacing divided by rate_multiplier (none with `max`), until the end or `stop`; then waits for
/// every delivery. Calls `progress` every progress_interval. Throws lims::Error when a record
/// cannot be queued or the deliveries do not finish within flush_timeout_ms.
void play(kafka::Producer& producer, Capture& capture, const PlayOptions& options,
          const std::atomic<bool>& stop, PlayStats& stats,
          const std::function<void(const PlayStats&)>& progress = {});

/// "play: N records (pepper P, potato Q, tomato R), B bytes in T s (X records/s); D delivered,
/// F failed"
std::string play_summary(const PlayStats& stats);
/// "play: N of M records (P%), B bytes; capture time YYYY-MM-DDTHH:MM:SS"
std::string play_progress(const PlayStats& stats);

}  // namespace lims::replay
