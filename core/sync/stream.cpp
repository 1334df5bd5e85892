#include "sync/stream.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <utility>

#include "codec/decode.hpp"
#include "common/backoff.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/time_units.hpp"
#include "sync/batch_writer.hpp"
#include "sync/stream_batch.hpp"
#include "sync/stream_metrics.hpp"

namespace lims::sync {
namespace {

using Clock = std::chrono::steady_clock;

codec::RawRecord raw_of(const kafka::Message& m) {
  return {{m.topic(), m.partition(), m.offset()}, m.key(), m.key_size(), m.value(), m.value_size()};
}

}  // namespace

/// The consuming thread: polls, decodes, fills batches for the writer, serves rebalances.
struct StreamSync::Impl final : kafka::RebalanceListener, ConsumerSide {
  store::ImageStore& store;
  BadRecordSink& bad_records;
  const StreamOptions options;
  StreamCounters counters;
  codec::Decoder decoder;
  std::unique_ptr<metrics::Registry> own_metrics;  // when options.metrics is null
  metrics::Registry& registry;
  StreamMetrics metrics;
  PartitionProgress partitions;
  std::unique_ptr<kafka::Consumer> consumer;
  std::unique_ptr<BatchWriter> writer;
  std::optional<metrics::StageClock> clock;  // the consuming thread's, while run() runs

  Clock::time_point started = Clock::now();
  Clock::time_point next_progress;  // the next progress() call
  std::atomic<std::int64_t> first_record_ns{0};
  bool paused = false;     // fetching stopped while the writer backs off
  bool took_last = false;  // the last poll returned a record: the next one does not wait
  bool abandoned = false;  // run() failed: leave the group without writing anything more
  std::optional<std::string> bad_record_stop;  // the bad record that ends the run (exit 4)

  // Waiters on the counters (wait_for); the stream wakes them only while there are some.
  mutable std::mutex watch_mutex;
  mutable std::condition_variable watch_cv;
  mutable std::atomic<int> watchers{0};

  Impl(store::ImageStore& s, BadRecordSink& b, StreamOptions o)
      : store(s),
        bad_records(b),
        options(std::move(o)),
        own_metrics(options.metrics ? nullptr : std::make_unique<metrics::Registry>()),
        registry(options.metrics ? *options.metrics : *own_metrics),
        metrics(registry, counters),
        partitions(options.end_offsets) {}

  void changed() const {
    if (watchers.load() == 0) return;
    { std::lock_guard lock(watch_mutex); }  // a waiter between its check and its wait gets it
    watch_cv.notify_all();
  }

  void commit(const std::vector<kafka::TopicPartition>& next_offsets) override {
    consumer->store_offsets(next_offsets);
    consumer->commit(false);
  }
  std::optional<kafka::RecordCopy> reread(const kafka::TopicPartition& at) override {
    return consumer->reread(at);
  }

  // ---- partitions ----------------------------------------------------------------------------

  void on_assigned(const std::vector<kafka::TopicPartition>& parts) override {
    partitions.assign(parts);
    counters.assigned = partitions.assigned();
  }

  void forget(const std::vector<kafka::TopicPartition>& parts) {
    for (std::size_t slot : partitions.remove(parts)) writer->filling().forget(slot);
    counters.assigned = partitions.assigned();
  }

  void on_revoking(const std::vector<kafka::TopicPartition>& parts) override {
    // Everything read so far, revoked partitions included, is written and committed first. The
    // partitions are forgotten even if that fails, and after a failure nothing is flushed.
    try {
      if (!abandoned) flush();
    } catch (...) {
      forget(parts);
      throw;
    }
    forget(parts);
  }

  void on_lost(const std::vector<kafka::TopicPartition>& parts) override {
    // Another member may own them already: their offsets must not be committed from here. The
    // records in hand are still written but not committed: the guard makes that harmless, for
    // a tombstone too (it deletes nothing the new owner wrote from later in the partition).
    forget(parts);
  }

  // ---- records -------------------------------------------------------------------------------

  void take(kafka::Message m) {
    if (m.is_partition_eof()) {
      partitions.reached_end(partitions.slot(m.topic(), m.partition()));
      return;
    }
    if (!m.is_record()) {
      log::warn("kafka: " + m.error());
      return;
    }
    const std::size_t slot = partitions.slot(m.topic(), m.partition());
    const codec::RawRecord raw = raw_of(m);
    enter(stage::decode);
    codec::DecodeResult result = decoder.decode(raw);
    enter(stage::collapse);
    if (auto* error = std::get_if<codec::DecodeError>(&result)) {
      // Under --on-bad-record=fail the run ends here, this offset uncommitted: what came before
      // is still written and committed. Otherwise the record is dealt with: its offset advances.
      Verdict verdict = bad_records.reject(raw, error->message(raw.origin));
      if (verdict.stop) {
        bad_record_stop = std::move(verdict.why);
        return;
      }
      ++counters.bad;
      ++writer->filling().rejected;
      received(m, slot);
      return;
    }
    received(m, slot);
    auto& event = std::get<ImageEvent>(result);
    metrics.event(event, m.value_size());
    StreamBatch& batch = writer->filling();
    const kafka::TopicPartition& from = partitions.slots().partition(slot);  // outlives the batch
    batch.collapser.add(std::move(event), static_cast<std::uint32_t>(batch.origins.size()),
                        {from.topic, from.partition, m.offset()});
    batch.origins.push_back({&from, m.offset()});
    batch.timestamps_ms.push_back(m.timestamp_ms());
  }

  /// A record read: counted, its offset added to the filling batch, and its partition's end
  /// checked.
  void received(const kafka::Message& m, std::size_t slot) {
    if (counters.records == 0) first_record_ns = steady_clock_ns();
    ++counters.records;
    counters.bytes += m.value_size();
    writer->filling().add_record(slot, m.offset(), m.value_size());
    partitions.read(slot, m.offset());
  }

  // ---- the loop ------------------------------------------------------------------------------

  bool batch_full() const {
    const StreamBatch& b = writer->filling();
    return b.records >= options.batch_max_events || b.bytes >= options.batch_max_bytes;
  }

  /// Due by size, or once its oldest record has waited batch_max_ms.
  bool batch_due() const {
    const StreamBatch& b = writer->filling();
    return !b.empty() && (batch_full() || Clock::now() - b.opened >=
                                              std::chrono::milliseconds(options.batch_max_ms));
  }

  /// Until the batch in hand is due by age, at most 20 ms (the loop's tick). A batch already
  /// due waits for the writer: poll briefly rather than spin.
  int poll_timeout_ms() const {
    const StreamBatch& b = writer->filling();
    if (b.empty()) return 20;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        b.opened + std::chrono::milliseconds(options.batch_max_ms) - Clock::now());
    return left.count() <= 0 ? 2 : static_cast<int>(std::min<std::int64_t>(left.count(), 20));
  }

  /// While the writer backs off (a failing store, unacknowledged dead letters), fetching stops:
  /// the batches in hand are all the memory held, and polling goes on (rebalances, the group
  /// session).
  void follow_writer_health() {
    const bool backing_off = counters.backing_off;
    if (backing_off == paused) return;
    consumer->set_paused(backing_off);
    paused = backing_off;
    if (paused)
      log::warn("backing off (" + writer->backoff_reason() +
                "): fetching paused, the batch in hand is kept and retried");
    else
      log::info("the writer goes on again: fetching resumed");
  }

  /// True once run() must end: a stop, or the end that exit_at_end / max_records ask for.
  bool stopping(const std::atomic<bool>& stop) const {
    return stop.load(std::memory_order_relaxed) || bad_record_stop ||
           (options.max_records && counters.records >= options.max_records);
  }

  /// Consumes until stopping() or, with exit_at_end, every assigned partition is drained.
  void consume(const std::atomic<bool>& stop,
               const std::function<void(const StreamSnapshot&)>& progress, StreamSync& self) {
    while (!stopping(stop)) {
      if (auto fatal = consumer->fatal_error())
        throw Error("Kafka consumer failed for good: " + *fatal);
      writer->rethrow_failure();
      // A full batch takes no more records; a paused consumer returns none but is still polled.
      const bool full = batch_full();
      bool drained = false;  // nothing more is waiting now: an idle writer may take the batch
      if (!full || paused) {
        enter(stage::fetch);
        auto m = consumer->poll(paused ? 100 : took_last ? 0 : poll_timeout_ms());
        took_last = m.has_value();
        drained = !m && !paused;
        if (m) take(std::move(*m));
      }
      // Due by size or age; or, once the records that had arrived are all taken, at once if the
      // writer is idle: a lone change is written without waiting batch_max_ms, while under load
      // records gather into a batch as the writer works.
      if ((batch_due() || drained) && submit(full) == BatchWriter::Handoff::writer_gone) return;
      follow_writer_health();
      if (progress && Clock::now() >= next_progress) {
        progress(self.snapshot());
        next_progress = Clock::now() + options.progress_interval;
      }
      changed();
      if (options.exit_at_end && writer->filling().empty() && partitions.at_end()) return;
    }
  }

  /// The consuming thread enters a stage of its time (while run() runs).
  void enter(std::size_t stage) {
    if (clock) clock->enter(stage);
  }

  /// Hands the filling batch to the writer, waiting a little for it when the batch is full.
  BatchWriter::Handoff submit(bool full) {
    enter(stage::handoff);
    const auto handoff =
        writer->submit(partitions.slots(), std::chrono::milliseconds(full ? 100 : 0));
    if (clock) clock->settle();
    return handoff;
  }

  /// Writes everything read, then commits and waits for the broker. False if either failed.
  bool flush() {
    const std::size_t was = clock ? clock->current() : stage::fetch;
    enter(stage::handoff);
    const bool flushed = writer->write_all(partitions.slots()) && consumer->commit(true);
    enter(was);
    return flushed;
  }

  /// Polls for `wait`, serving rebalances; records are taken unless the run is ending (then they
  /// are dropped uncommitted, to be read again).
  void serve_group(std::chrono::milliseconds wait, bool take_records) {
    const auto until = Clock::now() + wait;
    for (auto now = Clock::now(); now < until; now = Clock::now()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - now);
      auto m = consumer->poll(static_cast<int>(std::max<std::int64_t>(1, left.count())));
      if (m && take_records) take(std::move(*m));
      changed();
    }
  }

  void run(const std::atomic<bool>& stop,
           const std::function<void(const StreamSnapshot&)>& progress, StreamSync& self) {
    writer->watch_stop(&stop);
    std::vector<bool> computing(metrics.stages().size(), false);
    computing[stage::decode] = computing[stage::collapse] = true;
    clock.emplace(metrics.stages(), stage::fetch, std::move(computing), stage::fetch);
    struct Stopwatch {  // the clock stops with run(), whichever way it ends
      std::optional<metrics::StageClock>& clock;
      ~Stopwatch() { clock.reset(); }
    } stopwatch{clock};
    next_progress = Clock::now() + options.progress_interval;
    Backoff backoff(std::chrono::milliseconds(options.retry_initial_ms),
                    std::chrono::milliseconds(options.retry_max_ms));
    std::optional<Clock::time_point> give_up;  // while stopping: the last commit attempt
    for (;;) {
      consume(stop, progress, self);
      if (!writer->write_all(partitions.slots()))
        throw Error("stopped while backing off (" + writer->backoff_reason() +
                    "): " + std::to_string(counters.records - counters.committed_records) +
                    " records read were not committed; the next run reads them again");
      if (consumer->commit(true)) break;
      // The last commit failed (a coordinator moving, a rebalance under way): keep serving the
      // group and commit again; a stop tries for stop_commit_timeout_ms at most.
      const bool ending = stopping(stop);
      if (ending) {
        if (!give_up)
          give_up = Clock::now() + std::chrono::milliseconds(options.stop_commit_timeout_ms);
        if (Clock::now() >= *give_up)
          throw Error(
              "stopped, but the last offsets could not be committed (see above); the "
              "next run reads the records since the last commit again");
      }
      serve_group(backoff.next(), !ending);
    }
    consumer->close();  // leaves the group; a revoke flushes nothing more by now
    if (bad_record_stop) throw Error(*bad_record_stop, ExitCode::data);
  }

  /// After run(): the writer stops, and the counters say the stream ended.
  void ended() {
    writer->stop();
    counters.ended = true;
    changed();
  }
};

StreamSync::StreamSync(const kafka::ConsumerConfig& consumer, store::ImageStore& store,
                       BadRecordSink& bad_records, StreamOptions options)
    : impl_(std::make_unique<Impl>(store, bad_records, std::move(options))) {
  Impl& i = *impl_;
  i.consumer = std::make_unique<kafka::Consumer>(consumer, &i);
  i.metrics.watch(i.consumer.get());
  i.writer = std::make_unique<BatchWriter>(i.store, i.bad_records, i, i.counters, i.metrics,
                                           i.options, [&i] { i.changed(); });
}

StreamSync::~StreamSync() {
  impl_->writer->stop();
  impl_->consumer->close();  // may call back into the batches: before they go
  impl_->metrics.watch(nullptr);
  impl_->consumer.reset();
}

void StreamSync::run(const std::atomic<bool>& stop,
                     const std::function<void(const StreamSnapshot&)>& progress) {
  try {
    impl_->run(stop, progress, *this);
  } catch (...) {
    impl_->abandoned = true;
    impl_->writer->stop();
    impl_->consumer->close();
    impl_->ended();
    throw;
  }
  impl_->ended();
}

bool StreamSync::wait_for(const std::function<bool(const StreamCounters&)>& condition,
                          std::chrono::milliseconds timeout) const {
  const Impl& i = *impl_;
  ++i.watchers;
  std::unique_lock lock(i.watch_mutex);
  const bool held = i.watch_cv.wait_for(lock, timeout, [&] { return condition(i.counters); });
  --i.watchers;
  return held;
}

const StreamCounters& StreamSync::counters() const { return impl_->counters; }

std::optional<std::string> StreamSync::backoff_reason() const {
  std::string reason = impl_->writer->backoff_reason();
  if (reason.empty()) return std::nullopt;
  return reason;
}

std::optional<std::string> StreamSync::unready_reason() const {
  if (impl_->counters.backing_off)
    return "backing off: " + backoff_reason().value_or("retrying") +
           "; fetching is paused, nothing is committed past it";
  if (impl_->counters.assigned == 0) return std::string("no partitions assigned (yet)");
  return std::nullopt;
}

const metrics::StageAccount& StreamSync::stages() const { return impl_->metrics.stages(); }

const metrics::Histogram& StreamSync::end_to_end_seconds() const {
  return impl_->metrics.end_to_end_seconds();
}

StreamSnapshot StreamSync::snapshot() const {
  const StreamCounters& c = impl_->counters;
  StreamSnapshot s;
  s.records = c.records;
  s.bytes = c.bytes;
  s.applied = c.applied;
  s.stale = c.stale;
  s.deleted = c.deleted;
  s.bad = c.bad;
  s.lag = impl_->consumer->lag();
  s.elapsed_s = std::chrono::duration<double>(Clock::now() - impl_->started).count();
  const std::int64_t first = impl_->first_record_ns, last = impl_->writer->last_commit_ns();
  if (first && last > first) s.steady_s = (last - first) / 1e9;
  s.steady_records = c.committed_records;
  s.steady_bytes = c.committed_bytes;
  return s;
}

}  // namespace lims::sync
