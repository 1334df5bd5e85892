#pragma once
// Drives the LIMS workload into Kafka, paced like LIMS (optionally sped up) or flat out.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "codec/api_json.hpp"
#include "kafka/producer.hpp"
#include "sim/workload.hpp"
#include "store/image_store.hpp"

namespace lims::sim {

struct SimulatorOptions {
  double speedup = 1;        // LIMS periods are divided by this
  bool max_rate = false;     // ignore the periods: produce as fast as possible
  std::uint64_t count = 0;   // stop after this many events (0: no limit)
  double duration_s = 0;     // stop after this many seconds (0: no limit)
  std::string topic_prefix;  // topics are <prefix><plant>
  codec::DataEncoding encoding = codec::DataEncoding::hex;
  /// Where each change is written first, as LIMS's Image API does (null: produce only).
  store::ImageStore* producer_store = nullptr;
  /// Told about each change once it is written and queued (on the simulator's thread).
  std::function<void(const struct ProducedEvent&)> on_event;
};

/// One change as the simulator made it.
struct ProducedEvent {
  Job job;
  Plant plant;
  std::int64_t id;
  Micros version;              // updated_at, else created_at
  std::size_t value_bytes;     // the Kafka event's value
  std::size_t document_bytes;  // the record as a LIMS MongoDB document
  Micros written_at;           // when the producer store acknowledged it (else: produced)
};

/// What the simulator produced, readable from any thread while it runs.
struct SimulatorStats {
  std::array<std::atomic<std::uint64_t>, kJobCount> per_job{};
  std::atomic<std::uint64_t> events{0};
  std::atomic<std::uint64_t> bytes{0};                // value bytes
  std::array<std::atomic<std::int64_t>, 3> max_id{};  // highest image id per plant
};

/// Writes each change to the producer store (if any), then produces it keyed by "<id>" to
/// <prefix><plant> (if `producer` is not null), until a bound or `stop`; then flushes.
/// Throws lims::Error if the producer store refuses a change.
void run_simulator(kafka::Producer* producer, Workload& workload, const SimulatorOptions& options,
                   const std::atomic<bool>& stop, SimulatorStats& stats);

/// Writes `per_plant` pre-filled images per plant (Workload::prefill) to each of `stores`, in
/// batches; returns how many images each store received.
std::int64_t prefill_stores(Workload& workload, std::int64_t per_plant,
                            const std::vector<store::ImageStore*>& stores);

/// "simulate: N events (C camera, R recognizer, ...), B MB in T s"
std::string simulator_summary(const SimulatorStats& stats, double seconds);

}  // namespace lims::sim
