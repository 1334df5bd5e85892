#include "bench/svg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lims::bench {
namespace {

constexpr double kHuge = 1e300;  // data beyond this is clamped, so spans stay finite
constexpr double kCharPx = 6.5;  // rough width of a character at font-size 11..12
constexpr const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                    "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

/// A coordinate with one decimal and no trailing ".0"; never nan or inf.
std::string num(double v) {
  if (!std::isfinite(v)) v = 0;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", std::clamp(v, -1e6, 1e6));
  std::string s(buf);
  if (s.ends_with(".0")) s.resize(s.size() - 2);
  return s == "-0" ? "0" : s;
}

/// `text` safe inside XML character data and attribute values.
std::string escape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += (c >= 0 && c < 0x20 && c != '\t' && c != '\n') ? ' ' : c;
    }
  }
  return out;
}

/// Decimals needed to print multiples of `step` exactly (at most 9).
int decimals_for(double step) {
  int d = 0;
  for (double s = std::fabs(step); d < 9 && std::fabs(s - std::round(s)) > 1e-6 * s; s *= 10) {
    ++d;
  }
  return d;
}

/// A tick label such as "0", "0.25", "-1.5k", "100k", "2M", "25%" or "1e-08" for value `v` on
/// an axis whose ticks are `step` apart.
std::string tick_label(double v, double step, bool percent) {
  v *= percent ? 100 : 1;
  step *= percent ? 100 : 1;
  const char* suffix = percent ? "%" : "";
  if (v == 0 || std::fabs(v) < std::fabs(step) * 1e-9) return std::string("0") + suffix;
  char buf[48];
  if (std::fabs(v) >= (percent ? 1e6 : 1e15) || std::fabs(step) < 1e-4) {
    const double ratio = std::log10(std::fabs(v)) - std::log10(std::fabs(step));
    const int digits = static_cast<int>(std::ceil(std::clamp(ratio, 0.0, 13.0))) + 2;
    std::snprintf(buf, sizeof buf, "%.*g", std::max(digits, 3), v);
    return buf + std::string(suffix);
  }
  static constexpr const char* kUnits[] = {"", "k", "M", "G", "T"};
  const int unit = percent ? 0 : std::clamp(static_cast<int>(std::log10(std::fabs(v)) / 3), 0, 4);
  v /= std::pow(1000.0, unit);
  step /= std::pow(1000.0, unit);
  if (!percent) suffix = kUnits[unit];
  std::snprintf(buf, sizeof buf, "%.*f", decimals_for(step), v);
  std::string s(buf);
  if (s.find('.') != std::string::npos) {
    s.erase(s.find_last_not_of('0') + 1);
    if (s.back() == '.') s.pop_back();
  }
  return s + suffix;
}

struct Axis {
  double lo = 0, hi = 1;
  bool log = false;
  std::vector<double> ticks, minor;
  std::vector<std::string> labels;

  /// Where `v` falls: 0 at lo, 1 at hi (clamped to a few plot sizes beyond); on a log axis,
  /// values below lo (including <= 0) are clamped to lo.
  double frac(double v) const {
    v = std::clamp(v, -kHuge, kHuge);
    const double f =
        log ? (std::log10(std::max(v, lo)) - std::log10(lo)) / (std::log10(hi) - std::log10(lo))
            : (v - lo) / (hi - lo);
    return std::clamp(f, -10.0, 10.0);
  }
};

/// A linear axis over [lo, hi] with about one tick per 80 px at 1, 2, 2.5 or 5 times a power
/// of ten; the ends not fixed are widened to a tick. A zero-width range is widened around it.
Axis linear_axis(double lo, double hi, bool fix_lo, bool fix_hi, double length_px, bool percent) {
  if (!(hi - lo > std::max(std::fabs(lo), std::fabs(hi)) * 1e-12) || hi - lo < 1e-250) {
    const double mid = fix_lo ? lo : fix_hi ? hi : lo / 2 + hi / 2;
    const double half = std::fabs(mid) > 1e-250 ? std::fabs(mid) / 10 : 1;
    lo = fix_lo ? lo : fix_hi ? hi - 2 * half : mid - half;
    hi = fix_lo ? lo + 2 * half : fix_hi ? hi : mid + half;
  }
  const double raw = (hi - lo) / std::clamp(length_px / 80, 2.0, 10.0);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  static constexpr double kNice[] = {1, 2, 2.5, 5, 10};
  const double step = mag * *std::find_if(std::begin(kNice), std::end(kNice) - 1,
                                          [&](double nice) { return raw <= nice * mag; });
  Axis axis;
  axis.lo = fix_lo ? lo : std::floor(lo / step) * step;
  axis.hi = fix_hi ? hi : std::ceil(hi / step) * step;
  for (double k = std::ceil(axis.lo / step - 1e-9);
       k * step <= axis.hi + step * 1e-9 && axis.ticks.size() < 40; ++k) {
    axis.ticks.push_back(k == 0 ? 0.0 : k * step);
    axis.labels.push_back(tick_label(axis.ticks.back(), step, percent));
  }
  return axis;
}

/// A log axis over whole decades around [lo, hi] (both > 0): a tick per decade, or per few
/// decades when they would come closer than `gap_px`, and minor ticks at 2..9 when there are
/// few.
Axis log_axis(double lo, double hi, double length_px, double gap_px, bool percent) {
  lo = std::clamp(lo, 1e-300, kHuge);
  hi = std::clamp(hi, lo, kHuge);
  const int d0 = static_cast<int>(std::floor(std::log10(lo)));
  const int d1 = std::max(static_cast<int>(std::ceil(std::log10(hi))), d0 + 1);
  const int every = static_cast<int>(std::ceil((d1 - d0) / std::max(2.0, length_px / gap_px)));
  Axis axis;
  axis.log = true;
  axis.lo = std::pow(10.0, d0);
  axis.hi = std::pow(10.0, d1);
  for (int d = d0; d <= d1; d += every) {
    const double v = std::pow(10.0, d);
    axis.ticks.push_back(v);
    axis.labels.push_back(tick_label(v, v, percent));
    for (int m = 2; every == 1 && d1 - d0 <= 8 && d < d1 && m <= 9; ++m)
      axis.minor.push_back(m * v);
  }
  return axis;
}

bool usable(const std::pair<double, double>& p) {
  return std::isfinite(p.first) && std::isfinite(p.second);
}

struct Bounds {
  double x_lo = HUGE_VAL, x_hi = -HUGE_VAL, x_pos = HUGE_VAL;  // x_pos: the smallest x > 0
  double y_lo = HUGE_VAL, y_hi = -HUGE_VAL, y_pos = HUGE_VAL;  // y_pos: the smallest y > 0
  std::size_t points = 0;
};

Bounds data_bounds(const std::vector<Series>& series) {
  Bounds b;
  for (const Series& s : series) {
    for (const auto& p : s.points) {
      if (!usable(p)) continue;
      const double x = std::clamp(p.first, -kHuge, kHuge), y = std::clamp(p.second, -kHuge, kHuge);
      b.x_lo = std::min(b.x_lo, x), b.x_hi = std::max(b.x_hi, x);
      b.y_lo = std::min(b.y_lo, y), b.y_hi = std::max(b.y_hi, y);
      if (x > 0) b.x_pos = std::min(b.x_pos, std::max(x, 1e-300));
      if (y > 0) b.y_pos = std::min(b.y_pos, std::max(y, 1e-300));
      ++b.points;
    }
  }
  return b;
}

Axis make_y_axis(const Bounds& b, const ChartOptions& o, double length_px) {
  double lo = b.points > 0 ? b.y_lo : 0, hi = b.points > 0 ? b.y_hi : 1;
  const bool both = std::isfinite(o.y_min) && std::isfinite(o.y_max);
  const bool use_min = std::isfinite(o.y_min) && (!both || o.y_max > o.y_min);
  const bool use_max = std::isfinite(o.y_max) && (!both || o.y_max > o.y_min);
  if (use_min) lo = std::clamp(o.y_min, -kHuge, kHuge);
  if (use_max) hi = std::clamp(o.y_max, -kHuge, kHuge);
  if (o.log_y) {
    // From the smallest y > 0 (a y_min > 0 if given) up; y <= 0 sits on the axis minimum.
    lo = use_min && o.y_min > 0 ? lo : b.y_pos < HUGE_VAL ? b.y_pos : 1;
    hi = hi > lo ? hi : lo * 10;
    return log_axis(lo, hi, length_px, 24, o.y_percent);
  }
  const bool zero_lo = !use_min && lo >= 0;  // all data >= 0: start at 0
  if (zero_lo) lo = 0;
  return linear_axis(lo, hi, use_min || zero_lo, use_max, length_px, o.y_percent);
}

/// The plot area in pixels.
struct Frame {
  double left, top, right, bottom;
  double x(double frac) const { return left + frac * (right - left); }
  double y(double frac) const { return bottom - frac * (bottom - top); }
};

std::string text(double x, double y, const char* attrs, std::string_view content) {
  return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" " + attrs + ">" + escape(content) +
         "</text>\n";
}

void write_axes(std::string& out, const Frame& f, const Axis& x, const Axis& y) {
  // Appends rather than "M" + num(...): g++ 12 -O2 warns falsely (-Wrestrict) on the latter.
  auto cmd = [](std::string& d, char c, double a) { d.append(1, c).append(num(a)); };
  auto move = [&](std::string& d, double a, double b) {
    cmd(d, 'M', a);
    d.append(1, ' ').append(num(b));
  };
  std::string minor, grid, marks, labels;
  move(marks, f.left, f.top);
  cmd(marks, 'V', f.bottom);
  cmd(marks, 'H', f.right);
  for (const double v : x.minor) {
    move(minor, f.x(x.frac(v)), f.top);
    cmd(minor, 'V', f.bottom);
  }
  for (const double v : y.minor) {
    move(minor, f.left, f.y(y.frac(v)));
    cmd(minor, 'H', f.right);
  }
  for (std::size_t i = 0; i < x.ticks.size(); ++i) {
    const double px = f.x(x.frac(x.ticks[i]));
    move(grid, px, f.top);
    cmd(grid, 'V', f.bottom);
    move(marks, px, f.bottom);
    marks.append("v4");
    labels += text(px, f.bottom + 16, "class=\"x-tick\" text-anchor=\"middle\"", x.labels[i]);
  }
  for (std::size_t i = 0; i < y.ticks.size(); ++i) {
    const double py = f.y(y.frac(y.ticks[i]));
    move(grid, f.left, py);
    cmd(grid, 'H', f.right);
    move(marks, f.left, py);
    marks.append("h-4");
    labels += text(f.left - 7, py + 4, "class=\"y-tick\" text-anchor=\"end\"", y.labels[i]);
  }
  if (!minor.empty()) out += "<path d=\"" + minor + "\" stroke=\"#f2f2f2\"/>\n";
  out += "<path d=\"" + grid + "\" stroke=\"#e0e0e0\"/>\n";
  out += "<path d=\"" + marks + "\" stroke=\"#888\" fill=\"none\"/>\n";
  out += "<g font-size=\"11\" fill=\"#444\">\n" + labels + "</g>\n";
}

std::string color_of(const std::vector<Series>& series, std::size_t i) {
  return escape(series[i].color.empty() ? kPalette[i % std::size(kPalette)] : series[i].color);
}

void write_series(std::string& out, const std::vector<Series>& series, const Frame& f,
                  const Axis& x, const Axis& y) {
  out +=
      "<g clip-path=\"url(#plot-area)\" fill=\"none\" stroke-width=\"1.8\" "
      "stroke-linejoin=\"round\">\n";
  for (std::size_t i = 0; i < series.size(); ++i) {
    std::string points, last_y;
    for (const auto& p : series[i].points) {
      if (!usable(p)) continue;
      const std::string px = num(f.x(x.frac(p.first))), py = num(f.y(y.frac(p.second)));
      if (series[i].step && !last_y.empty()) points += " " + px + "," + last_y;
      points += (points.empty() ? "" : " ") + px + "," + py;
      last_y = py;
    }
    if (points.empty()) continue;
    out += "<polyline class=\"series\" stroke=\"" + color_of(series, i) + "\" points=\"" + points +
           "\"/>\n";
    if (points.find(' ') == std::string::npos) {  // a single point: mark it
      const auto comma = points.find(',');
      out += "<circle cx=\"" + points.substr(0, comma) + "\" cy=\"" + points.substr(comma + 1) +
             "\" r=\"3\" fill=\"" + color_of(series, i) + "\"/>\n";
    }
  }
  out += "</g>\n";
}

/// Writes the legend entries (into `out` unless null) in rows from (x0, y0), `avail` pixels wide;
/// returns the number of rows.
int write_legend(std::string* out, const std::vector<Series>& series, double x0, double y0,
                 double avail) {
  int row = 0;
  double x = x0;
  for (std::size_t i = 0; i < series.size(); ++i) {
    if (series[i].name.empty()) continue;
    const double w = 28 + kCharPx * static_cast<double>(series[i].name.size()) + 16;
    if (x > x0 && x - x0 + w > avail) {
      x = x0;
      ++row;
    }
    const double y = y0 + 16 * row;
    if (out != nullptr) {
      *out += "<path d=\"M" + num(x) + " " + num(y - 4) + "h22\" stroke=\"" + color_of(series, i) +
              "\" stroke-width=\"2.5\"/>\n";
      *out += text(x + 28, y, "class=\"legend\"", series[i].name);
    }
    x += w;
  }
  return x > x0 ? row + 1 : row;
}

}  // namespace

std::string line_chart_svg(const std::vector<Series>& series, const ChartOptions& options) {
  const double width = std::clamp(options.width, 240, 20000);
  const double height = std::clamp(options.height, 160, 20000);
  const Bounds bounds = data_bounds(series);
  const double title_h = options.title.empty() ? 8 : 28;
  const double legend_w = width - 120;
  const int rows = write_legend(nullptr, series, 0, 0, legend_w);
  Frame f{0, title_h + 16.0 * rows + 10, width - 24, height - (options.x_label.empty() ? 28 : 44)};
  const Axis y = make_y_axis(bounds, options, f.bottom - f.top);
  std::size_t label_chars = 1;
  for (const auto& label : y.labels) label_chars = std::max(label_chars, label.size());
  f.left = (options.y_label.empty() ? 10 : 28) + kCharPx * static_cast<double>(label_chars) + 10;
  const bool some = bounds.points > 0;
  const Axis x = options.log_x ? log_axis(some && bounds.x_hi > 0 ? bounds.x_pos : 1,
                                          some && bounds.x_hi > 0 ? bounds.x_hi : 10,
                                          f.right - f.left, 60, false)
                               : linear_axis(some ? bounds.x_lo : 0, some ? bounds.x_hi : 1, false,
                                             false, f.right - f.left, false);

  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" + num(width) +
         "\" height=\"" + num(height) + "\" viewBox=\"0 0 " + num(width) + " " + num(height) +
         "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  out += "<defs><clipPath id=\"plot-area\"><rect x=\"" + num(f.left - 2) + "\" y=\"" +
         num(f.top - 2) + "\" width=\"" + num(f.right - f.left + 4) + "\" height=\"" +
         num(f.bottom - f.top + 4) + "\"/></clipPath></defs>\n";
  out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  if (!options.title.empty()) {
    const char* attrs = R"(class="title" text-anchor="middle" font-size="15" font-weight="bold")";
    out += text(width / 2, 19, attrs, options.title);
  }
  write_legend(&out, series, f.left, title_h + 12, legend_w);
  write_axes(out, f, x, y);
  if (!options.x_label.empty()) {
    out += text((f.left + f.right) / 2, height - 8, "class=\"x-label\" text-anchor=\"middle\"",
                options.x_label);
  }
  if (!options.y_label.empty()) {
    const std::string mid = num((f.top + f.bottom) / 2);
    out += "<text class=\"y-label\" x=\"16\" y=\"" + mid + "\" transform=\"rotate(-90 16 " + mid +
           ")\" text-anchor=\"middle\">" + escape(options.y_label) + "</text>\n";
  }
  if (bounds.points == 0) {
    out += text((f.left + f.right) / 2, (f.top + f.bottom) / 2,
                "class=\"no-data\" text-anchor=\"middle\" fill=\"#888\"", "no data");
  }
  write_series(out, series, f, x, y);
  return out + "</svg>\n";
}

std::string stacked_bar_svg(const std::vector<Bar>& bars, const ChartOptions& options) {
  auto value = [](double v) { return std::isfinite(v) && v > 0 ? std::min(v, kHuge) : 0.0; };
  // The segment names in first-seen order, as legend entries with their colours.
  std::vector<Series> names;
  double longest = 0, label_chars = 1;
  for (const Bar& bar : bars) {
    double total = 0;
    for (const auto& [name, v] : bar.segments) {
      total += value(v);
      if (std::none_of(names.begin(), names.end(), [&](const Series& s) { return s.name == name; }))
        names.push_back({name, kPalette[names.size() % std::size(kPalette)], {}});
    }
    longest = std::max(longest, total);
    label_chars = std::max(label_chars, static_cast<double>(bar.label.size()));
  }
  const double width = std::clamp(options.width, 240, 20000);
  const double title_h = options.title.empty() ? 8 : 28;
  const int rows = write_legend(nullptr, names, 0, 0, width - 40);
  const double bar_h = 26, gap = 12;
  Frame f{16 + kCharPx * label_chars, title_h + 16.0 * rows + 14, width - 24, 0};
  f.bottom = f.top + static_cast<double>(std::max<std::size_t>(bars.size(), 1)) * (bar_h + gap);
  const double height = f.bottom + (options.x_label.empty() ? 28 : 44);
  const Axis x = linear_axis(0, longest > 0 ? longest : 1, true, false, f.right - f.left, false);

  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" + num(width) +
         "\" height=\"" + num(height) + "\" viewBox=\"0 0 " + num(width) + " " + num(height) +
         "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  if (!options.title.empty()) {
    const char* attrs = R"(class="title" text-anchor="middle" font-size="15" font-weight="bold")";
    out += text(width / 2, 19, attrs, options.title);
  }
  write_legend(&out, names, 16, title_h + 12, width - 40);
  write_axes(out, f, x, Axis{});
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const double top = f.top + gap / 2 + static_cast<double>(i) * (bar_h + gap);
    out += text(f.left - 7, top + bar_h / 2 + 4, "class=\"bar-label\" text-anchor=\"end\"",
                bars[i].label);
    double at = 0;
    for (const auto& [name, v] : bars[i].segments) {
      if (value(v) == 0) continue;
      const auto color = std::find_if(names.begin(), names.end(), [&](const Series& s) {
                           return s.name == name;
                         })->color;
      const double x0 = f.x(x.frac(at)), x1 = f.x(x.frac(at + value(v)));
      out += "<rect class=\"segment\" x=\"" + num(x0) + "\" y=\"" + num(top) + "\" width=\"" +
             num(std::max(x1 - x0, 0.5)) + "\" height=\"" + num(bar_h) + "\" fill=\"" + color +
             "\"><title>" + escape(name) + "</title></rect>\n";
      at += value(v);
    }
  }
  if (!options.x_label.empty())
    out += text((f.left + f.right) / 2, height - 8, "class=\"x-label\" text-anchor=\"middle\"",
                options.x_label);
  if (bars.empty())
    out += text((f.left + f.right) / 2, (f.top + f.bottom) / 2,
                "class=\"no-data\" text-anchor=\"middle\" fill=\"#888\"", "no data");
  return out + "</svg>\n";
}

std::vector<std::pair<double, double>> cdf_points(std::vector<double> samples,
                                                  std::size_t max_points) {
  std::erase_if(samples, [](double v) { return !std::isfinite(v); });
  std::vector<std::pair<double, double>> out;
  if (samples.empty() || max_points == 0) return out;
  std::sort(samples.begin(), samples.end());
  const std::size_t n = samples.size();
  const std::size_t picks = std::min(n, std::max<std::size_t>(max_points, 2));
  for (std::size_t j = (max_points == 1 ? picks - 1 : 0); j < picks; ++j) {
    // The j-th of `picks` ranks evenly spaced over 0..n-1, then the last rank with that value.
    const std::size_t rank = picks == 1 ? 0 : (j * (n - 1) + (picks - 1) / 2) / (picks - 1);
    const double x = samples[rank];
    if (!out.empty() && out.back().first == x) continue;
    const auto upto =
        std::upper_bound(samples.begin() + static_cast<std::ptrdiff_t>(rank), samples.end(), x) -
        samples.begin();
    out.emplace_back(x, static_cast<double>(upto) / static_cast<double>(n));
  }
  return out;
}

}  // namespace lims::bench
