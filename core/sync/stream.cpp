#include "sync/stream.hpp"

#include <algorithm>
#include <array>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>
#include <utility>

#include "codec/decode.hpp"
#include "codec/time.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "sync/collapse.hpp"

namespace lims::sync {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

codec::RawRecord raw_of(const kafka::Message& m) {
  return {{m.topic(), m.partition(), m.offset()}, m.key(), m.key_size(), m.value(), m.value_size()};
}

/// A batch in the making or being written. Messages stay alive until the batch is applied, so a
/// record the store refuses can still be handed to the bad-record sink with its original bytes.
struct Batch {
  std::vector<kafka::Message> messages;
  Collapser collapser;
  std::vector<kafka::TopicPartition> next_offsets;  // per partition: last offset + 1
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;
  std::uint64_t rejected = 0;  // by the codec, already handed to the bad-record sink
  Clock::time_point opened;

  bool empty() const { return records == 0; }
  void note_offset(const kafka::Message& m) {
    for (auto& tp : next_offsets)
      if (tp.partition == m.partition() && tp.topic == m.topic()) {
        tp.offset = std::max(tp.offset, m.offset() + 1);
        return;
      }
    next_offsets.push_back({std::string(m.topic()), m.partition(), m.offset() + 1});
  }
  void clear() {
    messages.clear();
    collapser.clear();
    next_offsets.clear();
    records = bytes = rejected = 0;
  }
};

/// The stream's Prometheus metrics; the hot path holds references to every series it updates.
struct Instruments {
  std::array<std::array<metrics::Counter*, 2>, kPlants.size()> events{};  // [plant][delete?]
  std::array<metrics::Counter*, kPlants.size()> bytes{};
  metrics::Histogram* store_write_seconds;
  metrics::Histogram* end_to_end_seconds;
  metrics::Histogram* batch_events;

  explicit Instruments(metrics::Registry& r)
      : store_write_seconds(&r.histogram("lims_store_write_seconds",
                                         "Time to write one batch to the store", {},
                                         metrics::exponential_buckets(0.001, 2, 14))
                                 .with()),
        end_to_end_seconds(&r.histogram("lims_end_to_end_seconds",
                                        "From an event's Kafka record timestamp to the store "
                                        "acknowledging it",
                                        {}, metrics::exponential_buckets(0.005, 2, 16))
                                .with()),
        batch_events(&r.histogram("lims_batch_events", "Records per store batch", {},
                                  metrics::exponential_buckets(1, 2, 12))
                          .with()) {
    auto& ev = r.counter("lims_events_total", "Valid change events consumed, by plant and op",
                         {"plant", "op"});
    auto& by =
        r.counter("lims_event_bytes_total", "Value bytes of valid events, by plant", {"plant"});
    for (Plant p : kPlants) {
      const std::string name(plant_name(p));
      events[static_cast<std::size_t>(p)] = {&ev.with({name, "upsert"}),
                                             &ev.with({name, "delete"})};
      bytes[static_cast<std::size_t>(p)] = &by.with({name});
    }
  }

  void event(const ImageEvent& e, std::size_t value_bytes) {
    const auto p = static_cast<std::size_t>(e.plant);
    events[p][e.is_delete() ? 1 : 0]->inc();
    bytes[p]->inc(static_cast<double>(value_bytes));
  }
};

}  // namespace

struct StreamSync::Impl final : kafka::RebalanceListener {
  store::ImageStore& store;
  BadRecordSink& bad_records;
  StreamOptions options;
  StreamCounters counters;
  codec::Decoder decoder;
  std::unique_ptr<kafka::Consumer> consumer;

  Clock::time_point started = Clock::now();
  Clock::time_point next_progress;  // the next progress() call (consuming thread)
  std::atomic<std::int64_t> first_record_ns{0};
  std::atomic<std::int64_t> last_commit_ns{0};

  bool paused = false;     // fetching stopped while the store fails (consuming thread only)
  bool took_last = false;  // the last poll returned a record: the next one does not wait
  bool abandoned = false;  // run() failed: leave the group without writing anything more
  std::exception_ptr bad_record_stop;  // the bad record that ends the run (FailOnBadRecord)
  // Partitions assigned to us, and whether each has reached its end.
  std::vector<std::pair<kafka::TopicPartition, bool>> assigned;

  // The batch being filled (consuming thread) and the one being written (writer thread).
  std::unique_ptr<Batch> filling = std::make_unique<Batch>();
  std::unique_ptr<Batch> writing;
  std::unique_ptr<Batch> spare = std::make_unique<Batch>();
  std::mutex mutex;
  std::condition_variable cv;
  bool quit = false;
  bool writer_done = false;  // the writer thread has ended (failure, or stopped while retrying)
  std::string backoff_reason;  // what counters.backing_off waits for (under `mutex`)
  std::exception_ptr failure;
  const std::atomic<bool>* stop = nullptr;
  std::thread writer;

  // Waiters on the counters (wait_for); the stream wakes them only while there are some.
  mutable std::mutex watch_mutex;
  mutable std::condition_variable watch_cv;
  mutable std::atomic<int> watchers{0};

  void changed() const {
    if (watchers.load() == 0) return;
    { std::lock_guard lock(watch_mutex); }  // a waiter between its check and its wait gets it
    watch_cv.notify_all();
  }

  std::unique_ptr<metrics::Registry> own_metrics;  // when options.metrics is null
  metrics::Registry& registry;
  Instruments instruments;

  Impl(store::ImageStore& s, BadRecordSink& b, StreamOptions o)
      : store(s),
        bad_records(b),
        options(o),
        own_metrics(o.metrics ? nullptr : std::make_unique<metrics::Registry>()),
        registry(o.metrics ? *o.metrics : *own_metrics),
        instruments(registry) {
    registry.counter_callback("lims_events_stale_total",
                              "Events older than the stored record: they changed nothing", {},
                              [this](const metrics::Emit& emit) { emit({}, counters.stale); });
    registry.counter_callback(
        "lims_events_dead_lettered_total",
        "Records the codec or the store rejected (dead-lettered, or skipped under "
        "--on-bad-record skip)",
        {}, [this](const metrics::Emit& emit) { emit({}, counters.bad); });
    registry.counter_callback(
        "lims_kafka_received_bytes_total",
        "Bytes received from the Kafka brokers on the wire (librdkafka rx_bytes, as of its last "
        "statistics report)",
        {}, [this](const metrics::Emit& emit) {
          if (consumer) emit({}, static_cast<double>(consumer->received_bytes()));
        });
    registry.gauge_callback(
        "lims_consumer_lag", "Records between our position and the end, per partition",
        {"topic", "partition"}, [this](const metrics::Emit& emit) {
          if (!consumer) return;
          for (const auto& [tp, lag] : consumer->lag_by_partition())
            emit({tp.topic, std::to_string(tp.partition)}, static_cast<double>(lag));
        });
  }

  // ---- writer thread -------------------------------------------------------------------------

  void writer_loop() {
    std::unique_lock lock(mutex);
    while (write_next(lock)) {
    }
    writer_done = true;  // whatever ended the loop, nobody may wait for this thread any more
    cv.notify_all();
  }

  /// Waits for a batch and writes it. False when the writer must stop: asked to quit, a fatal
  /// store error (kept in `failure`), or a stop during a store outage (batch left uncommitted).
  bool write_next(std::unique_lock<std::mutex>& lock) {
    cv.wait(lock, [&] { return writing || quit; });
    if (!writing) return false;
    lock.unlock();
    bool done = false;
    try {
      done = apply(*writing);
    } catch (...) {
      lock.lock();
      failure = std::current_exception();
      return false;
    }
    lock.lock();
    if (!done) return false;
    writing->clear();
    spare = std::move(writing);
    cv.notify_all();
    return true;
  }

  /// Writes a batch (retrying transient store errors) and commits its offsets. False if asked to
  /// quit before the store took it.
  bool apply(Batch& batch) {
    const auto& writes = batch.collapser.writes();
    std::vector<store::WriteResult> results;
    const auto started = Clock::now();
    if (!writes.empty() && !write_with_retry(writes, results)) return false;
    if (options.on_acked && !writes.empty()) options.on_acked(writes, results);
    instruments.store_write_seconds->observe(
        std::chrono::duration<double>(Clock::now() - started).count());
    instruments.batch_events->observe(static_cast<double>(batch.records));
    const double acked_ms = static_cast<double>(codec::wall_clock_micros()) / 1000;
    for (const auto& m : batch.messages)
      if (const auto ts = m.timestamp_ms(); ts > 0)
        instruments.end_to_end_seconds->observe((acked_ms - static_cast<double>(ts)) / 1000);
    Tally tally = batch.collapser.tally(results);
    for (std::size_t i = 0; i < results.size(); ++i) {
      if (results[i].outcome != store::Outcome::failed) continue;
      const kafka::Message& m = batch.messages[batch.collapser.tag_of(i)];
      codec::RawRecord raw = raw_of(m);
      bad_records.reject(raw, describe(raw.origin) + ": store: " + results[i].error);
    }
    counters.applied += tally.applied;
    counters.stale += tally.stale;
    counters.deleted += tally.deleted;
    counters.bad += tally.failed;
    // A rejected record's offset is committed only once its dead letter is kept.
    if ((batch.rejected || tally.failed) && !keep_bad_records()) return false;
    consumer->store_offsets(batch.next_offsets);
    consumer->commit(false);
    counters.committed_records += batch.records;
    counters.committed_bytes += batch.bytes;
    last_commit_ns = now_ns();
    changed();
    return true;
  }

  bool write_with_retry(const std::vector<store::Write>& writes,
                        std::vector<store::WriteResult>& results) {
    Backoff backoff(options);
    for (;;) {
      try {
        results = store.apply(writes);
        recovered();
        return true;
      } catch (const store::TransientError& e) {
        if (!back_off(backoff, e.what(), "the store is failing")) return false;
      }
    }
  }

  /// Waits until every record rejected so far is kept (BadRecordSink::flush()), retrying with
  /// backoff while the sink says it may work later. False if asked to quit before.
  bool keep_bad_records() {
    Backoff backoff(options);
    for (;;) {
      try {
        bad_records.flush();
        recovered();
        return true;
      } catch (const UnkeptError& e) {
        if (!back_off(backoff, e.what(), e.what())) return false;
      }
    }
  }

  /// Retry delays: from retry_initial_ms, doubling up to retry_max_ms, with jitter.
  struct Backoff {
    explicit Backoff(const StreamOptions& o)
        : delay_ms(o.retry_initial_ms), max_ms(o.retry_max_ms) {}
    int delay_ms, max_ms;
    std::optional<std::mt19937> jitter;  // seeded on the first failure only
  };

  /// After a failure that may go away: marks the stream as backing off for `reason` (so that
  /// fetching pauses and /readyz says why), logs `what` and waits the next delay. False if asked
  /// to quit or stop meanwhile.
  bool back_off(Backoff& b, const std::string& what, const std::string& reason) {
    if (!b.jitter) b.jitter.emplace(std::random_device{}());
    const int wait_ms = std::uniform_int_distribution<int>(b.delay_ms / 2, b.delay_ms)(*b.jitter);
    log::warn(what + "; retrying in " + std::to_string(wait_ms) + " ms");
    std::unique_lock lock(mutex);
    backoff_reason = reason;
    counters.backing_off = true;
    cv.notify_all();  // the consuming thread pauses fetching rather than wait for us
    changed();
    if (cv.wait_for(lock, std::chrono::milliseconds(wait_ms),
                    [&] { return quit || (stop && stop->load()); }))
      return false;
    b.delay_ms = std::min(b.delay_ms * 2, b.max_ms);
    return true;
  }

  /// Ends a backoff (if any): the failing part answers again.
  void recovered() {
    if (counters.backing_off) {
      std::lock_guard lock(mutex);
      backoff_reason.clear();
      counters.backing_off = false;
    }
    changed();
  }

  // ---- consuming thread ----------------------------------------------------------------------

  void rethrow_failure() {
    std::lock_guard lock(mutex);
    if (failure) std::rethrow_exception(failure);
  }

  /// Waits until the writer holds no batch. False if it ended without writing it.
  bool wait_writer_idle(std::unique_lock<std::mutex>& lock) {
    cv.wait(lock, [&] { return !writing || writer_done; });
    if (failure) std::rethrow_exception(failure);
    return !writing;
  }

  /// Gives the filling batch to the idle writer (the lock held).
  void hand_over() {
    writing = std::move(filling);
    filling = std::move(spare);
    cv.notify_all();
  }

  enum class Handoff { taken, busy, writer_gone };

  /// Hands the filling batch to the writer, waiting up to `wait` while it writes the previous
  /// one, but not while it backs off from a failing store.
  Handoff submit(std::chrono::milliseconds wait) {
    if (filling->empty()) return Handoff::taken;
    std::unique_lock lock(mutex);
    cv.wait_for(lock, wait, [&] { return !writing || writer_done || counters.backing_off; });
    if (failure) std::rethrow_exception(failure);
    if (writer_done) return Handoff::writer_gone;
    if (writing) return Handoff::busy;
    hand_over();
    return Handoff::taken;
  }

  /// Writes the batch in hand and waits until everything read is written (offsets stored). False
  /// when the writer could not finish (stopped during a store outage).
  bool write_all() {
    std::unique_lock lock(mutex);
    if (!wait_writer_idle(lock)) return false;
    if (filling->empty()) return true;
    hand_over();
    return wait_writer_idle(lock);
  }

  /// write_all(), then a commit that waits for the broker. False if either failed.
  bool flush() { return write_all() && consumer->commit(true); }

  /// Records read but neither written nor committed (the batches the writer gave up on).
  std::uint64_t unwritten() const { return counters.records - counters.committed_records; }

  void forget(const std::vector<kafka::TopicPartition>& parts) {
    auto listed = [&](const kafka::TopicPartition& tp) {
      return std::find_if(parts.begin(), parts.end(), [&](const auto& p) {
               return p.partition == tp.partition && p.topic == tp.topic;
             }) != parts.end();
    };
    std::erase_if(assigned, [&](const auto& a) { return listed(a.first); });
    std::erase_if(filling->next_offsets, listed);
    counters.assigned = static_cast<int>(assigned.size());
  }

  void on_assigned(const std::vector<kafka::TopicPartition>& parts) override {
    for (const auto& tp : parts) assigned.emplace_back(tp, false);
    counters.assigned = static_cast<int>(assigned.size());
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
    // records in hand are still written (the guard makes that harmless) but not committed.
    forget(parts);
  }

  void mark_eof(const kafka::Message& m, bool eof) {
    for (auto& [tp, at_end] : assigned)
      if (tp.partition == m.partition() && tp.topic == m.topic()) at_end = eof;
  }

  /// True when `m` is at or past its partition's offset in options.end_offsets.
  bool reached_end_offset(const kafka::Message& m) const {
    return std::any_of(options.end_offsets.begin(), options.end_offsets.end(), [&](const auto& e) {
      return e.partition == m.partition() && e.topic == m.topic() && m.offset() + 1 >= e.offset;
    });
  }

  bool at_end() const {
    return !assigned.empty() &&
           std::all_of(assigned.begin(), assigned.end(), [](const auto& a) { return a.second; });
  }

  void take(kafka::Message m) {
    if (m.is_partition_eof()) {
      mark_eof(m, true);
      return;
    }
    if (!m.is_record()) {
      log::warn("kafka: " + m.error());
      return;
    }
    codec::RawRecord raw = raw_of(m);
    codec::DecodeResult result = decoder.decode(raw);
    if (auto* error = std::get_if<codec::DecodeError>(&result)) {
      // Before its offset is noted. Under --on-bad-record=fail the sink throws: the offset stays
      // uncommitted, what came before is still written and committed, then run() ends with the
      // error. Otherwise the offset advances: the record is dealt with.
      try {
        bad_records.reject(raw, error->message(raw.origin));
      } catch (const Error& e) {
        if (e.code() != ExitCode::data) throw;
        bad_record_stop = std::current_exception();
        return;
      }
      ++counters.bad;
      ++filling->rejected;
      count(m);
      return;
    }
    count(m);
    instruments.event(std::get<ImageEvent>(result), m.value_size());
    filling->collapser.add(std::move(std::get<ImageEvent>(result)),
                           static_cast<std::uint32_t>(filling->messages.size()));
    filling->messages.push_back(std::move(m));
  }

  /// Adds a received record to the counters and to the filling batch's offsets.
  void count(const kafka::Message& m) {
    if (counters.records == 0) first_record_ns = now_ns();
    if (filling->empty()) filling->opened = Clock::now();
    mark_eof(m, reached_end_offset(m));
    ++counters.records;
    counters.bytes += m.value_size();
    filling->records++;
    filling->bytes += m.value_size();
    filling->note_offset(m);
  }

  bool batch_full() const {
    return filling->records >= options.batch_max_events ||
           filling->bytes >= options.batch_max_bytes;
  }

  /// Due by size, or once its oldest record has waited batch_max_ms.
  bool batch_due() const {
    if (filling->empty()) return false;
    return batch_full() ||
           Clock::now() - filling->opened >= std::chrono::milliseconds(options.batch_max_ms);
  }

  /// Until the batch in hand is due by age, at most 20 ms (the loop's tick). A batch already
  /// due waits for the writer: poll briefly rather than spin.
  int poll_timeout_ms() const {
    if (filling->empty()) return 20;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        filling->opened + std::chrono::milliseconds(options.batch_max_ms) - Clock::now());
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
      log::warn("backing off (" + reason() +
                "): fetching paused, the batch in hand is kept and retried");
    else
      log::info("the writer goes on again: fetching resumed");
  }

  /// Why the stream backs off, or "" when it does not.
  std::string reason() {
    std::lock_guard lock(mutex);
    return counters.backing_off ? backoff_reason : std::string();
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
      rethrow_failure();
      // A full batch takes no more records; a paused consumer returns none but is still polled.
      const bool full = batch_full();
      bool drained = false;  // nothing more is waiting now: an idle writer may take the batch
      if (!full || paused) {
        auto m = consumer->poll(paused ? 100 : took_last ? 0 : poll_timeout_ms());
        took_last = m.has_value();
        drained = !m && !paused;
        if (m) take(std::move(*m));
      }
      // Due by size or age; or, once the records that had arrived are all taken, at once if the
      // writer is idle: a lone change is written without waiting batch_max_ms, while under load
      // records gather into a batch as the writer works.
      if ((batch_due() || drained) &&
          submit(std::chrono::milliseconds(full ? 100 : 0)) == Handoff::writer_gone)
        return;
      follow_writer_health();
      if (progress && Clock::now() >= next_progress) {
        progress(self.snapshot());
        next_progress = Clock::now() + options.progress_interval;
      }
      changed();
      if (options.exit_at_end && filling->empty() && at_end()) return;
    }
  }

  /// Polls for `ms`, serving rebalances; records are taken unless the run is ending (then they
  /// are dropped uncommitted, to be read again).
  void serve_group(int ms, bool take_records) {
    const auto until = Clock::now() + std::chrono::milliseconds(ms);
    for (auto now = Clock::now(); now < until; now = Clock::now()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - now);
      auto m = consumer->poll(static_cast<int>(std::max<std::int64_t>(1, left.count())));
      if (m && take_records) take(std::move(*m));
      changed();
    }
  }

  void run(const std::atomic<bool>& stop,
           const std::function<void(const StreamSnapshot&)>& progress, StreamSync& self) {
    this->stop = &stop;
    next_progress = Clock::now() + options.progress_interval;
    int backoff_ms = options.retry_initial_ms;
    std::optional<Clock::time_point> give_up;  // while stopping: the last commit attempt
    for (;;) {
      consume(stop, progress, self);
      if (!write_all())
        throw Error("stopped while backing off (" + reason() + "): " +
                    std::to_string(unwritten()) +
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
      serve_group(backoff_ms, !ending);
      backoff_ms = std::min(backoff_ms * 2, options.retry_max_ms);
    }
    consumer->close();  // leaves the group; a revoke flushes nothing more by now
    if (bad_record_stop) std::rethrow_exception(bad_record_stop);
  }

  void stop_writer() {
    {
      std::lock_guard lock(mutex);
      quit = true;
    }
    cv.notify_all();
    if (writer.joinable()) writer.join();
  }
};

StreamSync::StreamSync(const kafka::ConsumerConfig& consumer, store::ImageStore& store,
                       BadRecordSink& bad_records, StreamOptions options)
    : impl_(std::make_unique<Impl>(store, bad_records, options)) {
  impl_->consumer = std::make_unique<kafka::Consumer>(consumer, impl_.get());
  impl_->writer = std::thread([this] { impl_->writer_loop(); });
}

StreamSync::~StreamSync() {
  impl_->stop_writer();
  impl_->consumer->close();  // may call back into the batches: before they go
  // librdkafka's handle waits for every message it handed out: release them first.
  for (auto* batch : {impl_->filling.get(), impl_->writing.get(), impl_->spare.get()})
    if (batch) batch->clear();
  impl_->consumer.reset();
}

void StreamSync::run(const std::atomic<bool>& stop,
                     const std::function<void(const StreamSnapshot&)>& progress) {
  try {
    impl_->run(stop, progress, *this);
  } catch (...) {
    impl_->abandoned = true;
    impl_->stop_writer();
    impl_->consumer->close();
    impl_->counters.ended = true;
    impl_->changed();
    throw;
  }
  impl_->stop_writer();
  impl_->counters.ended = true;
  impl_->changed();
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
  std::string reason = impl_->reason();
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

const metrics::Histogram& StreamSync::end_to_end_seconds() const {
  return *impl_->instruments.end_to_end_seconds;
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
  const std::int64_t first = impl_->first_record_ns, last = impl_->last_commit_ns;
  if (first && last > first) s.steady_s = (last - first) / 1e9;
  s.steady_records = c.committed_records;
  s.steady_bytes = c.committed_bytes;
  return s;
}

}  // namespace lims::sync
