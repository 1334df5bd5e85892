#include "sync/batch_writer.hpp"

#include "codec/api_json.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/time_units.hpp"
#include "sync/stream.hpp"

namespace lims::sync {

BatchWriter::BatchWriter(store::ImageStore& store, BadRecordSink& bad_records,
                         ConsumerSide& consumer, StreamCounters& counters, StreamMetrics& metrics,
                         const StreamOptions& options, std::function<void()> changed)
    : store_(store),
      bad_records_(bad_records),
      consumer_(consumer),
      counters_(counters),
      metrics_(metrics),
      options_(options),
      changed_(std::move(changed)),
      thread_([this] { run(); }) {}

BatchWriter::~BatchWriter() { stop(); }

// ---- the writer thread -------------------------------------------------------------------------

void BatchWriter::run() {
  metrics::StageClock clock(metrics_.stages(), stage::idle);
  clock_ = &clock;
  std::unique_lock lock(mutex_);
  while (write_next(lock)) clock.enter(stage::idle);
  clock_ = nullptr;
  done_ = true;  // whatever ended the loop, nobody may wait for this thread any more
  cv_.notify_all();
}

/// Waits for a batch and writes it. False when the thread must end: asked to quit, a fatal error
/// (kept in failure_), or a stop while backing off (the batch left uncommitted).
bool BatchWriter::write_next(std::unique_lock<std::mutex>& lock) {
  cv_.wait(lock, [&] { return writing_ || quit_; });
  if (!writing_) return false;
  lock.unlock();
  bool written = false;
  try {
    written = write(*writing_);
  } catch (...) {
    lock.lock();
    failure_ = std::current_exception();
    return false;
  }
  lock.lock();
  if (!written) return false;
  writing_->clear();
  spare_ = std::move(writing_);
  cv_.notify_all();
  return true;
}

/// The three steps of a batch. False if asked to stop before they were done.
bool BatchWriter::write(StreamBatch& batch) {
  clock_->enter(stage::collapse);  // the writes are made from the events here
  const auto& writes = batch.collapser.writes();
  std::vector<store::WriteResult> results;
  clock_->enter(stage::store);
  const auto started = std::chrono::steady_clock::now();
  if (!writes.empty() && !store_with_retry(writes, results)) return false;
  if (options_.on_acked && !writes.empty()) options_.on_acked(writes, results);
  metrics_.batch_written(batch.records, std::chrono::steady_clock::now() - started,
                         static_cast<double>(wall_clock_micros()) / 1000, batch.timestamps_ms);
  const Tally tally = batch.collapser.tally(results);
  if (tally.failed || batch.rejected) clock_->enter(stage::dead_letter);
  for (std::size_t i = 0; i < results.size(); ++i)
    if (results[i].outcome == store::Outcome::failed &&
        !reject_refused(writes[i], batch.origins[batch.collapser.tag_of(i)], results[i].error))
      return false;
  counters_.applied += tally.applied;
  counters_.stale += tally.stale;
  counters_.deleted += tally.deleted;
  counters_.bad += tally.failed;
  // A rejected record's offset is committed only once its dead letter is kept.
  if ((batch.rejected || tally.failed) && !keep_rejected()) return false;
  clock_->enter(stage::commit);
  consumer_.commit(batch.commit_offsets);
  counters_.committed_records += batch.records;
  counters_.committed_bytes += batch.bytes;
  last_commit_ns_ = steady_clock_ns();
  changed_();
  return true;
}

bool BatchWriter::store_with_retry(const std::vector<store::Write>& writes,
                                   std::vector<store::WriteResult>& results) {
  Backoff backoff(std::chrono::milliseconds(options_.retry_initial_ms),
                  std::chrono::milliseconds(options_.retry_max_ms));
  for (;;) {
    try {
      results = store_.apply(writes);
      recovered();
      return true;
    } catch (const store::TransientError& e) {
      if (!back_off(backoff, e.what(), "the store is failing")) return false;
    }
  }
}

/// Hands a record the store refused to the bad-record sink: its original bytes read again from
/// Kafka (retried with backoff while Kafka does not answer) or, when Kafka no longer holds it,
/// the event as decoded. Throws when the sink ends the run; false if asked to stop meanwhile.
bool BatchWriter::reject_refused(const store::Write& write, const StreamBatch::Origin& origin,
                                 const std::string& error) {
  const kafka::TopicPartition at{origin.partition->topic, origin.partition->partition,
                                 origin.offset};
  std::optional<kafka::RecordCopy> original;
  Backoff backoff(std::chrono::milliseconds(options_.retry_initial_ms),
                  std::chrono::milliseconds(options_.retry_max_ms));
  for (;;) {
    try {
      original = consumer_.reread(at);
      break;
    } catch (const Error& e) {
      if (!back_off(backoff, e.what(), "Kafka does not answer a re-read")) return false;
    }
  }
  recovered();
  std::string reason = describe({at.topic, at.partition, at.offset}) + ": store: " + error;
  if (!original) {
    original.emplace();
    original->key = std::to_string(write.id);
    if (write.upsert) original->value = codec::to_event_json(*write.upsert);
    reason += " (Kafka no longer holds the record: this is its event as decoded)";
  }
  const codec::RawRecord raw{
      {at.topic, at.partition, at.offset},
      original->key ? original->key->data() : nullptr,
      original->key ? original->key->size() : 0,
      original->value ? original->value->data() : nullptr,
      original->value ? original->value->size() : 0,
  };
  Verdict verdict = bad_records_.reject(raw, reason);
  if (verdict.stop) throw Error(verdict.why, ExitCode::data);  // the batch stays uncommitted
  return true;
}

/// Waits until every record rejected so far is kept (BadRecordSink::flush()), retrying with
/// backoff while the sink says a later try may work.
bool BatchWriter::keep_rejected() {
  Backoff backoff(std::chrono::milliseconds(options_.retry_initial_ms),
                  std::chrono::milliseconds(options_.retry_max_ms));
  for (;;) {
    try {
      bad_records_.flush();
      recovered();
      return true;
    } catch (const UnkeptError& e) {
      if (!back_off(backoff, e.what(), e.what())) return false;
    }
  }
}

/// After a failure that may go away: marks the stream as backing off for `reason`, logs `what`
/// and waits the next delay. False if asked to quit or stop meanwhile.
bool BatchWriter::back_off(Backoff& backoff, const std::string& what, const std::string& reason) {
  const auto delay = backoff.next();
  log::warn(what + "; retrying in " + std::to_string(delay.count()) + " ms");
  std::unique_lock lock(mutex_);
  backoff_reason_ = reason;
  counters_.backing_off = true;
  cv_.notify_all();  // the consuming thread pauses fetching rather than wait for us
  changed_();
  const std::size_t was = clock_->current();
  clock_->enter(stage::backoff);
  const bool stopped = cv_.wait_for(lock, delay, [&] { return quit_ || (stop_ && stop_->load()); });
  clock_->enter(was);
  return !stopped;
}

void BatchWriter::recovered() {
  if (counters_.backing_off) {
    std::lock_guard lock(mutex_);
    backoff_reason_.clear();
    counters_.backing_off = false;
  }
  changed_();
}

// ---- the consuming thread's side ---------------------------------------------------------------

void BatchWriter::rethrow_failure() {
  std::lock_guard lock(mutex_);
  if (failure_) std::rethrow_exception(failure_);
}

/// Waits until the writer holds no batch. False if it ended without writing it.
bool BatchWriter::wait_idle(std::unique_lock<std::mutex>& lock) {
  cv_.wait(lock, [&] { return !writing_ || done_; });
  if (failure_) std::rethrow_exception(failure_);
  return !writing_;
}

void BatchWriter::hand_over(const PartitionSlots& slots) {
  filling_->close(slots);
  writing_ = std::move(filling_);
  filling_ = std::move(spare_);
  cv_.notify_all();
}

BatchWriter::Handoff BatchWriter::submit(const PartitionSlots& slots,
                                         std::chrono::milliseconds wait) {
  if (filling_->empty()) return Handoff::taken;
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, wait, [&] { return !writing_ || done_ || counters_.backing_off; });
  if (failure_) std::rethrow_exception(failure_);
  if (done_) return Handoff::writer_gone;
  if (writing_) return Handoff::busy;
  hand_over(slots);
  return Handoff::taken;
}

bool BatchWriter::write_all(const PartitionSlots& slots) {
  std::unique_lock lock(mutex_);
  if (!wait_idle(lock)) return false;
  if (filling_->empty()) return true;
  hand_over(slots);
  return wait_idle(lock);
}

std::string BatchWriter::backoff_reason() const {
  std::lock_guard lock(mutex_);
  return counters_.backing_off ? backoff_reason_ : std::string();
}

void BatchWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    quit_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace lims::sync
