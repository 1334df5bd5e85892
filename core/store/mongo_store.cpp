#include "store/mongo_store.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <mutex>

#include "common/log.hpp"
#include "store/mongo_bson.hpp"
#include "store/uri.hpp"

namespace lims::store {
namespace {

constexpr const char* kDefaultDatabase = "imagedbplantconsumer";
constexpr const char* kPositions = "lims_copy_positions";
constexpr const char* kGuard = "lims_guard";
/// Records per reply when scanning: about 8 MB of 30 kB images, under the 16 MiB a reply holds.
constexpr std::int32_t kScanBatch = 256;

void init_driver() {
  static std::once_flag once;
  std::call_once(once, [] { mongoc_init(); });
}

std::string collection_of(Plant plant) { return "imagecolplant" + std::string(plant_name(plant)); }

/// Network trouble, a primary stepping down, a server shutting down: worth retrying.
bool is_transient(const bson_error_t& e) {
  if (e.domain == MONGOC_ERROR_STREAM || e.domain == MONGOC_ERROR_SERVER_SELECTION) return true;
  switch (e.code) {
    case 6:
    case 7:
    case 89:
    case 91:
    case 189:
    case 262:
    case 9001:  // host/network/shutdown
    case 10107:
    case 11600:
    case 11602:
    case 13435:
    case 13436:  // not primary
      return true;
    default: return false;
  }
}

/// A write concern of a number of nodes, 1 to 50; lims::Error (usage) for anything else.
std::int32_t write_concern_nodes(const std::string& text) {
  std::int32_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < 1 || n > 50)
    throw Error("write concern '" + text + "': expected majority or a number of nodes (1 to 50)",
                ExitCode::usage);
  return n;
}

}  // namespace

MongoStore::MongoStore(const std::string& uri, const OpenOptions& options)
    : masked_(mask_credentials(uri)), marker_retention_(options.delete_marker_retention) {
  init_driver();
  bson_error_t error;
  uri_.reset(mongoc_uri_new_with_error(uri.c_str(), &error));
  if (!uri_) throw Error("store " + masked_ + ": " + error.message, ExitCode::usage);
  if (!mongoc_uri_has_option(uri_.get(), MONGOC_URI_RETRYWRITES))
    mongoc_uri_set_option_as_bool(uri_.get(), MONGOC_URI_RETRYWRITES, true);
  if (!mongoc_uri_has_option(uri_.get(), MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
    mongoc_uri_set_option_as_int32(uri_.get(), MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 10000);
  // A server that stops answering (a node gone without closing its connections) fails an
  // operation after 30 s, to be retried, rather than after libmongoc's 5 minutes.
  if (!mongoc_uri_has_option(uri_.get(), MONGOC_URI_SOCKETTIMEOUTMS))
    mongoc_uri_set_option_as_int32(uri_.get(), MONGOC_URI_SOCKETTIMEOUTMS, 30000);
  client_.reset(mongoc_client_new_from_uri_with_error(uri_.get(), &error));
  if (!client_) throw Error("store " + masked_ + ": " + error.message, ExitCode::usage);
  mongoc_client_set_appname(client_.get(), "lims");
  mongoc_apm_callbacks_t* callbacks = mongoc_apm_callbacks_new();
  mongoc_apm_set_command_started_cb(callbacks, &MongoStore::on_command_started);
  mongoc_client_set_apm_callbacks(client_.get(), callbacks, this);
  mongoc_apm_callbacks_destroy(callbacks);

  BsonDoc ping(BCON_NEW("ping", BCON_INT32(1)));
  BsonReply reply;
  const bool ok = mongoc_client_command_simple(client_.get(), "admin", ping.get(), nullptr,
                                               reply.get(), &error);
  if (!ok)
    throw Error("cannot reach MongoDB at " + masked_ + ": " + error.message, ExitCode::unreachable);

  const char* uri_db = mongoc_uri_get_database(uri_.get());
  const char* db = uri_db && *uri_db ? uri_db : kDefaultDatabase;
  // mongodb://host1:port1,host2:port2/db: the servers and the database, no user or options.
  if (const char* srv = mongoc_uri_get_srv_hostname(uri_.get())) {
    identity_ = std::string("mongodb+srv://") + srv;
  } else {
    identity_ = "mongodb://";
    for (const mongoc_host_list_t* h = mongoc_uri_get_hosts(uri_.get()); h; h = h->next)
      identity_ += std::string(h != mongoc_uri_get_hosts(uri_.get()) ? "," : "") + h->host_and_port;
  }
  identity_ += std::string("/") + db;
  MongoWriteConcern wc(mongoc_write_concern_new());
  if (options.write_concern == "majority")
    mongoc_write_concern_set_wmajority(wc.get(), 0);
  else
    mongoc_write_concern_set_w(wc.get(), write_concern_nodes(options.write_concern));
  for (Plant p : kPlants) {
    auto& c = collections_[static_cast<std::size_t>(p)];
    c.reset(mongoc_client_get_collection(client_.get(), db, collection_of(p).c_str()));
    mongoc_collection_set_write_concern(c.get(), wc.get());
    if (!options.read_only) ensure_unique_index(p);
  }
  positions_.reset(mongoc_client_get_collection(client_.get(), db, kPositions));
  mongoc_collection_set_write_concern(positions_.get(), wc.get());
  guard_.reset(mongoc_client_get_collection(client_.get(), db, kGuard));
  mongoc_collection_set_write_concern(guard_.get(), wc.get());
  if (!options.read_only) {
    // For expire_markers(): only markers have deleted_at, so a sparse index holds markers only.
    BsonDoc command(BCON_NEW("createIndexes", BCON_UTF8(kGuard), "indexes", "[", "{", "key", "{",
                             "deleted_at", BCON_INT32(1), "}", "name", BCON_UTF8("deleted_at_1"),
                             "sparse", BCON_BOOL(true), "}", "]"));
    BsonReply reply;
    if (!mongoc_collection_write_command_with_opts(guard_.get(), command.get(), nullptr,
                                                   reply.get(), &error))
      log::warn("store " + masked_ + ": no index on deleted_at in " + kGuard + " (" +
                error.message + "): expiring delete markers scans the collection");
  }
}

void MongoStore::ensure_unique_index(Plant plant) {
  mongoc_collection_t* c = collections_[static_cast<std::size_t>(plant)].get();
  BsonDoc command(BCON_NEW("createIndexes", BCON_UTF8(mongoc_collection_get_name(c)), "indexes",
                           "[", "{", "key", "{", "id", BCON_INT32(1), "}", "name",
                           BCON_UTF8("id_1"), "unique", BCON_BOOL(true), "}", "]"));
  bson_error_t error;
  BsonReply reply;
  const bool ok =
      mongoc_collection_write_command_with_opts(c, command.get(), nullptr, reply.get(), &error);
  unique_index_[static_cast<std::size_t>(plant)] = ok;
  if (!ok)
    log::warn("store " + masked_ + ": no unique index on id in " + mongoc_collection_get_name(c) +
              " (" + error.message +
              "): lookups scan the collection, and writes fall back to one guarded "
              "replace-or-insert at a time, which is slower and not atomic: two consumers "
              "writing the same id could both insert it");
}

void MongoStore::fail(const bson_error_t& error, const std::string& what) const {
  std::string message = "store " + masked_ + ": " + what + ": " + error.message;
  if (is_transient(error)) throw TransientError(message);
  throw Error(message);
}

std::optional<ImageRecord> MongoStore::get(Plant plant, std::int64_t id) {
  mongoc_collection_t* c = collections_[static_cast<std::size_t>(plant)].get();
  BsonDoc filter = make_doc();
  detail::append_id_filter(filter.get(), id);
  BsonDoc opts(BCON_NEW("limit", BCON_INT64(1)));
  MongoCursor cursor(mongoc_collection_find_with_opts(c, filter.get(), opts.get(), nullptr));
  const bson_t* doc = nullptr;
  std::optional<ImageRecord> found;
  if (mongoc_cursor_next(cursor.get(), &doc)) {
    std::string error;
    found = detail::read_record(doc, error);
    if (!found)
      throw Error("store " + masked_ + ": " + std::string(plant_name(plant)) + " " +
                  std::to_string(id) + ": " + error);
  }
  bson_error_t error;
  if (mongoc_cursor_error(cursor.get(), &error)) fail(error, "reading");
  return found;
}

std::int64_t MongoStore::count(Plant plant) {
  mongoc_collection_t* c = collections_[static_cast<std::size_t>(plant)].get();
  BsonDoc filter = make_doc();
  bson_error_t error;
  std::int64_t n =
      mongoc_collection_count_documents(c, filter.get(), nullptr, nullptr, nullptr, &error);
  if (n < 0) fail(error, "counting");
  return n;
}

void MongoStore::scan_after(Plant plant, CopyPosition after,
                            const std::function<bool(ImageRecord&&)>& visit) {
  mongoc_collection_t* c = collections_[static_cast<std::size_t>(plant)].get();
  BsonDoc pipeline = make_doc();
  bson_t stages;
  BSON_APPEND_ARRAY_BEGIN(pipeline.get(), "pipeline", &stages);
  detail::append_scan_stages(&stages, after);
  bson_append_array_end(pipeline.get(), &stages);
  // The sort holds whole records (a full copy is far past $sort's 100 MB memory limit), so it
  // may spill to disk; batches of kScanBatch keep each reply, and our memory, small.
  BsonDoc opts(BCON_NEW("allowDiskUse", BCON_BOOL(true), "batchSize", BCON_INT32(kScanBatch)));
  MongoCursor cursor(
      mongoc_collection_aggregate(c, MONGOC_QUERY_NONE, pipeline.get(), opts.get(), nullptr));
  const bson_t* doc = nullptr;
  while (mongoc_cursor_next(cursor.get(), &doc)) {
    std::string error;
    auto record = detail::read_record(doc, error);
    if (!record) throw Error("store " + masked_ + ": " + error);
    if (!visit(std::move(*record))) return;
  }
  bson_error_t error;
  if (mongoc_cursor_error(cursor.get(), &error)) fail(error, "scanning");
}

std::optional<CopyPosition> MongoStore::load_position(const std::string& key) {
  BsonDoc filter(BCON_NEW("_id", BCON_UTF8(key.c_str())));
  MongoCursor cursor(
      mongoc_collection_find_with_opts(positions_.get(), filter.get(), nullptr, nullptr));
  const bson_t* doc = nullptr;
  std::optional<CopyPosition> found;
  if (mongoc_cursor_next(cursor.get(), &doc)) {
    bson_iter_t version, id;
    if (!bson_iter_init_find(&version, doc, "version") || !BSON_ITER_HOLDS_INT64(&version) ||
        !bson_iter_init_find(&id, doc, "id") || !BSON_ITER_HOLDS_INT64(&id))
      throw Error("store " + masked_ + ": " + kPositions + " '" + key +
                  "': expected int64 fields version and id");
    found = CopyPosition{bson_iter_int64(&version), bson_iter_int64(&id)};
  }
  bson_error_t error;
  if (mongoc_cursor_error(cursor.get(), &error)) fail(error, "reading the copy position");
  return found;
}

void MongoStore::save_position(const std::string& key, CopyPosition position) {
  BsonDoc filter(BCON_NEW("_id", BCON_UTF8(key.c_str())));
  BsonDoc doc(BCON_NEW("_id", BCON_UTF8(key.c_str()), "version", BCON_INT64(position.version), "id",
                       BCON_INT64(position.id)));
  BsonDoc opts(BCON_NEW("upsert", BCON_BOOL(true)));
  bson_error_t error;
  if (!mongoc_collection_replace_one(positions_.get(), filter.get(), doc.get(), opts.get(), nullptr,
                                     &error))
    fail(error, "saving the copy position");
}

std::vector<ImageRecord> MongoStore::latest(Plant plant, std::size_t n) {
  std::vector<ImageRecord> out;
  if (n == 0) return out;
  mongoc_collection_t* c = collections_[static_cast<std::size_t>(plant)].get();
  // Newest first by version (updated_at, else created_at), which a plain sort cannot express;
  // data is dropped first, on the server. ($addFields rather than its alias $set, which
  // mongo-java-server lacks.)
  const auto limit = static_cast<std::int64_t>(std::min<std::size_t>(n, INT32_MAX));
  BsonDoc pipeline(BCON_NEW("pipeline", "[", "{", "$project", "{", "data", BCON_INT32(0), "}", "}",
                            "{", "$addFields", "{", "lims_version", "{", "$ifNull", "[",
                            BCON_UTF8("$updated_at"), BCON_UTF8("$created_at"), "]", "}", "}", "}",
                            "{", "$sort", "{", "lims_version", BCON_INT32(-1), "id", BCON_INT32(-1),
                            "}", "}", "{", "$limit", BCON_INT64(limit), "}", "]"));
  MongoCursor cursor(
      mongoc_collection_aggregate(c, MONGOC_QUERY_NONE, pipeline.get(), nullptr, nullptr));
  const bson_t* doc = nullptr;
  static const std::uint8_t kNoBytes = 0;
  while (mongoc_cursor_next(cursor.get(), &doc)) {
    // read_record() wants every LIMS field: give it an empty data in place of the dropped one.
    BsonDoc with_data(bson_copy(doc));
    BSON_APPEND_BINARY(with_data.get(), "data", BSON_SUBTYPE_BINARY, &kNoBytes, 0);
    std::string error;
    auto record = detail::read_record(with_data.get(), error);
    if (!record) throw Error("store " + masked_ + ": " + error);
    out.push_back(std::move(*record));
  }
  bson_error_t error;
  if (mongoc_cursor_error(cursor.get(), &error)) fail(error, "listing");
  return out;
}

void MongoStore::on_command_started(const mongoc_apm_command_started_t* event) {
  auto* self = static_cast<MongoStore*>(mongoc_apm_command_started_get_context(event));
  const std::string_view name = mongoc_apm_command_started_get_command_name(event);
  const auto at = self->commands_sent_.find(name);
  if (at != self->commands_sent_.end())
    ++at->second;
  else
    self->commands_sent_.emplace(name, 1);
}

}  // namespace lims::store
