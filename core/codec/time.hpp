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

}  // namespace lims::codec
