#include "bench/simulator.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace lims::bench {
namespace {

Micros wall_clock_micros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void run_simulator(kafka::Producer& producer, Workload& workload, const SimulatorOptions& options,
                   const std::atomic<bool>& stop, SimulatorStats& stats) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto deadline = options.duration_s > 0
                            ? start + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(options.duration_s))
                            : Clock::time_point::max();
  while (!stop && (options.count == 0 || stats.events < options.count)) {
    if (!options.max_rate) {
      // Wait for the next job's turn serving delivery reports, in slices that notice a stop.
      const auto due =
          start + std::chrono::duration_cast<Clock::duration>(
                      std::chrono::duration<double>(workload.next_due_s() / options.speedup));
      const auto until = std::min(due, deadline);
      for (auto now = Clock::now(); !stop && now < until; now = Clock::now()) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count();
        producer.poll(static_cast<int>(std::clamp<std::int64_t>(left, 1, 100)));
      }
      if (stop || due >= deadline) break;
    } else if (Clock::now() >= deadline) {
      break;
    }
    std::optional<Change> next = workload.next(wall_clock_micros());
    if (!next) continue;  // that job idled; wait for the next one's turn
    Change& c = *next;
    const std::string value = codec::to_event_json(c.record, options.encoding);
    const std::string topic = options.topic_prefix + std::string(plant_name(c.plant));
    producer.produce(topic, std::to_string(c.record.id), value);
    ++stats.per_job[static_cast<std::size_t>(c.job)];
    ++stats.events;
    stats.bytes += value.size();
    auto& max_id = stats.max_id[static_cast<std::size_t>(c.plant)];
    if (c.record.id > max_id) max_id = c.record.id;
  }
  producer.flush(30000);
}

std::string simulator_summary(const SimulatorStats& stats, double seconds) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "simulate: %llu events (%llu camera, %llu recognizer, %llu activate, "
                "%llu metadata, %llu delete), %.1f MB in %.2f s",
                static_cast<unsigned long long>(stats.events.load()),
                static_cast<unsigned long long>(stats.per_job[0].load()),
                static_cast<unsigned long long>(stats.per_job[1].load()),
                static_cast<unsigned long long>(stats.per_job[2].load()),
                static_cast<unsigned long long>(stats.per_job[3].load()),
                static_cast<unsigned long long>(stats.per_job[4].load()),
                static_cast<double>(stats.bytes.load()) / 1e6, seconds);
  return buf;
}

}  // namespace lims::bench
