#pragma once
// The stream synchronizer: consume, decode, collapse per key, apply to the store, then commit.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "kafka/consumer.hpp"
#include "metrics/registry.hpp"
#include "metrics/stages.hpp"
#include "store/image_store.hpp"
#include "sync/ack_log.hpp"
#include "sync/bad_records.hpp"

namespace lims::sync {

struct StreamOptions {
  std::size_t batch_max_events = 1000;
  std::size_t batch_max_bytes = 16u << 20;  // raw value bytes
  int batch_max_ms = 100;    // oldest record's longest wait before a write (sooner when nothing
                             // more is waiting and the writer is idle)
  bool exit_at_end = false;  // stop once every assigned partition is drained and committed
  /// With exit_at_end: a partition listed here also counts as drained once the record before
  /// its offset is read, even if more have arrived since (e.g. the end offsets at start).
  std::vector<kafka::TopicPartition> end_offsets;
  std::uint64_t max_records = 0;  // stop after this many records (0: no limit)
  int retry_initial_ms = 100;     // backoff on transient store errors and failed last commits
  int retry_max_ms = 10000;
  int stop_commit_timeout_ms = 10000;  // how long a stop retries a failed last commit
  std::chrono::milliseconds progress_interval{5000};
  /// Where the stream's metrics go (lims_events_total, lims_end_to_end_seconds, ...; see
  /// README "Metrics"); null: kept privately. The registry must not be rendered once the
  /// StreamSync is gone (its lag and counter callbacks read it).
  metrics::Registry* metrics = nullptr;
  /// Told about each batch once the store has acknowledged it, before its offsets are committed
  /// (e.g. an AckLog); empty: nobody.
  WriteObserver on_acked;
};

/// Counters, readable from any thread while the stream runs.
struct StreamCounters {
  std::atomic<std::uint64_t> records{0};  // received (good and bad)
  std::atomic<std::uint64_t> bytes{0};    // value bytes received
  std::atomic<std::uint64_t> applied{0};
  std::atomic<std::uint64_t> stale{0};
  std::atomic<std::uint64_t> deleted{0};
  std::atomic<std::uint64_t> bad{0};  // rejected by the codec or the store
  std::atomic<std::uint64_t> committed_records{0};
  std::atomic<std::uint64_t> committed_bytes{0};
  std::atomic<bool> backing_off{false};  // the store fails, or dead letters are not kept: retrying
  std::atomic<int> assigned{0};          // partitions this member owns now
  std::atomic<bool> ended{false};        // run() has returned or thrown
};

/// A point-in-time view for progress lines and summaries.
struct StreamSnapshot {
  std::uint64_t records = 0, bytes = 0, applied = 0, stale = 0, deleted = 0, bad = 0;
  std::int64_t lag = 0;
  double elapsed_s = 0;  // since the stream started
  double steady_s = 0;   // from the first record received to the last commit
  std::uint64_t steady_records = 0, steady_bytes = 0;
  /// Committed records per second over the steady window (0 before anything committed).
  double events_per_s() const { return steady_s > 0 ? steady_records / steady_s : 0; }
  double mb_per_s() const { return steady_s > 0 ? steady_bytes / steady_s / 1e6 : 0; }
};

class StreamSync {
 public:
  /// Connects the consumer (may throw lims::Error unreachable) with the store and sink given.
  StreamSync(const kafka::ConsumerConfig& consumer, store::ImageStore& store,
             BadRecordSink& bad_records, StreamOptions options);
  ~StreamSync();
  StreamSync(const StreamSync&) = delete;
  StreamSync& operator=(const StreamSync&) = delete;

  /// Runs until `stop` is set, the end is reached (exit_at_end / max_records) or a fatal error
  /// (thrown as lims::Error). Always finishes and commits the batch in hand and leaves the group
  /// before returning. `progress` (optional) is called every progress_interval.
  void run(const std::atomic<bool>& stop,
           const std::function<void(const StreamSnapshot&)>& progress = {});
  /// Current counters and lag; thread-safe.
  StreamSnapshot snapshot() const;
  /// The live counters (backing_off among them, for readiness); thread-safe.
  const StreamCounters& counters() const;
  /// While the stream backs off: what it waits for ("the store is failing", "1 dead letter to
  /// lims-dead-letters not acknowledged (...)"); nullopt otherwise. Thread-safe.
  std::optional<std::string> backoff_reason() const;
  /// Why the stream is not ready to count as a live consumer (for /readyz): no partition assigned
  /// yet, or the writer backing off; nullopt when ready. Thread-safe.
  std::optional<std::string> unready_reason() const;
  /// Waits until `condition` holds for the counters (true) or `timeout` passes (false). The
  /// condition is looked at again whenever the stream moves: each turn of its loop (at least
  /// every 100 ms while it runs), each commit, and when run() ends.
  bool wait_for(const std::function<bool(const StreamCounters&)>& condition,
                std::chrono::milliseconds timeout) const;
  /// lims_end_to_end_seconds, from the Kafka record timestamp to the store's ack; thread-safe.
  const metrics::Histogram& end_to_end_seconds() const;
  /// Where the stream's time went, per stage (see stream_metrics.hpp); thread-safe.
  const metrics::StageAccount& stages() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lims::sync
