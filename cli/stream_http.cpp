#include "stream_http.hpp"

#include <cmath>
#include <limits>

namespace lims::cli {

LiveStats::LiveStats(const sync::StreamSync& stream)
    : stream_(stream), last_(stream.snapshot()), rate_(std::numeric_limits<double>::quiet_NaN()) {}

std::string LiveStats::json() {
  sync::StreamSnapshot now;
  double rate;
  {
    std::lock_guard lock(mutex_);  // HTTP threads call this at once
    now = stream_.snapshot();
    const double dt = now.elapsed_s - last_.elapsed_s;
    if (dt >= 1) {
      rate_ = static_cast<double>(now.records - last_.records) / dt;
      last_ = now;
    }
    rate = rate_;
  }
  const double p99 = metrics::quantile(stream_.end_to_end_seconds(), 0.99);
  auto number = [](double v) { return std::isfinite(v) ? metrics::format_value(v) : "null"; };
  return "{\"events_per_s\":" + number(rate) + ",\"lag\":" + std::to_string(now.lag) +
         ",\"e2e_p99_s\":" + number(p99) + ",\"records\":" + std::to_string(now.records) +
         ",\"bad\":" + std::to_string(now.bad) + "}";
}

StreamHttp::StreamHttp(const std::string& store_uri, const sync::StreamSync& stream,
                       metrics::Registry& registry, const http::ServerOptions& listen)
    : reader_(store::open_store(store_uri, {.read_only = true})),
      live_(stream),
      handlers_(*reader_, {.readiness = [&stream] { return stream.unready_reason(); },
                           .metrics = &registry,
                           .stats = [this] { return live_.json(); }}),
      server_(handlers_, listen) {}

}  // namespace lims::cli
