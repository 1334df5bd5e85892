#pragma once
// lims bench: one simulated LIMS workload drives the stream path (lims consume) and the batch
// path (lims sync-batch) side by side, each in a process of its own, and every change is timed
// from the producer store's write to the moment it is visible in that path's consumer store.

#include <atomic>
#include <string>
#include <string_view>
#include <vector>

#include "bench/child.hpp"
#include "sim/simulator.hpp"
#include "sim/workload.hpp"

namespace lims::bench {

enum class PathKind { stream, batch };
/// "stream" or "batch".
std::string_view path_name(PathKind kind);

struct BenchOptions {
  std::vector<PathKind> paths = {PathKind::stream, PathKind::batch};
  std::string lims_binary;  // what runs each path's process
  std::string dir;          // work files and results
  std::string brokers;      // empty: an embedded Kafka inside the bench process
  std::string topic_prefix;
  int partitions = 0;  // embedded Kafka, per topic; 0: 1 as LIMS, or enough for --max's backlog
  std::string producer_store, stream_store, batch_store;  // empty: SQLite files in `dir`
  std::string batch_mode = "full";                        // what sync-batch runs: full as LIMS
  double batch_interval_s = 600;  // LIMS seconds from one sync-batch run to the next
  double duration_s = 60;         // wall seconds the workload runs (paced runs)
  double speedup = 100;           // LIMS periods and the batch interval are divided by this
  std::int64_t initial = 2000;    // pre-filled images per plant, in every store
  bool max = false;               // a backlog of `count` changes first, then both drain it
  std::uint64_t count = 3000;     // --max's backlog
  sim::WorkloadOptions workload;
};

/// One sync-batch run, from the batch path's log.
struct BatchRunLine {
  std::uint64_t images = 0, bytes_read = 0, bytes_written = 0;
  double seconds = 0;
};

/// What one path did.
/// One stage of a path's time, as its process reported it on /metrics
/// (lims_stage_seconds_total, lims_stage_cpu_seconds_total). kafka_client has CPU time only.
struct StageTime {
  std::string name;
  bool waiting = false;  // waits rather than works: never the bottleneck
  double wall_s = 0, cpu_s = 0;
};

struct PathRun {
  PathKind kind = PathKind::stream;
  Micros started_at = 0;           // when its process was started (--max: its drain's start)
  std::vector<Micros> visible_at;  // per event: when it was first visible (0: never)
  double wire_bytes = 0;           // Kafka bytes received, or document bytes read + written
  std::vector<std::pair<double, double>> wire_timeline;  // (s since start, cumulative bytes)
  ChildUsage usage;
  std::uint64_t dropped_by_broker = 0;   // stream: records its partitions no longer hold
  std::vector<BatchRunLine> batch_runs;  // batch: each run sync-batch reported
  std::vector<StageTime> stages;         // as of the last scrape
  std::string log_path;
};

struct RunResult {
  BenchOptions options;
  int partitions = 1;
  std::vector<sim::ProducedEvent> events;
  std::vector<PathRun> paths;
  Micros started_at = 0;        // the workload's start (--max: when the paths started draining)
  double seconds = 0;           // from started_at until every path was done
  double workload_seconds = 0;  // from started_at until the workload ended (--max: = seconds)
  bool stopped = false;         // interrupted (Ctrl-C): results are partial
};

/// Runs one measurement; prints a progress line on stderr every second. Throws lims::Error if a
/// path's process fails or a store or the broker cannot be reached. `stop` ends it early.
RunResult run_bench(const BenchOptions& options, const std::atomic<bool>& stop);

}  // namespace lims::bench
