#include "sync/stream_metrics.hpp"

#include <string>

#include "sync/stream.hpp"

namespace lims::sync {

StreamMetrics::StreamMetrics(metrics::Registry& r, const StreamCounters& counters)
    : store_write_seconds_(&r.histogram("lims_store_write_seconds",
                                        "Time to write one batch to the store", {},
                                        metrics::exponential_buckets(0.001, 2, 14))
                                .with()),
      end_to_end_seconds_(&r.histogram("lims_end_to_end_seconds",
                                       "From an event's Kafka record timestamp to the store "
                                       "acknowledging it",
                                       {}, metrics::exponential_buckets(0.005, 2, 16))
                               .with()),
      batch_events_(&r.histogram("lims_batch_events", "Records per store batch", {},
                                 metrics::exponential_buckets(1, 2, 12))
                         .with()) {
  stages_.expose(r);
  auto& ev = r.counter("lims_events_total", "Valid change events consumed, by plant and op",
                       {"plant", "op"});
  auto& by =
      r.counter("lims_event_bytes_total", "Value bytes of valid events, by plant", {"plant"});
  for (Plant p : kPlants) {
    const std::string name(plant_name(p));
    events_[static_cast<std::size_t>(p)] = {&ev.with({name, "upsert"}), &ev.with({name, "delete"})};
    bytes_[static_cast<std::size_t>(p)] = &by.with({name});
  }
  r.counter_callback("lims_events_stale_total",
                     "Events the stale-event guard refused (older than the stored record or a "
                     "delete marker, or tombstones from before its write): they changed nothing",
                     {}, [&counters](const metrics::Emit& emit) { emit({}, counters.stale); });
  r.counter_callback(
      "lims_events_rejected_total",
      "Records the codec or the store rejected, whatever --on-bad-record did with them "
      "(dead-lettered or skipped)",
      {}, [&counters](const metrics::Emit& emit) { emit({}, counters.bad); });
  r.counter_callback(
      "lims_kafka_received_bytes_total",
      "Bytes received from the Kafka brokers on the wire (librdkafka rx_bytes, as of its last "
      "statistics report)",
      {}, [this](const metrics::Emit& emit) {
        if (consumer_) emit({}, static_cast<double>(consumer_->received_bytes()));
      });
  r.gauge_callback("lims_consumer_lag", "Records between our position and the end, per partition",
                   {"topic", "partition"}, [this](const metrics::Emit& emit) {
                     if (!consumer_) return;
                     for (const auto& [tp, lag] : consumer_->lag_by_partition())
                       emit({tp.topic, std::to_string(tp.partition)}, static_cast<double>(lag));
                   });
}

void StreamMetrics::event(const ImageEvent& e, std::size_t value_bytes) {
  const auto p = static_cast<std::size_t>(e.plant);
  events_[p][e.is_delete() ? 1 : 0]->inc();
  bytes_[p]->inc(static_cast<double>(value_bytes));
}

void StreamMetrics::batch_written(std::uint64_t records, std::chrono::duration<double> write_time,
                                  double acked_ms, std::span<const std::int64_t> timestamps_ms) {
  store_write_seconds_->observe(write_time.count());
  batch_events_->observe(static_cast<double>(records));
  for (const std::int64_t ts : timestamps_ms)
    if (ts > 0) end_to_end_seconds_->observe((acked_ms - static_cast<double>(ts)) / 1000);
}

}  // namespace lims::sync
