// The ImageStore contract run against SQLite (in memory and in a file), plus what only SQLite
// has: read-only opens, URI schemes, and SQLITE_BUSY surfacing as TransientError.

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "store/image_store.hpp"
#include "store_contract.hpp"

namespace fs = std::filesystem;
using lims::ExitCode;
using lims::ImageRecord;
using lims::Plant;
using lims::store::ImageStore;
using lims::store::open_store;
using lims::store::OpenOptions;
using lims::store::Outcome;
using lims::test::apply_one;
using lims::test::check_same_record;
using lims::test::delete_of;
using lims::test::sample_record;
using lims::test::upsert_of;

namespace {

/// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "lims-unit-store-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

/// The exit code of the lims::Error `fn` throws, or nullopt if it throws none.
std::optional<ExitCode> error_code_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const lims::Error& e) {
    return e.code();
  }
  return std::nullopt;
}

/// A copy of the default VFS whose xSleep returns at once. SQLite's default busy handler counts
/// the time it has slept rather than reading a clock, so a connection opened through this VFS
/// runs out its 5 s busy timeout in well under a millisecond, with the same result code.
sqlite3_vfs* no_sleep_vfs() {
  static sqlite3_vfs vfs = [] {
    sqlite3_vfs copy = *sqlite3_vfs_find(nullptr);
    copy.pNext = nullptr;
    copy.zName = "lims-unit-no-sleep";
    copy.xSleep = [](sqlite3_vfs*, int microseconds) { return microseconds; };
    return copy;
  }();
  return &vfs;
}

/// Opens `uri` while the no-sleep VFS is SQLite's default, then restores the previous default.
std::unique_ptr<ImageStore> open_without_busy_waits(const std::string& uri) {
  sqlite3_vfs* previous = sqlite3_vfs_find(nullptr);
  REQUIRE(sqlite3_vfs_register(no_sleep_vfs(), 1) == SQLITE_OK);
  std::unique_ptr<ImageStore> store;
  try {
    store = open_store(uri);
  } catch (...) {
    sqlite3_vfs_register(previous, 1);
    throw;
  }
  REQUIRE(sqlite3_vfs_register(previous, 1) == SQLITE_OK);
  REQUIRE(sqlite3_vfs_find(nullptr) == previous);
  return store;
}

struct RawDbCloser {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using RawDb = std::unique_ptr<sqlite3, RawDbCloser>;

}  // namespace

TEST_CASE("store: sqlite in memory passes the store contract") {
  lims::test::StoreFactory factory;
  factory.make = [] { return open_store("sqlite::memory:"); };
  lims::test::run_store_contract(factory);
}

TEST_CASE("store: sqlite file passes the store contract") {
  TempDir dir;
  int made = 0;
  fs::path last;
  lims::test::StoreFactory factory;
  factory.make = [&] {
    last = dir.path() / ("contract-" + std::to_string(++made) + ".db");
    return open_store("sqlite:" + last.string());
  };
  // The other URI form, "sqlite://" + an absolute path, names the same file.
  factory.reconnect = [&] { return open_store("sqlite://" + last.string()); };
  lims::test::run_store_contract(factory);
}

TEST_CASE("store: sqlite read-only open reads an existing file and refuses to write") {
  TempDir dir;
  const std::string uri = "sqlite:" + (dir.path() / "ro.db").string();
  auto writer = open_store(uri);
  const ImageRecord r = sample_record(1);
  REQUIRE(apply_one(*writer, upsert_of(Plant::potato, r)) == Outcome::applied);

  // A reader beside a live writer (WAL) sees what the writer commits, also after it opened.
  auto reader = open_store(uri, {.read_only = true});
  check_same_record(reader->get(Plant::potato, 1), r);
  const ImageRecord r2 = sample_record(2);
  REQUIRE(apply_one(*writer, upsert_of(Plant::potato, r2)) == Outcome::applied);
  check_same_record(reader->get(Plant::potato, 2), r2);
  CHECK(reader->count(Plant::potato) == 2);
  CHECK(lims::test::scanned_versions(*reader, Plant::potato, 0).size() == 2);

  const ImageRecord r3 = sample_record(3);
  const auto write = upsert_of(Plant::potato, r3);
  CHECK_THROWS_AS(reader->apply({&write, 1}), lims::Error);
  const auto del = delete_of(Plant::potato, 1);
  CHECK_THROWS_AS(reader->apply({&del, 1}), lims::Error);
  CHECK_FALSE(writer->get(Plant::potato, 3).has_value());
  check_same_record(writer->get(Plant::potato, 1), r);

  writer.reset();  // the reader does not need the writer
  check_same_record(reader->get(Plant::potato, 1), r);
}

TEST_CASE("store: sqlite read-only open of a missing or foreign file is unreachable") {
  TempDir dir;
  const fs::path missing = dir.path() / "missing.db";
  CHECK(error_code_of([&] { open_store("sqlite:" + missing.string(), {.read_only = true}); }) ==
        ExitCode::unreachable);
  CHECK_FALSE(fs::exists(missing));  // a reader never creates a store

  // An SQLite file without the lims tables is no store either.
  const fs::path foreign = dir.path() / "foreign.db";
  {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(foreign.string().c_str(), &raw) == SQLITE_OK);
    RawDb db(raw);
    REQUIRE(sqlite3_exec(raw, "CREATE TABLE t (x)", nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  CHECK(error_code_of([&] { open_store("sqlite:" + foreign.string(), {.read_only = true}); }) ==
        ExitCode::unreachable);

  // A path that cannot be created is unreachable for a writer too.
  CHECK(error_code_of([&] {
          open_store("sqlite:" + (dir.path() / "no-such-dir" / "x.db").string());
        }) == ExitCode::unreachable);
}

TEST_CASE("store: open_store rejects an unknown scheme or an empty path as a usage error") {
  for (const char* uri : {"postgres://localhost/lims", "file.db", "", "sqlite:", "sqlite://"}) {
    CAPTURE(uri);
    CHECK(error_code_of([&] { open_store(uri); }) == ExitCode::usage);
  }
  CHECK(open_store("sqlite::memory:")->describe() == "sqlite::memory:");
}

TEST_CASE("store: sqlite busy database raises TransientError and applies nothing") {
  TempDir dir;
  const fs::path path = dir.path() / "busy.db";
  auto store = open_without_busy_waits("sqlite:" + path.string());
  const ImageRecord before = sample_record(1);
  REQUIRE(apply_one(*store, upsert_of(Plant::tomato, before)) == Outcome::applied);

  // Another connection holds the write lock.
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(path.string().c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr) ==
          SQLITE_OK);
  RawDb other(raw);
  REQUIRE(sqlite3_exec(raw, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);

  const ImageRecord newer = sample_record(1, 10);
  const ImageRecord second = sample_record(2);
  const std::vector writes{upsert_of(Plant::tomato, newer), upsert_of(Plant::tomato, second),
                           delete_of(Plant::pepper, 5)};
  const auto started = std::chrono::steady_clock::now();
  try {
    store->apply(writes);
    FAIL("apply succeeded while another connection held the write lock");
  } catch (const lims::store::TransientError& e) {
    CHECK(std::string(e.what()).find("locked") != std::string::npos);
  }
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(2));

  // Readers are not blocked, and nothing of the refused batch is visible.
  check_same_record(store->get(Plant::tomato, 1), before);
  CHECK_FALSE(store->get(Plant::tomato, 2).has_value());

  // Once the lock is gone, the retry goes through.
  REQUIRE(sqlite3_exec(raw, "ROLLBACK", nullptr, nullptr, nullptr) == SQLITE_OK);
  const auto results = store->apply(writes);
  REQUIRE(results.size() == 3);
  CHECK(results[0].outcome == Outcome::applied);
  CHECK(results[1].outcome == Outcome::applied);
  CHECK(results[2].outcome == Outcome::deleted);
  check_same_record(store->get(Plant::tomato, 1), newer);
  check_same_record(store->get(Plant::tomato, 2), second);
}
