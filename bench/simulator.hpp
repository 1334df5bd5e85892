#pragma once
// Drives the LIMS workload into Kafka, paced like LIMS (optionally sped up) or flat out.

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "bench/workload.hpp"
#include "codec/api_json.hpp"
#include "kafka/producer.hpp"

namespace lims::bench {

struct SimulatorOptions {
  double speedup = 1;        // LIMS periods are divided by this
  bool max_rate = false;     // ignore the periods: produce as fast as possible
  std::uint64_t count = 0;   // stop after this many events (0: no limit)
  double duration_s = 0;     // stop after this many seconds (0: no limit)
  std::string topic_prefix;  // topics are <prefix><plant>
  codec::DataEncoding encoding = codec::DataEncoding::hex;
};

/// What the simulator produced, readable from any thread while it runs.
struct SimulatorStats {
  std::array<std::atomic<std::uint64_t>, kJobCount> per_job{};
  std::atomic<std::uint64_t> events{0};
  std::atomic<std::uint64_t> bytes{0};                // value bytes
  std::array<std::atomic<std::int64_t>, 3> max_id{};  // highest image id per plant
};

/// Produces changes keyed by "<id>" to <prefix><plant> until a bound or `stop`; then flushes.
void run_simulator(kafka::Producer& producer, Workload& workload, const SimulatorOptions& options,
                   const std::atomic<bool>& stop, SimulatorStats& stats);

/// "simulate: N events (C camera, R recognizer, ...), B MB in T s"
std::string simulator_summary(const SimulatorStats& stats, double seconds);

}  // namespace lims::bench
