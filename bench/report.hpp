#pragma once
// What `lims bench` writes: events.csv, timeline.csv, summary.csv, stages.csv, three SVG charts
// and report.md for one run, and sweep.csv with a scaling table for a sweep.

#include <string>
#include <vector>

#include "bench/bench.hpp"

namespace lims::bench {

/// Prices that turn measured CPU and memory into money. The defaults are Google Compute
/// Engine's on-demand N1 prices in us-central1 (cloud.google.com/compute/vm-instance-pricing):
/// $0.031611 per vCPU-hour and $0.004237 per GB-hour, which price the n1-standard-4 node LIMS
/// recommends (4 vCPU, 15 GB) at $0.19 an hour.
struct Prices {
  double vcpu_hour = 0.031611;
  double gib_hour = 0.004237;
};
/// What LIMS's Kafka pod requests (reference: 700m CPU, 2 GiB), which only the stream needs.
inline constexpr double kBrokerVcpu = 0.7;
inline constexpr double kBrokerGib = 2;
inline constexpr double kHoursPerYear = 24 * 365;

/// One path's figures for a run.
struct PathSummary {
  std::string mode;
  std::size_t events = 0, visible = 0;
  double payload_bytes = 0;  // the changes' own bytes: Kafka values, or LIMS documents
  double wire_bytes = 0;     // Kafka bytes received, or document bytes read + written
  double bytes_per_s = 0;    // wire bytes over the run
  double events_per_s = 0;   // visible changes over the span they were made visible in
  double p50_ms = 0, p95_ms = 0, p99_ms = 0, max_ms = 0;
  double within_sla = -1;  // share of changes visible within the SLA (-1: no SLA given)
  double cpu_s = 0, peak_rss_mib = 0;
  double vcpu = 0;         // average vCPU at LIMS's real pace (CPU s over LIMS seconds)
  double annual_cost = 0;  // vCPU and peak memory for a year at `Prices`
  std::uint64_t dropped_by_broker = 0;  // stream: records the broker deleted (retention)
  std::vector<StageTime> stages;        // where its time went, as its process reported it
  std::string bottleneck;  // the working stage with the most wall time ("" when none reported)
};

struct ReportOptions {
  double sla_s = 0;  // at LIMS's pace; 0: none
  Prices prices;
  std::string command;  // how the run was started, for the report
};

/// The figures of each path of `run`.
std::vector<PathSummary> summarize(const RunResult& run, const ReportOptions& options);

/// Path `p`'s wire bytes so far over the run, for the bytes chart: (seconds since the start,
/// bytes), from (0, 0), x and y non-decreasing, ending at (at least run.seconds, p.wire_bytes)
/// when the counters agree with the total.
std::vector<std::pair<double, double>> cumulative_wire_bytes(const RunResult& run,
                                                             const PathRun& p);

/// LIMS hours the workload ran: the run without the wait for the last changes, times --speedup.
double workload_lims_hours(const RunResult& run);

/// One line for the terminal: "stream: 57/57 visible, p50 11 ms, p99 103 ms, 2.6 MB on the
/// wire, 0.19 CPU s, 16.8 MiB peak RSS".
std::string summary_line(const PathSummary& s);

/// Writes events.csv, timeline.csv, summary.csv, stages.csv, latency_cdf.svg,
/// bytes_over_time.svg, stages.svg and report.md into run.options.dir; throws lims::Error if a
/// file cannot be written.
void write_run_report(const RunResult& run, const std::vector<PathSummary>& summary,
                      const ReportOptions& options);

/// One run of a sweep: the swept value and its figures.
struct SweepPoint {
  std::string value;
  std::string dir;
  double events_per_lims_hour = 0;
  std::vector<PathSummary> paths;
};

/// Writes sweep.csv and report.md (the scaling table) into `dir`.
void write_sweep_report(const std::string& dir, const std::string& parameter,
                        const std::vector<SweepPoint>& points, const ReportOptions& options);

}  // namespace lims::bench
