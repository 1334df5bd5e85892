// MongoStore's side collection lims_guard: per key, the version lims last wrote and where its
// event came from, or a delete marker. The LIMS collections stay exactly LIMS-shaped.
//
//   {_id: "potato/9001", plant: "potato", id: 9001, version: DATE, min_version: DATE,
//    deleted: false, topic: "potato", partition: 0, offset: 41}           a record
//   {_id: "potato/9001", plant: "potato", id: 9001, version: DATE, min_version: DATE + 1 ms,
//    deleted: true, deleted_at: DATE}                                      a delete marker
//
// min_version is the least version an upsert needs to pass: the record's own (an equal one
// re-applies), or one millisecond past a marker's (it must be newer). Upserts are guarded on it
// by the server, marker writes on version; the reads before a batch's tombstones feed
// decide_delete().

#include <algorithm>
#include <unordered_map>

#include "common/time_units.hpp"
#include "store/mongo_bson.hpp"
#include "store/mongo_store.hpp"

namespace lims::store {
namespace {

std::string guard_key(Plant plant, std::int64_t id) {
  return std::string(plant_name(plant)) + "/" + std::to_string(id);
}

/// `t` (microseconds, at the millisecond) as a BSON date.
void append_date(bson_t* doc, const char* key, Micros t) {
  BSON_APPEND_DATE_TIME(doc, key, at_resolution(t, 1000) / 1000);
}

Micros read_date(const bson_iter_t* it) { return bson_iter_date_time(it) * 1000; }

/// {FIELD: {$in: [VALUES...]}}, the values appended by `each(list, index_key, i)`.
template <class Each>
BsonDoc in_filter(const char* field, std::size_t n, Each each) {
  BsonDoc filter = make_doc();
  bson_t cond, list;
  BSON_APPEND_DOCUMENT_BEGIN(filter.get(), field, &cond);
  BSON_APPEND_ARRAY_BEGIN(&cond, "$in", &list);
  for (std::size_t i = 0; i < n; ++i) each(&list, std::to_string(i).c_str(), i);
  bson_append_array_end(&cond, &list);
  bson_append_document_end(filter.get(), &cond);
  return filter;
}

/// What lims_guard holds for a key.
struct GuardDoc {
  Micros version = 0;
  bool deleted = false;
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
};

}  // namespace

std::vector<KeyState> MongoStore::read_states(std::span<const Write> writes) {
  std::vector<KeyState> states(writes.size());
  std::vector<std::size_t> deletes;
  for (std::size_t i = 0; i < writes.size(); ++i)
    if (writes[i].delete_first) deletes.push_back(i);
  if (deletes.empty()) return states;
  bson_error_t error;
  std::unordered_map<std::string, GuardDoc> guard;
  {
    BsonDoc filter =
        in_filter("_id", deletes.size(), [&](bson_t* list, const char* k, std::size_t i) {
          const Write& w = writes[deletes[i]];
          BSON_APPEND_UTF8(list, k, guard_key(w.plant, w.id).c_str());
        });
    MongoCursor cursor(
        mongoc_collection_find_with_opts(guard_.get(), filter.get(), nullptr, nullptr));
    const bson_t* doc = nullptr;
    while (mongoc_cursor_next(cursor.get(), &doc)) {
      bson_iter_t it;
      std::string key;
      GuardDoc g;
      if (!bson_iter_init(&it, doc)) continue;
      while (bson_iter_next(&it)) {
        const std::string_view field = bson_iter_key(&it);
        if (field == "_id" && BSON_ITER_HOLDS_UTF8(&it))
          key = bson_iter_utf8(&it, nullptr);
        else if (field == "version" && BSON_ITER_HOLDS_DATE_TIME(&it))
          g.version = read_date(&it);
        else if (field == "deleted" && BSON_ITER_HOLDS_BOOL(&it))
          g.deleted = bson_iter_bool(&it);
        else if (field == "topic" && BSON_ITER_HOLDS_UTF8(&it))
          g.topic = bson_iter_utf8(&it, nullptr);
        else if (field == "partition" && BSON_ITER_HOLDS_NUMBER(&it))
          g.partition = static_cast<std::int32_t>(bson_iter_as_int64(&it));
        else if (field == "offset" && BSON_ITER_HOLDS_NUMBER(&it))
          g.offset = bson_iter_as_int64(&it);
      }
      guard[key] = std::move(g);
    }
    if (mongoc_cursor_error(cursor.get(), &error)) fail(error, "reading lims_guard");
  }
  // The stored records' versions, from the LIMS collections themselves: a record lims did not
  // write (no guard document) is deleted with its own version in the marker all the same.
  for (Plant p : kPlants) {
    std::vector<std::int64_t> ids;
    for (std::size_t i : deletes)
      if (writes[i].plant == p) ids.push_back(writes[i].id);
    if (ids.empty()) continue;
    BsonDoc filter = in_filter("id", ids.size(), [&](bson_t* list, const char* k, std::size_t i) {
      BSON_APPEND_INT64(list, k, ids[i]);
    });
    BsonDoc opts(BCON_NEW("projection", "{", "_id", BCON_INT32(0), "id", BCON_INT32(1),
                          "created_at", BCON_INT32(1), "updated_at", BCON_INT32(1), "}"));
    MongoCursor cursor(mongoc_collection_find_with_opts(
        collections_[static_cast<std::size_t>(p)].get(), filter.get(), opts.get(), nullptr));
    std::unordered_map<std::int64_t, Micros> live;
    const bson_t* doc = nullptr;
    while (mongoc_cursor_next(cursor.get(), &doc)) {
      bson_iter_t it;
      std::optional<std::int64_t> id;
      std::optional<Micros> created, updated;
      if (!bson_iter_init(&it, doc)) continue;
      while (bson_iter_next(&it)) {
        const std::string_view field = bson_iter_key(&it);
        if (field == "id" && BSON_ITER_HOLDS_NUMBER(&it))
          id = bson_iter_as_int64(&it);
        else if (field == "created_at" && BSON_ITER_HOLDS_DATE_TIME(&it))
          created = read_date(&it);
        else if (field == "updated_at" && BSON_ITER_HOLDS_DATE_TIME(&it))
          updated = read_date(&it);
      }
      if (id && (updated || created)) {
        const Micros v = updated ? *updated : *created;
        auto [at, fresh] = live.try_emplace(*id, v);
        if (!fresh) at->second = std::max(at->second, v);  // duplicates without the unique index
      }
    }
    if (mongoc_cursor_error(cursor.get(), &error)) fail(error, "reading versions");
    for (std::size_t i : deletes) {
      if (writes[i].plant != p) continue;
      KeyState& s = states[i];
      if (auto at = live.find(writes[i].id); at != live.end()) s.live = at->second;
      const auto g = guard.find(guard_key(p, writes[i].id));
      if (g == guard.end()) continue;
      if (g->second.deleted) s.marker = g->second.version;
      // The position holds only for the version it was written with: a record someone else
      // wrote since has no known position.
      else if (s.live && *s.live == g->second.version && !g->second.topic.empty()) {
        s.topic = g->second.topic;
        s.partition = g->second.partition;
        s.offset = g->second.offset;
      }
    }
  }
  return states;
}

void MongoStore::write_guard(std::span<const Write> writes, std::vector<Plan>& plans,
                             std::vector<WriteResult>& results) {
  BsonDoc opts(BCON_NEW("ordered", BCON_BOOL(false)));
  MongoBulk bulk(mongoc_collection_create_bulk_operation_with_opts(guard_.get(), opts.get()));
  BsonDoc upsert(BCON_NEW("upsert", BCON_BOOL(true)));
  std::vector<std::size_t> op_to_write;
  bson_error_t error;
  const Micros now = wall_clock_micros();
  for (std::size_t i = 0; i < writes.size(); ++i) {
    const Plan& plan = plans[i];
    if (plan.guard == Plan::Guard::none) continue;
    const Write& w = writes[i];
    const bool live = plan.guard == Plan::Guard::live;
    const std::string key = guard_key(w.plant, w.id);
    // Live: the stored record (or marker) lets this version in. Marker: what it deletes is not
    // newer than the marker. Either way the upsert meets the _id of a newer state and fails
    // with a duplicate key: the guard's "stale".
    BsonDoc filter = make_doc();
    BSON_APPEND_UTF8(filter.get(), "_id", key.c_str());
    bson_t cond, set, unset;
    BSON_APPEND_DOCUMENT_BEGIN(filter.get(), live ? "min_version" : "version", &cond);
    append_date(&cond, "$lte", plan.version);
    bson_append_document_end(filter.get(), &cond);
    BsonDoc update = make_doc();
    BSON_APPEND_DOCUMENT_BEGIN(update.get(), "$set", &set);
    BSON_APPEND_UTF8(&set, "plant", std::string(plant_name(w.plant)).c_str());
    detail::append_id_filter(&set, w.id);
    append_date(&set, "version", plan.version);
    append_date(&set, "min_version", live ? plan.version : plan.version + 1000);
    BSON_APPEND_BOOL(&set, "deleted", !live);
    const bool source = live && w.source.known();
    if (source) {
      bson_append_utf8(&set, "topic", -1, w.source.topic.data(),
                       static_cast<int>(w.source.topic.size()));
      BSON_APPEND_INT32(&set, "partition", w.source.partition);
      BSON_APPEND_INT64(&set, "offset", w.source.offset);
    }
    if (!live) append_date(&set, "deleted_at", at_resolution(now, 1000));
    bson_append_document_end(update.get(), &set);
    BSON_APPEND_DOCUMENT_BEGIN(update.get(), "$unset", &unset);
    if (!source)
      for (const char* field : {"topic", "partition", "offset"})
        BSON_APPEND_UTF8(&unset, field, "");
    if (live) BSON_APPEND_UTF8(&unset, "deleted_at", "");
    bson_append_document_end(update.get(), &unset);
    if (!mongoc_bulk_operation_update_one_with_opts(bulk.get(), filter.get(), update.get(),
                                                    upsert.get(), &error))
      fail(error, "queueing a guard write");
    op_to_write.push_back(i);
  }
  if (op_to_write.empty()) return;
  BsonReply reply;
  const bool ok = mongoc_bulk_operation_execute(bulk.get(), reply.get(), &error);
  const bool any_write_error = detail::for_each_write_error(
      reply.get(), op_to_write.size(), [&](const detail::WriteError& e) {
        const std::size_t i = op_to_write[static_cast<std::size_t>(e.index)];
        plans[i].image = Plan::Image::none;
        WriteResult& r = results[i];
        if (e.code == detail::kDuplicateKey) {  // the guard refused: something newer is stored
          if (r.outcome != Outcome::failed) r.outcome = Outcome::stale;
          if (writes[i].delete_first) r.delete_refused = true;
        } else {
          r = {Outcome::failed, "MongoDB error " + std::to_string(e.code) + ": " + e.message,
               r.delete_refused};
        }
      });
  if (!ok && !any_write_error) fail(error, "writing to lims_guard");
}

std::size_t MongoStore::expire_markers(Micros now) {
  BsonDoc filter = make_doc();
  BSON_APPEND_BOOL(filter.get(), "deleted", true);
  bson_t cond;
  BSON_APPEND_DOCUMENT_BEGIN(filter.get(), "deleted_at", &cond);
  append_date(&cond, "$lt", now - marker_retention_);
  bson_append_document_end(filter.get(), &cond);
  BsonReply reply;
  bson_error_t error;
  if (!mongoc_collection_delete_many(guard_.get(), filter.get(), nullptr, reply.get(), &error))
    fail(error, "expiring delete markers");
  bson_iter_t it;
  return bson_iter_init_find(&it, reply.get(), "deletedCount")
             ? static_cast<std::size_t>(bson_iter_as_int64(&it))
             : 0;
}

void MongoStore::maybe_expire_markers() {
  const Micros now = wall_clock_micros();
  if (now - last_expiry_ < marker_expiry_interval(marker_retention_)) return;
  expire_markers(now);
  last_expiry_ = now;
}

}  // namespace lims::store
