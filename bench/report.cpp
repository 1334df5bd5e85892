#include "bench/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <numeric>
#include <thread>

#include "bench/svg.hpp"
#include "codec/time.hpp"
#include "common/error.hpp"
#include "common/format.hpp"

namespace lims::bench {
namespace {

/// The nearest-rank q-quantile of sorted `v` (0 for none).
double quantile(const std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

/// "850 ms", "12.3 s" or "4.1 min".
std::string duration_text(double ms) {
  if (ms < 1000) return format("%.0f ms", ms);
  if (ms < 120000) return format("%.1f s", ms / 1000);
  return format("%.1f min", ms / 60000);
}

std::string mb(double bytes) { return format("%.1f MB", bytes / 1e6); }

/// LIMS hours the run stood for (its wall seconds times the speedup).
double lims_hours(const RunResult& run) { return run.seconds * run.options.speedup / 3600; }

/// Where a change's latency counts from: its write, or (--max) when path `p` started draining.
Micros latency_from(const PathRun& p, const sim::ProducedEvent& e) {
  return std::max(e.written_at, p.started_at);
}

/// Latencies in ms of the changes visible on path `p`, sorted.
std::vector<double> latencies_ms(const RunResult& run, const PathRun& p) {
  std::vector<double> ms;
  for (std::size_t i = 0; i < run.events.size(); ++i)
    if (p.visible_at[i] > 0)
      ms.push_back(static_cast<double>(p.visible_at[i] - latency_from(p, run.events[i])) / 1000);
  std::sort(ms.begin(), ms.end());
  return ms;
}

std::ofstream open_out(const std::string& path) {
  std::ofstream out(path);
  if (!out) throw Error("bench: cannot write " + path);
  return out;
}

void write_events_csv(const RunResult& run, const std::string& path) {
  auto out = open_out(path);
  out << "mode,plant,id,op,bytes,produced_at,visible_at,latency_ms\n";
  for (const auto& p : run.paths)
    for (std::size_t i = 0; i < run.events.size(); ++i) {
      const sim::ProducedEvent& e = run.events[i];
      const std::size_t bytes = p.kind == PathKind::stream ? e.value_bytes : e.document_bytes;
      out << path_name(p.kind) << ',' << plant_name(e.plant) << ',' << e.id << ','
          << sim::job_name(e.job) << ',' << bytes << ',' << codec::format_time(e.written_at) << ',';
      if (p.visible_at[i] > 0)
        out << codec::format_time(p.visible_at[i]) << ','
            << format("%.3f", static_cast<double>(p.visible_at[i] - latency_from(p, e)) / 1000);
      else
        out << ',';
      out << '\n';
    }
}

/// Per second of the run: (changes made visible, their bytes, wire bytes) of path `p`.
std::vector<std::array<double, 3>> per_second(const RunResult& run, const PathRun& p) {
  std::vector<std::array<double, 3>> rows(static_cast<std::size_t>(std::ceil(run.seconds)) + 1);
  auto at = [&](double s) -> std::array<double, 3>& {
    return rows[std::min(rows.size() - 1, static_cast<std::size_t>(std::max(0.0, s)))];
  };
  for (std::size_t i = 0; i < run.events.size(); ++i) {
    if (p.visible_at[i] <= 0) continue;
    auto& row = at(static_cast<double>(p.visible_at[i] - run.started_at) / 1e6);
    row[0] += 1;
    row[1] += static_cast<double>(p.kind == PathKind::stream ? run.events[i].value_bytes
                                                             : run.events[i].document_bytes);
  }
  double before = 0;
  for (const auto& [s, total] : p.wire_timeline) {
    at(s - 1e-9)[2] += total - before;  // what arrived since the previous scrape
    before = total;
  }
  return rows;
}

void write_timeline_csv(const RunResult& run, const std::string& path) {
  auto out = open_out(path);
  out << "second,mode,events,payload_bytes,wire_bytes\n";
  for (const auto& p : run.paths) {
    const auto rows = per_second(run, p);
    for (std::size_t s = 0; s < rows.size(); ++s)
      out << s << ',' << path_name(p.kind) << ',' << rows[s][0] << ',' << format("%.0f", rows[s][1])
          << ',' << format("%.0f", rows[s][2]) << '\n';
  }
}

void write_summary_csv(const std::vector<PathSummary>& summary, const std::string& path) {
  auto out = open_out(path);
  out << "mode,events,visible,lost,payload_bytes,wire_bytes,bytes_per_s,events_per_s,p50_ms,"
         "p95_ms,p99_ms,max_ms,within_sla,cpu_s,peak_rss_mib,vcpu_at_lims_pace,annual_cost_usd\n";
  for (const auto& s : summary)
    out << s.mode << ',' << s.events << ',' << s.visible << ',' << s.events - s.visible << ','
        << format("%.0f,%.0f,%.0f,%.2f,%.3f,%.3f,%.3f,%.3f,", s.payload_bytes, s.wire_bytes,
                  s.bytes_per_s, s.events_per_s, s.p50_ms, s.p95_ms, s.p99_ms, s.max_ms)
        << (s.within_sla < 0 ? std::string() : format("%.4f", s.within_sla))
        << format(",%.3f,%.1f,%.6f,%.2f\n", s.cpu_s, s.peak_rss_mib, s.vcpu, s.annual_cost);
}

const char* color_of(PathKind kind) { return kind == PathKind::stream ? "#1f77b4" : "#d62728"; }

void write_charts(const RunResult& run, const std::string& dir) {
  // The bytes chart plots each path's wire bytes so far on a log y axis. The batch moves a few
  // hundred times the stream's bytes, in bursts: on a linear axis the stream's line lies on
  // zero. On a log axis both lines show and their gap reads directly as the ratio (a labelled
  // grid line is ten times the one below), and a cumulative line does not fall back to zero
  // between bursts, where a log axis has no place for it. Two panels would show each path's
  // shape but hide the ratio behind two scales.
  std::vector<Series> cdf, bytes;
  for (const auto& p : run.paths) {
    const std::string name(path_name(p.kind));
    cdf.push_back({name, color_of(p.kind), cdf_points(latencies_ms(run, p)), true});
    bytes.push_back(
        {name + ": " + mb(p.wire_bytes), color_of(p.kind), cumulative_wire_bytes(run, p)});
  }
  ChartOptions c{"Latency from the producer's write to visible in the consumer store",
                 "latency (ms, log scale)", "share of changes"};
  c.log_x = true;
  c.y_min = 0;
  c.y_max = 1;
  c.y_percent = true;
  open_out(dir + "/latency_cdf.svg") << line_chart_svg(cdf, c);
  ChartOptions b{"Bytes on the wire so far, per path", "seconds since the start",
                 "wire bytes so far (log scale)"};
  b.log_y = true;
  open_out(dir + "/bytes_over_time.svg") << line_chart_svg(bytes, b);
}

/// stages.csv: each path's time by stage, and stages.svg: its CPU time by stage, stacked (the
/// process's CPU that no stage accounts for, such as its start and its HTTP server, as
/// "other").
void write_stages(const std::vector<PathSummary>& summary, const std::string& dir) {
  auto csv = open_out(dir + "/stages.csv");
  csv << "mode,stage,kind,wall_s,cpu_s\n";
  std::vector<Bar> bars;
  for (const auto& s : summary) {
    Bar& bar = bars.emplace_back(Bar{s.mode, {}});
    double accounted = 0;
    for (const auto& st : s.stages) {
      csv << s.mode << ',' << st.name << ',' << (st.waiting ? "wait" : "work")
          << format(",%.4f,%.4f\n", st.wall_s, st.cpu_s);
      bar.segments.emplace_back(st.name, st.cpu_s);
      accounted += st.cpu_s;
    }
    bar.segments.emplace_back("other", std::max(0.0, s.cpu_s - accounted));
  }
  ChartOptions c{"CPU time per stage, per path", "CPU seconds"};
  open_out(dir + "/stages.svg") << stacked_bar_svg(bars, c);
}

/// The report's section on where each path's time went.
std::string stages_section(const std::vector<PathSummary>& summary) {
  std::string md =
      "## Where the time goes\n\n"
      "Each path's process accounts for its time by stage (`lims_stage_seconds_total`, "
      "`lims_stage_cpu_seconds_total`). The bottleneck is the working stage with the most wall "
      "time; waiting stages (for records, for a batch, for the next run) never are. "
      "`kafka_client` is the CPU of librdkafka's own threads, which fetch and parse the "
      "records.\n\n"
      "| path | stage | wall s | CPU s |\n|---|---|---:|---:|\n";
  std::string verdicts;
  for (const auto& s : summary) {
    for (const auto& st : s.stages)
      md += "| " + s.mode + " | " + st.name + (st.waiting ? " (waiting)" : "") +
            format(" | %.2f | %.2f |\n", st.wall_s, st.cpu_s);
    verdicts += "- " + s.mode + ": " +
                (s.bottleneck.empty() ? std::string("no stages reported")
                                      : "bottleneck **" + s.bottleneck + "**") +
                "\n";
  }
  return md + "\n" + verdicts + "\n![CPU time per stage](stages.svg)\n\n";
}

std::string machine_text() {
  std::ifstream in("/proc/cpuinfo");
  std::string model = "unknown CPU";
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("model name")) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  return std::to_string(std::thread::hardware_concurrency()) + " cores, " + model;
}

std::string cost_text(const PathSummary& s, bool max) {
  return max ? "n/a" : format("$%.2f", s.annual_cost);
}

std::string summary_table(const std::vector<PathSummary>& summary, bool sla, bool max) {
  std::string t =
      "| path | changes | visible | changes/s | wire bytes | MB/s | p50 | p95 | p99 | max |" +
      std::string(sla ? " within SLA |" : "") + " CPU s | peak RSS | cost/year |\n|" +
      std::string(sla ? "---|" : "") + "---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& s : summary)
    t += "| " + s.mode + " | " + std::to_string(s.events) + " | " + std::to_string(s.visible) +
         format(" | %.1f | ", s.events_per_s) + mb(s.wire_bytes) +
         format(" | %.2f | ", s.bytes_per_s / 1e6) + duration_text(s.p50_ms) + " | " +
         duration_text(s.p95_ms) + " | " + duration_text(s.p99_ms) + " | " +
         duration_text(s.max_ms) + " | " + (sla ? format("%.1f%% | ", 100 * s.within_sla) : "") +
         format("%.2f | %.0f MiB | ", s.cpu_s, s.peak_rss_mib) + cost_text(s, max) + " |\n";
  return t;
}

const PathSummary* find(const std::vector<PathSummary>& summary, const char* mode) {
  for (const auto& s : summary)
    if (s.mode == mode) return &s;
  return nullptr;
}

/// The "What the measurements say" section.
std::string findings(const RunResult& run, const std::vector<PathSummary>& summary,
                     const ReportOptions& ro) {
  const auto& o = run.options;
  const PathSummary* st = find(summary, "stream");
  const PathSummary* ba = find(summary, "batch");
  const PathRun* batch_run = nullptr;
  for (const auto& p : run.paths)
    if (p.kind == PathKind::batch) batch_run = &p;
  std::string md = "## What the measurements say\n\n";
  for (const auto& s : summary)
    if (s.visible < s.events)
      md += format("- **%zu of %zu changes never became visible on the %s path**",
                   s.events - s.visible, s.events, s.mode.c_str()) +
            (s.dropped_by_broker
                 ? format(": the broker no longer holds the first %llu records of its partitions "
                          "(retention; the embedded Kafka keeps the newest 5 MiB of each: give it "
                          "more partitions with --partitions, or a shorter run)",
                          static_cast<unsigned long long>(s.dropped_by_broker))
                 : std::string()) +
            ".\n";
  if (st)
    md += "- **Stream latency.** p50 " + duration_text(st->p50_ms) + ", p99 " +
          duration_text(st->p99_ms) +
          format(
              ": one Kafka hop and one store write; it does not "
              "depend on the pace, so it holds at LIMS's pace.\n");
  if (ba)
    md += "- **Batch latency.** p50 " + duration_text(ba->p50_ms) + ", p99 " +
          duration_text(ba->p99_ms) + " here, where a run comes every " +
          duration_text(1000 * o.batch_interval_s / o.speedup) +
          ". A change waits for the next run, so at LIMS's pace (a run every " +
          duration_text(1000 * o.batch_interval_s) + ") the median is about " +
          duration_text(ba->p50_ms * o.speedup) + " and the worst about " +
          duration_text(1000 * o.batch_interval_s) + " plus a run.\n";
  if (st && ba && st->wire_bytes > 0)
    md += format("- **Bandwidth.** Batch moved %.1fx the stream's bytes (",
                 ba->wire_bytes / st->wire_bytes) +
          mb(ba->wire_bytes) + " against " + mb(st->wire_bytes) +
          format(", or %.0f MB against %.1f MB per LIMS hour). ",
                 ba->wire_bytes / 1e6 / lims_hours(run), st->wire_bytes / 1e6 / lims_hours(run)) +
          (o.batch_mode == "full"
               ? "A full copy re-reads and rewrites every image each run, changed or not, so its "
                 "bytes grow with the database (" +
                     std::to_string(o.initial) +
                     " images per plant to start with, more with every camera image); the stream "
                     "sends each change once.\n"
               : "An incremental copy moves only what changed, once per run; the stream sends "
                 "each change once too, but as it happens.\n");
  if (ba && batch_run && !batch_run->batch_runs.empty()) {
    double run_s = 0, run_bytes = 0;
    for (const auto& r : batch_run->batch_runs) {
      run_s += r.seconds;
      run_bytes += static_cast<double>(r.bytes_read + r.bytes_written);
    }
    run_s /= static_cast<double>(batch_run->batch_runs.size());
    run_bytes /= static_cast<double>(batch_run->batch_runs.size());
    const double interval_s = std::max(run_s, st ? st->p99_ms / 1000 : 10.0);
    md +=
        format("- **How batch could approach stream.** A run here took %.2f s and moved ", run_s) +
        mb(run_bytes) + ". Even run back to back (every " + duration_text(1000 * interval_s) +
        "), batch would lag by up to twice that, and it would move " +
        format("%.0f GB an hour", run_bytes * 3600 / interval_s / 1e9) +
        " to do it, against the stream's " +
        (st ? format("%.1f MB", st->wire_bytes / 1e6 / lims_hours(run)) : std::string("few MB")) +
        " per LIMS hour. Incremental runs (`--batch-mode incremental`) cut the bytes to the "
        "changes but still wait for the interval; MongoDB change streams or CDC (Debezium) "
        "would push each change as it happens, which is what the stream already does with "
        "the events LIMS publishes.\n";
  }
  md += format(
      "- **Rate and cameras.** This run had %d camera(s) at intensity %g: %zu changes "
      "in %.2f LIMS hours. `--sweep intensity=1,2,4,8` or `--sweep cameras=1,2,4` "
      "repeats it and tabulates how each path scales; `--max` measures the stream's "
      "ceiling.\n",
      o.workload.cameras, o.workload.intensity, run.events.size(), workload_lims_hours(run));
  if (o.max) return md;  // a drain says nothing about a year at LIMS's pace
  md += "\n## Cost per year\n\nAt $" +
        format("%g per vCPU-hour and $%g per GiB-hour", ro.prices.vcpu_hour, ro.prices.gib_hour) +
        " (Compute Engine N1 on-demand, us-central1, unless given), for the average vCPU at "
        "LIMS's pace (CPU seconds over LIMS seconds) and the peak memory, all year:\n\n"
        "| path | vCPU | memory | cost/year |\n|---|---|---|---|\n";
  for (const auto& s : summary)
    md += format("| %s | %.4f | %.0f MiB | $%.2f |\n", s.mode.c_str(), s.vcpu, s.peak_rss_mib,
                 s.annual_cost);
  md +=
      format("| Kafka broker (stream only; LIMS's pod requests) | %.1f | %.0f GiB | $%.2f |\n",
             kBrokerVcpu, kBrokerGib,
             (kBrokerVcpu * ro.prices.vcpu_hour + kBrokerGib * ro.prices.gib_hour) * kHoursPerYear);
  md +=
      "\nLIMS already runs the broker for its events, so the stream adds only its consumer. "
      "Billed by requests (GKE Autopilot) or by node, both paths fit in the smallest pod.\n";
  if (o.speedup > 1)
    md += format(
        "\nCPU a process spends idle (the consumer polling Kafka, sync-batch waiting for its "
        "interval) passes at the wall clock's pace, not LIMS's, so these figures undercount it "
        "by up to %gx; `--speedup 1` measures it at LIMS's own pace.\n",
        o.speedup);
  return md;
}

}  // namespace

std::vector<PathSummary> summarize(const RunResult& run, const ReportOptions& ro) {
  std::vector<PathSummary> out;
  const auto& o = run.options;
  for (const auto& p : run.paths) {
    PathSummary s;
    s.mode = std::string(path_name(p.kind));
    s.events = run.events.size();
    const auto ms = latencies_ms(run, p);
    s.visible = ms.size();
    // changes/s: between the first and the last change made visible (with --max, the drain
    // rate, without the process's start and the group's join).
    Micros first = 0, last = 0;
    for (std::size_t i = 0; i < run.events.size(); ++i) {
      const auto& e = run.events[i];
      s.payload_bytes +=
          static_cast<double>(p.kind == PathKind::stream ? e.value_bytes : e.document_bytes);
      if (p.visible_at[i] <= 0) continue;
      first = first ? std::min(first, p.visible_at[i]) : p.visible_at[i];
      last = std::max(last, p.visible_at[i]);
    }
    s.wire_bytes = p.wire_bytes;
    s.bytes_per_s = run.seconds > 0 ? p.wire_bytes / run.seconds : 0;
    if (last > first)
      s.events_per_s = static_cast<double>(s.visible - 1) * 1e6 / static_cast<double>(last - first);
    s.p50_ms = quantile(ms, 0.5);
    s.p95_ms = quantile(ms, 0.95);
    s.p99_ms = quantile(ms, 0.99);
    s.max_ms = ms.empty() ? 0 : ms.back();
    if (ro.sla_s > 0 && s.events > 0) {
      // The run is sped up: a deadline at LIMS's pace is `speedup` times shorter here.
      const double limit_ms = 1000 * ro.sla_s / o.speedup;
      s.within_sla =
          static_cast<double>(std::upper_bound(ms.begin(), ms.end(), limit_ms) - ms.begin()) /
          static_cast<double>(s.events);
    }
    s.cpu_s = p.usage.cpu_s;
    s.peak_rss_mib = p.usage.peak_rss_mib;
    const double lims_s = run.seconds * o.speedup;
    s.vcpu = !o.max && lims_s > 0 ? s.cpu_s / lims_s : 0;
    s.annual_cost =
        (s.vcpu * ro.prices.vcpu_hour + s.peak_rss_mib / 1024 * ro.prices.gib_hour) * kHoursPerYear;
    s.dropped_by_broker = p.dropped_by_broker;
    s.stages = p.stages;
    const StageTime* busiest = nullptr;
    for (const auto& stage : s.stages)
      if (!stage.waiting && stage.wall_s > 0 && (!busiest || stage.wall_s > busiest->wall_s))
        busiest = &stage;
    if (busiest) s.bottleneck = busiest->name;
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<std::pair<double, double>> cumulative_wire_bytes(const RunResult& run,
                                                             const PathRun& p) {
  std::vector<std::pair<double, double>> out = {{0, 0}};
  for (const auto& [s, total] : p.wire_timeline)
    if (std::isfinite(s) && std::isfinite(total))
      out.emplace_back(std::max(s, out.back().first), std::max(total, out.back().second));
  const double end = std::max(run.seconds, out.back().first);
  if (out.back().first < end || out.back().second != p.wire_bytes)
    out.emplace_back(end, std::max(p.wire_bytes, out.back().second));
  return out;
}

double workload_lims_hours(const RunResult& run) {
  return run.workload_seconds * run.options.speedup / 3600;
}

std::string summary_line(const PathSummary& s) {
  return s.mode + ": " + std::to_string(s.visible) + "/" + std::to_string(s.events) +
         " visible, p50 " + duration_text(s.p50_ms) + ", p99 " + duration_text(s.p99_ms) + ", " +
         mb(s.wire_bytes) + " on the wire, " +
         format("%.2f CPU s, %.1f MiB peak RSS", s.cpu_s, s.peak_rss_mib) +
         (s.bottleneck.empty() ? "" : ", bottleneck " + s.bottleneck);
}

void write_run_report(const RunResult& run, const std::vector<PathSummary>& summary,
                      const ReportOptions& ro) {
  const std::string& dir = run.options.dir;
  write_events_csv(run, dir + "/events.csv");
  write_timeline_csv(run, dir + "/timeline.csv");
  write_summary_csv(summary, dir + "/summary.csv");
  write_charts(run, dir);
  write_stages(summary, dir);
  const auto& o = run.options;
  std::map<sim::Job, int> jobs;
  for (const auto& e : run.events) ++jobs[e.job];
  std::string by_job;
  for (const auto& [job, n] : jobs)
    by_job +=
        (by_job.empty() ? "" : ", ") + std::to_string(n) + " " + std::string(sim::job_name(job));
  std::string md = "# lims bench: stream against batch\n\n";
  if (!ro.command.empty()) md += "Command: `" + ro.command + "`  \n";
  md += "Machine: " + machine_text() + "  \n";
  md += format("sim::Workload: seed %llu, %d camera(s), intensity %g; LIMS's jobs sped up %gx",
               static_cast<unsigned long long>(o.workload.seed), o.workload.cameras,
               o.workload.intensity, o.speedup) +
        (o.max ? format(", a backlog of %llu changes drained (`--max`)",
                        static_cast<unsigned long long>(o.count))
               : format(" for %.0f s (%.2f LIMS hours)", run.workload_seconds,
                        workload_lims_hours(run))) +
        format("; %lld images per plant pre-filled; %zu changes (",
               static_cast<long long>(o.initial), run.events.size()) +
        by_job + ").  \n";
  for (const auto& p : run.paths)
    md += p.kind == PathKind::stream
              ? format("Stream: `consume` from %s Kafka, %d partition(s) per topic. ",
                       o.brokers.empty() ? "the embedded" : o.brokers.c_str(), run.partitions)
              : format("Batch: `sync-batch --mode %s` every %g s of LIMS time (%.2f s here). ",
                       o.batch_mode.c_str(), o.batch_interval_s, o.batch_interval_s / o.speedup);
  md += "\n\n";
  if (run.stopped) md += "**Interrupted: the figures cover only part of the run.**\n\n";
  md += "## Summary\n\n" + summary_table(summary, ro.sla_s > 0, o.max) + "\n";
  md += std::string(o.max ? "Latency runs from the start of the path's process (`--max`: the "
                            "backlog was written first, so it includes the process's start and, "
                            "for the stream, the group's join)"
                          : "Latency runs from the producer store's write") +
        " to the change being visible in the path's consumer store (the store's ack); changes/s "
        "between the first and the last change made visible. Wire bytes: Kafka bytes received "
        "by the stream's consumer, and document bytes read plus written by sync-batch.";
  if (ro.sla_s > 0)
    md +=
        format(" SLA: %g s at LIMS's pace, so %.3f s in this run.", ro.sla_s, ro.sla_s / o.speedup);
  md +=
      " The bytes chart gives each path's wire bytes so far on a log scale: each "
      "labelled grid line is ten times the one below.";
  md +=
      "\n\n![Latency CDF](latency_cdf.svg)\n\n"
      "![Wire bytes so far per path, log scale](bytes_over_time.svg)\n\n";
  md += stages_section(summary);
  md += findings(run, summary, ro);
  open_out(dir + "/report.md") << md;
}

void write_sweep_report(const std::string& dir, const std::string& parameter,
                        const std::vector<SweepPoint>& points, const ReportOptions& ro) {
  auto csv = open_out(dir + "/sweep.csv");
  csv << parameter
      << ",mode,events,visible,events_per_lims_hour,wire_bytes,bytes_per_s,p50_ms,"
         "p99_ms,cpu_s,peak_rss_mib,annual_cost_usd\n";
  std::string md = "# lims bench: scaling with " + parameter + "\n\n";
  if (!ro.command.empty()) md += "Command: `" + ro.command + "`\n\n";
  const bool sla = ro.sla_s > 0;
  md += "| " + parameter + " | path | changes per LIMS hour | wire MB/s | p50 | p99 |" +
        std::string(sla ? " within SLA |" : "") + " CPU s | peak RSS | cost/year |\n|" +
        std::string(sla ? "---|" : "") + "---|---|---|---|---|---|---|---|---|\n";
  for (const auto& pt : points)
    for (const auto& s : pt.paths) {
      csv << pt.value << ',' << s.mode << ',' << s.events << ',' << s.visible << ','
          << format("%.1f,%.0f,%.0f,%.3f,%.3f,%.3f,%.1f,%.2f\n", pt.events_per_lims_hour,
                    s.wire_bytes, s.bytes_per_s, s.p50_ms, s.p99_ms, s.cpu_s, s.peak_rss_mib,
                    s.annual_cost);
      md += "| " + pt.value + " | " + s.mode +
            format(" | %.0f | %.2f | ", pt.events_per_lims_hour, s.bytes_per_s / 1e6) +
            duration_text(s.p50_ms) + " | " + duration_text(s.p99_ms) + " | " +
            (sla ? format("%.1f%% | ", 100 * s.within_sla) : "") +
            format("%.2f | %.0f MiB | $%.2f |\n", s.cpu_s, s.peak_rss_mib, s.annual_cost);
    }
  md += "\nEach run's own report: ";
  for (const auto& pt : points)
    md += "[" + parameter + "=" + pt.value + "](" + pt.dir + "/report.md) ";
  md += "\n";
  open_out(dir + "/report.md") << md;
}

}  // namespace lims::bench
