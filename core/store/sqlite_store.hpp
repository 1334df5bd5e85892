#pragma once
// SqliteStore: the embedded default store, one file, one table per plant.

#include <array>
#include <string>

#include "store/image_store.hpp"
#include "store/sqlite_handles.hpp"

namespace lims::store {

/// Keeps each plant in a table named like the LIMS collection (imagecolplant<plant>): the JPEG
/// as a BLOB, times as INTEGER microseconds since the epoch (UTC), nulls as NULL. What the guard
/// remembers beside the records (each record's source position, delete markers) lives in the
/// side table lims_guard. Uses WAL and one transaction per apply(). One thread at a time may use
/// an instance.
class SqliteStore final : public ImageStore {
 public:
  /// Opens (and unless read-only, creates and migrates) the database at `path`.
  SqliteStore(std::string path, const OpenOptions& options);

  std::vector<WriteResult> apply(std::span<const Write> writes) override;
  std::optional<ImageRecord> get(Plant plant, std::int64_t id) override;
  std::int64_t count(Plant plant) override;
  void scan_after(Plant plant, CopyPosition after,
                  const std::function<bool(ImageRecord&&)>& visit) override;
  std::optional<CopyPosition> load_position(const std::string& key) override;
  void save_position(const std::string& key, CopyPosition position) override;
  /// The writes and the position in one transaction.
  std::vector<WriteResult> apply_and_save(std::span<const Write> writes, const std::string& key,
                                          CopyPosition position) override;
  std::vector<ImageRecord> latest(Plant plant, std::size_t n) override;
  std::string describe() const override { return "sqlite:" + path_; }
  std::string identity() const override;
  std::size_t expire_markers(Micros now) override;

 private:
  struct PlantStatements {
    SqliteStmt upsert, remove, get, count, scan, latest;
    SqliteStmt version, guard_get, guard_put, guard_mark, guard_drop;  // sqlite_guard.cpp
  };

  void create_schema();
  void prepare_statements();
  sqlite3_stmt* prepare(const std::string& sql);
  void exec(const char* sql);
  WriteResult apply_one(const Write& write);
  WriteResult apply_upsert(const Write& write);
  // The guard's side table (sqlite_guard.cpp).
  static std::string guard_schema();
  void prepare_guard_statements(Plant plant, const std::string& table);
  /// A write with delete_first: the tombstone under the guard, then its upsert if any.
  WriteResult apply_delete(const Write& write);
  /// After an applied upsert: keeps where it came from, which also clears a delete marker.
  void guard_wrote(const Write& write);
  void maybe_expire_markers();
  /// Runs the writes, then `also` (if set), in one transaction.
  std::vector<WriteResult> transaction(std::span<const Write> writes,
                                       const std::function<void()>& also);
  void put_position(const std::string& key, CopyPosition position);
  [[noreturn]] void fail(int rc, const std::string& what) const;

  std::string path_;
  bool read_only_;
  SqliteDb db_;
  std::array<PlantStatements, 3> statements_;
  SqliteStmt load_position_, save_position_;  // prepared when writable
  SqliteStmt expire_markers_;                 // prepared when writable
  Micros marker_retention_;
  Micros last_expiry_ = 0;  // wall clock of the last expire_markers() a write made
};

}  // namespace lims::store
