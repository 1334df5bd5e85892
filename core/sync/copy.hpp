#pragma once
// The copy behind sync-batch: what changed in one store, into another, as the LIMS
// DB Synchronizer does, with the same stale-event guard as the stream.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "metrics/stages.hpp"
#include "store/image_store.hpp"
#include "sync/ack_log.hpp"

namespace lims::sync {

enum class BatchMode { incremental, full };

/// What one run moved. Bytes are document bytes as LIMS stores them (BSON), read from the source
/// and written to the target: what a bandwidth comparison with the stream needs.
struct BatchRunStats {
  std::uint64_t images = 0;   // records written to the target (stale ones excluded)
  std::uint64_t deleted = 0;  // full mode: records the source no longer has
  std::uint64_t stale = 0;    // refused by the guard: the target's record was newer (full mode:
                              // also a record to delete that changed while the run went on)
  std::uint64_t bytes_read = 0;
  std::uint64_t bytes_written = 0;
  double seconds = 0;
  bool complete = true;  // false when stopped part way (the checkpoint holds what was written)
};

/// An incremental copy's checkpoint: per plant, the last source record copied (its version and
/// id). A chunk of writes and the position after it are saved together, so the checkpoint is
/// never ahead of the data.
class Checkpoint {
 public:
  virtual ~Checkpoint() = default;
  /// Where the copy of `plant` resumes (the default position: from the start).
  virtual store::CopyPosition position(Plant plant) = 0;
  /// Applies `writes` to `target` and moves `plant`'s checkpoint to `position` once they are
  /// durable; returns the writes' results.
  virtual std::vector<store::WriteResult> write(store::ImageStore& target,
                                                std::span<const store::Write> writes, Plant plant,
                                                store::CopyPosition position) = 0;
  /// Where it is kept, for messages.
  virtual std::string describe() const = 0;
};

/// The checkpoint kept in the target store itself (table or collection lims_copy_positions),
/// keyed by the source's identity (no credentials), the mode and the plant: a new target starts
/// from scratch whatever the working directory, and each chunk and its position are written in
/// one transaction (SQLite) or the position right after the write is acknowledged (MongoDB).
std::unique_ptr<Checkpoint> checkpoint_in_target(store::ImageStore& target,
                                                 const store::ImageStore& source, BatchMode mode);

/// The checkpoint in a file (--state): one line "PLANT VERSION_US ID" per plant, replaced
/// atomically (write, fsync, rename) after each chunk the target acknowledged. A file holding a
/// single number (a version) applies it to every plant. Throws lims::Error for a file it cannot
/// read.
std::unique_ptr<Checkpoint> checkpoint_file(std::string path);

/// Copies source to target. Incremental: the records after each plant's checkpoint, oldest first
/// in chunks of `chunk`, moving the checkpoint with each chunk. Full: every record, and deletes
/// from the target what the source lacks, under the guard (a record newer than the one found
/// missing stays), leaving delete markers; no checkpoint is kept or needed (may be null). Stops
/// between chunks when `stop` is set (then `complete` is false). `on_acked`, if set, is told
/// about each chunk the target acknowledged. `clock`, if set, is entered into copy_stage::read
/// and copy_stage::write as the copy goes (see copy_stages()).
BatchRunStats run_batch_sync(store::ImageStore& source, store::ImageStore& target, BatchMode mode,
                             Checkpoint* checkpoint, const std::atomic<bool>& stop,
                             std::size_t chunk = 200, const WriteObserver& on_acked = {},
                             metrics::StageClock* clock = nullptr);

/// The stages of sync-batch's time: reading the source, writing the target (the checkpoint with
/// it), waiting for the next run.
namespace copy_stage {
inline constexpr std::size_t read = 0;
inline constexpr std::size_t write = 1;
inline constexpr std::size_t wait = 2;
}  // namespace copy_stage
metrics::StageAccount copy_stages();

}  // namespace lims::sync
