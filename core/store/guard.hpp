#pragma once
// The stale-event guard's rule for deletes, shared by every store: whether a write's tombstone
// deletes, and what version its delete marker keeps.

#include <cstdint>
#include <optional>
#include <string>

#include "store/image_store.hpp"

namespace lims::store {

/// What a store holds for one key before a write: the record (its version, and where the event
/// that last wrote it came from), or a delete marker, or nothing.
struct KeyState {
  std::optional<Micros> live;    // the stored record's version(), if there is one
  std::optional<Micros> marker;  // a delete marker's version, if there is one
  std::string topic;             // the stored record's source; empty: unknown
  std::int32_t partition = -1;
  std::int64_t offset = -1;

  SourcePosition position() const { return {topic, partition, offset}; }
};

struct DeleteDecision {
  bool refused = false;          // the tombstone deletes nothing
  std::optional<Micros> marker;  // else: the version the marker keeps (none: nothing was known)
};

/// Decides the delete of `write` (delete_first) against `state`, comparing versions at the store's
/// `resolution`. The tombstone is refused when the stored record was written from later in the
/// tombstone's own partition, unless an upsert of the same batch before the tombstone would have
/// replaced that record first; or when the stored record is newer than write.delete_up_to.
/// Otherwise the record goes and the marker keeps the newest version known: the record's, an
/// older marker's, or the batch's upserts before the tombstone.
DeleteDecision decide_delete(const Write& write, const KeyState& state, Micros resolution);

/// Whether an upsert of `version` passes the guard against a delete marker of `marker` (it must be
/// newer); true when there is no marker.
inline bool newer_than_marker(Micros version, const std::optional<Micros>& marker) {
  return !marker || version > *marker;
}

/// `t` cut to the store's `resolution` (rounded down), as the store keeps it.
Micros at_resolution(Micros t, Micros resolution);

}  // namespace lims::store
