#pragma once
// Internal to the codec: the fields of a LIMS image event, what each must hold, and how each is
// read into an ImageRecord.

#include <array>
#include <string_view>

#include "codec/diagnostics.hpp"
#include "model/image.hpp"

namespace lims::codec::detail {

enum FieldId : unsigned {
  kId,
  kCameraId,
  kData,
  kGps,
  kCreatedAt,
  kUpdatedAt,
  kIsActive,
  kIsDeleted,
  kDisease,
  kPercentage,
  kFieldCount
};

/// Every field's JSON name, by FieldId.
inline constexpr std::array<std::string_view, kFieldCount> kFieldNames{
    "id",         "camera_id", "data",       "gps_coordinates", "created_at",
    "updated_at", "is_active", "is_deleted", "disease",         "percentage"};

/// What every field must hold, by FieldId, as a message's "expected ..." part.
inline constexpr std::array<std::string_view, kFieldCount> kExpected{
    "expected an integer >= 1 that fits in 64 bits",
    "expected an integer >= 0 that fits in 64 bits",
    "expected the image bytes as a hex or base64 string, or {\"$binary\": ...}",
    "expected [lat, lon], two finite numbers with |lat|<=90 and |lon|<=180",
    "expected a time: an ISO-8601 string or {\"$date\": ...}",
    "expected a time (an ISO-8601 string or {\"$date\": ...}) or null",
    "expected true or false",
    "expected true or false",
    "expected a string or null",
    "expected a number in [0, 1] or null"};

/// The FieldId named `key`, or -1 for a name that is not a record field.
inline int field_index(std::string_view key) {
  for (unsigned i = 0; i < kFieldCount; ++i)
    if (kFieldNames[i] == key) return static_cast<int>(i);
  return -1;
}

/// Reads field `field` (a FieldId) from `v` into its member of `r`; nullopt if it was good.
Problem read_field(unsigned field, od::value& v, ImageRecord& r);

}  // namespace lims::codec::detail
