#pragma once
// The stream's writer: a thread of its own that takes one batch at a time from the consuming
// thread, writes it to the store, and only then commits its offsets.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/backoff.hpp"
#include "kafka/config.hpp"
#include "kafka/message.hpp"
#include "store/image_store.hpp"
#include "sync/ack_log.hpp"
#include "sync/bad_records.hpp"
#include "sync/stream_batch.hpp"
#include "sync/stream_metrics.hpp"

namespace lims::sync {

struct StreamCounters;
struct StreamOptions;

/// What the writer asks of the stream's consumer.
class ConsumerSide {
 public:
  virtual ~ConsumerSide() = default;
  /// Stores the offsets (next to read, per partition) and commits them without waiting.
  virtual void commit(const std::vector<kafka::TopicPartition>& next_offsets) = 0;
  /// The record at `at`, read again (kafka::Consumer::reread()): nullopt when Kafka no longer
  /// holds it; throws lims::Error when Kafka does not answer.
  virtual std::optional<kafka::RecordCopy> reread(const kafka::TopicPartition& at) = 0;
};

/// Writes a batch in three steps: apply its writes to the store (retrying a transient error with
/// backoff), hand the records the store refused to the bad-record sink (their original bytes
/// read again from Kafka, else the event as decoded) and wait until every
/// rejected record of the batch is kept (retrying likewise), then commit its offsets. While it
/// backs off, counters.backing_off is set and backoff_reason() says why: the consuming thread
/// pauses fetching meanwhile. Two batches at most: the one being written and the one filling.
class BatchWriter {
 public:
  /// Starts the writer thread. `changed` is called whenever the counters move (each batch,
  /// each change of backing_off). Everything given must outlive the writer.
  BatchWriter(store::ImageStore& store, BadRecordSink& bad_records, ConsumerSide& consumer,
              StreamCounters& counters, StreamMetrics& metrics, const StreamOptions& options,
              std::function<void()> changed);
  /// Stops the thread (stop()).
  ~BatchWriter();
  BatchWriter(const BatchWriter&) = delete;
  BatchWriter& operator=(const BatchWriter&) = delete;

  // ---- the consuming thread's side ----

  /// The batch being filled.
  StreamBatch& filling() { return *filling_; }
  enum class Handoff { taken, busy, writer_gone };
  /// Hands the filling batch to the writer (closing it with `slots`), waiting up to `wait` while
  /// the writer is busy with the previous one, but not while it backs off. Rethrows the writer's
  /// failure.
  Handoff submit(const PartitionSlots& slots, std::chrono::milliseconds wait);
  /// Hands over the filling batch and waits until everything is written and its offsets stored.
  /// False when the writer gave up (stopped while backing off); rethrows its failure.
  bool write_all(const PartitionSlots& slots);
  /// Rethrows what ended the writer thread, if anything did.
  void rethrow_failure();
  /// A stop flag whose raising ends a backoff: the batch being retried stays unwritten.
  void watch_stop(const std::atomic<bool>* stop) { stop_ = stop; }
  /// Why the writer backs off, or "" when it does not.
  std::string backoff_reason() const;
  /// When the last batch was committed (steady clock, ns; 0 before any).
  std::int64_t last_commit_ns() const { return last_commit_ns_; }
  /// Ends the thread after the batch in hand (or at once, when it backs off). Idempotent.
  void stop();

 private:
  void run();
  bool write_next(std::unique_lock<std::mutex>& lock);
  bool write(StreamBatch& batch);
  bool store_with_retry(const std::vector<store::Write>& writes,
                        std::vector<store::WriteResult>& results);
  bool reject_refused(const store::Write& write, const StreamBatch::Origin& origin,
                      const std::string& error);
  bool keep_rejected();
  bool back_off(Backoff& backoff, const std::string& what, const std::string& reason);
  void recovered();
  bool wait_idle(std::unique_lock<std::mutex>& lock);
  void hand_over(const PartitionSlots& slots);

  store::ImageStore& store_;
  BadRecordSink& bad_records_;
  ConsumerSide& consumer_;
  StreamCounters& counters_;
  StreamMetrics& metrics_;
  const StreamOptions& options_;
  std::function<void()> changed_;
  const std::atomic<bool>* stop_ = nullptr;
  metrics::StageClock* clock_ = nullptr;  // the writer thread's, while it runs
  std::atomic<std::int64_t> last_commit_ns_{0};

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::unique_ptr<StreamBatch> filling_ = std::make_unique<StreamBatch>();
  std::unique_ptr<StreamBatch> writing_;  // handed over, not written yet
  std::unique_ptr<StreamBatch> spare_ = std::make_unique<StreamBatch>();
  bool quit_ = false;
  bool done_ = false;           // the thread has ended (failure, or stopped while retrying)
  std::string backoff_reason_;  // while counters.backing_off
  std::exception_ptr failure_;
  std::thread thread_;
};

}  // namespace lims::sync
