#include "sync/copy.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <vector>

#include "common/error.hpp"

namespace lims::sync {
namespace {

/// Adds a chunk's results to `stats`; a record the target refused ends the run.
void count_results(const std::vector<ImageRecord>& records,
                   std::span<const store::WriteResult> results, Plant plant, BatchRunStats& stats) {
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

/// Enters `stage` when there is a clock.
void enter(metrics::StageClock* clock, std::size_t stage) {
  if (clock) clock->enter(stage);
}

/// Writes `records` (oldest first) to the target under the guard, moving the checkpoint past
/// them when there is one; adds to `stats`.
void write_chunk(store::ImageStore& target, const std::vector<ImageRecord>& records, Plant plant,
                 Checkpoint* checkpoint, BatchRunStats& stats, const WriteObserver& on_acked,
                 metrics::StageClock* clock) {
  if (records.empty()) return;
  enter(clock, copy_stage::write);
  std::vector<store::Write> writes;
  writes.reserve(records.size());
  for (const auto& r : records) writes.push_back({.plant = plant, .id = r.id, .upsert = &r});
  const auto results = checkpoint ? checkpoint->write(target, writes, plant,
                                                      {records.back().version(), records.back().id})
                                  : target.apply(writes);
  if (on_acked) on_acked(writes, results);
  count_results(records, results, plant, stats);
  enter(clock, copy_stage::read);
}

/// Full mode: deletes from the target every id of `plant` the source does not hold, each only if
/// the target's record is still the one the scan found missing: a record written since (by the
/// stream, say) is newer and stays. Each delete leaves a marker, as a tombstone does.
void delete_missing(store::ImageStore& target, Plant plant, const std::set<std::int64_t>& keep,
                    BatchRunStats& stats, metrics::StageClock* clock) {
  std::vector<store::Write> writes;
  target.scan_after(plant, {}, [&](const ImageRecord& r) {
    if (!keep.count(r.id))
      writes.push_back(
          {.plant = plant, .id = r.id, .delete_first = true, .delete_up_to = r.version()});
    return true;
  });
  if (writes.empty()) return;
  enter(clock, copy_stage::write);
  for (const auto& result : target.apply(writes))
    ++(result.delete_refused ? stats.stale : stats.deleted);
  enter(clock, copy_stage::read);
}

class TargetCheckpoint final : public Checkpoint {
 public:
  TargetCheckpoint(store::ImageStore& target, std::string prefix)
      : target_(target), prefix_(std::move(prefix)) {}

  store::CopyPosition position(Plant plant) override {
    return target_.load_position(key(plant)).value_or(store::CopyPosition{});
  }
  std::vector<store::WriteResult> write(store::ImageStore& target,
                                        std::span<const store::Write> writes, Plant plant,
                                        store::CopyPosition position) override {
    return target.apply_and_save(writes, key(plant), position);
  }
  std::string describe() const override { return target_.describe() + " (lims_copy_positions)"; }

 private:
  std::string key(Plant plant) const { return prefix_ + std::string(plant_name(plant)); }
  store::ImageStore& target_;
  std::string prefix_;
};

class FileCheckpoint final : public Checkpoint {
 public:
  explicit FileCheckpoint(std::string path) : path_(std::move(path)) {
    std::ifstream in(path_);
    if (!in) return;
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
      if (line.find_first_not_of(" \t\r") != std::string::npos) lines.push_back(line);
    long long single = 0;
    if (lines.size() == 1 && (std::istringstream(lines[0]) >> single)) {
      // One number: a version for every plant; what is newer gets copied.
      positions_.fill({single, std::numeric_limits<std::int64_t>::max()});
      return;
    }
    for (std::size_t n = 0; n < lines.size(); ++n) {
      std::istringstream fields(lines[n]);
      std::string name;
      store::CopyPosition p;
      auto plant = (fields >> name >> p.version >> p.id) ? parse_plant(name) : std::nullopt;
      if (!plant)
        throw Error(
            "checkpoint file " + path_ + ":" + std::to_string(n + 1) +
            ": expected \"PLANT VERSION_US ID\" with PLANT potato, tomato or pepper; got \"" +
            lines[n] + "\"");
      positions_[static_cast<std::size_t>(*plant)] = p;
    }
  }

  store::CopyPosition position(Plant plant) override {
    return positions_[static_cast<std::size_t>(plant)];
  }
  std::vector<store::WriteResult> write(store::ImageStore& target,
                                        std::span<const store::Write> writes, Plant plant,
                                        store::CopyPosition position) override {
    auto results = target.apply(writes);  // acknowledged, so durable: the file may follow
    positions_[static_cast<std::size_t>(plant)] = position;
    save();
    return results;
  }
  std::string describe() const override { return path_; }

 private:
  void save() const {
    std::string text;
    for (Plant p : kPlants) {
      const auto& at = positions_[static_cast<std::size_t>(p)];
      text += std::string(plant_name(p)) + " " + std::to_string(at.version) + " " +
              std::to_string(at.id) + "\n";
    }
    const std::string tmp = path_ + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) throw Error("cannot write checkpoint file " + tmp);
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                    ::fsync(fd) == 0;
    ::close(fd);
    if (!ok || std::rename(tmp.c_str(), path_.c_str()) != 0)
      throw Error("cannot write checkpoint file " + path_);
  }

  std::string path_;
  std::array<store::CopyPosition, kPlants.size()> positions_{};
};

}  // namespace

std::unique_ptr<Checkpoint> checkpoint_in_target(store::ImageStore& target,
                                                 const store::ImageStore& source, BatchMode mode) {
  return std::make_unique<TargetCheckpoint>(
      target, std::string("sync-batch ") + (mode == BatchMode::full ? "full " : "incremental ") +
                  source.identity() + " ");
}

metrics::StageAccount copy_stages() { return {{"read", "write", "wait"}, {"wait"}}; }

std::unique_ptr<Checkpoint> checkpoint_file(std::string path) {
  return std::make_unique<FileCheckpoint>(std::move(path));
}

BatchRunStats run_batch_sync(store::ImageStore& source, store::ImageStore& target, BatchMode mode,
                             Checkpoint* checkpoint, const std::atomic<bool>& stop,
                             std::size_t chunk, const WriteObserver& on_acked,
                             metrics::StageClock* clock) {
  const auto started = std::chrono::steady_clock::now();
  enter(clock, copy_stage::read);
  BatchRunStats stats;
  if (mode == BatchMode::full) checkpoint = nullptr;  // everything, every time
  for (Plant plant : kPlants) {
    std::vector<ImageRecord> records;
    std::set<std::int64_t> seen;
    const store::CopyPosition after =
        checkpoint ? checkpoint->position(plant) : store::CopyPosition{};
    // Records come oldest first, so a stop between chunks leaves a consistent prefix.
    source.scan_after(plant, after, [&](ImageRecord&& r) {
      if (stop) return stats.complete = false;
      stats.bytes_read += store::document_bytes(r);
      if (mode == BatchMode::full) seen.insert(r.id);
      records.push_back(std::move(r));
      if (records.size() >= chunk) {
        write_chunk(target, records, plant, checkpoint, stats, on_acked, clock);
        records.clear();
      }
      return true;
    });
    if (!stats.complete) break;
    write_chunk(target, records, plant, checkpoint, stats, on_acked, clock);
    if (mode == BatchMode::full) delete_missing(target, plant, seen, stats, clock);
  }
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return stats;
}

}  // namespace lims::sync
