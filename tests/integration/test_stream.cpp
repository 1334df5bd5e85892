// The stream consumer end to end in-process: Kafka (mock or real) -> codec -> SQLite.

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>

#include "scenario.hpp"
#include "store/image_store.hpp"
#include "sync/copy.hpp"
#include "sync/stream.hpp"

namespace lims {
using namespace test;  // the shared scenario helpers (scenario.hpp)

TEST_CASE("stream: a mixed workload over three topics ends in the expected store state") {
  const auto [prefix, group, events] = prepare("mixed");

  auto store = store::open_store("sqlite::memory:");
  QuietBadRecords bad;
  sync::StreamOptions options = until_end();
  options.batch_max_events = 64;  // several batches, so collapsing crosses batch borders
  const auto s = consume(consumer_config(prefix, group), *store, bad, options);

  CHECK(s.records == events.size());
  CHECK(s.bad == malformed_count(events));
  CHECK(bad.count == malformed_count(events));
  CHECK(s.applied + s.stale + s.deleted + s.bad == s.records);
  CHECK(s.stale > 0);
  CHECK(s.deleted > 0);
  CHECK(s.steady_records == events.size());
  check_store(*store, events);
}

TEST_CASE("stream: a consumer stopped halfway and restarted loses nothing") {
  const auto [prefix, group, events] = prepare("restart");

  auto store = store::open_store("sqlite::memory:");
  QuietBadRecords bad;
  sync::StreamOptions options;
  options.batch_max_events = 50;
  options.max_records = events.size() / 2;
  const std::uint64_t first_run =
      consume(consumer_config(prefix, group), *store, bad, options).records;
  CHECK(first_run == events.size() / 2);
  options.max_records = 0;
  options.exit_at_end = true;
  const auto second = consume(consumer_config(prefix, group), *store, bad, options);
  // Resumed at the committed offsets: at most the unfinished tail is read again, never less.
  CHECK(second.records == events.size() - first_run);
  check_store(*store, events);
}

TEST_CASE("stream: --from-beginning replays everything and moves nothing back in time") {
  const auto [prefix, group, events] = prepare("replay");

  auto store = store::open_store("sqlite::memory:");
  QuietBadRecords bad;
  consume(consumer_config(prefix, group), *store, bad, until_end());
  auto config = consumer_config(prefix, group);
  config.from_beginning = true;  // the group has committed everything; read it all again
  const auto s = consume(config, *store, bad, until_end());
  CHECK(s.records == events.size());
  CHECK(s.stale > 0);  // the replayed old versions were refused by the guard
  check_store(*store, events);
}

TEST_CASE("stream: the stream and sync-batch end in identical stores") {
  const auto [prefix, group, events] = prepare("equivalence");
  // The producer store takes the same changes in order, as LIMS's Image API would.
  auto producer = store::open_store("sqlite::memory:");
  for (const auto& e : events) {
    if (e.malformed) continue;
    const store::Write w{.plant = e.plant,
                         .id = e.id,
                         .delete_first = !e.record,
                         .upsert = e.record ? &*e.record : nullptr};
    producer->apply(std::vector<store::Write>{w});
  }
  auto streamed = store::open_store("sqlite::memory:");
  QuietBadRecords bad;
  consume(consumer_config(prefix, group), *streamed, bad, until_end());

  auto batched = store::open_store("sqlite::memory:");
  // Full mode: the batch path sees hard deletes only by comparing everything.
  const std::atomic<bool> stop{false};
  auto stats = sync::run_batch_sync(*producer, *batched, sync::BatchMode::full, nullptr, stop);
  CHECK(stats.images > 0);
  for (Plant p : kPlants) {
    CHECK(streamed->count(p) == batched->count(p));
    for (std::int64_t id = 1; id <= kIdsPerPlant; ++id) {
      CAPTURE(plant_name(p));
      CAPTURE(id);
      CHECK(streamed->get(p, id) == batched->get(p, id));
    }
  }
}

}  // namespace lims
