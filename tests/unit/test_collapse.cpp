// Collapser: a batch of events folded to one net write per key, and the tally of what became of
// each event.

#include <doctest/doctest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <cstdint>
#include <deque>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "model/image.hpp"
#include "store/image_store.hpp"
#include "sync/collapse.hpp"

using lims::ImageEvent;
using lims::ImageRecord;
using lims::Micros;
using lims::Plant;
using lims::store::Outcome;
using lims::store::Write;
using lims::store::WriteResult;
using lims::sync::Collapser;
using lims::sync::Tally;

namespace {

/// A record of `id` whose version() is `version`; `marker` tells otherwise-equal records apart.
ImageRecord record(std::int64_t id, Micros version, std::int64_t marker = 0) {
  ImageRecord r;
  r.id = id;
  r.camera_id = marker;
  r.data = {0xff, 0xd8, static_cast<std::uint8_t>(marker), 0xff, 0xd9};
  r.created_at = version - 1'000;
  r.updated_at = version;
  return r;
}

ImageEvent upsert(Plant plant, std::int64_t id, Micros version, std::int64_t marker = 0) {
  return ImageEvent{plant, id, record(id, version, marker)};
}

ImageEvent tombstone(Plant plant, std::int64_t id) { return ImageEvent{plant, id, std::nullopt}; }

std::vector<WriteResult> results_of(std::initializer_list<Outcome> outcomes) {
  std::vector<WriteResult> results;
  for (Outcome o : outcomes) results.push_back({o, {}});
  return results;
}

std::uint64_t total(const Tally& t) { return t.applied + t.stale + t.deleted + t.failed; }

/// What a store would answer for each write: deleted for a bare tombstone, else `for_upserts`.
std::vector<WriteResult> uniform_results(const std::vector<Write>& writes, Outcome for_upserts) {
  std::vector<WriteResult> results;
  for (const Write& w : writes) results.push_back({w.upsert ? for_upserts : Outcome::deleted, {}});
  return results;
}

}  // namespace

TEST_CASE("collapse: one write per key, in first-seen order") {
  Collapser c;
  CHECK(c.empty());
  c.add(upsert(Plant::potato, 3, 100), 0);
  c.add(upsert(Plant::tomato, 3, 100), 1);  // same id, other plant: another key
  c.add(tombstone(Plant::potato, 1), 2);
  c.add(upsert(Plant::potato, 3, 200), 3);
  c.add(upsert(Plant::pepper, 9, 100), 4);
  c.add(upsert(Plant::tomato, 3, 150), 5);
  c.add(upsert(Plant::potato, 1, 50), 6);
  CHECK_FALSE(c.empty());
  CHECK(c.events() == 7);

  const auto& w = c.writes();
  REQUIRE(w.size() == 4);
  CHECK((w[0].plant == Plant::potato && w[0].id == 3));
  CHECK((w[1].plant == Plant::tomato && w[1].id == 3));
  CHECK((w[2].plant == Plant::potato && w[2].id == 1));
  CHECK((w[3].plant == Plant::pepper && w[3].id == 9));
  for (const Write& write : w) {
    REQUIRE(write.upsert != nullptr);
    CHECK(write.upsert->id == write.id);
  }
  CHECK(w[0].upsert->version() == 200);
  CHECK(w[1].upsert->version() == 150);
  CHECK(w[2].delete_first);
  CHECK(w[2].upsert->version() == 50);
  CHECK_FALSE(w[0].delete_first);
  CHECK_FALSE(w[3].delete_first);

  // Asking again gives the same answer.
  const auto& again = c.writes();
  REQUIRE(again.size() == 4);
  CHECK(again[2].id == 1);
}

TEST_CASE("collapse: a later newer or equal upsert wins") {
  Collapser c;
  c.add(upsert(Plant::potato, 1, 100, 1), 10);
  c.add(upsert(Plant::potato, 1, 200, 2), 11);
  c.add(upsert(Plant::potato, 1, 200, 3), 12);  // equal version: the later event wins, as a store
  const auto& w = c.writes();
  REQUIRE(w.size() == 1);
  CHECK_FALSE(w[0].delete_first);
  REQUIRE(w[0].upsert != nullptr);
  CHECK(*w[0].upsert == record(1, 200, 3));
  CHECK(c.tag_of(0) == 12);

  const Tally applied = c.tally(results_of({Outcome::applied}));
  CHECK(applied.applied == 3);  // the two earlier ones were written, then overwritten
  CHECK(total(applied) == 3);
  const Tally stale = c.tally(results_of({Outcome::stale}));
  CHECK(stale.stale == 3);  // the store already had something newer than all of them
  CHECK(total(stale) == 3);
}

TEST_CASE("collapse: an older upsert after a newer one is stale and does not replace it") {
  Collapser c;
  c.add(upsert(Plant::tomato, 5, 300, 1), 0);
  c.add(upsert(Plant::tomato, 5, 299, 2), 1);
  c.add(upsert(Plant::tomato, 5, 100, 3), 2);
  const auto& w = c.writes();
  REQUIRE(w.size() == 1);
  REQUIRE(w[0].upsert != nullptr);
  CHECK(*w[0].upsert == record(5, 300, 1));
  CHECK(c.tag_of(0) == 0);

  const Tally t = c.tally(results_of({Outcome::applied}));
  CHECK(t.applied == 1);
  CHECK(t.stale == 2);
  CHECK(t.deleted == 0);
  CHECK(t.failed == 0);

  const Tally f = c.tally(results_of({Outcome::failed}));
  CHECK(f.failed == 1);
  CHECK(f.stale == 2);
}

TEST_CASE("collapse: a tombstone after upserts deletes and writes no upsert") {
  Collapser c;
  c.add(upsert(Plant::pepper, 7, 100), 0);
  c.add(upsert(Plant::pepper, 7, 200), 1);
  c.add(tombstone(Plant::pepper, 7), 2);
  const auto& w = c.writes();
  REQUIRE(w.size() == 1);
  CHECK(w[0].delete_first);
  CHECK(w[0].upsert == nullptr);
  CHECK(c.tag_of(0) == 2);

  const Tally t = c.tally(results_of({Outcome::deleted}));
  CHECK(t.deleted == 1);
  CHECK(t.applied == 2);  // written, then wiped out by the tombstone
  CHECK(t.stale == 0);
  CHECK(total(t) == 3);

  // Two tombstones in a row: still one delete, the last tombstone's tag, both counted.
  c.add(tombstone(Plant::pepper, 7), 3);
  REQUIRE(c.writes().size() == 1);
  CHECK(c.writes()[0].delete_first);
  CHECK(c.writes()[0].upsert == nullptr);
  CHECK(c.tag_of(0) == 3);
  const Tally t2 = c.tally(results_of({Outcome::deleted}));
  CHECK(t2.deleted == 2);
  CHECK(total(t2) == 4);
}

TEST_CASE("collapse: an upsert after a tombstone is written after delete_first") {
  Collapser c;
  c.add(upsert(Plant::potato, 2, 500, 1), 0);
  c.add(tombstone(Plant::potato, 2), 1);
  c.add(upsert(Plant::potato, 2, 100, 2), 2);  // older than the first, but the tombstone came
  c.add(upsert(Plant::potato, 2, 50, 3), 3);   // older than the upsert before it: stale
  const auto& w = c.writes();
  REQUIRE(w.size() == 1);
  CHECK(w[0].delete_first);
  REQUIRE(w[0].upsert != nullptr);
  CHECK(*w[0].upsert == record(2, 100, 2));
  CHECK(c.tag_of(0) == 2);

  const Tally t = c.tally(results_of({Outcome::applied}));
  CHECK(t.applied == 2);  // the first (later deleted) and the one written
  CHECK(t.deleted == 1);
  CHECK(t.stale == 1);
  CHECK(total(t) == 4);

  // A tombstone first, then an upsert.
  Collapser d;
  d.add(tombstone(Plant::tomato, 4), 7);
  d.add(upsert(Plant::tomato, 4, 10), 8);
  REQUIRE(d.writes().size() == 1);
  CHECK(d.writes()[0].delete_first);
  REQUIRE(d.writes()[0].upsert != nullptr);
  CHECK(d.tag_of(0) == 8);
  const Tally u = d.tally(results_of({Outcome::applied}));
  CHECK(u.applied == 1);
  CHECK(u.deleted == 1);
}

TEST_CASE("collapse: the tally counts every event exactly once, whatever the outcomes") {
  // A deterministic mix of keys, versions and tombstones.
  Collapser c;
  std::uint32_t seed = 12345;
  auto next = [&seed](std::uint32_t n) {
    seed = seed * 1664525u + 1013904223u;
    return (seed >> 8) % n;
  };
  std::uint64_t tombstones = 0;
  constexpr std::uint32_t kEvents = 500;
  for (std::uint32_t i = 0; i < kEvents; ++i) {
    const auto plant = static_cast<Plant>(next(3));
    const auto id = static_cast<std::int64_t>(next(25)) + 1;
    if (next(5) == 0) {
      c.add(tombstone(plant, id), i);
      ++tombstones;
    } else {
      c.add(upsert(plant, id, static_cast<Micros>(next(40)), i), i);
    }
  }
  REQUIRE(c.events() == kEvents);
  const std::vector<Write> writes = c.writes();
  REQUIRE(writes.size() <= 75);

  std::vector<std::vector<WriteResult>> outcome_vectors;
  for (Outcome o : {Outcome::applied, Outcome::stale, Outcome::failed})
    outcome_vectors.push_back(uniform_results(writes, o));
  std::vector<WriteResult> mixed;
  for (std::size_t i = 0; i < writes.size(); ++i) {
    const Outcome for_upsert = i % 3 == 0   ? Outcome::applied
                               : i % 3 == 1 ? Outcome::stale
                                            : Outcome::failed;
    mixed.push_back({writes[i].upsert ? for_upsert : Outcome::deleted, {}});
  }
  outcome_vectors.push_back(mixed);

  for (const auto& results : outcome_vectors) {
    const Tally t = c.tally(results);
    CHECK(total(t) == kEvents);
    CHECK(t.deleted == tombstones);
  }
  const Tally all_failed = c.tally(outcome_vectors[2]);
  CHECK(all_failed.applied + all_failed.stale + all_failed.failed == kEvents - tombstones);

  // Tallies add up.
  Tally sum;
  sum += c.tally(outcome_vectors[0]);
  sum += c.tally(outcome_vectors[1]);
  CHECK(total(sum) == 2 * kEvents);
  CHECK(sum.deleted == 2 * tombstones);
}

TEST_CASE("collapse: tag_of gives the final upsert's tag, else the last tombstone's") {
  Collapser c;
  c.add(upsert(Plant::potato, 1, 100), 100);
  c.add(tombstone(Plant::tomato, 1), 101);
  c.add(upsert(Plant::potato, 1, 50), 102);  // stale: tag stays 100
  c.add(tombstone(Plant::pepper, 1), 103);
  c.add(upsert(Plant::pepper, 1, 10), 104);  // after a tombstone: 104
  c.add(tombstone(Plant::tomato, 1), 105);   // the last tombstone: 105
  c.add(upsert(Plant::potato, 2, 100), 106);
  c.add(upsert(Plant::potato, 2, 100), 107);  // equal version wins: 107
  c.add(upsert(Plant::tomato, 9, 1), 108);
  c.add(upsert(Plant::tomato, 9, 2), 109);
  c.add(tombstone(Plant::tomato, 9), 110);  // a tombstone after the upserts: 110

  REQUIRE(c.writes().size() == 5);
  CHECK(c.tag_of(0) == 100);
  CHECK(c.tag_of(1) == 105);
  CHECK(c.tag_of(2) == 104);
  CHECK(c.tag_of(3) == 107);
  CHECK(c.tag_of(4) == 110);
}

TEST_CASE("collapse: clear resets everything") {
  Collapser c;
  c.add(upsert(Plant::potato, 1, 100), 0);
  c.add(upsert(Plant::tomato, 2, 100), 1);
  c.add(tombstone(Plant::potato, 1), 2);
  REQUIRE(c.writes().size() == 2);

  c.clear();
  CHECK(c.empty());
  CHECK(c.events() == 0);
  CHECK(c.writes().empty());
  CHECK(total(c.tally({})) == 0);

  // Keys seen before the clear are new again: fresh order, no leftover tombstone or guard.
  c.add(upsert(Plant::tomato, 2, 5), 0);
  c.add(upsert(Plant::potato, 1, 1), 1);
  CHECK(c.events() == 2);
  const auto& w = c.writes();
  REQUIRE(w.size() == 2);
  CHECK((w[0].plant == Plant::tomato && w[0].id == 2));
  CHECK((w[1].plant == Plant::potato && w[1].id == 1));
  CHECK_FALSE(w[0].delete_first);
  CHECK_FALSE(w[1].delete_first);
  REQUIRE(w[1].upsert != nullptr);
  CHECK(w[1].upsert->version() == 1);
  CHECK(c.tag_of(0) == 0);
  CHECK(c.tag_of(1) == 1);
  const Tally t = c.tally(results_of({Outcome::applied, Outcome::applied}));
  CHECK(t.applied == 2);
  CHECK(total(t) == 2);
}

TEST_CASE("collapse: a write carries its sources and the newest version before its tombstone") {
  using lims::store::SourcePosition;
  Collapser c;
  c.add(upsert(Plant::potato, 1, 300, 1), 0, {"potato", 2, 40});
  c.add(upsert(Plant::potato, 1, 500, 2), 1, {"potato", 2, 41});
  c.add(upsert(Plant::potato, 1, 400, 3), 2, {"potato", 2, 42});  // older: not the newest
  c.add(tombstone(Plant::potato, 1), 3, {"potato", 2, 43});
  c.add(upsert(Plant::potato, 1, 100, 4), 4, {"potato", 2, 44});
  c.add(upsert(Plant::potato, 1, 100, 5), 5, {"potato", 2, 45});  // equal: the later one
  c.add(upsert(Plant::tomato, 2, 7), 6, {"tomato", 0, 9});
  const auto& w = c.writes();
  REQUIRE(w.size() == 2);
  CHECK(w[0].delete_first);
  CHECK(w[0].upserted_before == 500);
  CHECK((w[0].tombstone.topic == "potato" && w[0].tombstone.partition == 2 &&
         w[0].tombstone.offset == 43));
  REQUIRE(w[0].upsert != nullptr);
  CHECK(*w[0].upsert == record(1, 100, 5));
  CHECK(w[0].source.offset == 45);
  CHECK_FALSE(w[0].delete_up_to.has_value());
  CHECK_FALSE(w[1].delete_first);
  CHECK_FALSE(w[1].upserted_before.has_value());
  CHECK_FALSE(w[1].tombstone.known());
  CHECK((w[1].source.topic == "tomato" && w[1].source.offset == 9));

  // A tombstone with no upsert before it carries no version.
  Collapser d;
  d.add(tombstone(Plant::pepper, 3), 0, {"pepper", 0, 1});
  REQUIRE(d.writes().size() == 1);
  CHECK_FALSE(d.writes()[0].upserted_before.has_value());
  CHECK(d.writes()[0].tombstone.offset == 1);

  // Positions: only one partition's are ordered.
  const SourcePosition a{"potato", 0, 5}, b{"potato", 0, 6}, other{"potato", 1, 9},
      elsewhere{"stg.potato", 0, 9};
  CHECK(a.before(b));
  CHECK_FALSE(b.before(a));
  CHECK_FALSE(a.before(a));
  CHECK_FALSE(a.before(other));
  CHECK_FALSE(a.before(elsewhere));
  CHECK_FALSE(SourcePosition{}.before(b));
  CHECK_FALSE(a.before(SourcePosition{}));
}

TEST_CASE("collapse: a refused delete counts its tombstones and the upserts before them stale") {
  Collapser c;
  c.add(upsert(Plant::potato, 1, 100), 0);
  c.add(upsert(Plant::potato, 1, 200), 1);
  c.add(tombstone(Plant::potato, 1), 2);
  c.add(tombstone(Plant::potato, 1), 3);
  c.add(upsert(Plant::potato, 1, 50), 4);
  REQUIRE(c.writes().size() == 1);
  // The store kept its record: newer than every upsert before the tombstones.
  WriteResult refused{Outcome::stale, {}, true};
  Tally t = c.tally(std::vector{refused});
  CHECK(t.stale == 5);
  CHECK(total(t) == 5);
  // Carried out, with the last upsert older than the marker the delete left.
  t = c.tally(std::vector<WriteResult>{{Outcome::stale, {}}});
  CHECK(t.applied == 2);
  CHECK(t.deleted == 2);
  CHECK(t.stale == 1);
}

namespace {

/// A store file in a directory of its own, removed with it.
struct StoreFile {
  std::string dir;
  std::string path;
  StoreFile() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "lims-collapse-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
    path = dir + "/store.db";
  }
  ~StoreFile() { std::filesystem::remove_all(dir); }
};

/// Every row of lims_guard but the marker's wall-clock time, in key order.
std::vector<std::string> guard_rows(const std::string& path) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  std::vector<std::string> rows;
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(db,
                             "SELECT plant || ' ' || id || ' ' || IFNULL(source_topic, '-') || ' '"
                             " || IFNULL(source_partition, '-') || ' ' || IFNULL(source_offset,"
                             " '-') || ' ' || IFNULL(deleted_version, '-') FROM lims_guard"
                             " ORDER BY plant, id",
                             -1, &s, nullptr) == SQLITE_OK);
  while (sqlite3_step(s) == SQLITE_ROW)
    rows.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)));
  sqlite3_finalize(s);
  sqlite3_close(db);
  return rows;
}

}  // namespace

TEST_CASE("collapse: applying the net writes equals applying the events one by one") {
  // Two stores start alike: records with a source position (in the partition the events come
  // from: before, among or after their offsets; in another partition; unknown), delete markers,
  // absent keys. One gets every event as its own write, the other each batch's collapsed writes.
  // Each key's events come from one partition in offset order, as keyed records do: upserts with
  // repeated and older versions, tombstones between them. The stores must end equal, record for
  // record and in what the guard remembers, batch after batch.
  using lims::store::SourcePosition;
  for (std::uint32_t round = 0; round < 40; ++round) {
    CAPTURE(round);
    std::uint32_t seed = 777 + round;
    auto next = [&seed](std::uint32_t n) {
      seed = seed * 1664525u + 1013904223u;
      return (seed >> 8) % n;
    };
    StoreFile file_a, file_b;
    auto one_by_one = lims::store::open_store("sqlite:" + file_a.path);
    auto collapsed = lims::store::open_store("sqlite:" + file_b.path);
    auto both = [&](const Write& w) {
      one_by_one->apply({&w, 1});
      collapsed->apply({&w, 1});
    };
    constexpr std::int64_t kIds = 6;
    std::deque<ImageRecord> records;  // stable addresses for the writes
    std::int64_t offset = 100;        // the events' offsets, per topic (partition 0)
    for (Plant p : lims::kPlants)
      for (std::int64_t id = 1; id <= kIds; ++id) {
        const auto kind = next(5);
        if (kind == 0) continue;  // absent
        records.push_back(record(id, static_cast<Micros>(next(30)), 1000 + id));
        SourcePosition source;
        if (kind >= 2) source = {plant_name(p), kind == 4 ? 1 : 0, next(200)};
        both({.plant = p, .id = id, .upsert = &records.back(), .source = source});
        if (kind == 3 && next(2) == 0) both({.plant = p, .id = id, .delete_first = true});
      }

    for (int batch = 0; batch < 3; ++batch) {
      CAPTURE(batch);
      Collapser c;
      std::uint64_t tombstones = 0;
      const std::uint32_t events = 10 + next(50);
      for (std::uint32_t i = 0; i < events; ++i) {
        const auto plant = static_cast<Plant>(next(3));
        const auto id = static_cast<std::int64_t>(next(kIds)) + 1;
        const SourcePosition at{plant_name(plant), 0, offset++};
        ImageEvent e = next(4) == 0 ? tombstone(plant, id)
                                    : upsert(plant, id, static_cast<Micros>(next(30)), i);
        Write w{.plant = plant, .id = id};
        if (e.is_delete()) {
          w.delete_first = true;
          w.tombstone = at;
          ++tombstones;
        } else {
          records.push_back(*e.record);
          w.upsert = &records.back();
          w.source = at;
        }
        REQUIRE(one_by_one->apply({&w, 1}).size() == 1);
        c.add(std::move(e), i, at);
      }
      const auto results = collapsed->apply(c.writes());
      REQUIRE(results.size() == c.writes().size());
      const Tally t = c.tally(results);
      CHECK(total(t) == events);
      CHECK(t.deleted <= tombstones);

      for (Plant p : lims::kPlants)
        for (std::int64_t id = 1; id <= kIds; ++id) {
          CAPTURE(plant_name(p));
          CAPTURE(id);
          CHECK(one_by_one->get(p, id) == collapsed->get(p, id));
        }
      CHECK(guard_rows(file_a.path) == guard_rows(file_b.path));
    }
  }
}
