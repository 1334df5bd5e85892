#include "bench/visibility.hpp"

#include <charconv>
#include <fstream>

#include "common/error.hpp"

namespace lims::bench {
namespace {

/// Splits "plant,id,version,acked" into its fields; false if it is not that.
bool parse_ack(std::string_view line, Plant& plant, std::int64_t& id, Micros& version,
               Micros& acked) {
  std::string_view field[4];
  for (int i = 0; i < 4; ++i) {
    const auto comma = line.find(',');
    if ((comma == std::string_view::npos) != (i == 3)) return false;
    field[i] = line.substr(0, comma);
    line = comma == std::string_view::npos ? std::string_view() : line.substr(comma + 1);
  }
  auto number = [](std::string_view text, std::int64_t& out) {
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
    return error == std::errc() && end == text.data() + text.size();
  };
  const auto p = parse_plant(field[0]);
  if (!p) return false;
  plant = *p;
  return number(field[1], id) && number(field[2], version) && number(field[3], acked);
}

}  // namespace

Visibility::Visibility(std::string ack_log_path) : path_(std::move(ack_log_path)) {}

std::uint64_t Visibility::key(Plant plant, std::int64_t id) {
  return (static_cast<std::uint64_t>(plant) << 56) ^ static_cast<std::uint64_t>(id);
}

void Visibility::read_acks() {
  std::ifstream in(path_, std::ios::binary);
  if (!in) return;
  in.seekg(static_cast<std::streamoff>(offset_));
  std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  offset_ += chunk.size();
  partial_ += chunk;
  std::size_t start = 0;
  for (std::size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
    const std::string_view line(partial_.data() + start, nl - start);
    if (++line_ == 1) continue;  // the header
    Plant plant;
    std::int64_t id;
    Micros version, acked;
    if (!parse_ack(line, plant, id, version, acked))
      throw Error(path_ + ":" + std::to_string(line_) +
                  ": expected plant,id,version_us,acked_us, got '" + std::string(line) + "'");
    acks_[key(plant, id)].emplace_back(version, acked);
    last_ack_ = std::max(last_ack_, acked);
  }
  partial_.erase(0, start);
}

std::size_t Visibility::resolve(const std::vector<sim::ProducedEvent>& events) {
  for (std::size_t i = visible_.size(); i < events.size(); ++i) unresolved_.push_back(i);
  visible_.resize(events.size(), 0);
  std::erase_if(unresolved_, [&](std::size_t i) {
    const sim::ProducedEvent& e = events[i];
    const auto found = acks_.find(key(e.plant, e.id));
    if (found == acks_.end()) return false;
    for (const auto& [version, acked] : found->second)  // in the order they were acked
      if (version >= e.version) {
        visible_[i] = acked;
        ++visible_count_;
        return true;
      }
    return false;
  });
  return visible_count_;
}

}  // namespace lims::bench
