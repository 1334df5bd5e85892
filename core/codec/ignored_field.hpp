#pragma once
// Internal to the codec: validating a field the record does not use ("_id", ...).

#include <cstddef>

#include "codec/diagnostics.hpp"

namespace lims::codec::detail {

/// Deeper than this, an ignored value is rejected. LIMS records are flat (Extended JSON nests
/// three levels), and the whole document must stay within the parser's maximum depth (1024).
inline constexpr std::size_t kMaxIgnoredDepth = 64;

/// Reads `v` all the way through: nullopt if it is valid JSON nested at most kMaxIgnoredDepth
/// levels deep, else the problem. Never recurses, so no nesting can exhaust the call stack.
Problem read_ignored(od::value& v);

}  // namespace lims::codec::detail
