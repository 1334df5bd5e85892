#include "metrics/scrape.hpp"

#include <cstdlib>
#include <string>

namespace lims::metrics {

std::optional<double> sample_sum(std::string_view text, std::string_view name) {
  std::optional<double> sum;
  while (!text.empty()) {
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (!line.starts_with(name) || line.size() == name.size()) continue;
    std::string_view rest = line.substr(name.size());
    if (rest.front() == '{') {
      const auto close = rest.rfind('}');
      if (close == std::string_view::npos) continue;
      rest = rest.substr(close + 1);
    }
    if (rest.empty() || rest.front() != ' ') continue;  // another metric sharing the prefix
    const std::string value(rest.substr(1, rest.find(' ', 1) - 1));
    char* parsed_end = nullptr;
    const double v = std::strtod(value.c_str(), &parsed_end);
    if (parsed_end == value.c_str()) continue;
    sum = sum.value_or(0) + v;
  }
  return sum;
}

}  // namespace lims::metrics
