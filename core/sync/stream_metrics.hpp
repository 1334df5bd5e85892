#pragma once
// The stream's Prometheus metrics (see docs/observability.md): the instruments the hot path
// updates, and the series computed at each scrape from the counters and the consumer.

#include <array>
#include <chrono>
#include <span>

#include "kafka/consumer.hpp"
#include "metrics/registry.hpp"
#include "metrics/stages.hpp"
#include "model/image.hpp"

namespace lims::sync {

/// The stages of a stream's time (metrics::StageAccount): the consuming thread's, then the
/// writer thread's. See docs/observability.md.
namespace stage {
inline constexpr std::size_t fetch = 0;        // waiting for records in the consumer's poll
inline constexpr std::size_t decode = 1;       // decoding and validating a record
inline constexpr std::size_t collapse = 2;     // adding its event to the batch
inline constexpr std::size_t handoff = 3;      // waiting for the writer to take a batch
inline constexpr std::size_t idle = 4;         // the writer waiting for a batch
inline constexpr std::size_t store = 5;        // the store writing a batch
inline constexpr std::size_t backoff = 6;      // the writer waiting between retries
inline constexpr std::size_t dead_letter = 7;  // rejected records handed over and kept
inline constexpr std::size_t commit = 8;       // offsets stored and committed
}  // namespace stage

struct StreamCounters;

class StreamMetrics {
 public:
  /// Registers the stream's families in `registry`; the scrape-time ones read `counters`, and
  /// the consumer once watch() named it. Both must outlive the registry's renders.
  StreamMetrics(metrics::Registry& registry, const StreamCounters& counters);
  /// The consumer whose lag and received bytes are scraped.
  void watch(const kafka::Consumer* consumer) { consumer_ = consumer; }
  /// A valid event of `value_bytes` consumed.
  void event(const ImageEvent& event, std::size_t value_bytes);
  /// A batch of `records` written to the store in `write_time` and acknowledged at `acked_ms`
  /// (wall clock): the end-to-end delay of each event from its Kafka timestamp (`timestamps_ms`,
  /// ms since the epoch; <= 0: unknown, not counted).
  void batch_written(std::uint64_t records, std::chrono::duration<double> write_time,
                     double acked_ms, std::span<const std::int64_t> timestamps_ms);
  /// lims_end_to_end_seconds.
  const metrics::Histogram& end_to_end_seconds() const { return *end_to_end_seconds_; }
  /// The time per stage (lims_stage_seconds_total, lims_stage_cpu_seconds_total).
  metrics::StageAccount& stages() { return stages_; }
  const metrics::StageAccount& stages() const { return stages_; }

 private:
  std::array<std::array<metrics::Counter*, 2>, kPlants.size()> events_{};  // [plant][delete?]
  std::array<metrics::Counter*, kPlants.size()> bytes_{};
  metrics::Histogram* store_write_seconds_;
  metrics::Histogram* end_to_end_seconds_;
  metrics::Histogram* batch_events_;
  const kafka::Consumer* consumer_ = nullptr;
  metrics::StageAccount stages_{{"fetch", "decode", "collapse", "handoff", "idle", "store",
                                 "backoff", "dead_letter", "commit"},
                                {"fetch", "handoff", "idle", "backoff"}};
};

}  // namespace lims::sync
