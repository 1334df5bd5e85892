#pragma once
// A store that passes every call to another: test doubles derive from it and override only the
// calls they change (a paced write, an injected failure).

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

 protected:
  store::ImageStore& inner_;
};

}  // namespace lims::test
