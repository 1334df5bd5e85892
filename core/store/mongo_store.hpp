#pragma once
// MongoStore: the LIMS Consumer Image DB in MongoDB, laid out exactly as LIMS keeps it.

#include <array>
#include <string>

#include "store/image_store.hpp"
#include "store/mongo_handles.hpp"

namespace lims::store {

/// Database from the URI path (default imagedbplantconsumer), collections imagecolplant<plant>,
/// documents field for field as LIMS writes them. One unordered bulk write per collection and
/// batch; the stale-event guard runs on the server, atomically (see detail::append_guard_filter).
/// Times are kept to the millisecond, as BSON dates are. Thread-compatible, like every store.
class MongoStore final : public ImageStore {
 public:
  /// Connects (bounded by serverSelectionTimeoutMS, default 10 s; else lims::Error unreachable)
  /// and, unless read-only, makes sure each collection has a unique index on id.
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

 private:
  void ensure_unique_index(Plant plant);
  /// One write without the unique index on id: guarded replace, else insert if absent.
  WriteResult apply_without_index(mongoc_collection_t* c, const Write& write);
  void apply_plant(Plant plant, std::span<const Write> writes, std::span<const std::size_t> which,
                   std::vector<WriteResult>& results);
  /// Marks the writes behind a bulk reply's writeErrors: a duplicate key on a guarded upsert is
  /// the guard refusing a stale record; anything else fails that record alone. True if any.
  static bool read_write_errors(const bson_t* reply, std::span<const std::size_t> op_to_write,
                                std::vector<WriteResult>& results);
  [[noreturn]] void fail(const bson_error_t& error, const std::string& what) const;

  std::string masked_;
  std::string identity_;
  MongoUri uri_;
  MongoClient client_;
  std::array<MongoCollection, 3> collections_;
  MongoCollection positions_;
  std::array<bool, 3> unique_index_{};
};

}  // namespace lims::store
