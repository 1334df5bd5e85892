#pragma once
// Internal to core/store: an ImageRecord as LIMS keeps it in MongoDB, and back.

#include <bson/bson.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "model/image.hpp"
#include "store/image_store.hpp"

namespace lims::store::detail {

/// BSON dates have millisecond precision: LIMS's documents keep times to the millisecond.
Micros to_millis(Micros t);

/// Appends the record's fields, field for field and type for type as LIMS stores them: ints as
/// int32 when they fit (as Python's driver writes them), data as BinData 0, times as dates,
/// gps_coordinates as two doubles, nulls as nulls. No _id and no bookkeeping fields.
void append_record(bson_t* doc, const ImageRecord& record);

/// Reads a stored document; nullopt and `error` set when a field is missing or mistyped.
std::optional<ImageRecord> read_record(const bson_t* doc, std::string& error);

/// {id: ID}
void append_id_filter(bson_t* filter, std::int64_t id);

/// {id: ID, $or: [{updated_at: {$lte: V}}, {updated_at: null, created_at: {$lte: V}}]}: the
/// stored record is not newer than version V. Together with the unique index on id, an upsert
/// with this filter replaces an older record and fails with a duplicate key for a newer one.
void append_guard_filter(bson_t* filter, std::int64_t id, Micros version);

/// The aggregation stages that list a collection's records after `after` in (version, id)
/// order: version computed as lims_version (updated_at, else created_at), then sorted.
void append_scan_stages(bson_t* pipeline, CopyPosition after);

/// MongoDB's code for a duplicate key: a guarded upsert that met a newer document.
inline constexpr std::int64_t kDuplicateKey = 11000;

/// One entry of a bulk write reply's writeErrors.
struct WriteError {
  std::int64_t index = -1;  // the operation's index in the bulk
  std::int64_t code = 0;
  std::string message;
};

/// Calls `each` for every entry of `reply`'s writeErrors whose index is in [0, ops); returns
/// whether there was any.
bool for_each_write_error(const bson_t* reply, std::size_t ops,
                          const std::function<void(const WriteError&)>& each);

}  // namespace lims::store::detail
