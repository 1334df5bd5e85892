#pragma once
// The ImageStore contract: one set of cases every store (SQLite, MongoDB) must pass.
// A store's test calls run_store_contract() from one TEST_CASE; each SUBCASE gets a fresh store.

#include <doctest/doctest.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/time_units.hpp"
#include "model/image.hpp"
#include "store/image_store.hpp"

namespace lims::test {

/// How the contract gets stores: `make` returns a fresh, empty store each call; `reconnect`, if
/// set, opens a second, independent connection to the store `make` returned last (to prove that
/// committed data is visible to other readers and survives closing the first connection).
struct StoreFactory {
  std::function<std::unique_ptr<store::ImageStore>()> make;
  std::function<std::unique_ptr<store::ImageStore>()> reconnect;
};

/// The finest time step of the store under test (MongoDB keeps milliseconds): the contract's
/// time offsets are counted in it, and expected times are cut to it.
inline Micros& contract_tick() {
  static Micros tick = 1;
  return tick;
}

/// `t` as a store with contract_tick() resolution keeps it (rounded down).
inline Micros at_tick(Micros t) {
  const Micros k = contract_tick();
  return t / k * k - ((t % k != 0 && t < 0) ? k : 0);
}

/// `r` with its times as the store under test keeps them.
inline ImageRecord at_tick(ImageRecord r) {
  r.created_at = at_tick(r.created_at);
  if (r.updated_at) r.updated_at = at_tick(*r.updated_at);
  return r;
}

/// 2023-10-08T15:39:49.123123Z, a time with every microsecond digit set.
inline constexpr Micros kT0 = 1'696'779'589'123'123;

/// A complete record with all optional fields set; `version_offset` moves both times.
inline ImageRecord sample_record(std::int64_t id, Micros version_offset = 0) {
  ImageRecord r;
  r.id = id;
  r.camera_id = 7;
  r.data = {0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00, 0xff, 0xd9};
  r.latitude = 48.476563;
  r.longitude = 16.585654;
  r.disease = "Bacterial Spot";
  r.percentage = 0.8765;
  r.created_at = kT0 - 1'000'000 + version_offset * contract_tick();
  r.updated_at = kT0 + version_offset * contract_tick();
  r.is_active = true;
  r.is_deleted = false;
  return r;
}

inline store::Write upsert_of(Plant plant, const ImageRecord& r, bool delete_first = false) {
  return store::Write{.plant = plant, .id = r.id, .delete_first = delete_first, .upsert = &r};
}

inline store::Write delete_of(Plant plant, std::int64_t id) {
  return store::Write{.plant = plant, .id = id, .delete_first = true};
}

/// Applies one write and returns its outcome.
inline store::Outcome apply_one(store::ImageStore& s, const store::Write& w) {
  const std::vector<store::WriteResult> results = s.apply({&w, 1});
  REQUIRE(results.size() == 1);
  return results[0].outcome;
}

/// The position just past every record of version `v`: scan_after() from it visits newer ones.
inline store::CopyPosition after_version(Micros v) {
  return {v, std::numeric_limits<std::int64_t>::max()};
}

/// Every version() the store visits for `plant` after version `since`, in visiting order.
inline std::vector<Micros> scanned_versions(store::ImageStore& s, Plant plant, Micros since) {
  std::vector<Micros> versions;
  s.scan_after(plant, after_version(since), [&](const ImageRecord& r) {
    versions.push_back(r.version());
    return true;
  });
  return versions;
}

/// Every (version, id) the store visits for `plant` after `after`, in visiting order.
inline std::vector<store::CopyPosition> scanned_positions(store::ImageStore& s, Plant plant,
                                                          store::CopyPosition after) {
  std::vector<store::CopyPosition> seen;
  s.scan_after(plant, after, [&](const ImageRecord& r) {
    seen.push_back({r.version(), r.id});
    return true;
  });
  return seen;
}

/// Checks field by field (so a failure names the field), then as a whole.
inline void check_same_record(const std::optional<ImageRecord>& got,
                              const ImageRecord& want_exactly) {
  const ImageRecord want = at_tick(want_exactly);
  REQUIRE(got.has_value());
  CHECK(got->id == want.id);
  CHECK(got->camera_id == want.camera_id);
  CHECK(got->data == want.data);
  CHECK(got->latitude == want.latitude);
  CHECK(got->longitude == want.longitude);
  CHECK(got->disease == want.disease);
  CHECK(got->percentage == want.percentage);
  CHECK(got->created_at == want.created_at);
  CHECK(got->updated_at == want.updated_at);
  CHECK(got->is_active == want.is_active);
  CHECK(got->is_deleted == want.is_deleted);
  CHECK(*got == want);
}

// ---- the cases, one function per concern ----

inline void contract_round_trip(const StoreFactory& f) {
  auto s = f.make();
  std::vector<ImageRecord> records;

  ImageRecord full = sample_record(1);
  full.data.clear();
  for (int rep = 0; rep < 64; ++rep)  // every byte value, 16 KiB, NULs and 0xff included
    for (int b = 0; b < 256; ++b) full.data.push_back(static_cast<std::uint8_t>(b ^ rep));
  records.push_back(full);

  ImageRecord nulls = sample_record(2);  // every nullable field null, flags the other way round
  nulls.disease.reset();
  nulls.percentage.reset();
  nulls.updated_at.reset();
  nulls.is_active = false;
  nulls.is_deleted = true;
  records.push_back(nulls);

  ImageRecord before_epoch = sample_record(3);  // negative times, microseconds kept
  before_epoch.created_at = -1'234'567'890'123'457;
  before_epoch.updated_at = -1;
  before_epoch.latitude = -33.8688;
  before_epoch.longitude = -0.0;
  before_epoch.percentage = 0.0;  // zero, not null
  before_epoch.disease = "";      // empty, not null
  records.push_back(before_epoch);

  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  ImageRecord big_id = sample_record(kMax);
  big_id.camera_id = kMax - 1;
  big_id.disease = "Kraut- und Knollenfäule – 疫病 🥔";
  big_id.percentage = 1.0;
  big_id.created_at = 253'402'300'799'999'999;  // 9999-12-31T23:59:59.999999
  big_id.updated_at.reset();
  records.push_back(big_id);
  records.push_back(sample_record(kMax - 1, 1));

  std::vector<store::Write> writes;
  for (const auto& r : records) writes.push_back(upsert_of(Plant::tomato, r));
  const auto results = s->apply(writes);
  REQUIRE(results.size() == records.size());
  for (const auto& res : results) CHECK(res.outcome == store::Outcome::applied);

  for (const auto& r : records) {
    CAPTURE(r.id);
    check_same_record(s->get(Plant::tomato, r.id), r);
    CHECK_FALSE(s->get(Plant::potato, r.id).has_value());  // plants do not share keys
    CHECK_FALSE(s->get(Plant::pepper, r.id).has_value());
  }
  CHECK_FALSE(s->get(Plant::tomato, 12345).has_value());
}

inline void contract_newer_replaces(const StoreFactory& f) {
  auto s = f.make();
  const ImageRecord old_r = sample_record(10);
  REQUIRE(apply_one(*s, upsert_of(Plant::potato, old_r)) == store::Outcome::applied);

  ImageRecord newer = sample_record(10, 1);  // one microsecond newer, every field changed
  newer.camera_id = 99;
  newer.data = {0x01, 0x02};
  newer.latitude = 1.5;
  newer.longitude = 2.5;
  newer.disease.reset();
  newer.percentage.reset();
  newer.is_active = false;
  newer.is_deleted = true;
  CHECK(apply_one(*s, upsert_of(Plant::potato, newer)) == store::Outcome::applied);
  check_same_record(s->get(Plant::potato, 10), newer);
  CHECK(s->count(Plant::potato) == 1);
}

inline void contract_equal_version_reapplies(const StoreFactory& f) {
  auto s = f.make();
  const ImageRecord r = sample_record(11);
  REQUIRE(apply_one(*s, upsert_of(Plant::pepper, r)) == store::Outcome::applied);
  // A redelivery of the same event is idempotent: applied again, nothing changes.
  CHECK(apply_one(*s, upsert_of(Plant::pepper, r)) == store::Outcome::applied);
  CHECK(apply_one(*s, upsert_of(Plant::pepper, r)) == store::Outcome::applied);
  check_same_record(s->get(Plant::pepper, 11), r);
  CHECK(s->count(Plant::pepper) == 1);
}

inline void contract_older_is_stale(const StoreFactory& f) {
  auto s = f.make();
  const ImageRecord current = sample_record(12, 5);
  REQUIRE(apply_one(*s, upsert_of(Plant::tomato, current)) == store::Outcome::applied);

  ImageRecord older = sample_record(12, 4);  // one microsecond older
  older.camera_id = 1234;
  older.data = {0xaa};
  CHECK(apply_one(*s, upsert_of(Plant::tomato, older)) == store::Outcome::stale);
  check_same_record(s->get(Plant::tomato, 12), current);

  ImageRecord ancient = sample_record(12);
  ancient.created_at = -5;
  ancient.updated_at.reset();
  CHECK(apply_one(*s, upsert_of(Plant::tomato, ancient)) == store::Outcome::stale);
  check_same_record(s->get(Plant::tomato, 12), current);
}

inline void contract_guard_uses_updated_else_created(const StoreFactory& f) {
  auto s = f.make();
  const Plant p = Plant::potato;

  SUBCASE("stored without updated_at: compares created_at") {
    ImageRecord stored = sample_record(20);
    stored.updated_at.reset();
    stored.created_at = 1'000;
    REQUIRE(apply_one(*s, upsert_of(p, stored)) == store::Outcome::applied);

    ImageRecord older = stored;  // created earlier, never updated
    older.created_at = 999;
    older.camera_id = 2;
    CHECK(apply_one(*s, upsert_of(p, older)) == store::Outcome::stale);
    check_same_record(s->get(p, 20), stored);

    ImageRecord updated = stored;  // created earlier than stored, but updated after it
    updated.created_at = 500;
    updated.updated_at = 1'001;
    updated.camera_id = 3;
    CHECK(apply_one(*s, upsert_of(p, updated)) == store::Outcome::applied);
    check_same_record(s->get(p, 20), updated);
  }
  SUBCASE("stored with updated_at: compares updated_at, not created_at") {
    ImageRecord stored = sample_record(21);
    stored.created_at = 1'000;
    stored.updated_at = 2'000;
    REQUIRE(apply_one(*s, upsert_of(p, stored)) == store::Outcome::applied);

    ImageRecord no_update = stored;  // created after the stored created_at, before its update
    no_update.updated_at.reset();
    no_update.created_at = 1'500;
    no_update.camera_id = 4;
    CHECK(apply_one(*s, upsert_of(p, no_update)) == store::Outcome::stale);
    check_same_record(s->get(p, 21), stored);

    ImageRecord older_update = stored;  // newer created_at does not matter, updated_at does
    older_update.created_at = 1'999;
    older_update.updated_at = 1'999;
    CHECK(apply_one(*s, upsert_of(p, older_update)) == store::Outcome::stale);
    check_same_record(s->get(p, 21), stored);

    ImageRecord later = stored;  // no updated_at, but created after the stored update
    later.updated_at.reset();
    later.created_at = 2'001;
    later.camera_id = 5;
    CHECK(apply_one(*s, upsert_of(p, later)) == store::Outcome::applied);
    check_same_record(s->get(p, 21), later);
  }
}

inline void contract_delete(const StoreFactory& f) {
  auto s = f.make();
  const ImageRecord a = sample_record(30);
  const ImageRecord b = sample_record(31);
  REQUIRE(s->apply(std::vector{upsert_of(Plant::pepper, a), upsert_of(Plant::pepper, b)}).size() ==
          2);
  REQUIRE(apply_one(*s, upsert_of(Plant::tomato, a)) == store::Outcome::applied);

  CHECK(apply_one(*s, delete_of(Plant::pepper, 30)) == store::Outcome::deleted);
  CHECK_FALSE(s->get(Plant::pepper, 30).has_value());
  check_same_record(s->get(Plant::pepper, 31), b);  // only that key
  check_same_record(s->get(Plant::tomato, 30), a);  // only that plant
  CHECK(s->count(Plant::pepper) == 1);

  // Deleting an absent key (again, or never stored) is fine too.
  CHECK(apply_one(*s, delete_of(Plant::pepper, 30)) == store::Outcome::deleted);
  CHECK(apply_one(*s, delete_of(Plant::potato, 424242)) == store::Outcome::deleted);
  CHECK(s->count(Plant::pepper) == 1);
  CHECK(s->count(Plant::potato) == 0);
}

/// The ids latest() returns, in order.
inline std::vector<std::int64_t> latest_ids(store::ImageStore& s, Plant plant, std::size_t n) {
  std::vector<std::int64_t> ids;
  for (const ImageRecord& r : s.latest(plant, n)) ids.push_back(r.id);
  return ids;
}

inline void contract_delete_first_then_upsert(const StoreFactory& f) {
  auto s = f.make();
  const ImageRecord stored = sample_record(40, 10);
  REQUIRE(apply_one(*s, upsert_of(Plant::potato, stored)) == store::Outcome::applied);

  // A delete then an upsert no newer than what it deleted: the delete holds.
  ImageRecord older = sample_record(40, 9);
  older.camera_id = 8;
  CHECK(apply_one(*s, upsert_of(Plant::potato, older, /*delete_first=*/true)) ==
        store::Outcome::stale);
  CHECK_FALSE(s->get(Plant::potato, 40).has_value());
  CHECK(apply_one(*s, upsert_of(Plant::potato, stored, true)) == store::Outcome::stale);
  CHECK_FALSE(s->get(Plant::potato, 40).has_value());
  CHECK(s->count(Plant::potato) == 0);

  // One newer comes back.
  const ImageRecord newer = sample_record(40, 11);
  CHECK(apply_one(*s, upsert_of(Plant::potato, newer, true)) == store::Outcome::applied);
  check_same_record(s->get(Plant::potato, 40), newer);

  // On an absent key, delete_first + upsert simply inserts.
  const ImageRecord fresh = sample_record(41);
  CHECK(apply_one(*s, upsert_of(Plant::potato, fresh, true)) == store::Outcome::applied);
  check_same_record(s->get(Plant::potato, 41), fresh);

  // A batch's upserts before its tombstone count as deleted too (upserted_before): the
  // upsert after it must be newer than them.
  const ImageRecord replay = sample_record(42, 3);
  store::Write w = upsert_of(Plant::potato, replay, true);
  w.upserted_before = sample_record(42, 3).version();
  CHECK(apply_one(*s, w) == store::Outcome::stale);
  CHECK_FALSE(s->get(Plant::potato, 42).has_value());
  const ImageRecord later = sample_record(42, 4);
  CHECK(apply_one(*s, upsert_of(Plant::potato, later)) == store::Outcome::applied);
  check_same_record(s->get(Plant::potato, 42), later);
}

inline void contract_delete_marker(const StoreFactory& f) {
  auto s = f.make();
  const Plant p = Plant::tomato;
  const ImageRecord r = sample_record(43, 5);

  SUBCASE("upsert, tombstone, the same upsert again: stays deleted") {
    REQUIRE(apply_one(*s, upsert_of(p, r)) == store::Outcome::applied);
    REQUIRE(apply_one(*s, delete_of(p, 43)) == store::Outcome::deleted);
    CHECK(apply_one(*s, upsert_of(p, r)) == store::Outcome::stale);
    CHECK(apply_one(*s, upsert_of(p, sample_record(43, 4))) == store::Outcome::stale);
    CHECK_FALSE(s->get(p, 43).has_value());
    // A second tombstone keeps the marker.
    CHECK(apply_one(*s, delete_of(p, 43)) == store::Outcome::deleted);
    CHECK(apply_one(*s, upsert_of(p, r)) == store::Outcome::stale);
    CHECK_FALSE(s->get(p, 43).has_value());
  }
  SUBCASE("upsert, tombstone, a newer upsert: back, and the marker is gone") {
    REQUIRE(apply_one(*s, upsert_of(p, r)) == store::Outcome::applied);
    REQUIRE(apply_one(*s, delete_of(p, 43)) == store::Outcome::deleted);
    const ImageRecord newer = sample_record(43, 6);
    CHECK(apply_one(*s, upsert_of(p, newer)) == store::Outcome::applied);
    check_same_record(s->get(p, 43), newer);
    // The ordinary guard again: an equal version re-applies, an older one is stale.
    CHECK(apply_one(*s, upsert_of(p, newer)) == store::Outcome::applied);
    CHECK(apply_one(*s, upsert_of(p, r)) == store::Outcome::stale);
    check_same_record(s->get(p, 43), newer);
  }
  SUBCASE("tombstone first, then an upsert: present") {
    REQUIRE(apply_one(*s, delete_of(p, 43)) == store::Outcome::deleted);
    CHECK(apply_one(*s, upsert_of(p, r)) == store::Outcome::applied);
    check_same_record(s->get(p, 43), r);
  }
  SUBCASE("a marker in one plant guards no other") {
    REQUIRE(apply_one(*s, upsert_of(p, r)) == store::Outcome::applied);
    REQUIRE(apply_one(*s, delete_of(p, 43)) == store::Outcome::deleted);
    CHECK(apply_one(*s, upsert_of(Plant::pepper, r)) == store::Outcome::applied);
    check_same_record(s->get(Plant::pepper, 43), r);
  }
}

/// The position `offset` in partition `partition` of topic "potato".
inline store::SourcePosition at(std::int64_t offset, std::int32_t partition = 0) {
  return {"potato", partition, offset};
}

inline void contract_tombstone_older_than_stored(const StoreFactory& f) {
  auto s = f.make();
  const Plant p = Plant::potato;
  const ImageRecord r = sample_record(44, 5);
  store::Write u = upsert_of(p, r);
  u.source = at(10);
  REQUIRE(apply_one(*s, u) == store::Outcome::applied);
  auto tombstone = [&](store::SourcePosition where) {
    store::Write w = delete_of(p, 44);
    w.tombstone = where;
    return w;
  };

  // From earlier in the same partition (a zombie's, a redelivery's): deletes nothing.
  const store::Write early = tombstone(at(9));
  const auto results = s->apply({&early, 1});
  REQUIRE(results.size() == 1);
  CHECK(results[0].outcome == store::Outcome::stale);
  CHECK(results[0].delete_refused);
  check_same_record(s->get(p, 44), r);
  // With an upsert after it: the upsert meets the stored record.
  store::Write early_then_older = tombstone(at(9));
  const ImageRecord older = sample_record(44, 4);
  early_then_older.upsert = &older;
  CHECK(apply_one(*s, early_then_older) == store::Outcome::stale);
  check_same_record(s->get(p, 44), r);
  // Unless an upsert of its batch before it was as new as the stored record: that would have
  // been written first, and the tombstone deletes it.
  store::Write replaced = tombstone(at(9));
  replaced.upserted_before = r.version();
  CHECK(apply_one(*s, replaced) == store::Outcome::deleted);
  CHECK_FALSE(s->get(p, 44).has_value());

  REQUIRE(apply_one(*s, upsert_of(p, sample_record(44, 6))) == store::Outcome::applied);
  const ImageRecord r7 = sample_record(44, 7);
  u.upsert = &r7;
  REQUIRE(apply_one(*s, u) == store::Outcome::applied);  // from at(10) again
  // From another partition, another topic, or nowhere: no order to compare; it deletes.
  CHECK(apply_one(*s, tombstone(at(3, 1))) == store::Outcome::deleted);
  CHECK_FALSE(s->get(p, 44).has_value());
  const ImageRecord r8 = sample_record(44, 8);
  u.upsert = &r8;
  REQUIRE(apply_one(*s, u) == store::Outcome::applied);
  CHECK(apply_one(*s, tombstone({"stg.potato", 0, 3})) == store::Outcome::deleted);
  const ImageRecord r9 = sample_record(44, 9);
  u.upsert = &r9;
  REQUIRE(apply_one(*s, u) == store::Outcome::applied);
  // From later in the same partition: deletes.
  CHECK(apply_one(*s, tombstone(at(11))) == store::Outcome::deleted);
  CHECK_FALSE(s->get(p, 44).has_value());

  // A record written without a position (sync-batch) has no order to compare: it deletes.
  const ImageRecord r10 = sample_record(44, 10);
  REQUIRE(apply_one(*s, upsert_of(p, r10)) == store::Outcome::applied);
  CHECK(apply_one(*s, tombstone(at(1))) == store::Outcome::deleted);
  CHECK_FALSE(s->get(p, 44).has_value());

  // delete_up_to (sync-batch --mode full): a record newer than the one found missing stays.
  const ImageRecord r11 = sample_record(44, 11);
  REQUIRE(apply_one(*s, upsert_of(p, r11)) == store::Outcome::applied);
  store::Write bounded = delete_of(p, 44);
  bounded.delete_up_to = at_tick(sample_record(44, 10).version());
  const auto refused = s->apply({&bounded, 1});
  CHECK(refused[0].outcome == store::Outcome::stale);
  CHECK(refused[0].delete_refused);
  check_same_record(s->get(p, 44), r11);
  bounded.delete_up_to = at_tick(r11.version());
  CHECK(apply_one(*s, bounded) == store::Outcome::deleted);
  CHECK_FALSE(s->get(p, 44).has_value());
}

inline void contract_marker_expiry(const StoreFactory& f) {
  auto s = f.make();
  const Plant p = Plant::pepper;
  const ImageRecord r = sample_record(45, 5);
  REQUIRE(apply_one(*s, upsert_of(p, r)) == store::Outcome::applied);
  REQUIRE(apply_one(*s, delete_of(p, 45)) == store::Outcome::deleted);
  const Micros now = wall_clock_micros();
  constexpr Micros kMinute = 60'000'000;
  // Within the retention (the default, 7 days), the marker stays and guards.
  CHECK(s->expire_markers(now + store::kDefaultMarkerRetention - kMinute) == 0);
  CHECK(apply_one(*s, upsert_of(p, r)) == store::Outcome::stale);
  // Past it, the marker goes, and with it what it knew: the old record comes back.
  CHECK(s->expire_markers(now + store::kDefaultMarkerRetention + kMinute) == 1);
  CHECK(s->expire_markers(now + store::kDefaultMarkerRetention + kMinute) == 0);
  CHECK(apply_one(*s, upsert_of(p, r)) == store::Outcome::applied);
  check_same_record(s->get(p, 45), r);
}

inline void contract_markers_invisible(const StoreFactory& f) {
  auto s = f.make();
  const Plant p = Plant::potato;
  std::vector<ImageRecord> records;
  for (std::int64_t id = 1; id <= 4; ++id) records.push_back(sample_record(id, id));
  std::vector<store::Write> writes;
  for (const auto& r : records) writes.push_back(upsert_of(p, r));
  s->apply(writes);
  // Delete the newest two: their markers keep the newest versions of the plant.
  s->apply(std::vector{delete_of(p, 4), delete_of(p, 3)});
  CHECK_FALSE(s->get(p, 4).has_value());
  CHECK_FALSE(s->get(p, 3).has_value());
  CHECK(s->count(p) == 2);
  CHECK(latest_ids(*s, p, 10) == std::vector<std::int64_t>{2, 1});
  std::vector<std::int64_t> scanned;
  s->scan_after(p, {}, [&](const ImageRecord& r) {
    scanned.push_back(r.id);
    return true;
  });
  CHECK(scanned == std::vector<std::int64_t>{1, 2});
  CHECK(scanned_positions(*s, p, {at_tick(records[1].version()), 2}).empty());
  if (!f.reconnect) return;
  auto other = f.reconnect();  // readers of another connection see no markers either
  CHECK_FALSE(other->get(p, 4).has_value());
  CHECK(other->count(p) == 2);
}

inline void contract_count(const StoreFactory& f) {
  auto s = f.make();
  for (Plant p : kPlants) CHECK(s->count(p) == 0);

  std::vector<ImageRecord> records;
  for (std::int64_t id = 1; id <= 5; ++id) records.push_back(sample_record(id));
  records[1].is_deleted = true;  // soft-deleted records still count
  records[3].is_deleted = true;
  records[3].is_active = false;
  std::vector<store::Write> writes;
  for (const auto& r : records) writes.push_back(upsert_of(Plant::potato, r));
  for (std::size_t i = 0; i < 2; ++i) writes.push_back(upsert_of(Plant::pepper, records[i]));
  s->apply(writes);

  CHECK(s->count(Plant::potato) == 5);
  CHECK(s->count(Plant::tomato) == 0);
  CHECK(s->count(Plant::pepper) == 2);

  apply_one(*s, delete_of(Plant::pepper, 1));
  CHECK(s->count(Plant::potato) == 5);
  CHECK(s->count(Plant::pepper) == 1);
}

inline void contract_scan_after(const StoreFactory& f) {
  auto s = f.make();
  const Plant p = Plant::tomato;
  // Versions given out of id order, some by updated_at, some by created_at only.
  std::vector<ImageRecord> records;
  const Micros t = contract_tick();
  auto ticks = [t](std::vector<Micros> v) {
    for (auto& x : v) x *= t;
    return v;
  };
  const std::vector<Micros> versions = ticks({500, -20, 300, 100, 400, 0, 200});
  for (std::size_t i = 0; i < versions.size(); ++i) {
    ImageRecord r = sample_record(static_cast<std::int64_t>(i) + 1);
    if (i % 2 == 0) {
      r.created_at = versions[i] - 1'000 * t;
      r.updated_at = versions[i];
    } else {
      r.created_at = versions[i];
      r.updated_at.reset();
    }
    records.push_back(r);
  }
  std::vector<store::Write> writes;
  for (const auto& r : records) writes.push_back(upsert_of(p, r));
  ImageRecord other_plant = sample_record(100);
  other_plant.updated_at = 350 * t;
  writes.push_back(upsert_of(Plant::pepper, other_plant));
  s->apply(writes);

  CHECK(scanned_versions(*s, p, std::numeric_limits<Micros>::min() / 2) ==
        ticks({-20, 0, 100, 200, 300, 400, 500}));
  CHECK(scanned_positions(*s, p, {}).size() == records.size());       // the default: from the start
  CHECK(scanned_versions(*s, p, 200 * t) == ticks({300, 400, 500}));  // strictly after
  CHECK(scanned_versions(*s, p, 199 * t) == ticks({200, 300, 400, 500}));
  CHECK(scanned_versions(*s, p, -21 * t) == ticks({-20, 0, 100, 200, 300, 400, 500}));
  CHECK(scanned_versions(*s, p, 500 * t).empty());
  CHECK(scanned_positions(*s, Plant::potato, {}).empty());
  CHECK(scanned_versions(*s, Plant::pepper, 0) == ticks({350}));

  // Visited records are whole records.
  std::vector<ImageRecord> seen;
  s->scan_after(p, after_version(399 * t), [&](const ImageRecord& r) {
    seen.push_back(r);
    return true;
  });
  REQUIRE(seen.size() == 2);
  check_same_record(seen[0], records[4]);
  check_same_record(seen[1], records[0]);

  // The visitor stops the scan by returning false.
  int calls = 0;
  s->scan_after(p, after_version(0), [&](const ImageRecord& r) {
    ++calls;
    CHECK(r.version() == 100 * t);
    return false;
  });
  CHECK(calls == 1);

  // A stopped scan leaves the store usable, and a later scan starts over.
  CHECK(apply_one(*s, delete_of(p, 1)) == store::Outcome::deleted);
  CHECK(scanned_versions(*s, p, 0) == ticks({100, 200, 300, 400}));
}

inline void contract_scan_after_ties(const StoreFactory& f) {
  auto s = f.make();
  const Plant p = Plant::potato;
  const Micros t = contract_tick();
  // Five records of one version and two of the next: the id orders records of one version.
  std::vector<store::Write> writes;
  std::vector<ImageRecord> records;
  for (std::int64_t id : {7, 3, 9, 1, 5, 2, 8}) {
    ImageRecord r = sample_record(id);
    r.updated_at = (id == 2 || id == 8 ? 20 : 10) * t;
    records.push_back(r);
  }
  for (const auto& r : records) writes.push_back(upsert_of(p, r));
  s->apply(writes);
  using P = store::CopyPosition;
  const Micros v10 = 10 * t, v20 = 20 * t;
  CHECK(scanned_positions(*s, p, {}) ==
        std::vector<P>{{v10, 1}, {v10, 3}, {v10, 5}, {v10, 7}, {v10, 9}, {v20, 2}, {v20, 8}});
  // Strictly after (version, id): a copy that stopped after (10, 5) resumes at (10, 7).
  CHECK(scanned_positions(*s, p, {v10, 5}) ==
        std::vector<P>{{v10, 7}, {v10, 9}, {v20, 2}, {v20, 8}});
  CHECK(scanned_positions(*s, p, {v10, 9}) == std::vector<P>{{v20, 2}, {v20, 8}});
  CHECK(scanned_positions(*s, p, {v20, 8}).empty());
  // A record written later with the position's version but a higher id is still ahead of it.
  ImageRecord late = sample_record(6);
  late.updated_at = 10 * t;
  REQUIRE(apply_one(*s, upsert_of(p, late)) == store::Outcome::applied);
  CHECK(scanned_positions(*s, p, {v10, 5}).front() == P{v10, 6});
}

inline void contract_positions(const StoreFactory& f) {
  auto s = f.make();
  using P = store::CopyPosition;
  CHECK_FALSE(s->load_position("sync-batch incremental sqlite:/a.db potato").has_value());
  s->save_position("sync-batch incremental sqlite:/a.db potato", P{1'000, 7});
  s->save_position("sync-batch incremental sqlite:/b.db potato", P{2'000, 3});
  CHECK(s->load_position("sync-batch incremental sqlite:/a.db potato") == P{1'000, 7});
  CHECK(s->load_position("sync-batch incremental sqlite:/b.db potato") == P{2'000, 3});
  s->save_position("sync-batch incremental sqlite:/a.db potato", P{-5, 1});  // replaced
  CHECK(s->load_position("sync-batch incremental sqlite:/a.db potato") == P{-5, 1});

  // apply_and_save: the writes and the position land together.
  const ImageRecord r = sample_record(11);
  const std::vector<store::Write> writes{upsert_of(Plant::tomato, r)};
  const auto results = s->apply_and_save(writes, "k", P{r.version(), r.id});
  REQUIRE(results.size() == 1);
  CHECK(results[0].outcome == store::Outcome::applied);
  check_same_record(s->get(Plant::tomato, 11), r);
  CHECK(s->load_position("k") == P{r.version(), 11});
  // Positions are no records: they show in no plant.
  CHECK(s->count(Plant::potato) == 0);
  CHECK(s->count(Plant::tomato) == 1);

  if (!f.reconnect) return;
  auto other = f.reconnect();
  CHECK(other->load_position("k") == P{r.version(), 11});
}

inline void contract_batch_results_in_order(const StoreFactory& f) {
  auto s = f.make();
  const Plant p = Plant::pepper;
  constexpr std::int64_t kKeys = 600;
  // Seed every third key with a mid version so the batch meets stale, applied and deleted.
  std::vector<ImageRecord> seed;
  for (std::int64_t id = 0; id < kKeys; id += 3) seed.push_back(sample_record(id + 1, 100));
  std::vector<store::Write> seed_writes;
  for (const auto& r : seed) seed_writes.push_back(upsert_of(p, r));
  s->apply(seed_writes);

  std::vector<ImageRecord> records;
  records.reserve(kKeys);
  std::vector<store::Write> writes;
  std::vector<store::Outcome> expected;
  for (std::int64_t i = 0; i < kKeys; ++i) {
    const std::int64_t id = i + 1;
    const bool seeded = i % 3 == 0;
    switch (i % 4) {
      case 0:  // older than the seed where seeded
        records.push_back(sample_record(id, 50));
        writes.push_back(upsert_of(p, records.back()));
        expected.push_back(seeded ? store::Outcome::stale : store::Outcome::applied);
        break;
      case 1:
      case 2:  // newer than any seed
        records.push_back(sample_record(id, 200));
        writes.push_back(upsert_of(p, records.back()));
        expected.push_back(store::Outcome::applied);
        break;
      default: writes.push_back(delete_of(p, id)); expected.push_back(store::Outcome::deleted);
    }
  }
  const auto results = s->apply(writes);
  REQUIRE(results.size() == writes.size());
  std::int64_t present = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    CAPTURE(i);
    CHECK(results[i].outcome == expected[i]);
    const auto got = s->get(p, writes[i].id);
    if (expected[i] == store::Outcome::deleted) {
      CHECK_FALSE(got.has_value());
    } else {
      REQUIRE(got.has_value());
      CHECK(got->version() == at_tick(expected[i] == store::Outcome::stale
                                          ? sample_record(1, 100).version()
                                          : writes[i].upsert->version()));
      ++present;
    }
  }
  CHECK(s->count(p) == present);
}

inline void contract_second_connection(const StoreFactory& f) {
  if (!f.reconnect) return;  // e.g. an in-memory store: nothing else can see it
  auto s = f.make();
  const ImageRecord r = sample_record(50);
  REQUIRE(apply_one(*s, upsert_of(Plant::potato, r)) == store::Outcome::applied);

  auto other = f.reconnect();
  check_same_record(other->get(Plant::potato, 50), r);
  CHECK(other->count(Plant::potato) == 1);

  // A commit through the first connection after the second opened is visible to it.
  const ImageRecord later = sample_record(51);
  REQUIRE(apply_one(*s, upsert_of(Plant::potato, later)) == store::Outcome::applied);
  check_same_record(other->get(Plant::potato, 51), later);
  CHECK(other->count(Plant::potato) == 2);

  // After the first connection closes, the data is still there (durable).
  s.reset();
  other.reset();
  auto reopened = f.reconnect();
  check_same_record(reopened->get(Plant::potato, 50), r);
  check_same_record(reopened->get(Plant::potato, 51), later);
  CHECK(scanned_versions(*reopened, Plant::potato, 0).size() == 2);
}

inline void contract_too_large_fails_alone(const StoreFactory& f) {
  auto s = f.make();
  ImageRecord huge = sample_record(1), fine = sample_record(2);
  huge.data.assign(store::kMaxDocumentBytes, 0xab);  // the other fields push it over
  auto results = s->apply(
      std::vector<store::Write>{upsert_of(Plant::tomato, huge), upsert_of(Plant::tomato, fine)});
  REQUIRE(results.size() == 2);
  CHECK(results[0].outcome == store::Outcome::failed);
  CHECK(results[0].error.find("16 MiB document limit") != std::string::npos);
  CHECK(results[1].outcome == store::Outcome::applied);
  CHECK(s->count(Plant::tomato) == 1);
  CHECK_FALSE(s->get(Plant::tomato, 1).has_value());
}

inline void contract_latest(const StoreFactory& f) {
  auto s = f.make();
  const Plant p = Plant::potato;
  const Micros t = contract_tick();
  CHECK(s->latest(p, 5).empty());

  // version() order: 2 (900, by updated_at, though created first), 5 and 4 tie at 700 (higher id
  // first), 1 (600, created_at only: its created_at beats 3's), 3 (500), 6 (-100).
  std::vector<ImageRecord> records;
  auto add = [&](std::int64_t id, Micros created, std::optional<Micros> updated) {
    ImageRecord r = sample_record(id);
    r.created_at = created * t;
    r.updated_at = updated ? std::optional(*updated * t) : std::nullopt;
    r.camera_id = 100 + id;
    records.push_back(r);
  };
  add(1, 600, std::nullopt);
  add(2, 10, 900);
  add(3, 450, 500);
  add(4, 680, 700);
  add(5, 700, std::nullopt);
  add(6, -100, std::nullopt);
  records[2].is_deleted = true;  // soft-deleted and inactive records are listed too
  records[2].is_active = false;
  records[4].disease.reset();
  records[4].percentage.reset();
  std::vector<store::Write> writes;
  for (const auto& r : records) writes.push_back(upsert_of(p, r));
  ImageRecord elsewhere = sample_record(7);  // newer than all, but another plant
  elsewhere.updated_at = 5'000 * t;
  writes.push_back(upsert_of(Plant::pepper, elsewhere));
  s->apply(writes);

  CHECK(latest_ids(*s, p, 100) == std::vector<std::int64_t>{2, 5, 4, 1, 3, 6});
  CHECK(latest_ids(*s, p, 3) == std::vector<std::int64_t>{2, 5, 4});
  CHECK(latest_ids(*s, p, 1) == std::vector<std::int64_t>{2});
  CHECK(s->latest(p, 0).empty());
  CHECK(latest_ids(*s, Plant::pepper, 10) == std::vector<std::int64_t>{7});
  CHECK(s->latest(Plant::tomato, 10).empty());

  // Whole records but for the bytes.
  const auto listed = s->latest(p, 6);
  REQUIRE(listed.size() == 6);
  for (const ImageRecord& got : listed) {
    CAPTURE(got.id);
    ImageRecord want = records[static_cast<std::size_t>(got.id - 1)];
    want.data.clear();
    check_same_record(got, want);
  }

  // An update moves a record to the front; a delete takes it out.
  ImageRecord touched = records[5];
  touched.updated_at = 1'000 * t;
  REQUIRE(apply_one(*s, upsert_of(p, touched)) == store::Outcome::applied);
  CHECK(latest_ids(*s, p, 2) == std::vector<std::int64_t>{6, 2});
  REQUIRE(apply_one(*s, delete_of(p, 2)) == store::Outcome::deleted);
  CHECK(latest_ids(*s, p, 100) == std::vector<std::int64_t>{6, 5, 4, 1, 3});
  // Listing leaves the data in place.
  check_same_record(s->get(p, 5), records[4]);
}

/// Runs every contract case; each SUBCASE gets its own store from `f.make`.
inline void run_store_contract(const StoreFactory& f) {
  contract_tick() = f.make()->time_resolution();
  SUBCASE("upsert inserts and get returns the record field for field") { contract_round_trip(f); }
  SUBCASE("a newer upsert replaces") { contract_newer_replaces(f); }
  SUBCASE("an equal version re-applies (idempotent redelivery)") {
    contract_equal_version_reapplies(f);
  }
  SUBCASE("an older upsert is stale and changes nothing") { contract_older_is_stale(f); }
  SUBCASE("the guard uses updated_at, else created_at") {
    contract_guard_uses_updated_else_created(f);
  }
  SUBCASE("a delete removes the key; an absent key is fine") { contract_delete(f); }
  SUBCASE("delete_first: an upsert must be newer than what was deleted") {
    contract_delete_first_then_upsert(f);
  }
  SUBCASE("a delete leaves a marker that refuses what is not newer") { contract_delete_marker(f); }
  SUBCASE("a tombstone older than the stored record's write deletes nothing") {
    contract_tombstone_older_than_stored(f);
  }
  SUBCASE("delete markers expire after the retention") { contract_marker_expiry(f); }
  SUBCASE("markers are no records to get, count, latest or scan_after") {
    contract_markers_invisible(f);
  }
  SUBCASE("count is per plant and includes soft-deleted records") { contract_count(f); }
  SUBCASE("scan_after visits newer records oldest first and can stop") { contract_scan_after(f); }
  SUBCASE("scan_after orders one version's records by id, strictly after the position") {
    contract_scan_after_ties(f);
  }
  SUBCASE("copy positions are saved, replaced, and land with their writes") {
    contract_positions(f);
  }
  SUBCASE("a batch returns one result per write, in order") { contract_batch_results_in_order(f); }
  SUBCASE("a second connection sees committed data, which survives a reopen") {
    contract_second_connection(f);
  }
  SUBCASE("a record over the 16 MiB document limit fails alone") {
    contract_too_large_fails_alone(f);
  }
  SUBCASE("latest lists the newest records by version, without data") { contract_latest(f); }
}

}  // namespace lims::test
