#pragma once
// A small, dependency-free SVG chart writer for the `lims bench` report: line and step charts
// with axes, "nice" ticks, grid, legend and title, as standalone SVG 1.1 documents.

#include <cstddef>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace lims::bench {

/// One line of a chart.
struct Series {
  std::string name;                               // legend text; empty: not in the legend
  std::string color;                              // CSS colour, e.g. "#1f77b4"; empty: a default
  std::vector<std::pair<double, double>> points;  // (x, y), x ascending
  bool step = false;  // draw as a step function (for CDFs, bars over time)
};

struct ChartOptions {
  std::string title = {}, x_label = {}, y_label = {};  // `= {}`: designated initializers may skip
  bool log_x = false;  // decade ticks (1, 10, 100, ...); points with x <= 0 are clamped to the
                       // axis minimum
  bool log_y = false;  // the same for y: decades from the smallest y > 0 (or a y_min > 0); y <= 0
                       // sits on the axis minimum
  double y_min = std::numeric_limits<double>::quiet_NaN();  // NaN: from the data (0 when all
  double y_max = std::numeric_limits<double>::quiet_NaN();  // y >= 0), widened to a tick (to a
                                                            // decade with log_y)
  bool y_percent = false;  // label y ticks as percent of 1 (0.25 -> "25%"), e.g. for a CDF
  int width = 760, height = 420;
};

/// A standalone SVG 1.1 document (XML declaration, xmlns set) with axes, grid, ticks at "nice"
/// values with compact labels (k/M/G suffixes), a legend, the title and one polyline per
/// series; text is XML-escaped. Points with a NaN or infinite coordinate are skipped, and no
/// number in the document prints as nan or inf. No points at all gives a valid chart that says
/// "no data".
std::string line_chart_svg(const std::vector<Series>& series, const ChartOptions& options);

/// One bar of a stacked bar chart: its label and its segments (name, value), left to right.
struct Bar {
  std::string label;
  std::vector<std::pair<std::string, double>> segments;
};

/// A horizontal stacked bar chart as a standalone SVG 1.1 document: one row per bar, labelled
/// on the left, on a linear x axis from 0 (options.x_label under it; the y options are unused);
/// a segment's colour follows its name, the same in every bar, with a legend of the names.
/// Values that are negative, NaN or infinite count as 0; segments of 0 are not drawn.
std::string stacked_bar_svg(const std::vector<Bar>& bars, const ChartOptions& options);

/// The empirical CDF of `samples` as (value, share of samples <= value) points for a step
/// series: x strictly ascending, y in (0, 1], at most `max_points`, taken evenly spaced in rank
/// and always including the minimum and (max, 1). NaN and infinite samples are ignored.
std::vector<std::pair<double, double>> cdf_points(std::vector<double> samples,
                                                  std::size_t max_points = 400);

}  // namespace lims::bench
