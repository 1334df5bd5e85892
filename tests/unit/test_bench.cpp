// lims bench's measuring parts: acks joined to changes, metrics read back, the summary and the
// files a run writes.

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "bench/report.hpp"
#include "bench/visibility.hpp"
#include "store_contract.hpp"

namespace lims {
namespace {

namespace fs = std::filesystem;

/// A fresh directory under the temp dir, removed on destruction.
struct TempDir {
  fs::path path = fs::temp_directory_path() /
                  ("lims-bench-test-" + std::to_string(::getpid()) + "-" + std::to_string(++n));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const char* name) const { return (path / name).string(); }
  static inline int n = 0;
};

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

sim::ProducedEvent change(Plant plant, std::int64_t id, Micros version, Micros written_at) {
  return {sim::Job::metadata, plant, id, version, 1000, 900, written_at};
}

}  // namespace

TEST_CASE("bench: a change is visible from the first ack of its key not older than it") {
  TempDir dir;
  const std::string acks = dir.file("acks.csv");
  std::ofstream(acks) << "plant,id,version_us,acked_us\n"
                         "tomato,1,100,150\n"   // an older version of tomato 1
                         "pepper,1,200,210\n";  // another plant, same id
  bench::Visibility v(acks);
  std::vector<sim::ProducedEvent> events = {change(Plant::tomato, 1, 200, 201),
                                            change(Plant::pepper, 1, 200, 202)};
  v.read_acks();
  CHECK(v.resolve(events) == 1);
  CHECK(v.visible_at(0) == 0);
  CHECK(v.visible_at(1) == 210);
  // A newer version acked later covers the change (collapsed writes skip intermediate ones),
  // and a line arriving in two pieces is read once it is whole.
  std::ofstream(acks, std::ios::app) << "tomato,1,300,";
  v.read_acks();
  CHECK(v.resolve(events) == 1);
  std::ofstream(acks, std::ios::app) << "320\n";
  v.read_acks();
  events.push_back(change(Plant::tomato, 1, 300, 305));
  CHECK(v.resolve(events) == 3);
  CHECK(v.visible_at(0) == 320);
  CHECK(v.visible_at(2) == 320);
  CHECK(v.last_ack() == 320);
}

TEST_CASE("bench: a malformed ack line names the file and the line") {
  TempDir dir;
  const std::string acks = dir.file("acks.csv");
  std::ofstream(acks) << "plant,id,version_us,acked_us\ntomato,1,100,150\nbanana,1,2,3\n";
  bench::Visibility v(acks);
  const std::string expected = acks + ":3: expected plant,id";
  CHECK_THROWS_WITH(v.read_acks(), doctest::Contains(expected.c_str()));
}

TEST_CASE("bench: the summary's percentiles, SLA share, rates and cost") {
  bench::RunResult run;
  run.options.speedup = 10;
  run.options.paths = {bench::PathKind::stream};
  run.started_at = 1'000'000;
  run.seconds = 10;
  bench::PathRun p;
  p.kind = bench::PathKind::stream;
  p.wire_bytes = 5000;
  p.usage = {0, 2.0, 512};
  for (int i = 0; i < 100; ++i) {
    const Micros written = 1'000'000 + i * 10'000;
    run.events.push_back(change(Plant::potato, i + 1, written, written));
    p.visible_at.push_back(i == 99 ? 0 : written + (i + 1) * 1000);  // 1..99 ms; one lost
  }
  run.paths.push_back(p);
  bench::ReportOptions ro;
  ro.sla_s = 0.5;  // 50 ms in a run sped up 10x
  ro.prices = {0.04, 0.005};
  const auto s = bench::summarize(run, ro);
  REQUIRE(s.size() == 1);
  CHECK(s[0].events == 100);
  CHECK(s[0].visible == 99);
  CHECK(s[0].p50_ms == doctest::Approx(50));
  CHECK(s[0].p99_ms == doctest::Approx(99));
  CHECK(s[0].max_ms == doctest::Approx(99));
  CHECK(s[0].within_sla == doctest::Approx(0.5));  // 50 of 100 within 50 ms
  CHECK(s[0].bytes_per_s == doctest::Approx(500));
  CHECK(s[0].payload_bytes == doctest::Approx(100000));
  CHECK(s[0].vcpu == doctest::Approx(2.0 / 100));  // CPU s over LIMS seconds
  CHECK(s[0].annual_cost == doctest::Approx((0.02 * 0.04 + 0.5 * 0.005) * 24 * 365));
}

TEST_CASE("bench: with --max a path's latency counts from when it started draining") {
  bench::RunResult run;
  run.options.max = true;
  run.seconds = run.workload_seconds = 1;
  for (int i = 0; i < 10; ++i) run.events.push_back(change(Plant::tomato, i + 1, i, i));
  for (const Micros start : {100'000, 300'000}) {  // the batch path started later
    bench::PathRun p;
    p.started_at = start;
    for (int i = 0; i < 10; ++i) p.visible_at.push_back(start + (i + 1) * 1000);
    run.paths.push_back(p);
  }
  const auto s = bench::summarize(run, {});
  REQUIRE(s.size() == 2);
  for (const auto& path : s) {
    CHECK(path.p50_ms == doctest::Approx(5));
    CHECK(path.max_ms == doctest::Approx(10));
    CHECK(path.events_per_s == doctest::Approx(1000));  // visible 1 ms apart
  }
}

TEST_CASE("bench: the terminal line gives each figure in readable units") {
  bench::PathSummary s;
  s.mode = "batch";
  s.events = 57;
  s.visible = 56;
  s.p50_ms = 3113.36;
  s.p99_ms = 603'000;
  s.wire_bytes = 339'279'862;
  s.cpu_s = 0.426103;
  s.peak_rss_mib = 38.53125;
  CHECK(bench::summary_line(s) ==
        "batch: 56/57 visible, p50 3.1 s, p99 10.1 min, 339.3 MB on the wire, 0.43 CPU s, "
        "38.5 MiB peak RSS");
}

TEST_CASE("bench: a run's files have their columns and one row per change and path") {
  TempDir dir;
  bench::RunResult run;
  run.options.dir = dir.path.string();
  run.started_at = 1'700'000'000'000'000;
  run.seconds = 3;
  for (auto kind : {bench::PathKind::stream, bench::PathKind::batch}) {
    bench::PathRun p;
    p.kind = kind;
    p.wire_timeline = {{1, 100}, {2, 250}};
    p.wire_bytes = 250;
    run.paths.push_back(p);
  }
  for (int i = 0; i < 5; ++i) {
    const Micros t = run.started_at + i * 500'000;
    run.events.push_back(change(Plant::tomato, i + 1, t, t));
    run.paths[0].visible_at.push_back(t + 20'000);
    run.paths[1].visible_at.push_back(i < 4 ? t + 900'000 : 0);
  }
  const auto summary = bench::summarize(run, {});
  bench::write_run_report(run, summary, {});
  const auto events = lines_of(dir.file("events.csv"));
  REQUIRE(events.size() == 1 + 2 * 5);
  CHECK(events[0] == "mode,plant,id,op,bytes,produced_at,visible_at,latency_ms");
  CHECK(events[1].starts_with("stream,tomato,1,metadata,1000,"));
  CHECK(events[1].ends_with(",20.000"));
  CHECK(events[10].starts_with("batch,tomato,5,metadata,900,"));
  CHECK(events[10].ends_with(",,"));  // never visible: no time, no latency
  const auto timeline = lines_of(dir.file("timeline.csv"));
  CHECK(timeline[0] == "second,mode,events,payload_bytes,wire_bytes");
  CHECK(timeline.size() == 1 + 2 * 4);  // seconds 0..3 per path
  CHECK(timeline[1] == "0,stream,2,2000,100");
  const auto summary_lines = lines_of(dir.file("summary.csv"));
  REQUIRE(summary_lines.size() == 3);
  CHECK(summary_lines[0].starts_with("mode,events,visible,lost,payload_bytes,wire_bytes"));
  CHECK(summary_lines[2].starts_with("batch,5,4,1,"));
  for (const char* svg : {"latency_cdf.svg", "bytes_over_time.svg"})
    CHECK(read_all(dir.file(svg)).find("</svg>") != std::string::npos);
  // The bytes chart: a line per path, each named with its total, on a log y axis.
  const std::string bytes = read_all(dir.file("bytes_over_time.svg"));
  CHECK(count(bytes, "<polyline") == 2);
  CHECK(count(bytes, "<polyline class=\"series\" stroke=\"#1f77b4\"") == 1);  // stream
  CHECK(count(bytes, "<polyline class=\"series\" stroke=\"#d62728\"") == 1);  // batch
  CHECK(count(bytes, "class=\"legend\">stream: 0.0 MB</text>") == 1);
  CHECK(count(bytes, "class=\"legend\">batch: 0.0 MB</text>") == 1);
  CHECK(count(bytes, "(log scale)</text>") == 1);
  CHECK(count(bytes, "class=\"y-tick\" text-anchor=\"end\">100</text>") == 1);  // decades
  const std::string md = read_all(dir.file("report.md"));
  CHECK(md.find("## Summary") != std::string::npos);
  CHECK(md.find("1 of 5 changes never became visible on the batch path") != std::string::npos);
}

TEST_CASE("bench: the bytes chart's series is each path's wire bytes so far, up to its total") {
  bench::RunResult run;
  run.seconds = 6;
  bench::PathRun stream, batch, idle;
  stream.wire_timeline = {{1, 2'000}, {2, 9'000}, {3, 9'000}, {4, 15'000}, {5, 21'000}};
  stream.wire_bytes = 21'000;
  // The batch's bytes come in bursts; a scrape out of order or a counter read low moves nothing
  // back.
  batch.kind = bench::PathKind::batch;
  batch.wire_timeline = {{1, 0}, {2, 4e6}, {1.5, 4e6}, {3, 3.9e6}, {5, 8e6}, {6, 8e6}};
  batch.wire_bytes = 8e6;
  for (const auto* p : {&stream, &batch, &idle}) {
    const auto points = bench::cumulative_wire_bytes(run, *p);
    REQUIRE(points.size() >= 2);
    CHECK(points.front() == std::pair<double, double>{0, 0});
    for (std::size_t i = 1; i < points.size(); ++i) {
      CHECK(points[i].first >= points[i - 1].first);
      CHECK(points[i].second >= points[i - 1].second);
    }
    CHECK(points.back() == std::pair<double, double>{6, p->wire_bytes});
  }
  CHECK(bench::cumulative_wire_bytes(run, stream).size() == 1 + 5 + 1);  // and (6, total)
  CHECK(bench::cumulative_wire_bytes(run, batch).size() == 1 + 6);
  CHECK(bench::cumulative_wire_bytes(run, batch)[4] == std::pair<double, double>{3, 4e6});
}

}  // namespace lims
