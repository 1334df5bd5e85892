#pragma once
// A store that passes every call to another: test doubles derive from it and override only the
// calls they change (a paced write, an injected failure). FaultyStore is the common one.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>

#include "store/image_store.hpp"

namespace lims::test {

class ForwardingStore : public store::ImageStore {
 public:
  explicit ForwardingStore(store::ImageStore& inner) : inner_(inner) {}

  std::vector<store::WriteResult> apply(std::span<const store::Write> writes) override {
    return inner_.apply(writes);
  }
  std::optional<ImageRecord> get(Plant plant, std::int64_t id) override {
    return inner_.get(plant, id);
  }
  std::int64_t count(Plant plant) override { return inner_.count(plant); }
  void scan_after(Plant plant, store::CopyPosition after,
                  const std::function<bool(ImageRecord&&)>& visit) override {
    inner_.scan_after(plant, after, visit);
  }
  std::optional<store::CopyPosition> load_position(const std::string& key) override {
    return inner_.load_position(key);
  }
  void save_position(const std::string& key, store::CopyPosition position) override {
    inner_.save_position(key, position);
  }
  std::vector<ImageRecord> latest(Plant plant, std::size_t n) override {
    return inner_.latest(plant, n);
  }
  std::string describe() const override { return inner_.describe(); }
  std::string identity() const override { return inner_.identity(); }
  Micros time_resolution() const override { return inner_.time_resolution(); }
  std::size_t expire_markers(Micros now) override { return inner_.expire_markers(now); }

 protected:
  store::ImageStore& inner_;
};

/// A store in front of another that fails transiently while `down`, and refuses the upserts of
/// the ids in `refused` for good (undoing them: a refused id is not stored). It counts the calls
/// to apply() and wakes waiters on each.
class FaultyStore final : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  std::vector<store::WriteResult> apply(std::span<const store::Write> writes) override {
    {
      std::lock_guard lock(mutex_);
      ++attempts_;
      cv_.notify_all();
      if (down_) throw store::TransientError("store test: connection refused");
    }
    std::vector<store::WriteResult> results = inner_.apply(writes);
    for (std::size_t i = 0; i < writes.size(); ++i)
      if (writes[i].upsert && refused.count(writes[i].id)) {
        results[i] = {store::Outcome::failed, "refused by the test"};
        inner_.apply(std::vector<store::Write>{
            {.plant = writes[i].plant, .id = writes[i].id, .delete_first = true}});
      }
    return results;
  }
  std::string describe() const override { return "faulty " + inner_.describe(); }

  void set_down(bool down) {
    std::lock_guard lock(mutex_);
    down_ = down;
  }
  /// Calls to apply() so far.
  int attempts() {
    std::lock_guard lock(mutex_);
    return attempts_;
  }
  /// Waits (up to 30 s) until apply() has been called `total` times in all.
  bool wait_attempts(int total) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return attempts_ >= total; });
  }
  std::set<std::int64_t> refused;  // set before the store is used

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool down_ = false;
  int attempts_ = 0;
};

}  // namespace lims::test
