#pragma once
// Reading the Prometheus text format back: what `lims bench` takes from its children's /metrics.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lims::metrics {

/// The sum of every sample of metric `name` (all label sets) in a text-format exposition, or
/// nullopt if it has none. Comment lines and other metrics (name_bucket, ...) are ignored.
std::optional<double> sample_sum(std::string_view exposition, std::string_view name);

/// Each sample of metric `name` that has label `label`, as (the label's value, the sample's
/// value), in the order of the exposition.
std::vector<std::pair<std::string, double>> samples_by_label(std::string_view exposition,
                                                             std::string_view name,
                                                             std::string_view label);

}  // namespace lims::metrics
