#include "store/mongo_bson.hpp"

#include <limits>
#include <string>

#include "store/image_store.hpp"

namespace lims::store::detail {
namespace {

void append_int(bson_t* doc, const char* key, std::int64_t v) {
  if (v >= std::numeric_limits<std::int32_t>::min() &&
      v <= std::numeric_limits<std::int32_t>::max())
    BSON_APPEND_INT32(doc, key, static_cast<std::int32_t>(v));
  else
    BSON_APPEND_INT64(doc, key, v);
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && (a < 0)); }

void append_date(bson_t* doc, const char* key, Micros t) {
  BSON_APPEND_DATE_TIME(doc, key, floor_div(t, 1000));
}

bool read_int(bson_iter_t* it, std::int64_t& out) {
  if (BSON_ITER_HOLDS_INT32(it))
    out = bson_iter_int32(it);
  else if (BSON_ITER_HOLDS_INT64(it))
    out = bson_iter_int64(it);
  else
    return false;
  return true;
}

bool read_time(bson_iter_t* it, std::optional<Micros>& out, bool nullable) {
  if (nullable && BSON_ITER_HOLDS_NULL(it)) {
    out.reset();
    return true;
  }
  if (!BSON_ITER_HOLDS_DATE_TIME(it)) return false;
  out = bson_iter_date_time(it) * 1000;
  return true;
}

bool read_gps(bson_iter_t* it, ImageRecord& r) {
  bson_iter_t arr;
  if (!BSON_ITER_HOLDS_ARRAY(it) || !bson_iter_recurse(it, &arr)) return false;
  double xy[2];
  int n = 0;
  while (bson_iter_next(&arr)) {
    if (n == 2 || !BSON_ITER_HOLDS_NUMBER(&arr)) return false;
    xy[n++] = bson_iter_as_double(&arr);
  }
  if (n != 2) return false;
  r.latitude = xy[0];
  r.longitude = xy[1];
  return true;
}

/// Reads one field into `r`; false if its type is not what LIMS stores there.
bool read_field(std::string_view key, bson_iter_t* it, ImageRecord& r, unsigned& seen) {
  auto mark = [&](unsigned bit) { seen |= 1u << bit; };
  if (key == "id") return mark(0), read_int(it, r.id);
  if (key == "camera_id") return mark(1), read_int(it, r.camera_id);
  if (key == "data") {
    mark(2);
    if (!BSON_ITER_HOLDS_BINARY(it)) return false;
    bson_subtype_t subtype;
    std::uint32_t len = 0;
    const std::uint8_t* bytes = nullptr;
    bson_iter_binary(it, &subtype, &len, &bytes);
    r.data.assign(bytes, bytes + len);
    return subtype == BSON_SUBTYPE_BINARY;
  }
  if (key == "gps_coordinates") return mark(3), read_gps(it, r);
  if (key == "created_at") {
    mark(4);
    std::optional<Micros> t;
    if (!read_time(it, t, false)) return false;
    r.created_at = *t;
    return true;
  }
  if (key == "updated_at") return mark(5), read_time(it, r.updated_at, true);
  if (key == "is_active" || key == "is_deleted") {
    mark(key == "is_active" ? 6 : 7);
    if (!BSON_ITER_HOLDS_BOOL(it)) return false;
    (key == "is_active" ? r.is_active : r.is_deleted) = bson_iter_bool(it);
    return true;
  }
  if (key == "disease") {
    mark(8);
    if (BSON_ITER_HOLDS_NULL(it)) return r.disease.reset(), true;
    if (!BSON_ITER_HOLDS_UTF8(it)) return false;
    std::uint32_t len = 0;
    const char* s = bson_iter_utf8(it, &len);
    r.disease.emplace(s, len);
    return true;
  }
  if (key == "percentage") {
    mark(9);
    if (BSON_ITER_HOLDS_NULL(it)) return r.percentage.reset(), true;
    if (!BSON_ITER_HOLDS_NUMBER(it)) return false;
    r.percentage = bson_iter_as_double(it);
    return true;
  }
  return true;  // _id and anything else LIMS may add
}

void append_version_condition(bson_t* filter, const char* op, Micros version) {
  bson_t any, newer_update, no_update;
  BSON_APPEND_ARRAY_BEGIN(filter, "$or", &any);
  BSON_APPEND_DOCUMENT_BEGIN(&any, "0", &newer_update);
  bson_t cmp;
  BSON_APPEND_DOCUMENT_BEGIN(&newer_update, "updated_at", &cmp);
  append_date(&cmp, op, version);
  bson_append_document_end(&newer_update, &cmp);
  bson_append_document_end(&any, &newer_update);
  BSON_APPEND_DOCUMENT_BEGIN(&any, "1", &no_update);
  BSON_APPEND_NULL(&no_update, "updated_at");
  BSON_APPEND_DOCUMENT_BEGIN(&no_update, "created_at", &cmp);
  append_date(&cmp, op, version);
  bson_append_document_end(&no_update, &cmp);
  bson_append_document_end(&any, &no_update);
  bson_append_array_end(filter, &any);
}

}  // namespace

Micros to_millis(Micros t) { return floor_div(t, 1000) * 1000; }

void append_record(bson_t* doc, const ImageRecord& r) {
  append_int(doc, "id", r.id);
  append_int(doc, "camera_id", r.camera_id);
  BSON_APPEND_BINARY(doc, "data", BSON_SUBTYPE_BINARY, r.data.data(),
                     static_cast<std::uint32_t>(r.data.size()));
  bson_t gps;
  BSON_APPEND_ARRAY_BEGIN(doc, "gps_coordinates", &gps);
  BSON_APPEND_DOUBLE(&gps, "0", r.latitude);
  BSON_APPEND_DOUBLE(&gps, "1", r.longitude);
  bson_append_array_end(doc, &gps);
  append_date(doc, "created_at", r.created_at);
  if (r.updated_at)
    append_date(doc, "updated_at", *r.updated_at);
  else
    BSON_APPEND_NULL(doc, "updated_at");
  BSON_APPEND_BOOL(doc, "is_active", r.is_active);
  BSON_APPEND_BOOL(doc, "is_deleted", r.is_deleted);
  if (r.disease)
    bson_append_utf8(doc, "disease", -1, r.disease->data(), static_cast<int>(r.disease->size()));
  else
    BSON_APPEND_NULL(doc, "disease");
  if (r.percentage)
    BSON_APPEND_DOUBLE(doc, "percentage", *r.percentage);
  else
    BSON_APPEND_NULL(doc, "percentage");
}

std::optional<ImageRecord> read_record(const bson_t* doc, std::string& error) {
  static const char* const kFields[] = {"id",         "camera_id",  "data",      "gps_coordinates",
                                        "created_at", "updated_at", "is_active", "is_deleted",
                                        "disease",    "percentage"};
  ImageRecord r;
  unsigned seen = 0;
  bson_iter_t it;
  if (!bson_iter_init(&it, doc)) return error = "not a BSON document", std::nullopt;
  while (bson_iter_next(&it)) {
    std::string_view key = bson_iter_key(&it);
    if (!read_field(key, &it, r, seen)) {
      error = "field " + std::string(key) + " has an unexpected BSON type";
      return std::nullopt;
    }
  }
  for (unsigned i = 0; i < 10; ++i)
    if (!(seen & (1u << i)))
      return error = std::string("field ") + kFields[i] + " is missing", std::nullopt;
  return r;
}

void append_id_filter(bson_t* filter, std::int64_t id) { append_int(filter, "id", id); }

void append_guard_filter(bson_t* filter, std::int64_t id, Micros version) {
  append_id_filter(filter, id);
  append_version_condition(filter, "$lte", version);
}

void append_scan_stages(bson_t* pipeline, CopyPosition after) {
  const bool from_start = after == CopyPosition{};
  int stage = 0;
  auto next = [&](bson_t* child) {
    const std::string key = std::to_string(stage++);
    BSON_APPEND_DOCUMENT_BEGIN(pipeline, key.c_str(), child);
  };
  bson_t s, body, inner, list;
  if (!from_start) {  // versions at least the position's: a filter the indexes can serve
    next(&s);
    BSON_APPEND_DOCUMENT_BEGIN(&s, "$match", &body);
    append_version_condition(&body, "$gte", after.version);
    bson_append_document_end(&s, &body);
    bson_append_document_end(pipeline, &s);
  }
  // The version as lims_version, which a plain sort cannot express. ($addFields rather than its
  // alias $set, which mongo-java-server lacks.)
  next(&s);
  BSON_APPEND_DOCUMENT_BEGIN(&s, "$addFields", &body);
  BSON_APPEND_DOCUMENT_BEGIN(&body, "lims_version", &inner);
  BSON_APPEND_ARRAY_BEGIN(&inner, "$ifNull", &list);
  BSON_APPEND_UTF8(&list, "0", "$updated_at");
  BSON_APPEND_UTF8(&list, "1", "$created_at");
  bson_append_array_end(&inner, &list);
  bson_append_document_end(&body, &inner);
  bson_append_document_end(&s, &body);
  bson_append_document_end(pipeline, &s);
  if (!from_start) {  // strictly after (version, id)
    next(&s);
    BSON_APPEND_DOCUMENT_BEGIN(&s, "$match", &body);
    bson_t any, later, same, cmp;
    BSON_APPEND_ARRAY_BEGIN(&body, "$or", &any);
    BSON_APPEND_DOCUMENT_BEGIN(&any, "0", &later);
    BSON_APPEND_DOCUMENT_BEGIN(&later, "lims_version", &cmp);
    append_date(&cmp, "$gt", after.version);
    bson_append_document_end(&later, &cmp);
    bson_append_document_end(&any, &later);
    BSON_APPEND_DOCUMENT_BEGIN(&any, "1", &same);
    append_date(&same, "lims_version", after.version);
    BSON_APPEND_DOCUMENT_BEGIN(&same, "id", &cmp);
    BSON_APPEND_INT64(&cmp, "$gt", after.id);
    bson_append_document_end(&same, &cmp);
    bson_append_document_end(&any, &same);
    bson_append_array_end(&body, &any);
    bson_append_document_end(&s, &body);
    bson_append_document_end(pipeline, &s);
  }
  next(&s);
  BSON_APPEND_DOCUMENT_BEGIN(&s, "$sort", &body);
  BSON_APPEND_INT32(&body, "lims_version", 1);
  BSON_APPEND_INT32(&body, "id", 1);
  bson_append_document_end(&s, &body);
  bson_append_document_end(pipeline, &s);
}

bool for_each_write_error(const bson_t* reply, std::size_t ops,
                          const std::function<void(const WriteError&)>& each) {
  bson_iter_t it, errors;
  bool any = false;
  if (!bson_iter_init_find(&it, reply, "writeErrors") || !bson_iter_recurse(&it, &errors))
    return false;
  while (bson_iter_next(&errors)) {
    bson_iter_t e;
    WriteError error;
    if (!bson_iter_recurse(&errors, &e)) continue;
    while (bson_iter_next(&e)) {
      const std::string_view key = bson_iter_key(&e);
      if (key == "index")
        error.index = bson_iter_as_int64(&e);
      else if (key == "code")
        error.code = bson_iter_as_int64(&e);
      else if (key == "errmsg" && BSON_ITER_HOLDS_UTF8(&e))
        error.message = bson_iter_utf8(&e, nullptr);
    }
    if (error.index < 0 || error.index >= static_cast<std::int64_t>(ops)) continue;
    any = true;
    each(error);
  }
  return any;
}

}  // namespace lims::store::detail

namespace lims::store {

std::size_t document_bytes(const ImageRecord& r) {
  // The length append_record() produces, without building the document (and copying the image):
  // each element is a type byte, its key with a NUL, and its value.
  auto element = [](std::size_t key_len, std::size_t value_len) {
    return 1 + key_len + 1 + value_len;
  };
  auto int_bytes = [](std::int64_t v) {
    return v >= std::numeric_limits<std::int32_t>::min() &&
                   v <= std::numeric_limits<std::int32_t>::max()
               ? 4
               : 8;
  };
  constexpr std::size_t kGps = 4 + 2 * (1 + 2 + 8) + 1;  // {"0": double, "1": double}
  return 4 + element(2, int_bytes(r.id)) + element(9, int_bytes(r.camera_id)) +
         element(4, 4 + 1 + r.data.size()) + element(15, kGps) + element(10, 8) +
         element(10, r.updated_at ? 8 : 0) + element(9, 1) + element(10, 1) +
         element(7, r.disease ? 4 + r.disease->size() + 1 : 0) + element(10, r.percentage ? 8 : 0) +
         1;
}

}  // namespace lims::store
