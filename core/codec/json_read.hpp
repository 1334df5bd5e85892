#pragma once
// Internal to the codec: typed readers for simdjson on-demand values. Each stores what it read
// and returns nullopt, or returns the Problem ("<expected>; got ...") and leaves `out` unspecified.

#include <cstdint>
#include <string_view>
#include <vector>

#include "codec/diagnostics.hpp"
#include "model/image.hpp"

namespace lims::codec::detail {

/// An integer >= `min` that fits in 64 bits, written without fraction or exponent.
Problem read_int(od::value& v, std::int64_t min, std::int64_t& out, std::string_view expected);
/// A finite number.
Problem read_double(od::value& v, double& out, std::string_view expected);
/// true or false.
Problem read_bool(od::value& v, bool& out, std::string_view expected);
/// A string, unescaped; `out` views the parser's buffer and lives until its next document.
Problem read_string(od::value& v, std::string_view& out, std::string_view expected);
/// A time in the years 1..9999: an ISO-8601 string, or {"$date": "<iso>" | <ms> |
/// {"$numberLong": "<ms>"}}.
Problem read_time(od::value& v, Micros& out, std::string_view expected);
/// Image bytes: a hex or base64 string, or {"$binary": ...} (canonical or legacy Extended JSON),
/// decoded straight from the input into `out`, the one copy of the bytes.
Problem read_data(od::value& v, std::vector<std::uint8_t>& out, std::string_view expected);
/// [lat, lon]: exactly two finite numbers with |lat| <= 90 and |lon| <= 180.
Problem read_gps(od::value& v, double& lat, double& lon, std::string_view expected);

}  // namespace lims::codec::detail
