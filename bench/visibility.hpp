#pragma once
// When each change became visible on a path: the producer's changes joined with the acks a
// consumer store reported (sync::AckLog files, followed while they grow).

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sim/simulator.hpp"

namespace lims::bench {

/// One path's view: acks read from its AckLog, and the first moment each event was visible.
class Visibility {
 public:
  /// Follows the AckLog at `path` (which may not exist yet).
  explicit Visibility(std::string ack_log_path);
  /// Reads the lines appended since the last call (a partial last line waits for the next).
  /// Throws lims::Error naming the file and line on a malformed line.
  void read_acks();
  /// Resolves events not yet visible among `events` (a growing list: only new ones are added):
  /// an event is visible from the first ack of its key whose version is not older than its own.
  /// Returns how many of `events` are visible.
  std::size_t resolve(const std::vector<sim::ProducedEvent>& events);
  /// When events[i] became visible (microseconds since the epoch), 0 if it has not (yet).
  Micros visible_at(std::size_t i) const { return i < visible_.size() ? visible_[i] : 0; }
  /// The newest ack time read so far (0: none).
  Micros last_ack() const { return last_ack_; }

 private:
  static std::uint64_t key(Plant plant, std::int64_t id);
  std::string path_;
  std::uint64_t offset_ = 0;
  std::uint64_t line_ = 0;
  std::string partial_;
  Micros last_ack_ = 0;
  std::unordered_map<std::uint64_t, std::vector<std::pair<Micros, Micros>>> acks_;  // version, at
  std::vector<Micros> visible_;
  std::vector<std::size_t> unresolved_;
  std::size_t visible_count_ = 0;
};

}  // namespace lims::bench
