#include "metrics/scrape.hpp"

#include <cstdlib>
#include <string>

namespace lims::metrics {
namespace {

/// Calls visit(labels, value) for each sample of metric `name`: `labels` is what stands between
/// the braces ("" without them).
template <typename Visit>
void for_each_sample(std::string_view text, std::string_view name, Visit visit) {
  while (!text.empty()) {
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (!line.starts_with(name) || line.size() == name.size()) continue;
    std::string_view rest = line.substr(name.size()), labels;
    if (rest.front() == '{') {
      const auto close = rest.rfind('}');
      if (close == std::string_view::npos) continue;
      labels = rest.substr(1, close - 1);
      rest = rest.substr(close + 1);
    }
    if (rest.empty() || rest.front() != ' ') continue;  // another metric sharing the prefix
    const std::string value(rest.substr(1, rest.find(' ', 1) - 1));
    char* parsed_end = nullptr;
    const double v = std::strtod(value.c_str(), &parsed_end);
    if (parsed_end == value.c_str()) continue;
    visit(labels, v);
  }
}

/// The value of `label` in a sample's labels (`a="x",b="y"`), or nullopt.
std::optional<std::string> label_value(std::string_view labels, std::string_view label) {
  const std::string key = std::string(label) + "=\"";
  for (std::size_t at = labels.find(key); at != std::string_view::npos;
       at = labels.find(key, at + 1)) {
    if (at != 0 && labels[at - 1] != ',') continue;  // the end of another label's name
    std::string out;
    for (std::size_t i = at + key.size(); i < labels.size() && labels[i] != '"'; ++i)
      out += labels[i] == '\\' && i + 1 < labels.size() ? labels[++i] : labels[i];
    return out;
  }
  return std::nullopt;
}

}  // namespace

std::optional<double> sample_sum(std::string_view text, std::string_view name) {
  std::optional<double> sum;
  for_each_sample(text, name, [&](std::string_view, double v) { sum = sum.value_or(0) + v; });
  return sum;
}

std::vector<std::pair<std::string, double>> samples_by_label(std::string_view text,
                                                             std::string_view name,
                                                             std::string_view label) {
  std::vector<std::pair<std::string, double>> out;
  for_each_sample(text, name, [&](std::string_view labels, double v) {
    if (auto value = label_value(labels, label)) out.emplace_back(std::move(*value), v);
  });
  return out;
}

}  // namespace lims::metrics
