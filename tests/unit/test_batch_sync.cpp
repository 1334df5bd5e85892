// sync-batch between two SQLite stores: checkpoint, full mode, the guard, a stop part way.

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>

#include "store_contract.hpp"
#include "sync/batch.hpp"
#include "sync/report.hpp"

namespace lims {
namespace {

struct Pair {
  std::unique_ptr<store::ImageStore> source = store::open_store("sqlite::memory:");
  std::unique_ptr<store::ImageStore> target = store::open_store("sqlite::memory:");
  std::string state =
      (std::filesystem::temp_directory_path() / ("lims-checkpoint-" + std::to_string(::getpid())))
          .string();
  std::atomic<bool> stop{false};

  Pair() { std::filesystem::remove(state); }
  ~Pair() { std::filesystem::remove(state); }
  void put(Plant p, const ImageRecord& r) {
    source->apply(std::vector<store::Write>{test::upsert_of(p, r)});
  }
  sync::BatchRunStats run(sync::BatchMode mode = sync::BatchMode::incremental) {
    sync::Checkpoint w(state);  // a new process each run: the checkpoint comes from the file
    return sync::run_batch_sync(*source, *target, mode, w, stop, 2);
  }
};

}  // namespace

TEST_CASE("batch: incremental runs copy what changed since the checkpoint, and only that") {
  test::contract_tick() = 1;
  Pair s;
  for (std::int64_t id = 1; id <= 5; ++id) s.put(Plant::tomato, test::sample_record(id, id));
  s.put(Plant::pepper, test::sample_record(1));

  auto first = s.run();
  CHECK(first.images == 6);
  CHECK(first.bytes_read == first.bytes_written);
  CHECK(first.bytes_read > 6 * 13);
  CHECK(s.target->count(Plant::tomato) == 5);
  test::check_same_record(s.target->get(Plant::tomato, 3), test::sample_record(3, 3));

  auto again = s.run();  // nothing changed
  CHECK(again.images == 0);
  CHECK(again.bytes_read == 0);

  ImageRecord edited = test::sample_record(2, 100);
  edited.is_deleted = true;
  s.put(Plant::tomato, edited);
  auto one = s.run();
  CHECK(one.images == 1);
  test::check_same_record(s.target->get(Plant::tomato, 2), edited);
  CHECK(sync::batch_summary_line(one).starts_with("sync-batch: 1 images, "));
}

TEST_CASE("batch: full mode copies everything and deletes what the source lacks") {
  test::contract_tick() = 1;
  Pair s;
  for (std::int64_t id = 1; id <= 4; ++id) s.put(Plant::potato, test::sample_record(id));
  s.run();
  s.source->apply(std::vector<store::Write>{test::delete_of(Plant::potato, 2)});
  CHECK(s.run().images == 0);  // incremental cannot see a hard delete
  CHECK(s.target->count(Plant::potato) == 4);
  auto full = s.run(sync::BatchMode::full);
  CHECK(full.deleted == 1);
  CHECK(s.target->count(Plant::potato) == 3);
  CHECK_FALSE(s.target->get(Plant::potato, 2).has_value());
}

TEST_CASE("batch: the guard keeps a newer target record") {
  test::contract_tick() = 1;
  Pair s;
  s.put(Plant::pepper, test::sample_record(1, 1));
  s.target->apply(
      std::vector<store::Write>{test::upsert_of(Plant::pepper, test::sample_record(1, 9))});
  auto stats = s.run();
  CHECK(stats.images == 0);
  CHECK(stats.stale == 1);
  CHECK(stats.bytes_written == 0);
  test::check_same_record(s.target->get(Plant::pepper, 1), test::sample_record(1, 9));
}

TEST_CASE("batch: a stop part way leaves the checkpoint where it was") {
  test::contract_tick() = 1;
  Pair s;
  for (std::int64_t id = 1; id <= 6; ++id) s.put(Plant::tomato, test::sample_record(id, id));
  s.stop = true;
  auto stopped = s.run();
  CHECK_FALSE(stopped.complete);
  CHECK_FALSE(std::filesystem::exists(s.state));  // no checkpoint written
  s.stop = false;
  CHECK(s.run().images == 6);  // the next run does it all
}

}  // namespace lims
