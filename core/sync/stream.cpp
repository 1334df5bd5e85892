#include "sync/stream.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>
#include <utility>

#include "codec/decode.hpp"
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
    records = bytes = 0;
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
  std::atomic<std::int64_t> first_record_ns{0};
  std::atomic<std::int64_t> last_commit_ns{0};

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
  std::exception_ptr failure;
  const std::atomic<bool>* stop = nullptr;
  std::thread writer;

  Impl(store::ImageStore& s, BadRecordSink& b, StreamOptions o)
      : store(s), bad_records(b), options(o) {}

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
    if (!writes.empty() && !write_with_retry(writes, results)) return false;
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
    consumer->store_offsets(batch.next_offsets);
    consumer->commit(false);
    counters.committed_records += batch.records;
    counters.committed_bytes += batch.bytes;
    last_commit_ns = now_ns();
    return true;
  }

  bool write_with_retry(const std::vector<store::Write>& writes,
                        std::vector<store::WriteResult>& results) {
    std::optional<std::mt19937> jitter;  // seeded on the first failure only
    int delay_ms = options.retry_initial_ms;
    for (;;) {
      try {
        results = store.apply(writes);
        counters.backing_off = false;
        return true;
      } catch (const store::TransientError& e) {
        counters.backing_off = true;
        if (!jitter) jitter.emplace(std::random_device{}());
        int wait_ms = std::uniform_int_distribution<int>(delay_ms / 2, delay_ms)(*jitter);
        log::warn(std::string(e.what()) + "; retrying in " + std::to_string(wait_ms) + " ms");
        std::unique_lock lock(mutex);
        if (cv.wait_for(lock, std::chrono::milliseconds(wait_ms),
                        [&] { return quit || (stop && stop->load()); }))
          return false;
        delay_ms = std::min(delay_ms * 2, options.retry_max_ms);
      }
    }
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

  /// Hands the filling batch to the writer, waiting while the previous one is still written.
  /// False if the writer has stopped.
  bool submit() {
    if (filling->empty()) return true;
    std::unique_lock lock(mutex);
    if (!wait_writer_idle(lock)) return false;
    writing = std::move(filling);
    filling = std::move(spare);
    cv.notify_all();
    return true;
  }

  /// Submits the batch in hand and waits until everything is written and committed. False when
  /// the writer could not finish (stopped during a store outage): then nothing more is committed.
  bool flush() {
    if (!submit()) return false;
    {
      std::unique_lock lock(mutex);
      if (!wait_writer_idle(lock)) return false;
    }
    consumer->commit(true);
    return true;
  }

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
  }

  void on_assigned(const std::vector<kafka::TopicPartition>& parts) override {
    for (const auto& tp : parts) assigned.emplace_back(tp, false);
  }

  void on_revoking(const std::vector<kafka::TopicPartition>& parts) override {
    // Everything read so far, revoked partitions included, is written and committed first. The
    // partitions are forgotten even if that fails.
    try {
      flush();
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
    if (counters.records == 0) first_record_ns = now_ns();
    if (filling->empty()) filling->opened = Clock::now();
    mark_eof(m, false);
    ++counters.records;
    counters.bytes += m.value_size();
    filling->records++;
    filling->bytes += m.value_size();
    filling->note_offset(m);

    codec::RawRecord raw = raw_of(m);
    codec::DecodeResult result = decoder.decode(raw);
    if (auto* error = std::get_if<codec::DecodeError>(&result)) {
      ++counters.bad;
      bad_records.reject(raw, error->message(raw.origin));
      return;  // its offset still advances: the record is dealt with
    }
    filling->collapser.add(std::move(std::get<ImageEvent>(result)),
                           static_cast<std::uint32_t>(filling->messages.size()));
    filling->messages.push_back(std::move(m));
  }

  bool batch_full() const {
    return filling->records >= options.batch_max_events ||
           filling->bytes >= options.batch_max_bytes;
  }

  /// Due by size, or by age once the writer is free (while it writes, polling goes on and the
  /// batch keeps filling up to its size limits).
  bool batch_due() {
    if (filling->empty()) return false;
    if (batch_full()) return true;
    if (Clock::now() - filling->opened < std::chrono::milliseconds(options.batch_max_ms))
      return false;
    std::lock_guard lock(mutex);
    return !writing;
  }

  /// Until the batch in hand is due by age, at most 20 ms (the loop's tick). A batch already
  /// due waits for the writer: poll briefly rather than spin.
  int poll_timeout_ms() const {
    if (filling->empty()) return 20;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        filling->opened + std::chrono::milliseconds(options.batch_max_ms) - Clock::now());
    return left.count() <= 0 ? 2 : static_cast<int>(std::min<std::int64_t>(left.count(), 20));
  }

  void run(const std::atomic<bool>& stop,
           const std::function<void(const StreamSnapshot&)>& progress, StreamSync& self) {
    this->stop = &stop;
    auto next_progress = Clock::now() + options.progress_interval;
    while (!stop.load(std::memory_order_relaxed)) {
      if (auto fatal = consumer->fatal_error())
        throw Error("Kafka consumer failed for good: " + *fatal);
      rethrow_failure();
      if (options.max_records && counters.records >= options.max_records) break;
      if (auto m = consumer->poll(poll_timeout_ms())) take(std::move(*m));
      if (batch_due() && !submit()) break;
      if (progress && Clock::now() >= next_progress) {
        progress(self.snapshot());
        next_progress = Clock::now() + options.progress_interval;
      }
      if (options.exit_at_end && filling->empty() && at_end()) break;
    }
    const bool complete = flush();
    consumer->close();  // leaves the group; a revoke flushes nothing more by now
    if (!complete)
      throw Error("stopped while the store was failing: " + std::to_string(unwritten()) +
                  " records read were not written, and their offsets are not committed; the "
                  "next run reads them again");
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
  impl_->consumer.reset();  // closing may call back into the batches: before they go
}

void StreamSync::run(const std::atomic<bool>& stop,
                     const std::function<void(const StreamSnapshot&)>& progress) {
  try {
    impl_->run(stop, progress, *this);
  } catch (...) {
    impl_->stop_writer();
    impl_->consumer->close();
    throw;
  }
  impl_->stop_writer();
}

const StreamCounters& StreamSync::counters() const { return impl_->counters; }

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
