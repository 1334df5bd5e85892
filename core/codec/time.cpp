#include "codec/time.hpp"

#include <cstdint>

namespace lims::codec {
namespace {

constexpr std::int64_t kMicrosPerSecond = 1'000'000;
constexpr std::int64_t kMicrosPerDay = 86'400 * kMicrosPerSecond;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

// The inverse of days_from_civil (H. Hinnant's civil_from_days).
constexpr Civil civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

static_assert(days_from_civil(1970, 1, 1) == 0);
static_assert(days_from_civil(2000, 3, 1) == 11017);
static_assert(civil_from_days(-1).year == 1969 && civil_from_days(-1).day == 31);

constexpr bool is_leap(int y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

constexpr unsigned days_in_month(int y, int m) {
  constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `count` decimal digits at `pos`; false if any is not a digit.
bool read_digits(std::string_view s, std::size_t pos, std::size_t count, int& out) {
  if (pos + count > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    const unsigned digit = static_cast<unsigned char>(s[i]) - unsigned{'0'};
    if (digit > 9) return false;
    v = v * 10 + static_cast<int>(digit);
  }
  out = v;
  return true;
}

// Parses the zone suffix (empty, "Z", "±HH:MM" or "±HHMM") into minutes east of UTC.
std::optional<int> parse_zone(std::string_view zone) {
  if (zone.empty()) return 0;
  if (zone == "Z") return 0;
  if (zone[0] != '+' && zone[0] != '-') return std::nullopt;
  int hours = 0, minutes = 0;
  if (zone.size() == 6) {
    if (zone[3] != ':' || !read_digits(zone, 1, 2, hours) || !read_digits(zone, 4, 2, minutes))
      return std::nullopt;
  } else if (zone.size() == 5) {
    if (!read_digits(zone, 1, 2, hours) || !read_digits(zone, 3, 2, minutes)) return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (hours > 23 || minutes > 59) return std::nullopt;
  const int offset = hours * 60 + minutes;
  return zone[0] == '-' ? -offset : offset;
}

// Writes `value` as exactly `width` zero-padded digits.
char* put_digits(char* p, std::int64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return p + width;
}

}  // namespace

std::optional<Micros> parse_iso_time(std::string_view s) {
  // "YYYY-MM-DD?HH:MM:SS" is fixed width; the fraction and the zone follow.
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (s.size() < 19 || !read_digits(s, 0, 4, year) || s[4] != '-' || !read_digits(s, 5, 2, month) ||
      s[7] != '-' || !read_digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != ' ') ||
      !read_digits(s, 11, 2, hour) || s[13] != ':' || !read_digits(s, 14, 2, minute) ||
      s[16] != ':' || !read_digits(s, 17, 2, second))
    return std::nullopt;
  std::size_t pos = 19;
  std::int64_t fraction = 0;
  if (pos < s.size() && s[pos] == '.') {
    const std::size_t start = ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    const std::size_t digits = pos - start;
    if (digits == 0 || digits > 6) return std::nullopt;
    int value = 0;
    read_digits(s, start, digits, value);
    fraction = value;
    for (std::size_t i = digits; i < 6; ++i) fraction *= 10;
  }
  const std::optional<int> zone_minutes = parse_zone(s.substr(pos));
  if (!zone_minutes) return std::nullopt;
  if (year < 1 || month < 1 || month > 12 || day < 1 ||
      day > static_cast<int>(days_in_month(year, month)) || hour > 23 || minute > 59 || second > 59)
    return std::nullopt;
  const std::int64_t days =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const std::int64_t seconds =
      days * 86'400 + hour * 3'600 + minute * 60 + second - std::int64_t{*zone_minutes} * 60;
  return seconds * kMicrosPerSecond + fraction;
}

std::string format_time(Micros t) {
  // Floor division without multiplying back, so even INT64_MIN cannot overflow.
  std::int64_t days = t / kMicrosPerDay;
  std::int64_t rest = t % kMicrosPerDay;
  if (rest < 0) {
    rest += kMicrosPerDay;
    --days;
  }
  const Civil date = civil_from_days(days);
  const std::int64_t micros = rest % kMicrosPerSecond;
  const std::int64_t seconds = rest / kMicrosPerSecond;

  char buf[48];
  char* p = buf;
  std::int64_t year = date.year;
  if (year < 0) {
    *p++ = '-';
    year = -year;
  }
  int width = 4;
  for (std::int64_t y = year; y >= 10'000; y /= 10) ++width;
  p = put_digits(p, year, width);
  *p++ = '-';
  p = put_digits(p, date.month, 2);
  *p++ = '-';
  p = put_digits(p, date.day, 2);
  *p++ = 'T';
  p = put_digits(p, seconds / 3'600, 2);
  *p++ = ':';
  p = put_digits(p, seconds / 60 % 60, 2);
  *p++ = ':';
  p = put_digits(p, seconds % 60, 2);
  if (micros != 0) {
    *p++ = '.';
    p = put_digits(p, micros, 6);
  }
  return std::string(buf, p);
}

}  // namespace lims::codec
