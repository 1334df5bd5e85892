#include "codec/record_fields.hpp"

#include <optional>
#include <string>
#include <utility>

#include "codec/json_read.hpp"

namespace lims::codec::detail {
namespace {

// A nullable field: null resets `out`; anything else must satisfy `read`.
template <class T, class Read>
Problem read_nullable(od::value& v, std::optional<T>& out, std::string_view expected, Read read) {
  bool is_null = false;
  if (v.is_null().get(is_null) != simdjson::SUCCESS) return expected_got(expected, found(v));
  if (is_null) {
    out.reset();
    return std::nullopt;
  }
  T value{};
  if (Problem p = read(v, value)) return p;
  out = std::move(value);
  return std::nullopt;
}

Problem read_disease(od::value& v, std::optional<std::string>& out) {
  const std::string_view expected = kExpected[kDisease];
  return read_nullable(v, out, expected, [&](od::value& s, std::string& disease) -> Problem {
    std::string_view text;
    if (Problem p = read_string(s, text, expected)) return p;
    disease.assign(text);
    return std::nullopt;
  });
}

Problem read_percentage(od::value& v, std::optional<double>& out) {
  const std::string_view expected = kExpected[kPercentage];
  return read_nullable(v, out, expected, [&](od::value& n, double& x) -> Problem {
    const std::string_view raw = n.raw_json_token();
    if (Problem p = read_double(n, x, expected)) return p;
    if (x < 0 || x > 1) return expected_got(expected, snippet(raw));
    return std::nullopt;
  });
}

Problem read_updated_at(od::value& v, std::optional<Micros>& out) {
  const std::string_view expected = kExpected[kUpdatedAt];
  return read_nullable(v, out, expected, [&](od::value& t, Micros& micros) {
    return read_time(t, micros, expected);
  });
}

}  // namespace

Problem read_field(unsigned field, od::value& v, ImageRecord& r) {
  switch (field) {
    case kId: return read_int(v, 1, r.id, kExpected[kId]);
    case kCameraId: return read_int(v, 0, r.camera_id, kExpected[kCameraId]);
    case kData: return read_data(v, r.data, kExpected[kData]);
    case kGps: return read_gps(v, r.latitude, r.longitude, kExpected[kGps]);
    case kCreatedAt: return read_time(v, r.created_at, kExpected[kCreatedAt]);
    case kUpdatedAt: return read_updated_at(v, r.updated_at);
    case kIsActive: return read_bool(v, r.is_active, kExpected[kIsActive]);
    case kIsDeleted: return read_bool(v, r.is_deleted, kExpected[kIsDeleted]);
    case kDisease: return read_disease(v, r.disease);
    case kPercentage: return read_percentage(v, r.percentage);
    default: return std::nullopt;
  }
}

}  // namespace lims::codec::detail
