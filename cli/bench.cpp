// lims bench: stream against batch, measured on one simulated LIMS workload.

#include "bench/bench.hpp"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>

#include "bench/report.hpp"
#include "commands.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/signals.hpp"
#include "common/time_units.hpp"

namespace lims::cli {
namespace {

struct BenchCliOptions {
  bench::BenchOptions run;
  std::string mode = "both";
  std::string sweep;  // PARAM=V1,V2,...
  std::string sla;    // a duration at LIMS's pace
  bench::Prices prices;
};

/// "10s", "500ms", "2m", "1h" or a number of seconds; a usage error naming `option` otherwise.
/// The command line this process was started with, "lims ..." (for the report).
std::string command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string out;
  bool first = true;
  for (std::size_t start = 0, nul; start < all.size(); start = nul + 1) {
    nul = all.find('\0', start);
    if (nul == std::string::npos) nul = all.size();
    const std::string arg = all.substr(start, nul - start);
    out += first ? "lims" : " " + arg;
    first = false;
  }
  return out;
}

/// `text` as a whole number of type T, or nullopt (trailing characters included).
template <typename T>
std::optional<T> parse_whole(const std::string& text) {
  T value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

/// Sets the swept parameter of `o` to `value`; a usage error if either is unknown.
void apply_sweep_value(bench::BenchOptions& o, const std::string& parameter,
                       const std::string& value) {
  if (parameter == "intensity") {
    const auto intensity = parse_whole<double>(value);
    if (intensity && *intensity > 0 && std::isfinite(*intensity)) {
      o.workload.intensity = *intensity;
      return;
    }
  } else if (parameter == "cameras") {
    const auto cameras = parse_whole<int>(value);
    if (cameras && *cameras >= 1 && *cameras <= 1000) {
      o.workload.cameras = *cameras;
      return;
    }
  } else {
    throw Error("--sweep: expected intensity=... or cameras=..., got '" + parameter + "'",
                ExitCode::usage);
  }
  throw Error("--sweep " + parameter + ": '" + value + "' is not a valid value (" +
                  (parameter == "cameras" ? "1 to 1000" : "a number above 0") + ")",
              ExitCode::usage);
}

bench::SweepPoint measure(bench::BenchOptions o, const bench::ReportOptions& report) {
  const auto run = bench::run_bench(o, stop_flag());
  const auto summary = bench::summarize(run, report);
  bench::write_run_report(run, summary, report);
  for (const auto& s : summary) log::line("bench: " + bench::summary_line(s));
  const double lims_hours = bench::workload_lims_hours(run);
  return {"", o.dir, lims_hours > 0 ? static_cast<double>(run.events.size()) / lims_hours : 0,
          summary};
}

int run_bench_command(BenchCliOptions o) {
  install_stop_handlers();
  if (o.mode == "stream") o.run.paths = {bench::PathKind::stream};
  if (o.mode == "batch") o.run.paths = {bench::PathKind::batch};
  std::error_code error;
  o.run.lims_binary = std::filesystem::read_symlink("/proc/self/exe", error).string();
  if (error) throw Error("bench: cannot find the lims binary: " + error.message());
  bench::ReportOptions report;
  report.prices = o.prices;
  report.command = command_line();
  if (!o.sla.empty()) report.sla_s = static_cast<double>(duration_arg(o.sla, "--sla")) / 1e6;
  if (o.sweep.empty()) {
    measure(o.run, report);
    log::line("bench: wrote " + o.run.dir + "/report.md");
    return stop_flag() ? static_cast<int>(ExitCode::failure) : 0;
  }
  const auto eq = o.sweep.find('=');
  const std::string parameter = o.sweep.substr(0, eq);
  std::vector<std::string> values;
  for (std::size_t start = eq + 1, comma; eq != std::string::npos && start <= o.sweep.size();
       start = comma + 1) {
    comma = std::min(o.sweep.find(',', start), o.sweep.size());
    values.push_back(o.sweep.substr(start, comma - start));
  }
  bench::BenchOptions check = o.run;
  for (const auto& v : values) apply_sweep_value(check, parameter, v);  // usage errors first
  if (values.empty()) throw Error("--sweep: expected PARAM=V1,V2,...", ExitCode::usage);
  std::vector<bench::SweepPoint> points;
  for (const auto& v : values) {
    if (stop_flag()) break;
    bench::BenchOptions one = o.run;
    apply_sweep_value(one, parameter, v);
    one.dir = o.run.dir + "/" + parameter + "-" + v;
    log::info("bench: " + parameter + " = " + v);
    points.push_back(measure(one, report));
    points.back().value = v;
    points.back().dir = parameter + "-" + v;
  }
  bench::write_sweep_report(o.run.dir, parameter, points, report);
  log::line("bench: wrote " + o.run.dir + "/report.md");
  return stop_flag() ? static_cast<int>(ExitCode::failure) : 0;
}

}  // namespace

Command setup_bench(CLI::App& app) {
  auto o = std::make_shared<BenchCliOptions>();
  o->run.dir = "lims-bench";
  CLI::App* c = app.add_subcommand(
      "bench",
      "Measure the stream (lims consume) against the batch baseline (lims sync-batch) on one\n"
      "simulated LIMS workload: each change is written to the producer store, then produced\n"
      "to Kafka; each path runs as a process of its own into its own consumer store, and each\n"
      "change is timed until it is visible there. By default everything is embedded (Kafka in\n"
      "this process, SQLite stores in --out); --brokers and the store options point it at real\n"
      "infrastructure. Writes events.csv, timeline.csv, summary.csv, latency_cdf.svg,\n"
      "bytes_over_time.svg and report.md into --out. It does not read LIMS_BROKERS or the\n"
      "LIMS_*STORE variables: it runs on its own embedded Kafka and SQLite files unless\n"
      "--brokers and the store options name real ones.");
  c->add_option("--mode", o->mode, "Which paths to run")
      ->check(CLI::IsMember({"stream", "batch", "both"}))
      ->capture_default_str();
  c->add_option("-o,--out", o->run.dir, "Directory for the results and work files")
      ->capture_default_str();
  c->add_option("-d,--duration", o->run.duration_s, "Wall seconds the workload runs")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c->add_option("--speedup", o->run.speedup,
                "Divide LIMS's job periods and the batch interval by this")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c->add_option("--cameras", o->run.workload.cameras, "Number of Camera Jobs")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  c->add_option("--intensity", o->run.workload.intensity, "Multiply every job's rate by this")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c->add_option("--seed", o->run.workload.seed, "Workload seed")->capture_default_str();
  c->add_option("--initial", o->run.initial,
                "Images per plant every store starts with (LIMS: about 2000)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  c->add_option("--batch-interval", o->run.batch_interval_s,
                "LIMS seconds from one sync-batch run to the next (divided by --speedup)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c->add_option("--batch-mode", o->run.batch_mode,
                "full copies everything each run, as LIMS's DB Synchronizer; incremental copies "
                "what changed since the last run")
      ->check(CLI::IsMember({"full", "incremental"}))
      ->capture_default_str();
  c->add_flag("--max", o->run.max,
              "Write a backlog of --count changes first, then let the paths drain it: their "
              "peak throughput");
  add_count_option(c, o->run.count, "Changes in the --max backlog")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c->add_option("--sweep", o->sweep,
                "Repeat the run for each value, e.g. intensity=1,2,4,8 or cameras=1,2,4, and add "
                "a scaling table (each run in --out/PARAM-VALUE)");
  c->add_option("--sla", o->sla,
                "Report the share of changes visible within this delay at LIMS's pace, e.g. 10s "
                "(divided by --speedup for the run)");
  c->add_option("--price-vcpu-hour", o->prices.vcpu_hour,
                "USD per vCPU-hour (default: Compute Engine N1 on-demand, us-central1)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  c->add_option("--price-gib-hour", o->prices.gib_hour,
                "USD per GiB-hour of memory (default: Compute Engine N1 on-demand, us-central1)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  c->add_option("-b,--brokers", o->run.brokers,
                "Kafka to use instead of the embedded one; bench creates the plant topics if "
                "missing (use a fresh --topic-prefix: bench produces simulated images)");
  add_topic_prefix_option(c, o->run.topic_prefix);
  c->add_option("-p,--partitions", o->run.partitions,
                "Partitions per topic of the embedded Kafka, or of the topics bench creates on a "
                "real one if missing (default 1 as LIMS; embedded --max: enough for the backlog)")
      ->check(CLI::Range(1, 256));
  c->add_option("--producer-store", o->run.producer_store,
                "The producer store the workload writes and sync-batch reads (default: "
                "producer.db in --out)");
  c->add_option("-s,--store", o->run.stream_store,
                "The stream's consumer store (default: stream.db in --out)");
  c->add_option("--batch-store", o->run.batch_store,
                "The batch path's consumer store (default: batch.db in --out)");
  return {c, [o] { return run_bench_command(*o); }};
}

}  // namespace lims::cli
