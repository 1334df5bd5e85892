#include "metrics/registry.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>

#include "common/error.hpp"

namespace lims::metrics {
namespace {

/// [a-zA-Z_:][a-zA-Z0-9_:]* for metric names (colon_ok), [a-zA-Z_][a-zA-Z0-9_]* for labels;
/// names starting with "__" are reserved for Prometheus itself.
bool valid_name(std::string_view s, bool colon_ok) {
  if (s.empty() || s.starts_with("__")) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (colon_ok && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

/// Well-formed UTF-8: no overlong forms, surrogates or code points past U+10FFFF.
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    // The lead byte says how many continuation bytes follow and the least code point it may carry.
    const std::size_t n = (c & 0xE0) == 0xC0   ? 1
                          : (c & 0xF0) == 0xE0 ? 2
                          : (c & 0xF8) == 0xF0 ? 3
                                               : 0;
    if (n == 0 || i + n >= s.size()) return false;
    const std::uint32_t min = n == 1 ? 0x80 : n == 2 ? 0x800 : 0x10000;
    std::uint32_t cp = c & (0x3Fu >> n);
    for (std::size_t k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

/// Help text escapes \ and newline; label values also escape ".
void append_escaped(std::string& out, std::string_view s, bool quote) {
  for (const char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '"' && quote)
      out += "\\\"";
    else
      out += c;
  }
}

/// One sample line: name{names="values",...,le="le"} value
void append_sample(std::string& out, std::string_view name, std::string_view suffix,
                   const Labels& names, const Labels& values, std::string_view value,
                   std::string_view le = {}) {
  out.append(name).append(suffix);
  if (!names.empty() || !le.empty()) {
    out += '{';
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (i > 0) out += ',';
      out.append(names[i]).append("=\"");
      append_escaped(out, values[i], true);
      out += '"';
    }
    if (!le.empty()) out.append(names.empty() ? "" : ",").append("le=\"").append(le).append("\"");
    out += '}';
  }
  out.append(" ").append(value).append("\n");
}

void append_series(std::string& out, const detail::FamilyBase& f, const Labels& values,
                   const Counter& c) {
  append_sample(out, f.name(), "", f.label_names(), values, format_value(c.value()));
}

void append_series(std::string& out, const detail::FamilyBase& f, const Labels& values,
                   const Gauge& g) {
  append_sample(out, f.name(), "", f.label_names(), values, format_value(g.value()));
}

void append_series(std::string& out, const detail::FamilyBase& f, const Labels& values,
                   const Histogram& h) {
  const std::vector<std::uint64_t> counts = h.cumulative_counts();
  const double sum = h.sum();  // read after the counts: may include a few more observations
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const std::string le = i < h.bounds().size() ? format_value(h.bounds()[i]) : "+Inf";
    append_sample(out, f.name(), "_bucket", f.label_names(), values, std::to_string(counts[i]), le);
  }
  append_sample(out, f.name(), "_sum", f.label_names(), values, format_value(sum));
  append_sample(out, f.name(), "_count", f.label_names(), values, std::to_string(counts.back()));
}

template <class M>
constexpr std::string_view type_of() {
  if constexpr (std::is_same_v<M, Counter>)
    return "counter";
  else if constexpr (std::is_same_v<M, Gauge>)
    return "gauge";
  else
    return "histogram";
}

/// Finite, strictly ascending bounds (a trailing +Inf dropped), else throws.
std::vector<double> checked_bounds(std::vector<double> bounds) {
  if (!bounds.empty() && std::isinf(bounds.back()) && bounds.back() > 0) bounds.pop_back();
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i - 1] < bounds[i])))
      throw Error("metrics: histogram bounds must be finite and strictly ascending, got " +
                  format_value(bounds[i]) + " at position " + std::to_string(i));
  }
  return bounds;
}

/// `v` to 15 significant digits, so that computed bounds print as typed: 0.3, not
/// 0.30000000000000004 (0.1 + 2 * 0.1), and 1e-05, not 9.999999999999999e-06 (1e-6 * 10).
double round15(double v) {
  char buf[32];
  const auto end = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 15).ptr;
  std::from_chars(buf, end, v);
  return v;
}

/// A family whose series a callback emits at render time.
class CallbackFamily final : public detail::FamilyBase {
 public:
  CallbackFamily(std::string name, std::string help, std::string_view type, Labels label_names,
                 Collect collect)
      : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)),
        collect_(std::move(collect)) {
    if (!collect_) throw Error("metrics: " + this->name() + ": the callback is empty");
  }

 private:
  bool render_samples(std::string& out) const override {
    std::vector<std::pair<Labels, double>> series;
    collect_([&](const Labels& values, double value) {
      check_values(values);
      series.emplace_back(values, value);
    });
    std::stable_sort(series.begin(), series.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (std::size_t i = 0; i < series.size(); ++i) {
      if (i > 0 && series[i - 1].first == series[i].first)
        throw Error("metrics: " + name() + ": the callback emitted the same labels twice");
      append_sample(out, name(), "", label_names(), series[i].first,
                    format_value(series[i].second));
    }
    return !series.empty();
  }

  Collect collect_;
};

}  // namespace

void Counter::throw_negative(double by) {
  throw Error("metrics: a counter only goes up, inc(" + format_value(by) + ") is invalid");
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(checked_bounds(std::move(bounds))),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::observe(double v) noexcept {
  // The first bound >= v; NaN compares false with all of them and lands in +Inf.
  const auto it =
      std::partition_point(bounds_.begin(), bounds_.end(), [v](double b) { return !(v <= b); });
  counts_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::cumulative_counts() const {
  std::vector<std::uint64_t> counts(bounds_.size() + 1);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < counts.size(); ++i)
    counts[i] = total += counts_[i].load(std::memory_order_relaxed);
  return counts;
}

std::uint64_t Histogram::count() const noexcept {
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i)
    total += counts_[i].load(std::memory_order_relaxed);
  return total;
}

double quantile(const Histogram& h, double q) {
  // As Prometheus' bucketQuantile (promql/quantile.go), over one consistent read of the counts.
  if (std::isnan(q)) return std::numeric_limits<double>::quiet_NaN();
  if (q < 0) return -std::numeric_limits<double>::infinity();
  if (q > 1) return std::numeric_limits<double>::infinity();
  const std::vector<double>& bounds = h.bounds();
  const std::vector<std::uint64_t> counts = h.cumulative_counts();
  const auto observations = static_cast<double>(counts.back());
  if (bounds.empty() || observations == 0) return std::numeric_limits<double>::quiet_NaN();
  double rank = q * observations;
  std::size_t b = 0;  // the first finite bucket holding the rank, else bounds.size() (+Inf)
  while (b < bounds.size() && static_cast<double>(counts[b]) < rank) ++b;
  if (b == bounds.size()) return bounds.back();
  if (b == 0 && bounds[0] <= 0) return bounds[0];
  double start = 0;
  auto in_bucket = static_cast<double>(counts[b]);
  if (b > 0) {
    start = bounds[b - 1];
    in_bucket -= static_cast<double>(counts[b - 1]);
    rank -= static_cast<double>(counts[b - 1]);
  }
  if (in_bucket == 0) return start;  // q = 0 over an empty first bucket (Prometheus: NaN)
  return start + (bounds[b] - start) * (rank / in_bucket);
}

std::vector<double> linear_buckets(double start, double width, int count) {
  if (!(width > 0) || count < 1 || !std::isfinite(start))
    throw Error("metrics: linear_buckets needs a finite start, width > 0 and count >= 1");
  std::vector<double> bounds;
  for (int i = 0; i < count; ++i) bounds.push_back(round15(start + i * width));
  return checked_bounds(std::move(bounds));
}

std::vector<double> exponential_buckets(double start, double factor, int count) {
  if (!(start > 0) || !(factor > 1) || count < 1)
    throw Error("metrics: exponential_buckets needs start > 0, factor > 1 and count >= 1");
  std::vector<double> bounds{start};
  for (int i = 1; i < count; ++i) bounds.push_back(round15(bounds.back() * factor));
  return checked_bounds(std::move(bounds));
}

std::vector<double> default_buckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  char* const last = buf + sizeof buf;
  if (v == std::trunc(v) && std::fabs(v) <= 9007199254740992.0)  // 2^53: every integer is exact
    return std::string(buf, std::to_chars(buf, last, static_cast<std::int64_t>(v)).ptr);
  // As Go's FormatFloat(v, 'g', -1, 64): the shortest digits that read back exactly, with an
  // exponent (at least two digits) when it is below -4 or at least 6.
  char* const end = std::to_chars(buf, last, v, std::chars_format::scientific).ptr;
  const char* e = std::find<const char*>(buf, end, 'e') + 1;  // "d.ddde+XX" or "d.ddde-XX"
  int exponent = 0;
  std::from_chars(*e == '+' ? e + 1 : e, end, exponent);
  if (exponent < -4 || exponent >= 6) return std::string(buf, end);
  return std::string(buf, std::to_chars(buf, last, v, std::chars_format::fixed).ptr);
}

namespace detail {

FamilyBase::FamilyBase(std::string name, std::string help, std::string_view type,
                       Labels label_names)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)) {
  if (!valid_name(name_, true))
    throw Error("metrics: invalid metric name '" + name_ + "' (want [a-zA-Z_:][a-zA-Z0-9_:]*)");
  if (!valid_utf8(help_)) throw Error("metrics: " + name_ + ": the help text is not UTF-8");
  for (std::size_t i = 0; i < label_names_.size(); ++i) {
    const std::string& l = label_names_[i];
    if (!valid_name(l, false) || l == "le")
      throw Error("metrics: " + name_ + ": invalid label name '" + l +
                  "' (want [a-zA-Z_][a-zA-Z0-9_]*, not le, not starting with __)");
    if (std::find(label_names_.begin(), label_names_.begin() + i, l) != label_names_.begin() + i)
      throw Error("metrics: " + name_ + ": label name '" + l + "' given twice");
  }
}

void FamilyBase::render(std::string& out) const {
  const std::size_t start = out.size();
  out.append("# HELP ").append(name_).append(" ");
  append_escaped(out, help_, false);
  out.append("\n# TYPE ").append(name_).append(" ").append(type_).append("\n");
  if (!render_samples(out)) out.resize(start);
}

void FamilyBase::check_values(const Labels& values) const {
  if (values.size() != label_names_.size())
    throw Error("metrics: " + name_ + ": " + std::to_string(values.size()) + " label values for " +
                std::to_string(label_names_.size()) + " label names");
  for (const std::string& v : values)
    if (!valid_utf8(v)) throw Error("metrics: " + name_ + ": a label value is not UTF-8");
}

}  // namespace detail

template <class M>
Family<M>::Family(std::string name, std::string help, Labels label_names,
                  std::vector<double> bounds)
    : FamilyBase(std::move(name), std::move(help), type_of<M>(), std::move(label_names)),
      bounds_(checked_bounds(std::move(bounds))) {
  if (this->label_names().empty()) with({});
}

template <class M>
M& Family<M>::with(const Labels& values) {
  std::lock_guard lock(mutex_);
  if (auto it = series_.find(values); it != series_.end()) return it->second;
  check_values(values);
  if constexpr (std::is_same_v<M, Histogram>)
    return series_.try_emplace(values, bounds_).first->second;
  else
    return series_.try_emplace(values).first->second;
}

template <class M>
bool Family<M>::render_samples(std::string& out) const {
  std::lock_guard lock(mutex_);
  for (const auto& [values, metric] : series_) append_series(out, *this, values, metric);
  return !series_.empty();
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

template <class F>
F& Registry::add(std::unique_ptr<F> family) {
  std::vector<std::string> names{family->name()};
  if (family->type() == "histogram")
    for (const char* suffix : {"_bucket", "_sum", "_count"})
      names.push_back(family->name() + suffix);
  std::lock_guard lock(mutex_);
  for (const std::string& n : names)
    if (taken_.contains(n))
      throw Error("metrics: " + family->name() + ": the name " + n + " is already registered");
  taken_.insert(names.begin(), names.end());
  F& result = *family;
  families_.push_back(std::move(family));
  return result;
}

Family<Counter>& Registry::counter(std::string name, std::string help, Labels label_names) {
  return add(std::unique_ptr<Family<Counter>>(
      new Family<Counter>(std::move(name), std::move(help), std::move(label_names), {})));
}

Family<Gauge>& Registry::gauge(std::string name, std::string help, Labels label_names) {
  return add(std::unique_ptr<Family<Gauge>>(
      new Family<Gauge>(std::move(name), std::move(help), std::move(label_names), {})));
}

Family<Histogram>& Registry::histogram(std::string name, std::string help, Labels label_names,
                                       std::vector<double> bounds) {
  return add(std::unique_ptr<Family<Histogram>>(new Family<Histogram>(
      std::move(name), std::move(help), std::move(label_names), std::move(bounds))));
}

void Registry::counter_callback(std::string name, std::string help, Labels label_names,
                                Collect collect) {
  add(std::make_unique<CallbackFamily>(std::move(name), std::move(help), "counter",
                                       std::move(label_names), std::move(collect)));
}

void Registry::gauge_callback(std::string name, std::string help, Labels label_names,
                              Collect collect) {
  add(std::make_unique<CallbackFamily>(std::move(name), std::move(help), "gauge",
                                       std::move(label_names), std::move(collect)));
}

std::string Registry::render() const {
  std::vector<const detail::FamilyBase*> families;
  {
    std::lock_guard lock(mutex_);
    for (const auto& f : families_) families.push_back(f.get());
  }
  std::string out;
  for (const detail::FamilyBase* f : families) f->render(out);
  return out;
}

}  // namespace lims::metrics
