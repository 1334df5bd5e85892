// MongoStore's writes: what each write does (plan), then the guard's bulk write, then one
// unordered bulk write per image collection.

#include <algorithm>
#include <cstdint>

#include "store/mongo_bson.hpp"
#include "store/mongo_store.hpp"

namespace lims::store {
namespace {}  // namespace

std::vector<WriteResult> MongoStore::apply(std::span<const Write> writes) {
  maybe_expire_markers();
  std::vector<WriteResult> results(writes.size());
  const std::vector<KeyState> states = read_states(writes);
  std::vector<Plan> plans(writes.size());
  for (std::size_t i = 0; i < writes.size(); ++i) plans[i] = plan(writes[i], states[i], results[i]);
  // The guard first: an upsert that lims_guard refuses (a delete marker as new as it) never
  // reaches the image collection, and a marker is in place before its record goes.
  write_guard(writes, plans, results);
  for (Plant p : kPlants) {
    std::vector<std::size_t> which;
    for (std::size_t i = 0; i < writes.size(); ++i)
      if (writes[i].plant == p && plans[i].image != Plan::Image::none) which.push_back(i);
    if (!which.empty()) apply_plant(p, writes, plans, which, results);
  }
  return results;
}

MongoStore::Plan MongoStore::plan(const Write& w, const KeyState& state, WriteResult& result) {
  const std::size_t bytes = w.upsert ? document_bytes(*w.upsert) : 0;
  const bool oversized = bytes > kMaxDocumentBytes;
  if (oversized) result = {Outcome::failed, too_large(bytes)};  // its delete still goes
  const ImageRecord* upsert = oversized ? nullptr : w.upsert;
  auto set = [&](Outcome outcome) {
    if (!oversized) result.outcome = outcome;
  };
  const Plan live{Plan::Guard::live, Plan::Image::upsert,
                  upsert ? detail::to_millis(upsert->version()) : 0};
  if (!w.delete_first) {
    if (!upsert) return {};
    set(Outcome::applied);
    return live;
  }
  const DeleteDecision decision = decide_delete(w, state, 1000);
  if (decision.refused) {
    result.delete_refused = true;
    set(upsert ? Outcome::applied : Outcome::stale);
    return upsert ? live : Plan{};
  }
  if (upsert && newer_than_marker(live.version, decision.marker)) {
    // Deleting and writing anew is one replace of whatever is stored (never newer than the
    // marker, which this upsert is newer than).
    set(Outcome::applied);
    return live;
  }
  set(upsert ? Outcome::stale : Outcome::deleted);
  if (!decision.marker) return {};  // nothing stored, nothing known
  return {Plan::Guard::marker, state.live ? Plan::Image::remove : Plan::Image::none,
          *decision.marker};
}

void MongoStore::apply_without_index(mongoc_collection_t* c, const Write& w, const Plan& plan,
                                     WriteResult& result) {
  bson_error_t error;
  if (plan.image == Plan::Image::remove) {
    BsonDoc bounded = make_doc();
    detail::append_guard_filter(bounded.get(), w.id, plan.version);
    if (!mongoc_collection_delete_many(c, bounded.get(), nullptr, nullptr, &error))
      fail(error, "deleting");
    return;
  }
  BsonDoc by_id = make_doc();
  detail::append_id_filter(by_id.get(), w.id);
  BsonDoc doc = make_doc();
  detail::append_record(doc.get(), *w.upsert);
  // Guarded replace first; if it matched nothing, insert only when the id is absent. Two
  // writers can interleave between the steps: that is what the missing index costs.
  BsonDoc guarded = make_doc();
  detail::append_guard_filter(guarded.get(), w.id, w.upsert->version());
  BsonReply reply;
  const bool ok =
      mongoc_collection_replace_one(c, guarded.get(), doc.get(), nullptr, reply.get(), &error);
  bson_iter_t it;
  const std::int64_t matched =
      ok && bson_iter_init_find(&it, reply.get(), "matchedCount") ? bson_iter_as_int64(&it) : 0;
  if (!ok) fail(error, "writing");
  if (matched > 0) return;
  const std::int64_t present =
      mongoc_collection_count_documents(c, by_id.get(), nullptr, nullptr, nullptr, &error);
  if (present < 0) fail(error, "counting");
  if (present > 0) {
    result.outcome = Outcome::stale;
    return;
  }
  if (!mongoc_collection_insert_one(c, doc.get(), nullptr, nullptr, &error))
    fail(error, "inserting");
}

void MongoStore::apply_plant(Plant plant, std::span<const Write> writes,
                             std::span<const Plan> plans, std::span<const std::size_t> which,
                             std::vector<WriteResult>& results) {
  mongoc_collection_t* c = collections_[static_cast<std::size_t>(plant)].get();
  if (!unique_index_[static_cast<std::size_t>(plant)]) {
    for (std::size_t i : which) apply_without_index(c, writes[i], plans[i], results[i]);
    return;
  }
  BsonDoc opts(BCON_NEW("ordered", BCON_BOOL(false)));
  MongoBulk bulk(mongoc_collection_create_bulk_operation_with_opts(c, opts.get()));
  std::vector<std::size_t> op_to_write;  // bulk op index -> write index
  bson_error_t error;
  // Removes first, then upserts: libmongoc sends each run of one kind of operation as one
  // command, so mixing them would cost a round trip per run. (Each key has one write in a batch,
  // so their order does not matter.)
  std::vector<std::size_t> ordered(which.begin(), which.end());
  std::stable_partition(ordered.begin(), ordered.end(),
                        [&](std::size_t i) { return plans[i].image == Plan::Image::remove; });
  for (std::size_t i : ordered) {
    const Write& w = writes[i];
    BsonDoc filter = make_doc();
    if (plans[i].image == Plan::Image::remove) {
      // Only what the marker covers: a record written since by another writer, newer, stays.
      detail::append_guard_filter(filter.get(), w.id, plans[i].version);
      if (!mongoc_bulk_operation_remove_one_with_opts(bulk.get(), filter.get(), nullptr, &error))
        fail(error, "queueing a delete");
      op_to_write.push_back(i);
      continue;
    }
    BsonDoc doc = make_doc();
    detail::append_record(doc.get(), *w.upsert);
    detail::append_guard_filter(filter.get(), w.id, w.upsert->version());
    BsonDoc upsert(BCON_NEW("upsert", BCON_BOOL(true)));
    if (!mongoc_bulk_operation_replace_one_with_opts(bulk.get(), filter.get(), doc.get(),
                                                     upsert.get(), &error))
      fail(error, "queueing a write");
    op_to_write.push_back(i);
  }
  BsonReply reply;
  const bool ok = mongoc_bulk_operation_execute(bulk.get(), reply.get(), &error);
  const bool any_write_error = read_write_errors(reply.get(), op_to_write, results);
  if (!ok && !any_write_error)
    fail(error, "writing to " + std::string(mongoc_collection_get_name(c)));
}

bool MongoStore::read_write_errors(const bson_t* reply, std::span<const std::size_t> op_to_write,
                                   std::vector<WriteResult>& results) {
  return detail::for_each_write_error(reply, op_to_write.size(), [&](const detail::WriteError& e) {
    WriteResult& r = results[op_to_write[static_cast<std::size_t>(e.index)]];
    // A guarded upsert that found a newer record tries to insert a second one; the unique
    // index refuses it. That is the guard saying "stale", not an error.
    if (e.code == detail::kDuplicateKey && r.outcome == Outcome::applied)
      r.outcome = Outcome::stale;
    else
      r = {Outcome::failed, "MongoDB error " + std::to_string(e.code) + ": " + e.message,
           r.delete_refused};
  });
}

}  // namespace lims::store
