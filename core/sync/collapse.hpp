#pragma once
// Collapsing a batch of events to one net write per key, and counting what became of each event.

#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "model/image.hpp"
#include "store/image_store.hpp"

namespace lims::sync {

/// What became of the events of a batch (every event lands in exactly one bucket). An upsert
/// that a newer one of the same batch superseded is counted with the newer one's outcome, and an
/// upsert before a tombstone as applied (or as stale when the guard kept the stored record): the
/// stored version it would have been compared with is never read. Likewise every tombstone of a
/// key counts as its last one does.
struct Tally {
  std::uint64_t applied = 0;  // written (or overwritten later in the same batch)
  std::uint64_t stale = 0;    // older than the stored record (or its delete marker) or than an
                              // earlier event of the batch; tombstones the guard refused
  std::uint64_t deleted = 0;  // tombstones carried out
  std::uint64_t failed = 0;   // refused by the store for their data

  /// Adds another batch's counts.
  Tally& operator+=(const Tally& o);
};

/// Holds a batch's events in offset order and folds them per (plant, id) so that applying the
/// net writes equals applying the events one by one under the stale-event guard, when each key's
/// events come from one partition (as keyed records do).
class Collapser {
 public:
  /// Adds the next event; `tag` is the caller's handle for it (e.g. its message index), `source`
  /// where it came from (its topic must outlive the writes).
  void add(ImageEvent event, std::uint32_t tag, store::SourcePosition source = {});
  /// One write per key, in the order keys were first seen. Valid until the next add()/clear().
  const std::vector<store::Write>& writes();
  /// Counts every event, given the store's result for each write of writes().
  Tally tally(std::span<const store::WriteResult> results) const;
  /// The tag of the event behind write `i` (its final upsert, else its last tombstone).
  std::uint32_t tag_of(std::size_t i) const;
  /// Events added since the last clear().
  std::size_t events() const { return events_.size(); }
  bool empty() const { return events_.empty(); }
  /// Forgets every event and write, keeping the memory for the next batch.
  void clear();

 private:
  struct Key {
    Plant plant;
    std::int64_t id;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept {
      return std::hash<std::int64_t>()(k.id) * 3 + static_cast<std::size_t>(k.plant);
    }
  };
  struct KeyState {
    bool delete_first = false;
    std::int32_t best = -1;  // index of the upsert that will be written
    std::int32_t last_tombstone = -1;
    std::uint32_t followers = 0;  // superseded upserts that share the best's outcome
    std::uint32_t stale = 0;      // upserts older than one seen before them
    std::uint32_t tombstones = 0;
    std::uint32_t overwritten = 0;  // upserts a later tombstone wiped out (applied, then deleted)
    std::optional<Micros> newest;   // the newest version among the key's upserts so far
    std::optional<Micros> upserted_before;  // `newest` at the last tombstone
  };

  std::vector<ImageEvent> events_;
  std::vector<std::uint32_t> tags_;
  std::vector<store::SourcePosition> sources_;
  std::vector<KeyState> keys_;
  std::unordered_map<Key, std::uint32_t, KeyHash> index_;
  std::vector<store::Write> writes_;
};

}  // namespace lims::sync
