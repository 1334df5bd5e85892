// MongoStore against a MongoDB server: mongo-java-server from the CTest fixture
// (LIMS_MONGODB_URI_FILE), or any server named by LIMS_TEST_MONGODB_URI. Without one each case
// skips, which ctest shows as SKIP.

#include <doctest/doctest.h>
#include <mongoc/mongoc.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <vector>

#include "common/time_units.hpp"
#include "skip.hpp"
#include "store/mongo_bson.hpp"
#include "store/mongo_handles.hpp"
#include "store/mongo_store.hpp"
#include "store_contract.hpp"
#include "sync/copy.hpp"

namespace lims {
namespace {

constexpr const char* kNoServer =
    "no MongoDB: set LIMS_TEST_MONGODB_URI or run under ctest's mongo fixture";

/// The server's base URI ("mongodb://host:port"), or empty when none is configured.
std::string server_uri() {
  if (const char* uri = std::getenv("LIMS_TEST_MONGODB_URI"); uri && *uri) return uri;
  std::string uri;
  if (const char* file = std::getenv("LIMS_MONGODB_URI_FILE"); file && *file) {
    std::ifstream in(file);
    std::getline(in, uri);
  }
  return uri;
}

/// `base` with a database of its own, so every case starts empty.
std::string fresh_database(const std::string& base) {
  static std::atomic<int> n{0};
  std::string uri = base;
  const auto query = uri.find('?');
  const std::string options = query == std::string::npos ? "" : uri.substr(query);
  uri = uri.substr(0, query);
  const auto scheme = uri.find("://");
  const auto slash = uri.find('/', scheme + 3);
  if (slash != std::string::npos) uri.resize(slash);
  return uri + "/limstest_" + std::to_string(::getpid()) + "_" + std::to_string(++n) + options;
}

/// The stored document of `id` in `plant`'s collection, read with the plain driver.
bson_t* raw_document(const std::string& uri, Plant plant, std::int64_t id) {
  mongoc_client_t* client = mongoc_client_new(uri.c_str());
  mongoc_collection_t* c =
      mongoc_client_get_collection(client, mongoc_uri_get_database(mongoc_client_get_uri(client)),
                                   ("imagecolplant" + std::string(plant_name(plant))).c_str());
  bson_t* filter = bson_new();
  store::detail::append_id_filter(filter, id);
  mongoc_cursor_t* cursor = mongoc_collection_find_with_opts(c, filter, nullptr, nullptr);
  const bson_t* doc = nullptr;
  bson_t* copy = mongoc_cursor_next(cursor, &doc) ? bson_copy(doc) : nullptr;
  mongoc_cursor_destroy(cursor);
  bson_destroy(filter);
  mongoc_collection_destroy(c);
  mongoc_client_destroy(client);
  return copy;
}

/// Every document of `collection` in the database of `uri`, read with the plain driver.
std::vector<store::BsonDoc> raw_documents(const std::string& uri, const std::string& collection) {
  mongoc_client_t* client = mongoc_client_new(uri.c_str());
  mongoc_collection_t* c = mongoc_client_get_collection(
      client, mongoc_uri_get_database(mongoc_client_get_uri(client)), collection.c_str());
  bson_t* filter = bson_new();
  mongoc_cursor_t* cursor = mongoc_collection_find_with_opts(c, filter, nullptr, nullptr);
  const bson_t* doc = nullptr;
  std::vector<store::BsonDoc> docs;
  while (mongoc_cursor_next(cursor, &doc)) docs.emplace_back(bson_copy(doc));
  mongoc_cursor_destroy(cursor);
  bson_destroy(filter);
  mongoc_collection_destroy(c);
  mongoc_client_destroy(client);
  return docs;
}

/// Runs `command` on `collection` of the database of `uri` (an update or delete by hand).
void raw_command(const std::string& uri, const std::string& collection,
                 const std::function<bool(mongoc_collection_t*)>& command) {
  mongoc_client_t* client = mongoc_client_new(uri.c_str());
  mongoc_collection_t* c = mongoc_client_get_collection(
      client, mongoc_uri_get_database(mongoc_client_get_uri(client)), collection.c_str());
  CHECK(command(c));
  mongoc_collection_destroy(c);
  mongoc_client_destroy(client);
}

/// Opens the store, counting the contract's time offsets in its resolution (milliseconds).
std::unique_ptr<store::ImageStore> open(const std::string& uri) {
  auto s = store::open_store(uri);
  test::contract_tick() = s->time_resolution();
  return s;
}

bson_type_t type_of(const bson_t* doc, const char* key) {
  bson_iter_t it;
  return bson_iter_init_find(&it, doc, key) ? bson_iter_type(&it) : BSON_TYPE_EOD;
}

}  // namespace

TEST_CASE("mongo: MongoStore passes the store contract") {
  const std::string base = server_uri();
  if (base.empty()) LIMS_SKIP(kNoServer);
  std::string last;
  test::StoreFactory factory;
  factory.make = [&] {
    last = fresh_database(base);
    return store::open_store(last);
  };
  factory.reconnect = [&] { return store::open_store(last); };
  test::run_store_contract(factory);
}

TEST_CASE("mongo: documents keep LIMS's BSON types, and nothing else") {
  const std::string base = server_uri();
  if (base.empty()) LIMS_SKIP(kNoServer);
  const std::string uri = fresh_database(base);
  auto s = open(uri);
  ImageRecord full = test::sample_record(7);
  ImageRecord nulls = test::sample_record(8);
  nulls.updated_at.reset();
  nulls.disease.reset();
  nulls.percentage.reset();
  nulls.latitude = 48;  // a whole number, still a double
  s->apply(std::vector<store::Write>{test::upsert_of(Plant::pepper, full),
                                     test::upsert_of(Plant::pepper, nulls)});

  bson_t* doc = raw_document(uri, Plant::pepper, 7);
  REQUIRE(doc != nullptr);
  CHECK(type_of(doc, "_id") == BSON_TYPE_OID);
  CHECK(type_of(doc, "id") == BSON_TYPE_INT32);
  CHECK(type_of(doc, "camera_id") == BSON_TYPE_INT32);
  bson_iter_t it;
  REQUIRE(bson_iter_init_find(&it, doc, "data"));
  REQUIRE(BSON_ITER_HOLDS_BINARY(&it));
  bson_subtype_t subtype;
  std::uint32_t len = 0;
  const std::uint8_t* bytes = nullptr;
  bson_iter_binary(&it, &subtype, &len, &bytes);
  CHECK(subtype == BSON_SUBTYPE_BINARY);
  CHECK(std::vector<std::uint8_t>(bytes, bytes + len) == full.data);
  CHECK(type_of(doc, "created_at") == BSON_TYPE_DATE_TIME);
  CHECK(type_of(doc, "updated_at") == BSON_TYPE_DATE_TIME);
  CHECK(type_of(doc, "is_active") == BSON_TYPE_BOOL);
  CHECK(type_of(doc, "is_deleted") == BSON_TYPE_BOOL);
  CHECK(type_of(doc, "disease") == BSON_TYPE_UTF8);
  CHECK(type_of(doc, "percentage") == BSON_TYPE_DOUBLE);
  bson_iter_t gps, xy;
  REQUIRE(bson_iter_init_find(&gps, doc, "gps_coordinates"));
  REQUIRE(bson_iter_recurse(&gps, &xy));
  int n = 0;
  while (bson_iter_next(&xy)) CHECK((++n, bson_iter_type(&xy) == BSON_TYPE_DOUBLE));
  CHECK(n == 2);
  CHECK(bson_count_keys(doc) == 11);  // _id and the ten LIMS fields, no bookkeeping
  bson_destroy(doc);

  doc = raw_document(uri, Plant::pepper, 8);
  REQUIRE(doc != nullptr);
  CHECK(type_of(doc, "updated_at") == BSON_TYPE_NULL);
  CHECK(type_of(doc, "disease") == BSON_TYPE_NULL);
  CHECK(type_of(doc, "percentage") == BSON_TYPE_NULL);
  bson_destroy(doc);
}

TEST_CASE("mongo: an existing _id is kept when a record is replaced") {
  const std::string base = server_uri();
  if (base.empty()) LIMS_SKIP(kNoServer);
  const std::string uri = fresh_database(base);
  auto s = open(uri);
  const ImageRecord v1 = test::sample_record(9), v2 = test::sample_record(9, 5);
  s->apply(std::vector<store::Write>{test::upsert_of(Plant::potato, v1)});
  bson_t* before = raw_document(uri, Plant::potato, 9);
  s->apply(std::vector<store::Write>{test::upsert_of(Plant::potato, v2)});
  bson_t* after = raw_document(uri, Plant::potato, 9);
  REQUIRE((before && after));
  bson_iter_t a, b;
  REQUIRE(bson_iter_init_find(&a, before, "_id"));
  REQUIRE(bson_iter_init_find(&b, after, "_id"));
  CHECK(bson_oid_equal(bson_iter_oid(&a), bson_iter_oid(&b)));
  bson_destroy(before);
  bson_destroy(after);
}

TEST_CASE("mongo: without a unique index (duplicates exist) the guard still holds") {
  const std::string base = server_uri();
  if (base.empty()) LIMS_SKIP(kNoServer);
  const std::string uri = fresh_database(base);
  test::contract_tick() = 1000;  // MongoDB keeps milliseconds: count offsets in them
  {  // two documents with id 5 already: the unique index cannot be built
    mongoc_client_t* client = mongoc_client_new(uri.c_str());
    mongoc_collection_t* c = mongoc_client_get_collection(
        client, mongoc_uri_get_database(mongoc_client_get_uri(client)), "imagecolplantpotato");
    for (int i = 0; i < 2; ++i) {
      bson_t* doc = bson_new();
      store::detail::append_record(doc, test::sample_record(5, 10));
      REQUIRE(mongoc_collection_insert_one(c, doc, nullptr, nullptr, nullptr));
      bson_destroy(doc);
    }
    mongoc_collection_destroy(c);
    mongoc_client_destroy(client);
  }
  auto s = open(uri);  // warns, and falls back to one write at a time
  using store::Outcome;
  const ImageRecord older5 = test::sample_record(5, 1), r6 = test::sample_record(6, 1),
                    older6 = test::sample_record(6);
  CHECK(test::apply_one(*s, test::upsert_of(Plant::potato, older5)) == Outcome::stale);
  CHECK(test::apply_one(*s, test::upsert_of(Plant::potato, r6)) == Outcome::applied);
  CHECK(test::apply_one(*s, test::upsert_of(Plant::potato, r6)) == Outcome::applied);
  CHECK(test::apply_one(*s, test::upsert_of(Plant::potato, older6)) == Outcome::stale);
  CHECK(s->count(Plant::potato) == 3);
  CHECK(test::apply_one(*s, test::delete_of(Plant::potato, 6)) == Outcome::deleted);
  CHECK(s->count(Plant::potato) == 2);
}

TEST_CASE(
    "mongo: markers and positions live in lims_guard; the LIMS collections hold records only") {
  const std::string base = server_uri();
  if (base.empty()) LIMS_SKIP(kNoServer);
  const std::string uri = fresh_database(base);
  auto s = open(uri);
  const ImageRecord kept = test::sample_record(1, 5), gone = test::sample_record(2, 7);
  store::Write a = test::upsert_of(Plant::potato, kept), b = test::upsert_of(Plant::potato, gone);
  a.source = {"potato", 3, 41};
  b.source = {"potato", 3, 42};
  s->apply(std::vector{a, b});
  store::Write tombstone = test::delete_of(Plant::potato, 2);
  tombstone.tombstone = {"potato", 3, 43};
  REQUIRE(test::apply_one(*s, tombstone) == store::Outcome::deleted);

  auto images = raw_documents(uri, "imagecolplantpotato");
  REQUIRE(images.size() == 1);
  CHECK(bson_count_keys(images[0].get()) == 11);  // _id and the ten LIMS fields: no bookkeeping

  auto guard = raw_documents(uri, "lims_guard");
  REQUIRE(guard.size() == 2);
  std::map<std::string, std::size_t> by_id;  // _id -> index in guard
  for (std::size_t i = 0; i < guard.size(); ++i) {
    bson_iter_t it;
    REQUIRE(bson_iter_init_find(&it, guard[i].get(), "_id"));
    by_id[bson_iter_utf8(&it, nullptr)] = i;
  }
  REQUIRE(by_id.count("potato/1"));
  REQUIRE(by_id.count("potato/2"));
  bson_iter_t it;
  const bson_t* live = guard[by_id["potato/1"]].get();
  REQUIRE(bson_iter_init_find(&it, live, "offset"));
  CHECK(bson_iter_as_int64(&it) == 41);
  REQUIRE(bson_iter_init_find(&it, live, "deleted"));
  CHECK_FALSE(bson_iter_bool(&it));
  REQUIRE(bson_iter_init_find(&it, live, "version"));
  CHECK(bson_iter_date_time(&it) * 1000 == test::at_tick(kept.version()));
  const bson_t* marker = guard[by_id["potato/2"]].get();
  REQUIRE(bson_iter_init_find(&it, marker, "deleted"));
  CHECK(bson_iter_bool(&it));
  REQUIRE(bson_iter_init_find(&it, marker, "version"));
  CHECK(bson_iter_date_time(&it) * 1000 == test::at_tick(gone.version()));
  CHECK(type_of(marker, "deleted_at") == BSON_TYPE_DATE_TIME);
  CHECK(type_of(marker, "offset") == BSON_TYPE_EOD);

  // A tombstone from before the stored record's write, in its partition, deletes nothing.
  store::Write zombie = test::delete_of(Plant::potato, 1);
  zombie.tombstone = {"potato", 3, 40};
  CHECK(test::apply_one(*s, zombie) == store::Outcome::stale);
  test::check_same_record(s->get(Plant::potato, 1), kept);
}

TEST_CASE(
    "mongo: a delete whose marker landed but whose record stayed is completed by its redelivery") {
  const std::string base = server_uri();
  if (base.empty()) LIMS_SKIP(kNoServer);
  const std::string uri = fresh_database(base);
  auto s = open(uri);
  const ImageRecord r = test::sample_record(3, 5);
  REQUIRE(test::apply_one(*s, test::upsert_of(Plant::tomato, r)) == store::Outcome::applied);
  // As if the process died between the two collections: lims_guard says deleted, the record is
  // still there.
  raw_command(uri, "lims_guard", [&](mongoc_collection_t* c) {
    bson_t* filter = BCON_NEW("_id", BCON_UTF8("tomato/3"));
    bson_t* update = BCON_NEW("$set", "{", "deleted", BCON_BOOL(true), "min_version",
                              BCON_DATE_TIME(test::at_tick(r.version()) / 1000 + 1), "deleted_at",
                              BCON_DATE_TIME(wall_clock_micros() / 1000), "}");
    const bool ok = mongoc_collection_update_one(c, filter, update, nullptr, nullptr, nullptr);
    bson_destroy(filter);
    bson_destroy(update);
    return ok;
  });
  CHECK(s->count(Plant::tomato) == 1);  // readers see it until then
  // The redelivered record is refused (the marker is in place); the redelivered tombstone
  // removes the record.
  CHECK(test::apply_one(*s, test::upsert_of(Plant::tomato, r)) == store::Outcome::stale);
  CHECK(test::apply_one(*s, test::delete_of(Plant::tomato, 3)) == store::Outcome::deleted);
  CHECK_FALSE(s->get(Plant::tomato, 3).has_value());
  CHECK(s->count(Plant::tomato) == 0);
  CHECK(test::apply_one(*s, test::upsert_of(Plant::tomato, r)) == store::Outcome::stale);
}

TEST_CASE("mongo: a record lims did not write is deleted with its own version in the marker") {
  const std::string base = server_uri();
  if (base.empty()) LIMS_SKIP(kNoServer);
  const std::string uri = fresh_database(base);
  auto s = open(uri);
  const ImageRecord r = test::sample_record(4, 5);
  raw_command(uri, "imagecolplantpepper", [&](mongoc_collection_t* c) {  // by LIMS, say
    bson_t* doc = bson_new();
    store::detail::append_record(doc, r);
    const bool ok = mongoc_collection_insert_one(c, doc, nullptr, nullptr, nullptr);
    bson_destroy(doc);
    return ok;
  });
  REQUIRE(raw_documents(uri, "lims_guard").empty());
  CHECK(test::apply_one(*s, test::delete_of(Plant::pepper, 4)) == store::Outcome::deleted);
  CHECK_FALSE(s->get(Plant::pepper, 4).has_value());
  CHECK(test::apply_one(*s, test::upsert_of(Plant::pepper, r)) == store::Outcome::stale);
  const ImageRecord newer = test::sample_record(4, 6);
  CHECK(test::apply_one(*s, test::upsert_of(Plant::pepper, newer)) == store::Outcome::applied);
  test::check_same_record(s->get(Plant::pepper, 4), newer);
}

TEST_CASE("mongo: an unreachable server is exit 3 within the selection timeout, password masked") {
  try {
    store::open_store(
        "mongodb://lims:s3cret@127.0.0.1:1/x?serverSelectionTimeoutMS=300&connectTimeoutMS=300");
    FAIL("connected to nothing");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::unreachable);
    const std::string message = e.what();
    CHECK(message.find("s3cret") == std::string::npos);
    CHECK(message.find("lims:***@127.0.0.1:1") != std::string::npos);
  }
}

TEST_CASE("mongo: sync-batch keeps its checkpoint in the target database") {
  const std::string base = server_uri();
  if (base.empty()) LIMS_SKIP(kNoServer);
  auto source = store::open_store("sqlite::memory:");
  test::contract_tick() = 1000;
  std::vector<store::Write> writes;
  std::vector<ImageRecord> records;
  for (std::int64_t id = 1; id <= 5; ++id) records.push_back(test::sample_record(id, id * 1000));
  for (const auto& r : records) writes.push_back(test::upsert_of(Plant::tomato, r));
  source->apply(writes);
  const std::atomic<bool> stop{false};
  auto run = [&](store::ImageStore& target) {
    auto checkpoint = sync::checkpoint_in_target(target, *source, sync::BatchMode::incremental);
    return sync::run_batch_sync(*source, target, sync::BatchMode::incremental, checkpoint.get(),
                                stop, 2);
  };
  const std::string uri_a = fresh_database(base), uri_b = fresh_database(base);
  auto a = open(uri_a);
  auto b = open(uri_b);
  CHECK(run(*a).images == 5);
  CHECK(run(*b).images == 5);  // a new target database starts from scratch
  CHECK(run(*a).images == 0);
  a = open(uri_a);  // a new connection, as a new process
  CHECK(run(*a).images == 0);
  CHECK(run(*b).images == 0);
  CHECK(a->load_position("sync-batch incremental sqlite::memory: tomato") ==
        store::CopyPosition{records.back().version(), 5});
  // The checkpoint lives beside LIMS's collections, never in them.
  CHECK(a->count(Plant::tomato) == 5);
  bson_t* doc = raw_document(uri_a, Plant::tomato, 5);
  REQUIRE(doc);
  CHECK(type_of(doc, "version") == BSON_TYPE_EOD);
  bson_destroy(doc);
}

TEST_CASE("mongo: a store's identity names its servers and database, never its credentials") {
  const std::string base = server_uri();
  if (base.empty()) LIMS_SKIP(kNoServer);
  const std::string uri = fresh_database(base);
  const auto s = store::open_store(uri);
  const auto scheme = uri.find("://") + 3;
  const auto query = uri.find('?');
  CHECK(s->identity() == "mongodb://" + uri.substr(scheme, query - scheme));
  CHECK(s->identity().find('@') == std::string::npos);
}

TEST_CASE(
    "mongo: a batch is one bulk write per plant and one to lims_guard; its tombstones add one find "
    "per collection") {
  const std::string base = server_uri();
  if (base.empty()) LIMS_SKIP(kNoServer);
  auto s = open(fresh_database(base));
  auto* mongo = dynamic_cast<store::MongoStore*>(s.get());
  REQUIRE(mongo != nullptr);
  using Commands = std::map<std::string, std::uint64_t, std::less<>>;
  // The commands `apply(writes)` sent, by name (libmongoc's command monitoring counts them).
  auto commands_of = [&](const std::vector<store::Write>& writes) {
    const Commands before = mongo->commands_sent();
    const auto results = s->apply(writes);
    for (const auto& r : results) CHECK_MESSAGE(r.outcome != store::Outcome::failed, r.error);
    Commands sent;
    for (const auto& [name, n] : mongo->commands_sent()) {
      const auto was = before.find(name);
      if (const std::uint64_t d = n - (was == before.end() ? 0 : was->second)) sent[name] = d;
    }
    return sent;
  };
  auto text = [](const Commands& c) {
    std::string out;
    for (const auto& [name, n] : c) out += name + ": " + std::to_string(n) + "; ";
    return out;
  };
  std::vector<ImageRecord> records, newer;
  for (std::int64_t id = 1; id <= 600; ++id) records.push_back(test::sample_record(id));
  for (std::int64_t id = 1; id <= 600; ++id) newer.push_back(test::sample_record(id, 1000));
  auto plant_of = [](std::int64_t id) { return kPlants[static_cast<std::size_t>(id % 3)]; };
  std::vector<store::Write> first, second, mixed;
  for (const auto& r : records) first.push_back(test::upsert_of(plant_of(r.id), r));
  commands_of(first);  // the store's first batch also expires old delete markers

  // 600 upserts over three plants: lims_guard, then each image collection, one update each.
  for (const auto& r : newer) second.push_back(test::upsert_of(plant_of(r.id), r));
  const Commands upserts = commands_of(second);
  CHECK_MESSAGE((upserts == Commands{{"update", 4}}), text(upserts));

  // Tombstones between upserts: their keys' state is read first (lims_guard and the collections
  // concerned, one find each), and each collection's removes go in one delete command.
  std::vector<ImageRecord> newest;
  for (std::int64_t id = 1; id <= 600; id += 2) newest.push_back(test::sample_record(id, 2000));
  for (const auto& r : newest) {
    mixed.push_back(test::upsert_of(plant_of(r.id), r));
    mixed.push_back(test::delete_of(plant_of(r.id + 1), r.id + 1));
  }
  const Commands with_tombstones = commands_of(mixed);
  CHECK_MESSAGE((with_tombstones == Commands{{"delete", 3}, {"find", 4}, {"update", 4}}),
                text(with_tombstones));
}

}  // namespace lims
