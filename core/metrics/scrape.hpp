#pragma once
// Reading the Prometheus text format back: what `lims bench` takes from its children's /metrics.

#include <optional>
#include <string_view>

namespace lims::metrics {

/// The sum of every sample of metric `name` (all label sets) in a text-format exposition, or
/// nullopt if it has none. Comment lines and other metrics (name_bucket, ...) are ignored.
std::optional<double> sample_sum(std::string_view exposition, std::string_view name);

}  // namespace lims::metrics
