#pragma once
// Prometheus metrics: counters, gauges and histograms in labelled families, callback families
// computed at scrape time, and the text exposition format 0.0.4 of them all. Updating a metric is
// lock-free; only creating a series, registering a family and rendering take a mutex.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace lims::metrics {

/// The Content-Type of Registry::render()'s text.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

// Updates are single atomic instructions or compare-and-swap loops, never a hidden lock.
static_assert(std::atomic<double>::is_always_lock_free);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

/// A family's label names, or one series' label values in the same order.
using Labels = std::vector<std::string>;

/// A value that only goes up (from 0 when the process starts).
class Counter {
 public:
  /// Adds `by`, which must be >= 0 (else throws lims::Error).
  void inc(double by = 1) {
    if (!(by >= 0)) throw_negative(by);
    value_.fetch_add(by, std::memory_order_relaxed);
  }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  [[noreturn]] static void throw_negative(double by);
  std::atomic<double> value_{0};
};

/// A value that goes up and down.
class Gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(double by) noexcept { value_.fetch_add(by, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

/// Observations counted into buckets by upper bound, with their sum.
class Histogram {
 public:
  /// `bounds`: finite and strictly ascending, else throws lims::Error; a trailing +Inf is dropped
  /// (the +Inf bucket is always there).
  explicit Histogram(std::vector<double> bounds);
  /// Counts `v` in the first bucket whose bound is >= v (NaN: only in +Inf) and adds it to sum().
  void observe(double v) noexcept;
  const std::vector<double>& bounds() const noexcept { return bounds_; }
  /// The observations <= each bound, then all of them (+Inf): bounds().size() + 1 counts.
  std::vector<std::uint64_t> cumulative_counts() const;
  std::uint64_t count() const noexcept;
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // per bucket, not cumulative; last: +Inf
  std::atomic<double> sum_{0};
};

/// The q-quantile (0 <= q <= 1) of the observations, estimated as Prometheus'
/// histogram_quantile() does: linear interpolation within the bucket holding the rank, the
/// first bucket starting at 0 (or at its bound, if that is <= 0), and the highest finite bound
/// when the rank falls in the +Inf bucket. NaN without observations (or without finite bounds)
/// and for a NaN q; -Inf for q < 0, +Inf for q > 1.
double quantile(const Histogram& histogram, double q);

/// `count` bounds: start, start + width, ... (width > 0, count >= 1, else throws lims::Error).
std::vector<double> linear_buckets(double start, double width, int count);
/// `count` bounds: start, start * factor, ... (start > 0, factor > 1, count >= 1, else throws).
std::vector<double> exponential_buckets(double start, double factor, int count);
/// Prometheus's default bounds, for durations in seconds: 0.005, 0.01, ... 5, 10.
std::vector<double> default_buckets();

/// A sample value as the text format spells it: "+Inf", "-Inf", "NaN", an integer without
/// exponent when the value is one (up to 2^53), else as Go's FormatFloat(v, 'g', -1, 64): the
/// shortest digits that read back exactly, e.g. 0.25, 0.0001, 1e-05, 1.5e+06.
std::string format_value(double v);

/// Hands one series of a callback family to render(): emit(label values, value).
using Emit = std::function<void(const Labels& values, double value)>;
/// Computes a callback family's series when rendering, by calling emit once for each.
using Collect = std::function<void(const Emit& emit)>;

namespace detail {

/// What every family has: a name, a help text, a type and label names, all checked.
class FamilyBase {
 public:
  /// Throws lims::Error for an invalid metric or label name, a label named "le", a label name
  /// given twice, or help that is not UTF-8.
  FamilyBase(std::string name, std::string help, std::string_view type, Labels label_names);
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  /// Appends "# HELP", "# TYPE" and one line per sample; nothing when the family has no series.
  void render(std::string& out) const;
  const std::string& name() const noexcept { return name_; }
  std::string_view type() const noexcept { return type_; }
  const Labels& label_names() const noexcept { return label_names_; }

 protected:
  /// Appends the sample lines; returns false when there are none.
  virtual bool render_samples(std::string& out) const = 0;
  /// Throws lims::Error unless `values` has one valid UTF-8 value per label name.
  void check_values(const Labels& values) const;

 private:
  std::string name_;
  std::string help_;
  std::string_view type_;
  Labels label_names_;
};

}  // namespace detail

/// The series of one metric, one per combination of label values.
template <class M>
class Family final : public detail::FamilyBase {
 public:
  /// The series with these label values, one per label name (else throws lims::Error), created
  /// on first use. The reference stays valid as long as the registry: cache it on hot paths.
  M& with(const Labels& values = {});

 private:
  friend class Registry;
  Family(std::string name, std::string help, Labels label_names, std::vector<double> bounds);
  bool render_samples(std::string& out) const override;

  std::vector<double> bounds_;  // histograms only
  mutable std::mutex mutex_;
  std::map<Labels, M> series_;  // sorted by label values, which is the order they render in
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

/// The metric families of a process, rendered in the order they were registered.
class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Each of these throws lims::Error for an invalid name or label name, and for a name already
  // taken (a histogram also takes name_bucket, name_sum and name_count). A family without labels
  // has its one series, with({}), from the start.

  Family<Counter>& counter(std::string name, std::string help, Labels label_names = {});
  Family<Gauge>& gauge(std::string name, std::string help, Labels label_names = {});
  Family<Histogram>& histogram(std::string name, std::string help, Labels label_names = {},
                               std::vector<double> bounds = default_buckets());
  /// A counter family whose series `collect` emits at each render.
  void counter_callback(std::string name, std::string help, Labels label_names, Collect collect);
  /// A gauge family whose series `collect` emits at each render.
  void gauge_callback(std::string name, std::string help, Labels label_names, Collect collect);

  /// The whole exposition (format 0.0.4). Callbacks run on the calling thread without a registry
  /// lock; what they throw propagates, as does lims::Error for a bad or duplicate emitted series.
  std::string render() const;

 private:
  template <class F>
  F& add(std::unique_ptr<F> family);

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<detail::FamilyBase>> families_;
  std::set<std::string, std::less<>> taken_;  // every sample name the families render
};

}  // namespace lims::metrics
