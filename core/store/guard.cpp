#include "store/guard.hpp"

#include <algorithm>

namespace lims::store {

Micros at_resolution(Micros t, Micros resolution) {
  if (resolution <= 1) return t;
  return t / resolution * resolution - ((t % resolution != 0 && t < 0) ? resolution : 0);
}

DeleteDecision decide_delete(const Write& write, const KeyState& state, Micros resolution) {
  const std::optional<Micros> before =
      write.upserted_before
          ? std::optional<Micros>(at_resolution(*write.upserted_before, resolution))
          : std::nullopt;
  if (state.live) {
    // An upsert before the tombstone that the record let in would have written the record (and
    // its position) anew, and the tombstone would have deleted that.
    const bool replaced_first = before && *before >= *state.live;
    if (!replaced_first && write.tombstone.before(state.position())) return {true, std::nullopt};
    if (write.delete_up_to && *state.live > at_resolution(*write.delete_up_to, resolution))
      return {true, std::nullopt};
  }
  std::optional<Micros> marker;
  for (const auto& v : {state.live, state.marker, before})
    if (v) marker = marker ? std::max(*marker, *v) : *v;
  return {false, marker};
}

}  // namespace lims::store
