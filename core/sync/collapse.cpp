#include "sync/collapse.hpp"

#include <algorithm>

namespace lims::sync {

Tally& Tally::operator+=(const Tally& o) {
  applied += o.applied;
  stale += o.stale;
  deleted += o.deleted;
  failed += o.failed;
  return *this;
}

void Collapser::add(ImageEvent event, std::uint32_t tag, store::SourcePosition source) {
  auto [it, inserted] =
      index_.try_emplace(Key{event.plant, event.id}, static_cast<std::uint32_t>(keys_.size()));
  if (inserted) keys_.emplace_back();
  KeyState& k = keys_[it->second];
  const auto index = static_cast<std::int32_t>(events_.size());
  if (event.is_delete()) {
    ++k.tombstones;
    k.delete_first = true;
    k.last_tombstone = index;
    k.upserted_before = k.newest;
    if (k.best >= 0) k.overwritten += 1 + k.followers;
    k.best = -1;
    k.followers = 0;
  } else {
    const Micros version = event.record->version();
    k.newest = std::max(k.newest.value_or(version), version);
    if (k.best < 0) {
      k.best = index;
    } else if (version >= events_[static_cast<std::size_t>(k.best)].record->version()) {
      ++k.followers;  // the earlier upsert was written, then this one overwrote it
      k.best = index;
    } else {
      ++k.stale;  // older than an upsert already seen: the guard would refuse it
    }
  }
  events_.push_back(std::move(event));
  tags_.push_back(tag);
  sources_.push_back(source);
}

const std::vector<store::Write>& Collapser::writes() {
  writes_.clear();
  writes_.resize(keys_.size());  // slot order is first-seen order
  for (const auto& [key, slot] : index_) {
    const KeyState& k = keys_[slot];
    store::Write& w = writes_[slot];
    w.plant = key.plant;
    w.id = key.id;
    w.delete_first = k.delete_first;
    w.upsert = k.best >= 0 ? &*events_[static_cast<std::size_t>(k.best)].record : nullptr;
    w.source = k.best >= 0 ? sources_[static_cast<std::size_t>(k.best)] : store::SourcePosition{};
    w.tombstone = k.last_tombstone >= 0 ? sources_[static_cast<std::size_t>(k.last_tombstone)]
                                        : store::SourcePosition{};
    w.upserted_before = k.upserted_before;
  }
  return writes_;
}

Tally Collapser::tally(std::span<const store::WriteResult> results) const {
  Tally t;
  for (std::size_t i = 0; i < keys_.size() && i < results.size(); ++i) {
    const KeyState& k = keys_[i];
    t.stale += k.stale;
    // A refused delete means the stored record was newer than every upsert before the tombstone.
    (results[i].delete_refused ? t.stale : t.deleted) += k.tombstones;
    (results[i].delete_refused ? t.stale : t.applied) += k.overwritten;
    if (k.best < 0) continue;
    const std::uint64_t n = 1 + k.followers;
    switch (results[i].outcome) {
      case store::Outcome::applied: t.applied += n; break;
      case store::Outcome::stale: t.stale += n; break;
      case store::Outcome::failed: t.failed += n; break;
      case store::Outcome::deleted: t.applied += n; break;  // not expected for an upsert
    }
  }
  return t;
}

std::uint32_t Collapser::tag_of(std::size_t i) const {
  const KeyState& k = keys_[i];
  return tags_[static_cast<std::size_t>(k.best >= 0 ? k.best : k.last_tombstone)];
}

void Collapser::clear() {
  events_.clear();
  tags_.clear();
  sources_.clear();
  keys_.clear();
  index_.clear();
  writes_.clear();
}

}  // namespace lims::sync
