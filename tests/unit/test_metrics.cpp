// Metrics registry: the exact text exposition (format 0.0.4), escaping, value spelling, checks on
// names and labels, lock-free updates from many threads, callback families and process metrics.

#include <doctest/doctest.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <ctime>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "metrics/process.hpp"
#include "metrics/registry.hpp"
#include "metrics/scrape.hpp"

using lims::metrics::Emit;
using lims::metrics::format_value;
using lims::metrics::Labels;
using lims::metrics::Registry;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool is_name(std::string_view s, bool colon_ok) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon_ok && c == ':') ||
          (i > 0 && c >= '0' && c <= '9')))
      return false;
  }
  return true;
}

/// Go's ParseFloat as the text format uses it, restricted to what a writer should spell.
std::optional<double> parse_value(std::string_view s) {
  if (s == "+Inf") return kInf;
  if (s == "-Inf") return -kInf;
  if (s == "NaN") return kNaN;
  if (s.empty() || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9'))) return std::nullopt;
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

/// Only \\, \n and (in label values) \" escapes; no bare quote in a label value.
bool escapes_ok(std::string_view s, bool quote) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '"' && quote) return false;
    if (s[i] != '\\') continue;
    if (++i == s.size()) return false;
    if (!(s[i] == '\\' || s[i] == 'n' || (quote && s[i] == '"'))) return false;
  }
  return true;
}

/// A line parser for the text format: returns "" when every line of `text` is a valid HELP,
/// TYPE or sample line, each family's HELP and TYPE come once and before all of its samples, and
/// histogram buckets are cumulative and end in +Inf equal to _count; else the first problem.
std::string check_exposition(const std::string& text) {
  if (!text.empty() && text.back() != '\n') return "no final newline";
  std::istringstream in(text);
  std::set<std::string> families;
  std::string help_name, family, type;
  std::map<std::string, std::pair<double, double>> buckets;  // series -> last le, last count
  for (std::string line; std::getline(in, line);) {
    const std::string where = " in: " + line;
    if (line.starts_with("# HELP ")) {
      const std::string rest = line.substr(7);
      help_name = rest.substr(0, rest.find(' '));
      if (!is_name(help_name, true) || rest.size() == help_name.size()) return "HELP" + where;
      if (!escapes_ok(rest.substr(help_name.size() + 1), false)) return "help escape" + where;
      if (!families.insert(help_name).second) return "family twice" + where;
      continue;
    }
    if (line.starts_with("# TYPE ")) {
      std::istringstream words(line.substr(7));
      std::string extra;
      words >> family >> type;
      if (family != help_name || words >> extra) return "TYPE not after its HELP" + where;
      if (!std::set<std::string>{"counter", "gauge", "histogram"}.contains(type))
        return "type" + where;
      help_name.clear();
      continue;
    }
    if (line.empty() || line[0] == '#' || family.empty()) return "stray line" + where;
    // name{label="value",...} value
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    const std::string name = line.substr(0, i);
    std::string series;  // the labels without le
    std::optional<double> le;
    std::set<std::string> label_names;
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (true) {
        const std::size_t eq = line.find("=\"", i);
        if (eq == std::string::npos) return "label" + where;
        const std::string label = line.substr(i, eq - i);
        std::size_t end = eq + 2;
        while (end < line.size() && line[end] != '"') end += line[end] == '\\' ? 2 : 1;
        if (end >= line.size()) return "unterminated label value" + where;
        const std::string value = line.substr(eq + 2, end - eq - 2);
        if (!is_name(label, false) || label.starts_with("__") || !label_names.insert(label).second)
          return "label name" + where;
        if (!escapes_ok(value, true)) return "label escape" + where;
        if (label == "le")
          le = parse_value(value);
        else
          series += label + "=" + value + ",";
        i = end + 1;
        if (i < line.size() && line[i] == ',')
          ++i;
        else if (i < line.size() && line[i] == '}')
          break;
        else
          return "label list" + where;
      }
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') return "no space before the value" + where;
    const std::optional<double> value = parse_value(line.substr(i + 1));
    if (!is_name(name, true) || !value) return "sample" + where;
    const bool is_bucket = type == "histogram" && name == family + "_bucket";
    if (type == "histogram" ? !(is_bucket || name == family + "_sum" || name == family + "_count")
                            : name != family)
      return "sample outside its family" + where;
    if (is_bucket != label_names.contains("le") || (is_bucket && !le)) return "le" + where;
    if (is_bucket) {
      auto [it, first] = buckets.try_emplace(series, *le, *value);
      if (!first && !(it->second.first < *le && it->second.second <= *value))
        return "buckets not cumulative" + where;
      it->second = {*le, *value};
    } else if (type == "histogram" && name == family + "_count") {
      const auto it = buckets.find(series);
      if (it == buckets.end() || it->second.first != kInf || it->second.second != *value)
        return "_count is not the +Inf bucket" + where;
      buckets.erase(it);
    }
  }
  return buckets.empty() ? "" : "buckets without _count";
}

/// The value of the sample line starting with `series` (name and labels), if there is one.
std::optional<double> sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(series + " ")) return parse_value(line.substr(series.size() + 1));
  return std::nullopt;
}

}  // namespace

TEST_CASE("metrics: a small registry renders exactly") {
  Registry r;
  auto& events = r.counter("lims_events_total", "Events consumed.", {"plant", "outcome"});
  events.with({"tomato", "stale"}).inc();
  events.with({"potato", "applied"}).inc(2);
  events.with({"potato", "applied"}).inc();
  r.gauge("lims_lag_messages", "Messages behind.").with().set(42);
  auto& seconds = r.histogram("lims_batch_seconds", "Batch time.", {}, {0.25, 0.5, 1}).with();
  for (double v : {0.125, 0.25, 0.375, 1.0, 7.0}) seconds.observe(v);  // 0.25 and 1 on a bound

  CHECK(r.render() ==
        "# HELP lims_events_total Events consumed.\n"
        "# TYPE lims_events_total counter\n"
        "lims_events_total{plant=\"potato\",outcome=\"applied\"} 3\n"
        "lims_events_total{plant=\"tomato\",outcome=\"stale\"} 1\n"
        "# HELP lims_lag_messages Messages behind.\n"
        "# TYPE lims_lag_messages gauge\n"
        "lims_lag_messages 42\n"
        "# HELP lims_batch_seconds Batch time.\n"
        "# TYPE lims_batch_seconds histogram\n"
        "lims_batch_seconds_bucket{le=\"0.25\"} 2\n"
        "lims_batch_seconds_bucket{le=\"0.5\"} 3\n"
        "lims_batch_seconds_bucket{le=\"1\"} 4\n"
        "lims_batch_seconds_bucket{le=\"+Inf\"} 5\n"
        "lims_batch_seconds_sum 8.75\n"
        "lims_batch_seconds_count 5\n");
  CHECK(seconds.cumulative_counts() == std::vector<std::uint64_t>{2, 3, 4, 5});
  CHECK(seconds.count() == 5);
  CHECK(seconds.sum() == 8.75);
  CHECK(lims::metrics::kContentType == "text/plain; version=0.0.4; charset=utf-8");
}

TEST_CASE("metrics: a labelled histogram puts le last, and a new series starts at zero") {
  Registry r;
  auto& h = r.histogram("rpc_seconds", "RPC time.", {"method"}, {0.5, 2});
  h.with({"get"}).observe(1);
  h.with({"put"});
  CHECK(r.render() ==
        "# HELP rpc_seconds RPC time.\n"
        "# TYPE rpc_seconds histogram\n"
        "rpc_seconds_bucket{method=\"get\",le=\"0.5\"} 0\n"
        "rpc_seconds_bucket{method=\"get\",le=\"2\"} 1\n"
        "rpc_seconds_bucket{method=\"get\",le=\"+Inf\"} 1\n"
        "rpc_seconds_sum{method=\"get\"} 1\n"
        "rpc_seconds_count{method=\"get\"} 1\n"
        "rpc_seconds_bucket{method=\"put\",le=\"0.5\"} 0\n"
        "rpc_seconds_bucket{method=\"put\",le=\"2\"} 0\n"
        "rpc_seconds_bucket{method=\"put\",le=\"+Inf\"} 0\n"
        "rpc_seconds_sum{method=\"put\"} 0\n"
        "rpc_seconds_count{method=\"put\"} 0\n");
}

TEST_CASE("metrics: help escapes backslash and newline, label values also the quote") {
  Registry r;
  r.gauge("g", "Line one\nback\\slash \"quoted\"", {"path"}).with({"a\"b\\c\nd"}).set(1);
  CHECK(r.render() ==
        "# HELP g Line one\\nback\\\\slash \"quoted\"\n"
        "# TYPE g gauge\n"
        "g{path=\"a\\\"b\\\\c\\nd\"} 1\n");
  CHECK(check_exposition(r.render()).empty());
  // UTF-8 passes through unchanged.
  Registry u;
  u.gauge("u", "Größe in µm", {"plant"}).with({"Paprika🌶"}).set(2);
  CHECK(u.render() == "# HELP u Größe in µm\n# TYPE u gauge\nu{plant=\"Paprika🌶\"} 2\n");
}

TEST_CASE("metrics: values print as integers, shortest fractions, +Inf, -Inf and NaN") {
  CHECK(format_value(0) == "0");
  CHECK(format_value(-0.0) == "0");
  CHECK(format_value(1) == "1");
  CHECK(format_value(-1) == "-1");
  CHECK(format_value(1e6) == "1000000");
  CHECK(format_value(123456789012) == "123456789012");
  CHECK(format_value(9007199254740992.0) == "9007199254740992");  // 2^53
  CHECK(format_value(0.1) == "0.1");
  CHECK(format_value(-2.5) == "-2.5");
  CHECK(format_value(0.005) == "0.005");
  CHECK(format_value(1.0 / 3) == "0.3333333333333333");
  CHECK(format_value(1e-9) == "1e-09");
  CHECK(format_value(0.0001) == "0.0001");  // as Go: an exponent only below 1e-4
  CHECK(format_value(0.00001) == "1e-05");
  CHECK(format_value(123456.5) == "123456.5");
  CHECK(format_value(1234567.5) == "1.2345675e+06");  // and from 1e6 on, but for integers
  CHECK(format_value(1152921504606846976.0) == "1.152921504606847e+18");  // 2^60: not exact
  CHECK(format_value(1e21) == "1e+21");
  CHECK(format_value(5e-324) == "5e-324");
  CHECK(format_value(1e300) == "1e+300");
  CHECK(format_value(-1.7976931348623157e308) == "-1.7976931348623157e+308");
  CHECK(format_value(kInf) == "+Inf");
  CHECK(format_value(-kInf) == "-Inf");
  CHECK(format_value(kNaN) == "NaN");
  for (double v : {0.1, 1.0 / 3, 1e-9, 5e-324, 1e300, 1e22, 123.456, -0.001, 1234567.5, 1e-4})
    CHECK(parse_value(format_value(v)) == v);  // every spelling reads back exactly

  Registry r;
  auto& g = r.gauge("g", "G.", {"k"});
  g.with({"a"}).set(kInf);
  g.with({"b"}).set(-kInf);
  g.with({"c"}).set(kNaN);
  g.with({"d"}).set(1e-9);
  CHECK(r.render() ==
        "# HELP g G.\n# TYPE g gauge\ng{k=\"a\"} +Inf\ng{k=\"b\"} -Inf\ng{k=\"c\"} NaN\n"
        "g{k=\"d\"} 1e-09\n");
}

TEST_CASE("metrics: families render in registration order with HELP and TYPE once") {
  Registry r;
  auto& b = r.counter("b_total", "B.", {"x"});
  auto& a = r.gauge("a", "A.");
  auto& c = r.counter("c_total", "C.", {"x"});
  c.with({"2"}).inc();
  b.with({"2"}).inc();
  a.with().set(3);
  c.with({"1"}).inc();
  b.with({"1"}).inc();
  CHECK(r.render() ==
        "# HELP b_total B.\n# TYPE b_total counter\nb_total{x=\"1\"} 1\nb_total{x=\"2\"} 1\n"
        "# HELP a A.\n# TYPE a gauge\na 3\n"
        "# HELP c_total C.\n# TYPE c_total counter\nc_total{x=\"1\"} 1\nc_total{x=\"2\"} 1\n");
  // A labelled family with no series yet leaves nothing; an unlabelled one shows its zero.
  Registry empty;
  empty.counter("none_total", "None yet.", {"x"});
  empty.counter("zero_total", "Zero.");
  CHECK(empty.render() == "# HELP zero_total Zero.\n# TYPE zero_total counter\nzero_total 0\n");
  CHECK(Registry().render().empty());
}

TEST_CASE("metrics: invalid names, labels, bounds, duplicates and label counts throw") {
  Registry r;
  for (const char* bad : {"", "1abc", "a-b", "a b", "__reserved", "größe", "a{b}"})
    CHECK_THROWS_AS(r.counter(bad, "help"), lims::Error);
  CHECK_NOTHROW(r.counter("ok:colon_1", "help"));
  CHECK_NOTHROW(r.counter("_x", "help"));
  for (const char* bad : {"", "a:b", "1a", "le", "__name__", "a-b"})
    CHECK_THROWS_AS(r.gauge("g", "help", {bad}), lims::Error);
  CHECK_THROWS_AS(r.gauge("g", "help", {"a", "b", "a"}), lims::Error);
  CHECK_THROWS_AS(r.gauge("g", "bad \xff help"), lims::Error);
  CHECK_NOTHROW(r.gauge("g", "help", {"a", "_b"}));

  // One name, one family; a histogram's sample names are taken too, either way round.
  CHECK_THROWS_AS(r.gauge("g", "again"), lims::Error);
  CHECK_THROWS_AS(r.counter("g", "again"), lims::Error);
  CHECK_THROWS_AS(r.gauge_callback("g", "again", {}, [](const Emit&) {}), lims::Error);
  r.gauge("h_sum", "clash");
  CHECK_THROWS_AS(r.histogram("h", "help"), lims::Error);
  r.histogram("k", "help");
  CHECK_THROWS_AS(r.counter("k_count", "clash"), lims::Error);
  CHECK_THROWS_AS(r.gauge("k_bucket", "clash"), lims::Error);

  auto& f = r.counter("f_total", "help", {"a", "b"});
  CHECK_THROWS_AS(f.with({"1"}), lims::Error);
  CHECK_THROWS_AS(f.with({"1", "2", "3"}), lims::Error);
  CHECK_THROWS_AS(f.with(), lims::Error);
  CHECK_THROWS_AS(f.with({"1", "\xc0\xaf"}), lims::Error);  // overlong UTF-8
  CHECK_THROWS_AS(r.gauge("u", "help").with({"x"}), lims::Error);
  CHECK_THROWS_AS(f.with({"1", "2"}).inc(-1), lims::Error);
  CHECK_THROWS_AS(f.with({"1", "2"}).inc(kNaN), lims::Error);
  CHECK(f.with({"1", "2"}).value() == 0);

  CHECK_THROWS_AS(r.histogram("h1", "help", {}, {1, 1}), lims::Error);
  CHECK_THROWS_AS(r.histogram("h2", "help", {}, {2, 1}), lims::Error);
  CHECK_THROWS_AS(r.histogram("h3", "help", {}, {kNaN}), lims::Error);
  CHECK_THROWS_AS(r.histogram("h4", "help", {}, {-kInf, 1}), lims::Error);
  CHECK(r.histogram("h5", "help", {}, {1, kInf}).with().bounds() == std::vector<double>{1});
  CHECK(r.histogram("h6", "help", {}, {}).with().cumulative_counts().size() == 1);
  CHECK_THROWS_AS(r.histogram("h7", "help", {"le"}), lims::Error);
}

TEST_CASE("metrics: bucket helpers") {
  using lims::metrics::exponential_buckets;
  using lims::metrics::linear_buckets;
  CHECK(linear_buckets(1, 2, 4) == std::vector<double>{1, 3, 5, 7});
  CHECK(exponential_buckets(0.25, 2, 5) == std::vector<double>{0.25, 0.5, 1, 2, 4});
  CHECK(exponential_buckets(1, 10, 3) == std::vector<double>{1, 10, 100});
  // Computed bounds keep 15 digits, so they print as typed rather than as float error.
  CHECK(exponential_buckets(1e-6, 10, 4) == std::vector<double>{1e-6, 1e-5, 1e-4, 1e-3});
  CHECK(linear_buckets(0.1, 0.1, 3) == std::vector<double>{0.1, 0.2, 0.3});
  CHECK(format_value(linear_buckets(0.1, 0.1, 3)[2]) == "0.3");
  CHECK(lims::metrics::default_buckets() ==
        std::vector<double>{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
  CHECK_THROWS_AS(linear_buckets(0, 0, 3), lims::Error);
  CHECK_THROWS_AS(linear_buckets(0, 1, 0), lims::Error);
  CHECK_THROWS_AS(exponential_buckets(0, 2, 3), lims::Error);
  CHECK_THROWS_AS(exponential_buckets(1, 1, 3), lims::Error);
  CHECK_THROWS_AS(exponential_buckets(1, 2, 0), lims::Error);
}

TEST_CASE("metrics: quantile interpolates within the bucket as histogram_quantile does") {
  using lims::metrics::Histogram;
  using lims::metrics::quantile;
  Histogram h({1, 2, 4});
  CHECK(std::isnan(quantile(h, 0.5)));  // no observations
  // 1 in (0, 1], 3 in (1, 2], 4 in (2, 4], 2 above: cumulative 1, 4, 8, 10.
  for (double v : {0.5, 1.5, 1.5, 2.0, 3.0, 3.0, 4.0, 2.5, 100.0, kNaN}) h.observe(v);
  CHECK(quantile(h, 0.05) == doctest::Approx(0.5));  // rank 0.5 of 1 in [0, 1]
  CHECK(quantile(h, 0.1) == doctest::Approx(1));
  CHECK(quantile(h, 0.25) == doctest::Approx(1.5));  // rank 2.5: 1.5 of 3 in [1, 2]
  CHECK(quantile(h, 0.5) == doctest::Approx(2.5));   // rank 5: 1 of 4 in [2, 4]
  CHECK(quantile(h, 0.8) == doctest::Approx(4));     // rank 8: the top of the last finite bucket
  CHECK(quantile(h, 0.9) == 4);                      // in +Inf: the highest finite bound
  CHECK(quantile(h, 1) == 4);
  CHECK(quantile(h, 0) == 0);  // the bottom of the first bucket
  CHECK(quantile(h, -0.1) == -kInf);
  CHECK(quantile(h, 1.1) == kInf);
  CHECK(std::isnan(quantile(h, kNaN)));

  // A first bucket with a bound <= 0 answers its bound; an empty one answers its start for q 0.
  Histogram negative({-1, 0, 1});
  negative.observe(-5);
  negative.observe(0.5);
  CHECK(quantile(negative, 0.5) == -1);
  CHECK(quantile(negative, 0.75) == doctest::Approx(0.5));
  Histogram empty_first({1, 2});
  empty_first.observe(1.5);
  CHECK(quantile(empty_first, 0) == 0);
  CHECK(quantile(empty_first, 1) == doctest::Approx(2));

  // Only +Inf: nothing to interpolate in.
  Histogram no_bounds({});
  no_bounds.observe(1);
  CHECK(std::isnan(quantile(no_bounds, 0.5)));

  // lims_end_to_end_seconds' buckets: 100 events of 20 ms, the p99 is inside (10 ms, 20 ms].
  Histogram e2e(lims::metrics::exponential_buckets(0.005, 2, 16));
  for (int i = 0; i < 100; ++i) e2e.observe(0.02);
  CHECK(quantile(e2e, 0.99) == doctest::Approx(0.0199));
}

TEST_CASE("metrics: many threads update one counter, gauge and histogram without losing any") {
  Registry r;
  auto& counters = r.counter("c_total", "C.", {"k"});
  auto& gauge = r.gauge("g", "G.").with();
  auto& histograms = r.histogram("h", "H.", {"k"}, {1, 2});
  constexpr int kThreads = 4, kPerThread = 100'000;
  std::vector<lims::metrics::Counter*> seen(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto& c = counters.with({"same"});  // created by whichever thread comes first
      auto& h = histograms.with({"same"});
      seen[t] = &c;
      for (int i = 0; i < kPerThread; ++i) {
        c.inc();
        gauge.add(i % 2 == 0 ? 0.5 : -0.25);
        h.observe(i % 4 == 0 ? 1 : i % 4 == 1 ? 1.5 : i % 4 == 2 ? 2 : 3);
      }
    });
  }
  for (int i = 0; i < 20; ++i) CHECK(check_exposition(r.render()).empty());  // while they run
  for (auto& t : threads) t.join();
  for (auto* c : seen) CHECK(c == seen[0]);
  const double total = double{kThreads} * kPerThread;
  CHECK(seen[0]->value() == total);
  CHECK(gauge.value() == total / 2 * 0.5 - total / 2 * 0.25);
  auto& h = histograms.with({"same"});
  CHECK(h.cumulative_counts() == std::vector<std::uint64_t>{kThreads * kPerThread / 4,
                                                            kThreads * kPerThread * 3 / 4,
                                                            kThreads * kPerThread});
  CHECK(h.sum() == total / 4 * (1 + 1.5 + 2 + 3));
  const std::string text = r.render();
  CHECK(sample(text, "c_total{k=\"same\"}") == total);
  CHECK(sample(text, "h_count{k=\"same\"}") == total);
  CHECK(sample(text, "h_bucket{k=\"same\",le=\"+Inf\"}") == total);
}

TEST_CASE("metrics: callback families emit zero or several series at each render") {
  Registry r;
  std::map<std::string, double> lag;  // what a consumer's assignment would hold
  r.gauge_callback("lims_consumer_lag", "Messages behind, per partition.", {"topic", "partition"},
                   [&](const Emit& emit) {
                     for (const auto& [key, v] : lag)
                       emit({key.substr(0, key.find('/')), key.substr(key.find('/') + 1)}, v);
                   });
  r.counter_callback("lims_polls_total", "Polls.", {}, [](const Emit& emit) { emit({}, 7); });
  CHECK(r.render() ==
        "# HELP lims_polls_total Polls.\n# TYPE lims_polls_total counter\n"
        "lims_polls_total 7\n");
  lag = {{"tomato/1", 5}, {"potato/0", 0}, {"potato/2", 12}};
  CHECK(r.render() ==
        "# HELP lims_consumer_lag Messages behind, per partition.\n"
        "# TYPE lims_consumer_lag gauge\n"
        "lims_consumer_lag{topic=\"potato\",partition=\"0\"} 0\n"
        "lims_consumer_lag{topic=\"potato\",partition=\"2\"} 12\n"
        "lims_consumer_lag{topic=\"tomato\",partition=\"1\"} 5\n"
        "# HELP lims_polls_total Polls.\n# TYPE lims_polls_total counter\n"
        "lims_polls_total 7\n");
  lag.erase("potato/2");  // revoked
  CHECK(r.render().find("potato\",partition=\"2\"") == std::string::npos);

  Registry bad;
  int mode = 0;
  bad.gauge_callback("x", "X.", {"a"}, [&](const Emit& emit) {
    if (mode == 0) emit({"1", "2"}, 1);  // wrong label count
    if (mode == 1) emit({"\xff"}, 1);    // not UTF-8
    if (mode == 2) {
      emit({"1"}, 1);
      emit({"1"}, 2);  // the same series twice
    }
  });
  for (mode = 0; mode < 3; ++mode) CHECK_THROWS_AS(bad.render(), lims::Error);
  CHECK_THROWS_AS(bad.gauge_callback("y", "Y.", {}, nullptr), lims::Error);
}

TEST_CASE("metrics: process metrics are there and plausible") {
  Registry r;
  lims::metrics::add_process_metrics(r);
  CHECK_THROWS_AS(lims::metrics::add_process_metrics(r), lims::Error);
  const std::clock_t start = std::clock();
  volatile double sink = 0;
  while (std::clock() - start < CLOCKS_PER_SEC / 20)  // 50 ms of CPU
    for (int i = 0; i < 1000; ++i) sink = sink + std::sqrt(static_cast<double>(i));

  const std::string text = r.render();
  CHECK(check_exposition(text).empty());
  CHECK(text.find("# TYPE process_cpu_seconds_total counter\n") != std::string::npos);
  CHECK(text.find("# TYPE process_resident_memory_bytes gauge\n") != std::string::npos);
  CHECK(sample(text, "process_cpu_seconds_total").value_or(0) >= 0.03);  // ticks, truncated
  const double rss = sample(text, "process_resident_memory_bytes").value_or(0);
  CHECK(rss > 1 << 20);
  CHECK(sample(text, "process_virtual_memory_bytes").value_or(0) >= rss);
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double started = sample(text, "process_start_time_seconds").value_or(0);
  CHECK(started <= now + 1);  // btime is whole seconds
  CHECK(started > now - 86400);
  CHECK(sample(text, "process_open_fds").value_or(0) >= 3);
  CHECK(sample(text, "process_max_fds").value_or(0) >=
        sample(text, "process_open_fds").value_or(0));
}

TEST_CASE("metrics: every rendered line parses, with every feature in one registry") {
  Registry r;
  auto& c = r.counter("app:requests_total", "Requests, by \"path\".\nSecond line \\ end",
                      {"path", "code"});
  c.with({"/a\"b", "200"}).inc(3);
  c.with({"back\\slash\nnewline", "500"}).inc(0.5);
  r.gauge("temperature_celsius", "").with().set(-12.75);
  auto& g = r.gauge("special", "Special values.", {"kind"});
  g.with({"inf"}).set(kInf);
  g.with({"minus_inf"}).set(-kInf);
  g.with({"nan"}).set(kNaN);
  g.with({"tiny"}).set(5e-324);
  g.with({""}).set(1);
  auto& h = r.histogram("latency_seconds", "Latency.", {"op"}, lims::metrics::default_buckets());
  for (double v : {0.001, 0.005, 0.2, 3.0, 100.0, kNaN}) h.with({"read"}).observe(v);
  h.with({"write"}).observe(-1);
  r.histogram("plain", "No labels.", {}, lims::metrics::exponential_buckets(1e-6, 10, 4))
      .with()
      .observe(1e-5);
  r.gauge_callback("lag", "Lag.", {"topic"}, [](const Emit& emit) {
    emit({"potato"}, 3);
    emit({"tomato"}, 1e21);
  });
  r.counter_callback("nothing_total", "Emits nothing.", {"x"}, [](const Emit&) {});
  lims::metrics::add_process_metrics(r);

  const std::string text = r.render();
  INFO(text);
  CHECK(check_exposition(text) == "");
  CHECK(text.find("nothing_total") == std::string::npos);
  CHECK(sample(text, "latency_seconds_count{op=\"read\"}") == 6);
  CHECK(sample(text, "latency_seconds_bucket{op=\"read\",le=\"10\"}") == 4);  // 100 and NaN: +Inf
  CHECK(std::isnan(sample(text, "latency_seconds_sum{op=\"read\"}").value()));
  CHECK(sample(text, "plain_bucket{le=\"1e-05\"}") == 1);
  CHECK(sample(text, "plain_bucket{le=\"0.0001\"}") == 1);

  // The checker itself rejects what is wrong.
  const std::string head = "# HELP m M.\n# TYPE m gauge\n";
  for (const char* bad : {"m{a=\"b} 1\n", "m{a=\"b\"} x\n", "m 1", "m{le=\"1\"} 1\n", "n 1\n",
                          "m{a=\"b\\t\"} 1\n", "m{a=\"1\",a=\"2\"} 1\n", "m{a=\"\"\"} 1\n",
                          "m{1a=\"1\"} 1\n", "m  1\n", "m inf\n", "# HELP m again\n"})
    CHECK_MESSAGE(!check_exposition(head + bad).empty(), bad);
  const std::string hist = "# HELP h H.\n# TYPE h histogram\n";
  CHECK(!check_exposition(hist + "h_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n")
             .empty());
  CHECK(!check_exposition(hist + "h_bucket{le=\"+Inf\"} 2\nh_count 1\n").empty());
  CHECK(!check_exposition(hist + "h_bucket{le=\"1\"} 2\n").empty());
  CHECK(check_exposition(hist + "h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\n"
                                "h_count 2\n")
            .empty());
}

TEST_CASE("metrics: sample_sum adds every label set of one metric and nothing else") {
  const std::string text =
      "# HELP lims_x_total x\n# TYPE lims_x_total counter\n"
      "lims_x_total{plant=\"potato\"} 2\nlims_x_total{plant=\"a b}\"} 3.5\n"
      "lims_x_total_other 100\nlims_x_totally 7\n";
  CHECK(lims::metrics::sample_sum(text, "lims_x_total") == doctest::Approx(5.5));
  CHECK(lims::metrics::sample_sum("lims_y 4\n", "lims_y") == doctest::Approx(4));
  CHECK_FALSE(lims::metrics::sample_sum(text, "lims_missing").has_value());
}

TEST_CASE("metrics: samples_by_label reads one label of each sample back, escapes undone") {
  const std::string text =
      "# TYPE lims_s_total counter\n"
      "lims_s_total{stage=\"fetch\"} 1.5\n"
      "lims_s_total{kind=\"x\",stage=\"a \\\"b\\\"\"} 2\n"
      "lims_s_total{substage=\"no\"} 9\n"
      "lims_s_total 4\n"
      "lims_s_total_other{stage=\"no\"} 8\n";
  const auto got = lims::metrics::samples_by_label(text, "lims_s_total", "stage");
  REQUIRE(got.size() == 2);
  CHECK(got[0] == std::pair<std::string, double>{"fetch", 1.5});
  CHECK(got[1] == std::pair<std::string, double>{"a \"b\"", 2});
  CHECK(lims::metrics::samples_by_label(text, "lims_none", "stage").empty());
}
