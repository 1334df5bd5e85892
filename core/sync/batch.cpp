#include "sync/batch.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <limits>
#include <set>
#include <vector>

#include "common/error.hpp"

namespace lims::sync {
namespace {

constexpr Micros kBeginning = std::numeric_limits<Micros>::min() / 2;

/// Writes `records` to the target under the guard; adds to `stats`.
void write_chunk(store::ImageStore& target, const std::vector<ImageRecord>& records, Plant plant,
                 BatchRunStats& stats, const WriteObserver& on_acked) {
  std::vector<store::Write> writes;
  writes.reserve(records.size());
  for (const auto& r : records) writes.push_back({plant, r.id, false, &r});
  const auto results = target.apply(writes);
  if (on_acked && !writes.empty()) on_acked(writes, results);
  for (std::size_t i = 0; i < results.size(); ++i) {
    switch (results[i].outcome) {
      case store::Outcome::applied:
        ++stats.images;
        stats.bytes_written += store::document_bytes(records[i]);
        break;
      case store::Outcome::stale: ++stats.stale; break;
      case store::Outcome::failed:
        throw Error("sync-batch: " + std::string(plant_name(plant)) + " " +
                    std::to_string(records[i].id) + ": " + results[i].error);
      case store::Outcome::deleted: break;
    }
  }
}

/// Full mode: deletes from the target every id of `plant` the source does not hold.
void delete_missing(store::ImageStore& target, Plant plant, const std::set<std::int64_t>& keep,
                    BatchRunStats& stats) {
  std::vector<std::int64_t> gone;
  target.scan_since(plant, kBeginning, [&](const ImageRecord& r) {
    if (!keep.count(r.id)) gone.push_back(r.id);
    return true;
  });
  std::vector<store::Write> writes;
  for (std::int64_t id : gone) writes.push_back({plant, id, true, nullptr});
  if (!writes.empty()) target.apply(writes);
  stats.deleted += gone.size();
}

}  // namespace

Checkpoint::Checkpoint(std::string path) : path_(std::move(path)), value_(kBeginning) {
  std::ifstream in(path_);
  if (!in) return;
  long long v = 0;
  if (!(in >> v)) throw Error("checkpoint file " + path_ + ": expected one integer (microseconds)");
  value_ = v;
}

void Checkpoint::save(Micros value) {
  const std::string tmp = path_ + ".tmp";
  const std::string text = std::to_string(value) + "\n";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw Error("cannot write checkpoint file " + tmp);
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || std::rename(tmp.c_str(), path_.c_str()) != 0)
    throw Error("cannot write checkpoint file " + path_);
  value_ = value;
}

BatchRunStats run_batch_sync(store::ImageStore& source, store::ImageStore& target, BatchMode mode,
                             Checkpoint& checkpoint, const std::atomic<bool>& stop, std::size_t chunk,
                             const WriteObserver& on_acked) {
  const auto started = std::chrono::steady_clock::now();
  BatchRunStats stats;
  const Micros since = mode == BatchMode::full ? kBeginning : checkpoint.value();
  Micros newest = checkpoint.value();
  for (Plant plant : kPlants) {
    std::vector<ImageRecord> records;
    std::set<std::int64_t> seen;
    // Versions come oldest first, so a stop between chunks leaves a consistent prefix.
    source.scan_since(plant, since, [&](ImageRecord&& r) {
      if (stop) return stats.complete = false;
      stats.bytes_read += store::document_bytes(r);
      newest = std::max(newest, r.version());
      if (mode == BatchMode::full) seen.insert(r.id);
      records.push_back(std::move(r));
      if (records.size() >= chunk) {
        write_chunk(target, records, plant, stats, on_acked);
        records.clear();
      }
      return true;
    });
    if (!stats.complete) break;
    write_chunk(target, records, plant, stats, on_acked);
    if (mode == BatchMode::full) delete_missing(target, plant, seen, stats);
  }
  // The checkpoint moves only after every plant is written: it never runs ahead of the data.
  if (stats.complete && newest != checkpoint.value()) checkpoint.save(newest);
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return stats;
}

}  // namespace lims::sync
