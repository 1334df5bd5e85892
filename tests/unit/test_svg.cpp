#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <limits>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "bench/svg.hpp"

using lims::bench::cdf_points;
using lims::bench::ChartOptions;
using lims::bench::line_chart_svg;
using lims::bench::Series;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

/// The contents of the <text> elements with class `cls`, in document order.
std::vector<std::string> texts(const std::string& svg, const std::string& cls) {
  std::vector<std::string> out;
  const std::string marker = "class=\"" + cls + "\"";
  for (auto at = svg.find(marker); at != std::string::npos; at = svg.find(marker, at + 1)) {
    const auto open = svg.find('>', at) + 1;
    out.push_back(svg.substr(open, svg.find("</text>", open) - open));
  }
  return out;
}

/// The vertex lists of the polylines, in document order.
std::vector<std::string> polylines(const std::string& svg) {
  std::vector<std::string> out;
  for (auto at = svg.find("<polyline"); at != std::string::npos;
       at = svg.find("<polyline", at + 1)) {
    const auto open = svg.find("points=\"", at) + 8;
    out.push_back(svg.substr(open, svg.find('"', open) - open));
  }
  return out;
}

/// The x coordinates of a polyline's vertices.
std::vector<std::string> xs(const std::string& points) {
  std::vector<std::string> out;
  for (std::size_t at = 0; at < points.size(); at = points.find(' ', at) + 1) {
    out.push_back(points.substr(at, points.find(',', at) - at));
    if (points.find(' ', at) == std::string::npos) break;
  }
  return out;
}

/// The y coordinates of a polyline's vertices.
std::vector<std::string> ys(const std::string& points) {
  std::vector<std::string> out;
  for (std::size_t at = 0; at < points.size(); at = points.find(' ', at) + 1) {
    const auto comma = points.find(',', at);
    out.push_back(points.substr(comma + 1, points.find(' ', comma) - comma - 1));
    if (points.find(' ', at) == std::string::npos) break;
  }
  return out;
}

/// A rough well-formedness check: tags nest and close, one root element, and every '&' starts
/// one of the predefined entities.
bool well_formed(const std::string& svg) {
  std::vector<std::string> open;
  std::size_t roots = 0;
  for (std::size_t at = svg.find('<'); at != std::string::npos; at = svg.find('<', at + 1)) {
    const auto end = svg.find('>', at);
    if (end == std::string::npos) return false;
    const std::string tag = svg.substr(at + 1, end - at - 1);
    if (tag.empty() || tag.front() == '?') continue;
    if (tag.front() == '/') {
      if (open.empty() || open.back() != tag.substr(1)) return false;
      open.pop_back();
      continue;
    }
    if (open.empty()) ++roots;
    if (tag.back() != '/') open.push_back(tag.substr(0, tag.find_first_of(" /")));
  }
  for (std::size_t at = svg.find('&'); at != std::string::npos; at = svg.find('&', at + 1)) {
    bool known = false;
    for (const char* entity : {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"}) {
      known = known || svg.compare(at, std::string(entity).size(), entity) == 0;
    }
    if (!known) return false;
  }
  return open.empty() && roots == 1;
}

bool has_nan_or_inf(const std::string& svg) {
  return count(svg, "nan") + count(svg, "inf") + count(svg, "NaN") + count(svg, "INF") > 0;
}

}  // namespace

TEST_CASE("svg: a chart is a standalone SVG 1.1 document with one root element") {
  const Series line{"stream", "#1f77b4", {{0, 1}, {1, 3}, {2, 2}}};
  const std::string svg = line_chart_svg({line}, {.title = "t", .x_label = "x", .y_label = "y"});
  CHECK(svg.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg "));
  CHECK(count(svg, "<svg") == 1);
  CHECK(count(svg, "xmlns=\"http://www.w3.org/2000/svg\"") == 1);
  CHECK(count(svg, "version=\"1.1\"") == 1);
  CHECK(count(svg, "</svg>") == 1);
  CHECK(svg.ends_with("</svg>\n"));
  CHECK(count(svg, "font-family=\"sans-serif\"") == 1);
  CHECK(well_formed(svg));
  CHECK_FALSE(has_nan_or_inf(svg));
  CHECK(texts(svg, "title") == std::vector<std::string>{"t"});
  CHECK(texts(svg, "x-label") == std::vector<std::string>{"x"});
  CHECK(texts(svg, "y-label") == std::vector<std::string>{"y"});
  CHECK(texts(svg, "legend") == std::vector<std::string>{"stream"});
  CHECK(texts(svg, "no-data").empty());
}

TEST_CASE("svg: title, axis labels, legend text and colours are XML-escaped") {
  const Series odd{"p<95> & \"q\" 'r'", "red\"", {{1, 1}, {2, 2}}};
  const std::string svg =
      line_chart_svg({odd}, {.title = "a<b & \"c\"", .x_label = "x<", .y_label = "y&\x01"});
  CHECK(well_formed(svg));
  CHECK(texts(svg, "title") == std::vector<std::string>{"a&lt;b &amp; &quot;c&quot;"});
  CHECK(texts(svg, "x-label") == std::vector<std::string>{"x&lt;"});
  CHECK(texts(svg, "y-label") == std::vector<std::string>{"y&amp; "});  // control char blanked
  CHECK(texts(svg, "legend") ==
        std::vector<std::string>{"p&lt;95&gt; &amp; &quot;q&quot; &apos;r&apos;"});
  CHECK(count(svg, "stroke=\"red&quot;\"") == 2);  // legend swatch and polyline
  CHECK(count(svg, "a<b") == 0);
}

TEST_CASE("svg: one polyline per non-empty series with one vertex per point") {
  const std::vector<Series> series = {
      {"line", "#1f77b4", {{0, 1}, {1, 2}, {2, 4}, {3, 8}, {4, 16}}},
      {"empty", "#ff7f0e", {}},
      {"steps", "#2ca02c", {{0, 1}, {1, 3}, {2, 2}, {3, 5}}, true},
      {"holes", "", {{0, 1}, {kNaN, 2}, {2, kInf}, {3, 3}}},
  };
  const std::string svg = line_chart_svg(series, {});
  CHECK(well_formed(svg));
  const auto lines = polylines(svg);
  REQUIRE(lines.size() == 3);
  CHECK(xs(lines[0]).size() == 5);
  CHECK(xs(lines[1]).size() == 4 + 3);  // a step adds a corner before each later point
  CHECK(xs(lines[2]).size() == 2);      // NaN and infinite points skipped
  CHECK(count(svg, "#d62728") == 2);    // an empty colour takes one from the palette
  CHECK(texts(svg, "legend").size() == 4);
  CHECK_FALSE(has_nan_or_inf(svg));
}

TEST_CASE("svg: a log x axis has decade ticks and clamps x at or below 0 to its minimum") {
  Series cdf{"batch", "#ff7f0e", {{0, 0.1}, {1, 0.2}, {20, 0.5}, {600000, 1}}, true};
  const std::string svg = line_chart_svg({cdf}, {.x_label = "latency (ms)", .log_x = true});
  CHECK(well_formed(svg));
  CHECK(texts(svg, "x-tick") ==
        std::vector<std::string>{"1", "10", "100", "1k", "10k", "100k", "1M"});
  CHECK(texts(svg, "y-tick") == std::vector<std::string>{"0", "0.25", "0.5", "0.75", "1"});
  const auto lines = polylines(svg);
  REQUIRE(lines.size() == 1);
  // The x <= 0 point sits on the axis minimum, as the x = 1 point does (vertices 0 and 2).
  const auto x = xs(lines[0]);
  REQUIRE(x.size() == 7);
  CHECK(x[0] == x[2]);
  CHECK(x[0] != x[4]);

  const std::string small =
      line_chart_svg({{"s", "#000", {{0.002, 1}, {0.3, 2}}}}, {.log_x = true});
  CHECK(texts(small, "x-tick") == std::vector<std::string>{"0.001", "0.01", "0.1", "1"});
  const std::string wide =
      line_chart_svg({{"w", "#000", {{1e-200, 1}, {1e200, 2}}}}, {.log_x = true});
  const auto wide_ticks = texts(wide, "x-tick");
  CHECK(wide_ticks.size() >= 3);
  CHECK(wide_ticks.size() <= 14);
  CHECK(wide_ticks.front() == "1e-200");
  CHECK_FALSE(has_nan_or_inf(wide));
}

TEST_CASE("svg: a log y axis has decade ticks and clamps y at or below 0 to its minimum") {
  const Series bytes{"stream", "#1f77b4", {{0, 0}, {1, 10}, {2, 50}, {3, -4}, {4, kNaN}, {5, 3e9}}};
  const std::string svg = line_chart_svg({bytes}, {.y_label = "bytes", .log_y = true});
  CHECK(well_formed(svg));
  CHECK_FALSE(has_nan_or_inf(svg));
  CHECK(texts(svg, "y-tick") == std::vector<std::string>{"10", "100", "1k", "10k", "100k", "1M",
                                                         "10M", "100M", "1G", "10G"});
  const auto lines = polylines(svg);
  REQUIRE(lines.size() == 1);
  const auto y = ys(lines[0]);
  REQUIRE(y.size() == 5);  // the NaN point skipped
  CHECK(y[0] == y[1]);     // y = 0 sits on the axis minimum, 10
  CHECK(y[3] == y[1]);     // and so does y < 0
  CHECK(std::stod(y[2]) < std::stod(y[1]));  // 50 above 10 (SVG's y grows downwards)
  CHECK(std::stod(y[4]) < std::stod(y[2]));

  // One tick per decade even when they are many; minor ticks (2..9) only when they are few.
  const std::string few = line_chart_svg({{"f", "#000", {{0, 2}, {1, 900}}}}, {.log_y = true});
  CHECK(texts(few, "y-tick") == std::vector<std::string>{"1", "10", "100", "1k"});
  CHECK(count(few, "stroke=\"#f2f2f2\"") == 1);
  const std::string many =
      line_chart_svg({{"m", "#000", {{0, 1e-12}, {1, 1e12}}}}, {.log_y = true});
  const auto many_ticks = texts(many, "y-tick");
  CHECK(many_ticks.size() >= 5);
  CHECK(many_ticks.size() <= 25);
  CHECK(many_ticks.front() == "1e-12");
  CHECK_FALSE(has_nan_or_inf(many));

  // A y_min > 0 sets the axis minimum; all y <= 0 gives the decade 1..10 with every point on it.
  const std::string from =
      line_chart_svg({{"s", "#000", {{0, 0.5}, {1, 300}}}}, {.log_y = true, .y_min = 10});
  CHECK(texts(from, "y-tick") == std::vector<std::string>{"10", "100", "1k"});
  const std::string flat = line_chart_svg({{"z", "#000", {{0, 0}, {1, -1}}}}, {.log_y = true});
  CHECK(texts(flat, "y-tick") == std::vector<std::string>{"1", "10"});
  const auto flat_y = ys(polylines(flat).at(0));
  CHECK(flat_y[0] == flat_y[1]);
  CHECK_FALSE(has_nan_or_inf(flat));
}

TEST_CASE("svg: linear ticks are nice values with compact labels") {
  const auto y_ticks = [](std::vector<std::pair<double, double>> points, ChartOptions options) {
    return texts(line_chart_svg({{"s", "#000", std::move(points)}}, options), "y-tick");
  };
  using Labels = std::vector<std::string>;
  CHECK(y_ticks({{0, 0.1}, {1, 0.97}}, {}) == Labels{"0", "0.25", "0.5", "0.75", "1"});
  CHECK(y_ticks({{0, 0.1}, {1, 0.97}}, {.y_percent = true}) ==
        Labels{"0%", "25%", "50%", "75%", "100%"});
  CHECK(y_ticks({{0, 3e6}, {1, 9.5e6}}, {}) == Labels{"0", "2.5M", "5M", "7.5M", "10M"});
  CHECK(y_ticks({{0, 1200}, {1, 5100}}, {.y_min = 1000, .y_max = 5000}) ==
        Labels{"1k", "2k", "3k", "4k", "5k"});
  CHECK(y_ticks({{0, -7}, {1, 3}}, {}) == Labels{"-7.5", "-5", "-2.5", "0", "2.5", "5"});
  CHECK(y_ticks({{0, 2e-9}, {1, 9e-9}}, {}) == Labels{"0", "2.5e-09", "5e-09", "7.5e-09", "1e-08"});
  CHECK(y_ticks({{0, 1e-6}, {1, 2.8e-6}}, {}) == Labels{"0", "1e-06", "2e-06", "3e-06"});
  CHECK(y_ticks({{0, 1e-3}, {1, 3.7e-3}}, {}) == Labels{"0", "0.001", "0.002", "0.003", "0.004"});
  const auto x_ticks = texts(line_chart_svg({{"s", "#000", {{0, 1}, {123, 2}}}}, {}), "x-tick");
  CHECK(x_ticks.front() == "0");
  CHECK(x_ticks.back() == "140");
}

TEST_CASE("svg: degenerate inputs give a well-formed chart without nan or inf") {
  const std::vector<std::vector<Series>> cases = {
      {},
      {{"empty", "#000", {}}},
      {{"not finite", "#000", {{kNaN, kNaN}, {kInf, 1}, {1, -kInf}}}},
      {{"one", "#000", {{5, 3}}}},
      {{"equal x", "#000", {{2, 1}, {2, 5}, {2, 3}}}},
      {{"zeros", "#000", {{0, 0}, {0, 0}}}},
      {{"huge", "#000", {{-1e308, -1.7e308}, {1e308, 1.7e308}}}},
      {{"tiny", "#000", {{1e-320, 1e-310}, {2e-320, 3e-310}}}},
      {{"negative", "#000", {{-5, -2}, {-1, -8}}, true}},
  };
  for (const bool log_x : {false, true}) {
    for (const auto& series : cases) {
      CAPTURE(log_x);
      CAPTURE(series.empty() ? std::string("none") : series[0].name);
      for (const ChartOptions& options :
           {ChartOptions{.log_x = log_x}, ChartOptions{.log_x = log_x, .y_min = 1, .y_max = 1},
            ChartOptions{.log_x = log_x, .y_min = 10}, ChartOptions{.width = 0, .height = -5},
            ChartOptions{.log_x = log_x, .log_y = true},
            ChartOptions{.log_x = log_x, .log_y = true, .y_min = -3, .y_max = 0},
            ChartOptions{.log_x = log_x, .log_y = true, .y_min = 1e-320, .y_max = 1e308}}) {
        const std::string svg = line_chart_svg(series, options);
        CHECK(well_formed(svg));
        CHECK_FALSE(has_nan_or_inf(svg));
        for (const char* axis : {"x-tick", "y-tick"}) {
          const auto labels = texts(svg, axis);
          CHECK(labels.size() >= 2);
          CHECK(std::set<std::string>(labels.begin(), labels.end()).size() == labels.size());
        }
      }
    }
  }
  CHECK(texts(line_chart_svg({}, {}), "no-data").size() == 1);
  CHECK(texts(line_chart_svg(cases[2], {}), "no-data").size() == 1);
  CHECK(count(line_chart_svg(cases[3], {}), "<circle") == 1);  // a lone point is marked
}

TEST_CASE("svg: cdf_points of 1 to 1000 are monotone, bounded and end at (max, 1)") {
  std::vector<double> samples;
  for (int i = 1000; i >= 1; --i) samples.push_back(i);
  const auto all = cdf_points(samples, 5000);
  REQUIRE(all.size() == 1000);
  CHECK(all.front() == std::pair<double, double>{1, 0.001});
  CHECK(all[499] == std::pair<double, double>{500, 0.5});
  CHECK(all.back() == std::pair<double, double>{1000, 1});

  for (const std::size_t max_points : {std::size_t{400}, std::size_t{7}, std::size_t{2}}) {
    CAPTURE(max_points);
    const auto cdf = cdf_points(samples, max_points);
    REQUIRE(cdf.size() == max_points);
    CHECK(cdf.front() == std::pair<double, double>{1, 0.001});
    CHECK(cdf.back() == std::pair<double, double>{1000, 1});
    for (std::size_t i = 1; i < cdf.size(); ++i) {
      CHECK(cdf[i].first > cdf[i - 1].first);
      CHECK(cdf[i].second > cdf[i - 1].second);
      CHECK(cdf[i].second == doctest::Approx(cdf[i].first / 1000));
    }
  }
  CHECK(cdf_points(samples).size() == 400);
  CHECK(cdf_points(samples, 1) == std::vector<std::pair<double, double>>{{1000, 1}});
  CHECK(cdf_points(samples, 0).empty());
}

TEST_CASE("svg: cdf_points handles ties, NaN and empty input") {
  CHECK(cdf_points({}).empty());
  CHECK(cdf_points({kNaN, kInf}).empty());
  CHECK(cdf_points({7}) == std::vector<std::pair<double, double>>{{7, 1}});
  CHECK(cdf_points({3, kNaN, 1, 3, 3, 2, -kInf}) ==
        std::vector<std::pair<double, double>>{{1, 0.2}, {2, 0.4}, {3, 1}});
  const std::vector<double> ties(1000, 4.5);
  CHECK(cdf_points(ties, 10) == std::vector<std::pair<double, double>>{{4.5, 1}});
}
