#pragma once
// The batch synchronizer (sync-batch): copy what changed in one store into another, as the LIMS
// DB Synchronizer does, with the same stale-event guard as the stream.

#include <atomic>
#include <cstdint>
#include <string>

#include "store/image_store.hpp"
#include "sync/ack_log.hpp"

namespace lims::sync {

enum class BatchMode { incremental, full };

/// What one run moved. Bytes are document bytes as LIMS stores them (BSON), read from the source
/// and written to the target: what a bandwidth comparison with the stream needs.
struct BatchRunStats {
  std::uint64_t images = 0;   // records written to the target (stale ones excluded)
  std::uint64_t deleted = 0;  // full mode: records the source no longer has
  std::uint64_t stale = 0;
  std::uint64_t bytes_read = 0;
  std::uint64_t bytes_written = 0;
  double seconds = 0;
  bool complete = true;  // false when stopped part way (the checkpoint did not move)
};

/// The checkpoint, kept in a small file so a restart resumes: the newest version (updated_at,
/// else created_at) copied so far. The file is replaced atomically (write, fsync, rename).
class Checkpoint {
 public:
  /// Reads PATH if it exists (else starts at the beginning of time).
  explicit Checkpoint(std::string path);
  Micros value() const { return value_; }
  /// Saves `value` durably.
  void save(Micros value);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  Micros value_;
};

/// Copies source to target. Incremental: records with a version after the checkpoint, then moves
/// the checkpoint to the newest version copied, only once everything before it is written.
/// Full: every record, and deletes from the target what the source lacks. Stops between chunks
/// when `stop` is set (then `complete` is false and the checkpoint stays).
/// `on_acked`, if set, is told about each chunk the target acknowledged.
BatchRunStats run_batch_sync(store::ImageStore& source, store::ImageStore& target, BatchMode mode,
                             Checkpoint& checkpoint, const std::atomic<bool>& stop,
                             std::size_t chunk = 200, const WriteObserver& on_acked = {});

}  // namespace lims::sync
