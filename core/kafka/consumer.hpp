#pragma once
// A high-level group consumer with manual offset storing and committing.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kafka/config.hpp"
#include "kafka/message.hpp"

namespace lims::kafka {

/// Told about partition movements. Called on the thread that calls Consumer::poll().
class RebalanceListener {
 public:
  virtual ~RebalanceListener() = default;
  /// Partitions that were just added to this consumer.
  virtual void on_assigned(const std::vector<TopicPartition>& partitions) = 0;
  /// Partitions about to be taken away: finish and commit their work before returning.
  virtual void on_revoking(const std::vector<TopicPartition>& partitions) = 0;
  /// Partitions already taken away (the session expired): commit nothing more for them.
  virtual void on_lost(const std::vector<TopicPartition>& partitions) = 0;
};

struct ConsumerConfig {
  std::string brokers;
  std::string group = "lims-consumer";
  std::vector<std::string> topics;
  bool from_beginning = false;  // ignore committed offsets on the first assignment
  /// Else, if set: on a partition's first assignment, ignore committed offsets and start at its
  /// earliest record stamped at or after this time (ms since the epoch; Reader::offsets_at_time),
  /// or at its end when it has none. A lookup that fails starts at the beginning (logged).
  std::optional<std::int64_t> start_time_ms;
  bool report_eof = false;         // deliver partition-EOF events (for --exit-at-end)
  int statistics_interval_ms = 0;  // how often received_bytes() is refreshed (0: never)
  int connect_timeout_ms = 10000;
  Properties extra;  // -X pass-through, applied last
};

class Consumer {
 public:
  /// Connects (bounded by connect_timeout_ms, else lims::Error unreachable) and subscribes.
  Consumer(const ConsumerConfig& config, RebalanceListener* listener);
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  /// The next record or event, or nullopt after `timeout_ms` without one. Before librdkafka
  /// 2.2 the fetcher sleeps up to 1 s after the local queue has been full, even once it
  /// drains, which stalls a consumer working through a backlog: when no record has come for
  /// 20 ms although the cached watermarks say more are waiting, poll() asks the partition
  /// leaders for their end offsets, which wakes the fetcher (and freshens lag()). While wakes
  /// bring nothing (a broker is down), the wait between them doubles up to 1 s.
  std::optional<Message> poll(int timeout_ms);
  /// Marks everything before each given offset as processed (offset = next to read).
  /// Partitions no longer assigned are skipped. Thread-safe.
  void store_offsets(const std::vector<TopicPartition>& next_offsets);
  /// Commits the stored offsets; waits for the broker's answer when `sync`. Thread-safe.
  /// A failed commit is logged; a sync one then returns false (the offsets stay stored, so the
  /// next commit carries them; if the partitions moved, their new owner re-reads the rest).
  bool commit(bool sync);
  /// Records between our position and the high watermark over the assignment, from cached
  /// watermarks (no network round trip). Partitions with no known position count fully.
  std::int64_t lag() const;
  /// lag() per assigned partition (offset: our position). Thread-safe.
  std::vector<std::pair<TopicPartition, std::int64_t>> lag_by_partition() const;
  /// Stops (true) or restarts (false) fetching for the whole assignment, partitions assigned
  /// meanwhile included. A paused consumer's poll() still serves rebalances and events; fetched
  /// records not yet returned are dropped and fetched again on resume, so memory stays small.
  void set_paused(bool paused);
  /// Bytes received from the brokers (librdkafka's rx_bytes: the wire bytes of every response),
  /// as of the last statistics report (ConsumerConfig::statistics_interval_ms). Thread-safe.
  std::uint64_t received_bytes() const;
  /// Set when librdkafka raised a fatal error; the consumer cannot go on.
  std::optional<std::string> fatal_error() const;
  /// The record at `at` read again, outside the group, by a Reader with this consumer's brokers
  /// and settings (for the rare caller that let the record go); see Reader::read_at().
  /// Thread-safe.
  std::optional<RecordCopy> reread(const TopicPartition& at) const;
  /// Leaves the group (revoking through the listener) and stops. Idempotent.
  void close();

 private:
  /// One ListOffsets request per partition leader (at most 100 ms).
  void wake_fetchers() const;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lims::kafka
