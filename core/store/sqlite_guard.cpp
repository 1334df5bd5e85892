// SqliteStore's side of the stale-event guard for deletes: the side table lims_guard, which keeps
// where each record's last write came from and the delete markers, beside the LIMS-shaped plant
// tables.

#include "common/time_units.hpp"
#include "store/guard.hpp"
#include "store/sqlite_store.hpp"

namespace lims::store {
namespace {

std::string what(const Write& w) {
  return std::string(plant_name(w.plant)) + " " + std::to_string(w.id);
}

}  // namespace

std::string SqliteStore::guard_schema() {
  // One row per key the guard knows: a record's source position (source_*: the topic, partition
  // and offset of the event that last wrote it; no row when unknown), or a delete marker
  // (deleted_version: the version of the record a delete removed; deleted_at: when, by the wall
  // clock, in microseconds since the epoch).
  return "CREATE TABLE IF NOT EXISTS lims_guard (plant TEXT NOT NULL, id INTEGER NOT NULL,"
         " source_topic TEXT, source_partition INTEGER, source_offset INTEGER,"
         " deleted_version INTEGER, deleted_at INTEGER, PRIMARY KEY (plant, id)) WITHOUT ROWID;"
         "CREATE INDEX IF NOT EXISTS lims_guard_deleted_at ON lims_guard (deleted_at)"
         " WHERE deleted_at IS NOT NULL;";
}

void SqliteStore::prepare_guard_statements(Plant plant, const std::string& table) {
  auto& s = statements_[static_cast<std::size_t>(plant)];
  const std::string key =
      " lims_guard WHERE plant = '" + std::string(plant_name(plant)) + "' AND id = ?1";
  s.version.reset(
      prepare("SELECT COALESCE(updated_at, created_at) FROM " + table + " WHERE id = ?1"));
  s.guard_get.reset(
      prepare("SELECT source_topic, source_partition, source_offset, deleted_version FROM" + key));
  s.guard_put.reset(
      prepare("INSERT OR REPLACE INTO lims_guard (plant, id, source_topic,"
              " source_partition, source_offset) VALUES ('" +
              std::string(plant_name(plant)) + "', ?1, ?2, ?3, ?4)"));
  s.guard_mark.reset(
      prepare("INSERT OR REPLACE INTO lims_guard (plant, id, deleted_version,"
              " deleted_at) VALUES ('" +
              std::string(plant_name(plant)) + "', ?1, ?2, ?3)"));
  s.guard_drop.reset(prepare("DELETE FROM" + key));
  if (!expire_markers_)
    expire_markers_.reset(prepare("DELETE FROM lims_guard WHERE deleted_at < ?1"));
}

void SqliteStore::guard_wrote(const Write& w) {
  auto& s = statements_[static_cast<std::size_t>(w.plant)];
  sqlite3_stmt* stmt = w.source.known() ? s.guard_put.get() : s.guard_drop.get();
  Reset reset(stmt);
  sqlite3_bind_int64(stmt, 1, w.id);
  if (w.source.known()) {
    sqlite3_bind_text64(stmt, 2, w.source.topic.data(), w.source.topic.size(), SQLITE_STATIC,
                        SQLITE_UTF8);
    sqlite3_bind_int(stmt, 3, w.source.partition);
    sqlite3_bind_int64(stmt, 4, w.source.offset);
  }
  if (int rc = sqlite3_step(stmt); rc != SQLITE_DONE) fail(rc, "keeping the source of " + what(w));
}

WriteResult SqliteStore::apply_delete(const Write& w) {
  auto& s = statements_[static_cast<std::size_t>(w.plant)];
  KeyState state;
  {
    Reset reset(s.version.get());
    sqlite3_bind_int64(s.version.get(), 1, w.id);
    const int rc = sqlite3_step(s.version.get());
    if (rc == SQLITE_ROW)
      state.live = sqlite3_column_int64(s.version.get(), 0);
    else if (rc != SQLITE_DONE)
      fail(rc, "reading " + what(w));
  }
  {
    sqlite3_stmt* g = s.guard_get.get();
    Reset reset(g);
    sqlite3_bind_int64(g, 1, w.id);
    const int rc = sqlite3_step(g);
    if (rc == SQLITE_ROW) {
      if (sqlite3_column_type(g, 0) != SQLITE_NULL) {
        state.topic.assign(reinterpret_cast<const char*>(sqlite3_column_text(g, 0)),
                           static_cast<std::size_t>(sqlite3_column_bytes(g, 0)));
        state.partition = sqlite3_column_int(g, 1);
        state.offset = sqlite3_column_int64(g, 2);
      }
      if (sqlite3_column_type(g, 3) != SQLITE_NULL) state.marker = sqlite3_column_int64(g, 3);
    } else if (rc != SQLITE_DONE) {
      fail(rc, "reading the guard of " + what(w));
    }
  }
  const DeleteDecision decision = decide_delete(w, state, 1);
  if (decision.refused) {
    WriteResult result = w.upsert ? apply_upsert(w) : WriteResult{Outcome::stale, {}};
    result.delete_refused = true;
    return result;
  }
  if (state.live) {
    Reset reset(s.remove.get());
    sqlite3_bind_int64(s.remove.get(), 1, w.id);
    if (int rc = sqlite3_step(s.remove.get()); rc != SQLITE_DONE) fail(rc, "deleting " + what(w));
  }
  if (decision.marker) {
    Reset reset(s.guard_mark.get());
    sqlite3_bind_int64(s.guard_mark.get(), 1, w.id);
    sqlite3_bind_int64(s.guard_mark.get(), 2, *decision.marker);
    sqlite3_bind_int64(s.guard_mark.get(), 3, wall_clock_micros());
    if (int rc = sqlite3_step(s.guard_mark.get()); rc != SQLITE_DONE)
      fail(rc, "marking " + what(w) + " deleted");
  }
  // The upsert meets the marker just written in the upsert statement's guard.
  return w.upsert ? apply_upsert(w) : WriteResult{Outcome::deleted, {}};
}

void SqliteStore::maybe_expire_markers() {
  const Micros now = wall_clock_micros();
  if (now - last_expiry_ < marker_expiry_interval(marker_retention_)) return;
  last_expiry_ = now;
  Reset reset(expire_markers_.get());
  sqlite3_bind_int64(expire_markers_.get(), 1, now - marker_retention_);
  if (int rc = sqlite3_step(expire_markers_.get()); rc != SQLITE_DONE)
    fail(rc, "expiring delete markers");
}

std::size_t SqliteStore::expire_markers(Micros now) {
  if (read_only_) throw Error("store " + describe() + " is open read-only");
  std::size_t expired = 0;
  exec("BEGIN IMMEDIATE");
  try {
    Reset reset(expire_markers_.get());
    sqlite3_bind_int64(expire_markers_.get(), 1, now - marker_retention_);
    if (int rc = sqlite3_step(expire_markers_.get()); rc != SQLITE_DONE)
      fail(rc, "expiring delete markers");
    expired = static_cast<std::size_t>(sqlite3_changes(db_.get()));
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  return expired;
}

}  // namespace lims::store
