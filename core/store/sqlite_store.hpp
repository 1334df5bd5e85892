#pragma once
// SqliteStore: the embedded default store, one file, one table per plant.

#include <array>
#include <string>

#include "store/image_store.hpp"
#include "store/sqlite_handles.hpp"

namespace lims::store {

/// Keeps each plant in a table named like the LIMS collection (imagecolplant<plant>): the JPEG
/// as a BLOB, times as INTEGER microseconds since the epoch (UTC), nulls as NULL. Uses WAL and
/// one transaction per apply(). One thread at a time may use an instance.
class SqliteStore final : public ImageStore {
 public:
  /// Opens (and unless read-only, creates and migrates) the database at `path`.
  SqliteStore(std::string path, const OpenOptions& options);

  std::vector<WriteResult> apply(std::span<const Write> writes) override;
  std::optional<ImageRecord> get(Plant plant, std::int64_t id) override;
  std::int64_t count(Plant plant) override;
  void scan_since(Plant plant, Micros since,
                  const std::function<bool(ImageRecord&&)>& visit) override;
  std::vector<ImageRecord> latest(Plant plant, std::size_t n) override;
  std::string describe() const override { return "sqlite:" + path_; }

 private:
  struct PlantStatements {
    SqliteStmt upsert, remove, get, count, scan, latest;
  };

  void create_schema();
  void prepare_statements();
  sqlite3_stmt* prepare(const std::string& sql);
  void exec(const char* sql);
  WriteResult apply_one(const Write& write);
  [[noreturn]] void fail(int rc, const std::string& what) const;

  std::string path_;
  bool read_only_;
  SqliteDb db_;
  std::array<PlantStatements, 3> statements_;
};

}  // namespace lims::store
