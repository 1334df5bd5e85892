#pragma once
// The wall clock, and durations as every duration flag spells them.

#include <optional>
#include <string>
#include <string_view>

#include "model/image.hpp"

namespace lims {

/// Now, by the wall clock: microseconds since the epoch.
Micros wall_clock_micros();
/// Now, by the steady clock: nanoseconds since an arbitrary start (for intervals).
std::int64_t steady_clock_ns();

/// Parses a duration: one or more <number><unit>, the number an integer or a decimal fraction,
/// the unit ms, s, m, h or d ("500ms", "90s", "1.5s", "30m", "1h30m", "2d"). nullopt if
/// malformed, empty, negative, or beyond 100 years.
std::optional<Micros> parse_duration(std::string_view text);

/// parse_duration(), or lims::Error (usage) naming `option` and the grammar.
Micros duration_arg(std::string_view text, std::string_view option);

}  // namespace lims
