#include "sim/simulator.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <span>
#include <thread>

#include "codec/time.hpp"
#include "common/error.hpp"
#include "common/time_units.hpp"

namespace lims::sim {
namespace {

/// Applies `records` of one plant to `store`; throws lims::Error naming a refused one.
void write_records(store::ImageStore& store, Plant plant, std::span<const ImageRecord> records) {
  std::vector<store::Write> writes;
  writes.reserve(records.size());
  for (const auto& r : records) writes.push_back({.plant = plant, .id = r.id, .upsert = &r});
  const auto results = store.apply(writes);
  for (std::size_t i = 0; i < results.size(); ++i)
    if (results[i].outcome == store::Outcome::failed)
      throw Error("producer store " + store.describe() + " refused " +
                  std::string(plant_name(plant)) + " " + std::to_string(records[i].id) + ": " +
                  results[i].error);
}

/// Rounds the record's times down to a multiple of `resolution` microseconds.
void truncate_times(ImageRecord& r, Micros resolution) {
  if (resolution <= 1) return;
  auto down = [resolution](Micros t) { return t - ((t % resolution) + resolution) % resolution; };
  r.created_at = down(r.created_at);
  if (r.updated_at) r.updated_at = down(*r.updated_at);
}

}  // namespace

std::int64_t prefill_stores(Workload& workload, std::int64_t per_plant,
                            const std::vector<store::ImageStore*>& stores) {
  std::vector<ImageRecord> chunk;
  Plant plant = Plant::potato;
  std::int64_t written = 0;
  auto flush = [&] {
    for (auto* s : stores) write_records(*s, plant, chunk);
    written += static_cast<std::int64_t>(chunk.size());
    chunk.clear();
  };
  workload.prefill(per_plant, wall_clock_micros(), [&](const Change& c) {
    if (c.plant != plant || chunk.size() >= 200) flush();
    plant = c.plant;
    chunk.push_back(c.record);
  });
  flush();
  return written;
}

void run_simulator(kafka::Producer* producer, Workload& workload, const SimulatorOptions& options,
                   const std::atomic<bool>& stop, SimulatorStats& stats) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto deadline = options.duration_s > 0
                            ? start + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(options.duration_s))
                            : Clock::time_point::max();
  // Changes carry the times the producer store keeps, so both paths deliver the same version.
  const Micros resolution = options.producer_store ? options.producer_store->time_resolution() : 1;
  while (!stop && (options.count == 0 || stats.events < options.count)) {
    if (!options.max_rate) {
      // Wait for the next job's turn serving delivery reports, in slices that notice a stop.
      const auto due =
          start + std::chrono::duration_cast<Clock::duration>(
                      std::chrono::duration<double>(workload.next_due_s() / options.speedup));
      const auto until = std::min(due, deadline);
      for (auto now = Clock::now(); !stop && now < until; now = Clock::now()) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count();
        const int slice = static_cast<int>(std::clamp<std::int64_t>(left, 1, 100));
        if (producer)
          producer->poll(slice);
        else
          std::this_thread::sleep_for(std::chrono::milliseconds(slice));
      }
      if (stop || due >= deadline) break;
    } else if (Clock::now() >= deadline) {
      break;
    }
    std::optional<Change> next = workload.next(wall_clock_micros());
    if (!next) continue;  // that job idled; wait for the next one's turn
    Change& c = *next;
    truncate_times(c.record, resolution);
    if (options.producer_store) write_records(*options.producer_store, c.plant, {&c.record, 1});
    const Micros written_at = wall_clock_micros();
    const std::string value = codec::to_event_json(c.record, options.encoding);
    const std::string topic = options.topic_prefix + std::string(plant_name(c.plant));
    if (producer) producer->produce(topic, std::to_string(c.record.id), value);
    if (options.on_event)
      options.on_event({c.job, c.plant, c.record.id, c.record.version(), value.size(),
                        store::document_bytes(c.record), written_at});
    ++stats.per_job[static_cast<std::size_t>(c.job)];
    ++stats.events;
    stats.bytes += value.size();
    auto& max_id = stats.max_id[static_cast<std::size_t>(c.plant)];
    if (c.record.id > max_id) max_id = c.record.id;
  }
  if (producer) producer->flush(30000);
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

}  // namespace lims::sim
