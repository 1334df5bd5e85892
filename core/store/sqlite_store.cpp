#include "store/sqlite_store.hpp"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string_view>

#include "common/log.hpp"

namespace lims::store {
namespace {

constexpr int kSchemaVersion = 1;
constexpr int kBusyTimeoutMs = 5000;

std::string table_of(Plant plant) { return "imagecolplant" + std::string(plant_name(plant)); }

/// Errors that can go away by themselves: another connection holds a lock, the disk is full.
/// I/O errors are not among them: retrying a failing fsync or a corrupt file only hides it.
bool is_transient(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_PROTOCOL: return true;
    default: return false;
  }
}

void bind_optional_int(sqlite3_stmt* s, int i, const std::optional<std::int64_t>& v) {
  if (v)
    sqlite3_bind_int64(s, i, *v);
  else
    sqlite3_bind_null(s, i);
}

constexpr const char* kColumns =
    "id, camera_id, data, latitude, longitude, disease, percentage, created_at, updated_at, "
    "is_active, is_deleted";
/// kColumns with an empty blob in place of data, for listings: read_row() reads both.
constexpr const char* kColumnsWithoutData =
    "id, camera_id, X'' AS data, latitude, longitude, disease, percentage, created_at, updated_at, "
    "is_active, is_deleted";

ImageRecord read_row(sqlite3_stmt* s) {
  ImageRecord r;
  r.id = sqlite3_column_int64(s, 0);
  r.camera_id = sqlite3_column_int64(s, 1);
  const auto* blob = static_cast<const std::uint8_t*>(sqlite3_column_blob(s, 2));
  r.data.assign(blob, blob + sqlite3_column_bytes(s, 2));
  r.latitude = sqlite3_column_double(s, 3);
  r.longitude = sqlite3_column_double(s, 4);
  if (sqlite3_column_type(s, 5) != SQLITE_NULL)
    r.disease.emplace(reinterpret_cast<const char*>(sqlite3_column_text(s, 5)),
                      static_cast<std::size_t>(sqlite3_column_bytes(s, 5)));
  if (sqlite3_column_type(s, 6) != SQLITE_NULL) r.percentage = sqlite3_column_double(s, 6);
  r.created_at = sqlite3_column_int64(s, 7);
  if (sqlite3_column_type(s, 8) != SQLITE_NULL) r.updated_at = sqlite3_column_int64(s, 8);
  r.is_active = sqlite3_column_int(s, 9) != 0;
  r.is_deleted = sqlite3_column_int(s, 10) != 0;
  return r;
}

}  // namespace

SqliteStore::SqliteStore(std::string path, const OpenOptions& options)
    : path_(std::move(path)),
      read_only_(options.read_only),
      marker_retention_(options.delete_marker_retention) {
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_NOMUTEX |
              (read_only_ ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int rc = sqlite3_open_v2(path_.c_str(), &raw, flags, nullptr);
  db_.reset(raw);  // sqlite3_open_v2 hands out a handle even on failure; we own it either way
  if (rc != SQLITE_OK)
    throw Error("cannot open store " + describe() + ": " +
                    (db_ ? sqlite3_errmsg(db_.get()) : sqlite3_errstr(rc)),
                ExitCode::unreachable);
  sqlite3_extended_result_codes(db_.get(), 1);
  sqlite3_busy_timeout(db_.get(), kBusyTimeoutMs);
  if (!read_only_) create_schema();
  prepare_statements();
}

void SqliteStore::exec(const char* sql) {
  // fail() adds the connection's message, which sqlite3_exec's would repeat.
  const int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail(rc, std::string(sql).substr(0, 60));
}

void SqliteStore::create_schema() {
  // WAL lets readers (get-image, serve) run beside the writer; FULL sync makes a commit durable
  // before the consumer commits its Kafka offsets.
  {
    SqliteStmt mode(prepare("PRAGMA journal_mode=WAL"));  // finalized before the schema's COMMIT
    if (sqlite3_step(mode.get()) == SQLITE_ROW && path_ != ":memory:") {
      const auto* got = reinterpret_cast<const char*>(sqlite3_column_text(mode.get(), 0));
      if (!got || std::string_view(got) != "wal")
        log::warn("store " + describe() + " stays in journal mode " + (got ? got : "?") +
                  " (no WAL here): readers block the writer");
    }
  }
  exec("PRAGMA synchronous=FULL");
  std::string sql = "BEGIN IMMEDIATE;";
  sql += "CREATE TABLE IF NOT EXISTS lims_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);";
  // Where copies into this store (sync-batch) have come, per source, mode and plant.
  sql +=
      "CREATE TABLE IF NOT EXISTS lims_copy_positions (key TEXT PRIMARY KEY,"
      " version INTEGER NOT NULL, id INTEGER NOT NULL);";
  for (Plant p : kPlants) {
    const std::string t = table_of(p);
    sql += "CREATE TABLE IF NOT EXISTS " + t +
           " (id INTEGER PRIMARY KEY,"  // the LIMS id, also the rowid
           " camera_id INTEGER NOT NULL,"
           " data BLOB NOT NULL,"
           " latitude REAL NOT NULL, longitude REAL NOT NULL,"
           " disease TEXT, percentage REAL,"
           " created_at INTEGER NOT NULL,"  // microseconds since 1970-01-01T00:00:00Z
           " updated_at INTEGER,"
           " is_active INTEGER NOT NULL CHECK (is_active IN (0, 1)),"
           " is_deleted INTEGER NOT NULL CHECK (is_deleted IN (0, 1)));";
    sql += "CREATE INDEX IF NOT EXISTS " + t + "_version ON " + t +
           " (COALESCE(updated_at, created_at));";
  }
  sql += guard_schema();
  sql += "INSERT OR IGNORE INTO lims_meta VALUES ('schema_version', '" +
         std::to_string(kSchemaVersion) + "');COMMIT;";
  exec(sql.c_str());
}

sqlite3_stmt* SqliteStore::prepare(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_.get(), sql.c_str(), static_cast<int>(sql.size() + 1),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    if ((rc & 0xff) == SQLITE_ERROR && read_only_)
      throw Error("store " + describe() + " has no lims tables (" + sqlite3_errmsg(db_.get()) +
                      "); run `lims consume` into it first",
                  ExitCode::unreachable);
    fail(rc, "preparing statement");
  }
  return stmt;
}

void SqliteStore::prepare_statements() {
  for (Plant p : kPlants) {
    const std::string t = table_of(p);
    auto& s = statements_[static_cast<std::size_t>(p)];
    s.get.reset(prepare(std::string("SELECT ") + kColumns + " FROM " + t + " WHERE id = ?1"));
    s.count.reset(prepare("SELECT COUNT(*) FROM " + t));
    s.scan.reset(prepare(std::string("SELECT ") + kColumns + " FROM " + t +
                         " WHERE (COALESCE(updated_at, created_at), id) > (?1, ?2)"
                         " ORDER BY COALESCE(updated_at, created_at), id"));
    s.latest.reset(prepare(std::string("SELECT ") + kColumnsWithoutData + " FROM " + t +
                           " ORDER BY COALESCE(updated_at, created_at) DESC, id DESC LIMIT ?1"));
    if (read_only_) continue;
    // The stale-event guard lives in the statement: an insert happens only when no delete marker
    // of the key is as new as the incoming version, the update only when the incoming version is
    // not older than the stored one, so sqlite3_changes() tells applied from stale.
    const std::string no_marker_as_new =
        " WHERE NOT EXISTS (SELECT 1 FROM lims_guard WHERE"
        " deleted_version >= COALESCE(?9, ?8) AND id = ?1 AND"
        " plant = '" +
        std::string(plant_name(p)) + "')";
    s.upsert.reset(prepare(
        "INSERT INTO " + t + " (" + kColumns +
        ") SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11" + no_marker_as_new +
        " ON CONFLICT (id) DO UPDATE SET camera_id = excluded.camera_id, data = excluded.data,"
        " latitude = excluded.latitude, longitude = excluded.longitude,"
        " disease = excluded.disease, percentage = excluded.percentage,"
        " created_at = excluded.created_at, updated_at = excluded.updated_at,"
        " is_active = excluded.is_active, is_deleted = excluded.is_deleted"
        " WHERE COALESCE(excluded.updated_at, excluded.created_at) >="
        " COALESCE(" +
        t + ".updated_at, " + t + ".created_at)"));
    s.remove.reset(prepare("DELETE FROM " + t + " WHERE id = ?1"));
    prepare_guard_statements(p, t);
  }
  if (read_only_) return;
  load_position_.reset(prepare("SELECT version, id FROM lims_copy_positions WHERE key = ?1"));
  save_position_.reset(prepare("INSERT OR REPLACE INTO lims_copy_positions VALUES (?1, ?2, ?3)"));
}

void SqliteStore::fail(int rc, const std::string& what) const {
  // The connection's message carries the detail ("disk I/O error" says less than it).
  const char* detail =
      sqlite3_errcode(db_.get()) == rc ? sqlite3_errmsg(db_.get()) : sqlite3_errstr(rc);
  std::string message = "store " + describe() + ": " + what + ": " + detail;
  if (is_transient(rc)) throw TransientError(message);
  throw Error(message);
}

WriteResult SqliteStore::apply_one(const Write& w) {
  return w.delete_first ? apply_delete(w) : apply_upsert(w);
}

WriteResult SqliteStore::apply_upsert(const Write& w) {
  auto& s = statements_[static_cast<std::size_t>(w.plant)];
  const ImageRecord& r = *w.upsert;
  if (const std::size_t bytes = document_bytes(r); bytes > kMaxDocumentBytes)
    return {Outcome::failed, too_large(bytes)};
  sqlite3_stmt* u = s.upsert.get();
  Reset reset(u);
  sqlite3_bind_int64(u, 1, r.id);
  sqlite3_bind_int64(u, 2, r.camera_id);
  // SQLITE_STATIC: the record outlives the step, so SQLite reads the bytes without copying them.
  if (r.data.empty())
    sqlite3_bind_zeroblob(u, 3, 0);  // an empty vector's null pointer would bind NULL
  else
    sqlite3_bind_blob64(u, 3, r.data.data(), r.data.size(), SQLITE_STATIC);
  sqlite3_bind_double(u, 4, r.latitude);
  sqlite3_bind_double(u, 5, r.longitude);
  if (r.disease)
    sqlite3_bind_text64(u, 6, r.disease->data(), r.disease->size(), SQLITE_STATIC, SQLITE_UTF8);
  else
    sqlite3_bind_null(u, 6);
  if (r.percentage)
    sqlite3_bind_double(u, 7, *r.percentage);
  else
    sqlite3_bind_null(u, 7);
  sqlite3_bind_int64(u, 8, r.created_at);
  bind_optional_int(u, 9, r.updated_at);
  sqlite3_bind_int(u, 10, r.is_active ? 1 : 0);
  sqlite3_bind_int(u, 11, r.is_deleted ? 1 : 0);
  int rc = sqlite3_step(u);
  if (rc == SQLITE_DONE) {
    if (sqlite3_changes(db_.get()) == 0) return {Outcome::stale, {}};
    guard_wrote(w);
    return {Outcome::applied, {}};
  }
  if ((rc & 0xff) == SQLITE_CONSTRAINT || (rc & 0xff) == SQLITE_TOOBIG)
    return {Outcome::failed, sqlite3_errmsg(db_.get())};  // this record alone is refused
  fail(rc, "writing " + std::string(plant_name(w.plant)) + " " + std::to_string(w.id));
}

std::vector<WriteResult> SqliteStore::transaction(std::span<const Write> writes,
                                                  const std::function<void()>& also) {
  if (read_only_) throw Error("store " + describe() + " is open read-only");
  std::vector<WriteResult> results;
  results.reserve(writes.size());
  exec("BEGIN IMMEDIATE");
  try {
    maybe_expire_markers();
    for (const Write& w : writes) results.push_back(apply_one(w));
    if (also) also();
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  return results;
}

std::vector<WriteResult> SqliteStore::apply(std::span<const Write> writes) {
  return transaction(writes, {});
}

std::vector<WriteResult> SqliteStore::apply_and_save(std::span<const Write> writes,
                                                     const std::string& key,
                                                     CopyPosition position) {
  return transaction(writes, [&] { put_position(key, position); });
}

void SqliteStore::save_position(const std::string& key, CopyPosition position) {
  transaction({}, [&] { put_position(key, position); });
}

void SqliteStore::put_position(const std::string& key, CopyPosition position) {
  sqlite3_stmt* s = save_position_.get();
  Reset reset(s);
  sqlite3_bind_text64(s, 1, key.data(), key.size(), SQLITE_STATIC, SQLITE_UTF8);
  sqlite3_bind_int64(s, 2, position.version);
  sqlite3_bind_int64(s, 3, position.id);
  if (int rc = sqlite3_step(s); rc != SQLITE_DONE) fail(rc, "saving the copy position");
}

std::optional<CopyPosition> SqliteStore::load_position(const std::string& key) {
  if (read_only_) throw Error("store " + describe() + " is open read-only");
  sqlite3_stmt* s = load_position_.get();
  Reset reset(s);
  sqlite3_bind_text64(s, 1, key.data(), key.size(), SQLITE_STATIC, SQLITE_UTF8);
  const int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) return CopyPosition{sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1)};
  if (rc != SQLITE_DONE) fail(rc, "reading the copy position");
  return std::nullopt;
}

std::string SqliteStore::identity() const {
  if (path_ == ":memory:") return "sqlite::memory:";
  std::error_code error;
  const auto absolute = std::filesystem::absolute(path_, error);
  return "sqlite:" + (error ? path_ : absolute.lexically_normal().string());
}

std::optional<ImageRecord> SqliteStore::get(Plant plant, std::int64_t id) {
  sqlite3_stmt* s = statements_[static_cast<std::size_t>(plant)].get.get();
  Reset reset(s);
  sqlite3_bind_int64(s, 1, id);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) return read_row(s);
  if (rc != SQLITE_DONE) fail(rc, "reading " + std::string(plant_name(plant)));
  return std::nullopt;
}

std::int64_t SqliteStore::count(Plant plant) {
  sqlite3_stmt* s = statements_[static_cast<std::size_t>(plant)].count.get();
  Reset reset(s);
  int rc = sqlite3_step(s);
  if (rc != SQLITE_ROW) fail(rc, "counting " + std::string(plant_name(plant)));
  return sqlite3_column_int64(s, 0);
}

void SqliteStore::scan_after(Plant plant, CopyPosition after,
                             const std::function<bool(ImageRecord&&)>& visit) {
  sqlite3_stmt* s = statements_[static_cast<std::size_t>(plant)].scan.get();
  Reset reset(s);
  sqlite3_bind_int64(s, 1, after.version);
  sqlite3_bind_int64(s, 2, after.id);
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW)
    if (!visit(read_row(s))) return;
  if (rc != SQLITE_DONE) fail(rc, "scanning " + std::string(plant_name(plant)));
}

std::vector<ImageRecord> SqliteStore::latest(Plant plant, std::size_t n) {
  std::vector<ImageRecord> out;
  if (n == 0) return out;
  sqlite3_stmt* s = statements_[static_cast<std::size_t>(plant)].latest.get();
  Reset reset(s);
  sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(std::min<std::size_t>(n, INT64_MAX)));
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(read_row(s));
  if (rc != SQLITE_DONE) fail(rc, "listing " + std::string(plant_name(plant)));
  return out;
}

}  // namespace lims::store
