#include "common/time_units.hpp"

#include <chrono>
#include <cmath>

#include "common/error.hpp"

namespace lims {

Micros wall_clock_micros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t steady_clock_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::optional<Micros> parse_duration(std::string_view text) {
  constexpr double kSecond = 1e6;
  constexpr double kMax = 100.0 * 366 * 86400 * kSecond;
  if (text.empty()) return std::nullopt;
  double total = 0;
  while (!text.empty()) {
    std::size_t n = 0, dots = 0;
    while (n < text.size() && n < 20 && ((text[n] >= '0' && text[n] <= '9') || text[n] == '.'))
      dots += text[n++] == '.';
    if (n == 0 || dots > 1 || text[0] == '.' || text[n - 1] == '.' || n == text.size())
      return std::nullopt;
    const double count = std::stod(std::string(text.substr(0, n)));
    text.remove_prefix(n);
    double unit = 0;
    if (text.starts_with("ms")) {
      unit = kSecond / 1000;
      text.remove_prefix(2);
    } else {
      switch (text[0]) {
        case 's': unit = kSecond; break;
        case 'm': unit = 60 * kSecond; break;
        case 'h': unit = 3600 * kSecond; break;
        case 'd': unit = 86400 * kSecond; break;
        default: return std::nullopt;
      }
      text.remove_prefix(1);
    }
    total += count * unit;
    if (!(total <= kMax)) return std::nullopt;
  }
  return static_cast<Micros>(std::llround(total));
}

Micros duration_arg(std::string_view text, std::string_view option) {
  if (auto d = parse_duration(text)) return *d;
  throw Error(std::string(option) + " '" + std::string(text) +
                  "': expected a duration: <number><unit> pairs with units ms, s, m, h, d, such "
                  "as 500ms, 90s, 1.5s, 30m, 1h30m or 2d",
              ExitCode::usage);
}

}  // namespace lims
