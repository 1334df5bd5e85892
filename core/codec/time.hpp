#pragma once
// LIMS times: ISO-8601 in, "YYYY-MM-DDTHH:MM:SS[.ffffff]" (no zone, UTC) out.

#include <optional>
#include <string>
#include <string_view>

#include "model/image.hpp"

namespace lims::codec {

/// Parses "YYYY-MM-DD[T| ]HH:MM:SS[.f{0,6}][Z|±HH:MM|±HHMM]". A time without a zone is UTC.
/// nullopt if malformed or out of range (month 13, second 61, more than 6 fraction digits).
std::optional<Micros> parse_iso_time(std::string_view text);
/// Formats as LIMS (Python's isoformat) does: no zone, and ".ffffff" only when non-zero.
std::string format_time(Micros t);
/// Now, by the wall clock: microseconds since the epoch.
Micros wall_clock_micros();
/// Parses a duration as one or more <count><unit> with units d, h, m and s ("90s", "30m",
/// "1h30m", "2d"); nullopt if malformed, empty, or beyond 100 years.
std::optional<Micros> parse_duration(std::string_view text);

}  // namespace lims::codec
