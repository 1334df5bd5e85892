#pragma once
// The standard process_* metrics of a Prometheus client, read from /proc/self at scrape time.

#include "metrics/registry.hpp"

namespace lims::metrics {

/// Registers process_cpu_seconds_total, process_resident_memory_bytes,
/// process_virtual_memory_bytes, process_start_time_seconds, process_open_fds and
/// process_max_fds. A value that cannot be read (no /proc) is left out of the exposition.
/// Throws lims::Error if one of these names is already registered.
void add_process_metrics(Registry& registry);

}  // namespace lims::metrics
