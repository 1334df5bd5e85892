#pragma once
// ImageStore: the interface every consumer-side store implements (SQLite and MongoDB).

#include <algorithm>
#include <compare>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "model/image.hpp"

namespace lims::store {

/// Where an event came from in Kafka: an offset in one partition of one topic. Positions are
/// ordered only within one partition's log; across partitions (or without a position) there is
/// no order to compare, and the guard compares none.
struct SourcePosition {
  std::string_view topic;  // empty: not from Kafka (sync-batch, a test)
  std::int32_t partition = -1;
  std::int64_t offset = -1;

  bool known() const { return !topic.empty(); }
  /// True when both are in the same partition of the same topic and this one comes first there.
  bool before(const SourcePosition& other) const {
    return known() && topic == other.topic && partition == other.partition && offset < other.offset;
  }
};

/// One key's net change within a batch. Applying it equals applying that key's events in order
/// under the stale-event guard: a tombstone deletes unless the stored record was written from
/// later in the tombstone's own partition, and leaves a delete marker holding the deleted
/// record's version; an upsert passes if it is not older than the stored record and newer than a
/// marker.
struct Write {
  Plant plant = Plant::potato;
  std::int64_t id = 0;
  bool delete_first = false;            // a tombstone came after every earlier upsert
  const ImageRecord* upsert = nullptr;  // newest upsert after the last tombstone, if any
  /// Where `upsert` came from; the store keeps it with the record it writes.
  SourcePosition source{};
  /// delete_first: where the last tombstone came from.
  SourcePosition tombstone{};
  /// delete_first: the newest version among the upserts of the batch before the last tombstone
  /// (they were written, then deleted): the marker keeps at least this version.
  std::optional<Micros> upserted_before{};
  /// delete_first: the delete goes only if the stored record is not newer than this (sync-batch
  /// --mode full: the version it found missing from the source).
  std::optional<Micros> delete_up_to{};
};

enum class Outcome : std::uint8_t {
  applied,  // the upsert was written
  stale,    // the stored record (or a delete marker) is newer, or the tombstone is older than the
            // stored record's write: nothing changed
  deleted,  // a delete without a following upsert was carried out (or the key was absent)
  failed,   // this write alone was rejected for its data; see WriteResult::error
};

struct WriteResult {
  Outcome outcome = Outcome::applied;
  std::string error;            // why, for Outcome::failed
  bool delete_refused = false;  // delete_first, but the guard kept the stored record
};

/// How far a copy from another store has come in one plant: the last record copied, in the order
/// scan_after() visits records (version, then id). The default is before every record.
struct CopyPosition {
  Micros version = std::numeric_limits<Micros>::min();
  std::int64_t id = 0;
  auto operator<=>(const CopyPosition&) const = default;
};

/// A store error that may go away on retry (busy, locked, connection reset, timeout).
class TransientError : public Error {
 public:
  using Error::Error;
};

class ImageStore {
 public:
  virtual ~ImageStore() = default;

  /// Applies every write in one atomic unit and returns one result per write, in order.
  /// Throws TransientError (nothing applied, retry later) or lims::Error (cannot go on).
  virtual std::vector<WriteResult> apply(std::span<const Write> writes) = 0;
  /// The stored record, or nullopt.
  virtual std::optional<ImageRecord> get(Plant plant, std::int64_t id) = 0;
  /// How many records the plant has (soft-deleted ones included, as the Image API counts; delete
  /// markers are no records).
  virtual std::int64_t count(Plant plant) = 0;
  /// Calls `visit` for each record after `after` in (version(), id) order, handing the record
  /// over (the visitor may keep it without a copy); stops when it returns false.
  virtual void scan_after(Plant plant, CopyPosition after,
                          const std::function<bool(ImageRecord&&)>& visit) = 0;
  /// The position last saved under `key` (save_position, apply_and_save), or nullopt.
  virtual std::optional<CopyPosition> load_position(const std::string& key) = 0;
  /// Saves `position` under `key`, durably, replacing what was there.
  virtual void save_position(const std::string& key, CopyPosition position) = 0;
  /// apply(), then `position` saved under `key` only once the writes are durable: by default
  /// after apply() returns (a store acknowledges a write only once it is durable); a store that
  /// can do both in one transaction does. A failure may leave the position behind the data,
  /// never ahead of it.
  virtual std::vector<WriteResult> apply_and_save(std::span<const Write> writes,
                                                  const std::string& key, CopyPosition position) {
    auto results = apply(writes);
    save_position(key, position);
    return results;
  }
  /// The `n` records of the plant with the highest version() (updated_at, else created_at; ties
  /// by id, higher first), newest first, soft-deleted ones included, all without their `data`
  /// (left empty: for listings, which load the JPEGs separately).
  virtual std::vector<ImageRecord> latest(Plant plant, std::size_t n) = 0;
  /// The store's address with any credentials masked, for messages.
  virtual std::string describe() const = 0;
  /// What names this store across runs and working directories, without credentials: the
  /// absolute path of a SQLite file, a MongoDB URI's hosts and database.
  virtual std::string identity() const = 0;
  /// The finest time step the store keeps, in microseconds (1; MongoDB's dates: 1000).
  virtual Micros time_resolution() const { return 1; }
  /// Removes the delete markers older than OpenOptions::delete_marker_retention at `now` (wall
  /// clock); returns how many. Writes do this themselves, at most once per
  /// marker_expiry_interval().
  virtual std::size_t expire_markers(Micros now) = 0;
};

/// How long a delete marker is kept unless told otherwise: 7 days, Kafka's default retention.
inline constexpr Micros kDefaultMarkerRetention = 7LL * 86400 * 1'000'000;
/// How often writes expire markers: every hour, or every retention when that is shorter.
inline Micros marker_expiry_interval(Micros retention) {
  return std::min<Micros>(retention, 3600LL * 1'000'000);
}

/// The record's size as a LIMS MongoDB document (BSON, without _id): the unit sync-batch counts
/// bytes moved in, whatever the stores are.
std::size_t document_bytes(const ImageRecord& record);

/// MongoDB's document size limit. Every store refuses a record over it (Outcome::failed), so the
/// embedded store holds exactly what the LIMS Consumer Image DB could.
inline constexpr std::size_t kMaxDocumentBytes = 16u << 20;
/// The reason a store gives for a document of `bytes` over the limit.
std::string too_large(std::size_t bytes, std::size_t limit = kMaxDocumentBytes);

struct OpenOptions {
  bool read_only = false;                  // readers (get-image) never create or change a store
  std::string write_concern = "majority";  // MongoDB: "majority", or a number of nodes
  Micros delete_marker_retention = kDefaultMarkerRetention;  // how long a delete marker stays
};

/// Opens the store named by `uri`: "sqlite:PATH" (or "sqlite://PATH", "sqlite::memory:"), or
/// "mongodb://..." / "mongodb+srv://...".
/// Throws lims::Error with ExitCode::usage for an unknown scheme and ExitCode::unreachable if it
/// cannot be opened.
std::unique_ptr<ImageStore> open_store(std::string_view uri, const OpenOptions& options = {});

}  // namespace lims::store
