// sync-batch between SQLite stores: the checkpoint (in the target, or in a file), full mode, the
// guard, a stop part way, a failure part way.

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "forwarding_store.hpp"
#include "store_contract.hpp"
#include "sync/copy.hpp"
#include "sync/report.hpp"

namespace lims {
namespace {

namespace fs = std::filesystem;

/// A temporary directory, removed with everything in it.
struct TempDir {
  fs::path path = fs::temp_directory_path() / ("lims-batch-" + std::to_string(::getpid()));
  TempDir() {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string store(const std::string& name) const { return "sqlite:" + (path / name).string(); }
};

struct Pair {
  std::unique_ptr<store::ImageStore> source = store::open_store("sqlite::memory:");
  std::unique_ptr<store::ImageStore> target = store::open_store("sqlite::memory:");
  std::string state_file;  // empty: the checkpoint in the target
  std::atomic<bool> stop{false};

  void put(Plant p, const ImageRecord& r) {
    source->apply(std::vector<store::Write>{test::upsert_of(p, r)});
  }
  sync::BatchRunStats run(sync::BatchMode mode = sync::BatchMode::incremental) {
    return run_into(*target, mode);
  }
  sync::BatchRunStats run_into(store::ImageStore& into,
                               sync::BatchMode mode = sync::BatchMode::incremental) {
    // A new checkpoint object each run, as a new process has.
    auto checkpoint = state_file.empty() ? sync::checkpoint_in_target(into, *source, mode)
                                         : sync::checkpoint_file(state_file);
    return sync::run_batch_sync(*source, into, mode, checkpoint.get(), stop, 2);
  }
};

/// A target that refuses every write after `allowed` of them, as a process killed part way.
class FailingAfter final : public test::ForwardingStore {
 public:
  FailingAfter(store::ImageStore& inner, int allowed) : ForwardingStore(inner), left_(allowed) {}
  std::vector<store::WriteResult> apply(std::span<const store::Write> writes) override {
    check();
    return inner_.apply(writes);
  }
  std::vector<store::WriteResult> apply_and_save(std::span<const store::Write> writes,
                                                 const std::string& key,
                                                 store::CopyPosition position) override {
    check();
    return inner_.apply_and_save(writes, key, position);
  }

 private:
  void check() {
    if (left_-- <= 0) throw Error("the target went away");
  }
  int left_;
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

TEST_CASE("batch: the checkpoint belongs to the target: two new targets each get a full copy") {
  test::contract_tick() = 1;
  TempDir dir;
  Pair s;
  for (std::int64_t id = 1; id <= 5; ++id) s.put(Plant::potato, test::sample_record(id, id));
  auto a = store::open_store(dir.store("a.db"));
  auto b = store::open_store(dir.store("b.db"));
  CHECK(s.run_into(*a).images == 5);
  CHECK(s.run_into(*b).images == 5);  // a new target starts from scratch
  CHECK(s.run_into(*a).images == 0);
  CHECK(s.run_into(*b).images == 0);
  // Reopened (a new process, any working directory), each still knows where it is.
  a = store::open_store(dir.store("a.db"));
  CHECK(s.run_into(*a).images == 0);
  s.put(Plant::potato, test::sample_record(6, 6));
  CHECK(s.run_into(*a).images == 1);
  CHECK(s.run_into(*b).images == 1);
}

TEST_CASE("batch: the checkpoint is keyed by the source and the mode") {
  test::contract_tick() = 1;
  TempDir dir;
  auto target = store::open_store(dir.store("target.db"));
  Pair one, two;
  one.source = store::open_store(dir.store("one.db"));
  two.source = store::open_store(dir.store("two.db"));
  one.put(Plant::tomato, test::sample_record(1, 1));
  two.put(Plant::tomato, test::sample_record(2, 1));
  CHECK(one.run_into(*target).images == 1);
  CHECK(two.run_into(*target).images == 1);  // another source: its own checkpoint
  CHECK(one.run_into(*target).images == 0);
  CHECK(target->load_position("sync-batch incremental " + one.source->identity() + " tomato") ==
        store::CopyPosition{test::sample_record(1, 1).version(), 1});
  CHECK(one.source->identity() == "sqlite:" + (dir.path / "one.db").string());
}

TEST_CASE("batch: records of one version on both sides of a chunk boundary are all copied") {
  test::contract_tick() = 1;
  Pair s;
  // Chunks of 2: the checkpoint lands between records 2 and 3, which share a version.
  for (std::int64_t id = 1; id <= 5; ++id) s.put(Plant::pepper, test::sample_record(id, 7));
  s.stop = false;
  CHECK(s.run().images == 5);
  // One more of that same version, with a higher id, comes later: it is still copied.
  s.put(Plant::pepper, test::sample_record(9, 7));
  CHECK(s.run().images == 1);
  CHECK(s.target->count(Plant::pepper) == 6);
}

TEST_CASE("batch: a target lost part way keeps a checkpoint that is never ahead of its data") {
  test::contract_tick() = 1;
  Pair s;
  for (std::int64_t id = 1; id <= 9; ++id) s.put(Plant::tomato, test::sample_record(id, id));
  for (int allowed = 0; allowed <= 4; ++allowed) {
    auto target = store::open_store("sqlite::memory:");
    FailingAfter failing(*target, allowed);
    CHECK_THROWS_AS(s.run_into(failing), Error);
    // Chunks of 2: `allowed` chunks and their positions landed, nothing after them.
    const auto at =
        target->load_position("sync-batch incremental " + s.source->identity() + " tomato");
    CHECK(target->count(Plant::tomato) == 2 * allowed);
    if (allowed == 0)
      CHECK_FALSE(at.has_value());
    else
      CHECK(at == store::CopyPosition{test::sample_record(2 * allowed, 2 * allowed).version(),
                                      2 * allowed});
    // The next run resumes there and finishes the copy.
    CHECK(s.run_into(*target).images == static_cast<std::uint64_t>(9 - 2 * allowed));
    CHECK(target->count(Plant::tomato) == 9);
  }
}

TEST_CASE("batch: --state keeps the checkpoint in a file instead") {
  test::contract_tick() = 1;
  TempDir dir;
  Pair s;
  s.state_file = (dir.path / "checkpoint").string();
  for (std::int64_t id = 1; id <= 3; ++id) s.put(Plant::tomato, test::sample_record(id, id));
  CHECK(s.run().images == 3);
  std::ifstream in(s.state_file);
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].starts_with("potato "));
  CHECK(lines[1] == "tomato " + std::to_string(test::sample_record(3, 3).version()) + " 3");
  CHECK(s.run().images == 0);
  CHECK_FALSE(s.target->load_position("sync-batch incremental " + s.source->identity() +
                                      " tomato"));  // nothing in the target

  // A single number (a version) applies to every plant.
  std::ofstream(s.state_file) << test::sample_record(2, 2).version() << "\n";
  s.target = store::open_store("sqlite::memory:");
  CHECK(s.run().images == 1);  // only id 3 is newer

  std::ofstream(s.state_file) << "cabbage 1 2\n";
  CHECK_THROWS_WITH_AS(s.run(), doctest::Contains("checkpoint:1: expected \"PLANT VERSION_US ID\""),
                       Error);
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

TEST_CASE("batch: full mode's deletes follow the guard: markers, and a newer record stays") {
  test::contract_tick() = 1;
  Pair s;
  for (std::int64_t id = 1; id <= 3; ++id) s.put(Plant::potato, test::sample_record(id, 5));
  s.run(sync::BatchMode::full);
  s.source->apply(std::vector<store::Write>{test::delete_of(Plant::potato, 1),
                                            test::delete_of(Plant::potato, 2)});
  // The stream writes a newer id 2 into the target while the run goes on: after the run's scan
  // found it missing from the source, before its delete.
  class WritesFirst final : public test::ForwardingStore {
   public:
    using ForwardingStore::ForwardingStore;
    std::vector<store::WriteResult> apply(std::span<const store::Write> writes) override {
      if (!writes.empty() && writes[0].delete_first)
        inner_.apply(std::vector{test::upsert_of(Plant::potato, newer)});
      return inner_.apply(writes);
    }
    const ImageRecord newer = test::sample_record(2, 6);
  } racing(*s.target);
  const auto full = s.run_into(racing, sync::BatchMode::full);
  CHECK(full.deleted == 1);
  CHECK(full.stale == 1);
  CHECK_FALSE(s.target->get(Plant::potato, 1).has_value());
  test::check_same_record(s.target->get(Plant::potato, 2), racing.newer);
  // The delete left a marker: the old record, delivered late, does not come back.
  CHECK(test::apply_one(*s.target, test::upsert_of(Plant::potato, test::sample_record(1, 5))) ==
        store::Outcome::stale);
  CHECK_FALSE(s.target->get(Plant::potato, 1).has_value());
  CHECK(s.target->count(Plant::potato) == 2);
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
  CHECK_FALSE(s.target->load_position("sync-batch incremental " + s.source->identity() +
                                      " tomato"));  // no checkpoint written
  s.stop = false;
  CHECK(s.run().images == 6);  // the next run does it all
}

}  // namespace lims
