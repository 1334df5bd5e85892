#pragma once
// MongoStore: the LIMS Consumer Image DB in MongoDB, laid out exactly as LIMS keeps it.

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "store/guard.hpp"
#include "store/image_store.hpp"
#include "store/mongo_handles.hpp"

namespace lims::store {

/// Database from the URI path (default imagedbplantconsumer), collections imagecolplant<plant>,
/// documents field for field as LIMS writes them. What the guard remembers beside the records
/// (each record's version and source position, delete markers) lives in the side collection
/// lims_guard, so the LIMS collections hold LIMS documents only. A batch is one bulk write to
/// lims_guard, then one unordered bulk write per image collection; a batch holding tombstones
/// first reads their keys' state (one find in lims_guard, one per image collection concerned).
/// Each write is guarded on the server (see plan() and detail::append_guard_filter); the two
/// collections are not written atomically together (docs/stores.md). Times are kept to the
/// millisecond, as BSON dates are. Thread-compatible, like every store.
class MongoStore final : public ImageStore {
 public:
  /// Connects (bounded by serverSelectionTimeoutMS, default 10 s; else lims::Error unreachable)
  /// and, unless read-only, makes sure each collection has a unique index on id. An operation the
  /// server does not answer fails after socketTimeoutMS, default 30 s, as a TransientError.
  MongoStore(const std::string& uri, const OpenOptions& options);

  std::vector<WriteResult> apply(std::span<const Write> writes) override;
  std::optional<ImageRecord> get(Plant plant, std::int64_t id) override;
  std::int64_t count(Plant plant) override;
  void scan_after(Plant plant, CopyPosition after,
                  const std::function<bool(ImageRecord&&)>& visit) override;
  /// Positions live in the collection lims_copy_positions, beside LIMS's own.
  std::optional<CopyPosition> load_position(const std::string& key) override;
  void save_position(const std::string& key, CopyPosition position) override;
  std::vector<ImageRecord> latest(Plant plant, std::size_t n) override;
  std::string describe() const override { return masked_; }
  std::string identity() const override { return identity_; }
  Micros time_resolution() const override { return 1000; }
  std::size_t expire_markers(Micros now) override;

  /// The commands this store has sent, by name ("update", "find", ...): one per round trip to
  /// the server (libmongoc's command monitoring), since it was opened.
  const std::map<std::string, std::uint64_t, std::less<>>& commands_sent() const {
    return commands_sent_;
  }

 private:
  /// What one write does in each collection (mongo_write.cpp).
  struct Plan {
    enum class Guard : std::uint8_t { none, live, marker } guard = Guard::none;
    enum class Image : std::uint8_t { none, upsert, remove } image = Image::none;
    Micros version = 0;  // live: the upsert's version; marker and remove: the marker's
  };

  void ensure_unique_index(Plant plant);
  /// The state of each write's key, read for the writes with delete_first only (mongo_guard.cpp).
  std::vector<KeyState> read_states(std::span<const Write> writes);
  /// Decides what `write` does, setting its result as far as known before the server answers.
  static Plan plan(const Write& write, const KeyState& state, WriteResult& result);
  /// The lims_guard bulk write; a guard op the server refuses makes its write stale.
  void write_guard(std::span<const Write> writes, std::vector<Plan>& plans,
                   std::vector<WriteResult>& results);
  /// One image op without the unique index on id: a bounded delete, or a guarded replace, else
  /// an insert if the id is absent; marks `result` stale when the guard refuses.
  void apply_without_index(mongoc_collection_t* c, const Write& write, const Plan& plan,
                           WriteResult& result);
  void apply_plant(Plant plant, std::span<const Write> writes, std::span<const Plan> plans,
                   std::span<const std::size_t> which, std::vector<WriteResult>& results);
  /// Marks the writes behind a bulk reply's writeErrors: a duplicate key on a guarded upsert is
  /// the guard refusing a stale record; anything else fails that record alone. True if any.
  static bool read_write_errors(const bson_t* reply, std::span<const std::size_t> op_to_write,
                                std::vector<WriteResult>& results);
  void maybe_expire_markers();
  [[noreturn]] void fail(const bson_error_t& error, const std::string& what) const;
  static void on_command_started(const mongoc_apm_command_started_t* event);

  std::string masked_;
  std::string identity_;
  MongoUri uri_;
  MongoClient client_;
  std::array<MongoCollection, 3> collections_;
  MongoCollection positions_;
  MongoCollection guard_;
  std::array<bool, 3> unique_index_{};
  Micros marker_retention_;
  Micros last_expiry_ = 0;  // wall clock of the last expiry a write made
  std::map<std::string, std::uint64_t, std::less<>> commands_sent_;
};

}  // namespace lims::store
