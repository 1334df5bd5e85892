#include "bench/bench.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "bench/visibility.hpp"
#include "codec/time.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/time_units.hpp"
#include "http/client.hpp"
#include "kafka/admin.hpp"
#include "kafka/mock_cluster.hpp"
#include "kafka/producer.hpp"
#include "kafka/reader.hpp"
#include "metrics/scrape.hpp"
#include "store/image_store.hpp"

namespace lims::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

/// A loopback port nobody listens on now.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  if (fd >= 0) ::close(fd);
  if (!ok) throw Error("bench: no free loopback port");
  return ntohs(addr.sin_port);
}

/// `given`, or a fresh SQLite file in the run's directory.
std::string store_uri(const std::string& given, const BenchOptions& o, const char* file) {
  if (!given.empty()) return given;
  const std::string path = o.dir + "/" + file;
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path + suffix);
  return "sqlite:" + path;
}

std::string seconds_arg(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s);
  return buf;
}

/// The time by stage in a /metrics text: every stage of lims_stage_seconds_total, in order,
/// with its CPU time, then stages with CPU time only (kafka_client).
std::vector<StageTime> read_stages(const std::string& text) {
  const auto names = metrics::samples_by_label(text, "lims_stage_seconds_total", "stage");
  const auto kinds = metrics::samples_by_label(text, "lims_stage_seconds_total", "kind");
  std::vector<StageTime> stages;
  for (std::size_t i = 0; i < names.size(); ++i)
    stages.push_back(
        {names[i].first, i < kinds.size() && kinds[i].first == "wait", names[i].second, 0});
  for (const auto& [name, cpu] :
       metrics::samples_by_label(text, "lims_stage_cpu_seconds_total", "stage")) {
    auto it = std::find_if(stages.begin(), stages.end(),
                           [&](const StageTime& s) { return s.name == name; });
    if (it == stages.end()) it = stages.insert(stages.end(), {name, false, 0, 0});
    it->cpu_s = cpu;
  }
  return stages;
}

/// One path's process and what has been seen of it.
struct ActivePath {
  PathKind kind = PathKind::stream;
  int port = 0;
  std::string log_path;
  std::unique_ptr<Child> child;
  std::unique_ptr<Visibility> visibility;
  std::size_t visible = 0;
  PathRun run;

  // The stream: since when it has had no lag and made nothing more visible (nothing more will
  // come: what is still missing is lost).
  std::optional<Clock::time_point> idle_since;
  std::size_t visible_at_scrape = 0;

  /// Reads /metrics: adds the wire-byte counter to the timeline, keeps the time by stage, and
  /// follows the stream's lag.
  void scrape(double t, std::size_t now_visible) {
    auto response = http::get("127.0.0.1", port, "/metrics");
    if (!response || response->status != 200) return;
    const std::string& text = response->body;
    run.stages = read_stages(text);
    if (kind == PathKind::stream) {
      if (auto wire = metrics::sample_sum(text, "lims_kafka_received_bytes_total"))
        run.wire_timeline.emplace_back(t, *wire);
      const bool idle = metrics::sample_sum(text, "lims_consumer_lag").value_or(1) == 0 &&
                        now_visible == visible_at_scrape;
      if (!idle)
        idle_since.reset();
      else if (!idle_since)
        idle_since = Clock::now();
      visible_at_scrape = now_visible;
      return;
    }
    const auto read = metrics::sample_sum(text, "lims_sync_batch_bytes_total");
    const auto written = metrics::sample_sum(text, "lims_sync_batch_bytes_written_total");
    if (read && written) run.wire_timeline.emplace_back(t, *read + *written);
  }

  /// True once every change is visible, or (the stream) it has idled for 3 s without them.
  bool done(std::size_t produced) const {
    return visible == produced ||
           (idle_since && Clock::now() - *idle_since >= std::chrono::seconds(3));
  }

  /// Throws lims::Error if the process has ended.
  void check_alive() {
    if (child->running()) return;
    throw Error("bench: the " + std::string(path_name(kind)) + " path's process exited with " +
                std::to_string(child->usage().exit_code) + "; see " + log_path);
  }
};

struct Plan {
  std::string brokers, producer_uri, stream_uri, batch_uri, group;
  std::vector<std::string> topics;  // the plant topics, prefixed
  int partitions = 1;
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> start_high;  // a real Kafka's
};

/// A file of the path's in the run's directory, e.g. "stream-acks.csv".
std::string path_file(const BenchOptions& o, PathKind kind, const char* suffix) {
  return o.dir + "/" + std::string(path_name(kind)) + suffix;
}

std::vector<std::string> path_argv(PathKind kind, const BenchOptions& o, const Plan& plan,
                                   int port) {
  const std::string listen = "127.0.0.1:" + std::to_string(port);
  const std::string acks = path_file(o, kind, "-acks.csv");
  if (kind == PathKind::stream) {
    std::vector<std::string> argv = {o.lims_binary, "consume",  "--brokers",       plan.brokers,
                                     "--group",     plan.group, "--store",         plan.stream_uri,
                                     "--listen",    listen,     "--ack-log",       acks,
                                     "--progress",  "0",        "--on-bad-record", "skip"};
    if (!o.topic_prefix.empty()) argv.insert(argv.end(), {"--topic-prefix", o.topic_prefix});
    // The embedded Kafka answers a fetch that finds nothing only when its wait is over, where a
    // real broker answers as soon as a record arrives: a short wait models the real broker.
    if (o.brokers.empty()) argv.insert(argv.end(), {"-X", "fetch.wait.max.ms=10"});
    return argv;
  }
  return {o.lims_binary, "sync-batch",
          "--from",      plan.producer_uri,
          "--to",        plan.batch_uri,
          "--mode",      o.batch_mode,
          "--interval",  seconds_arg(o.batch_interval_s / o.speedup),
          "--listen",    listen,
          "--ack-log",   acks};
}

/// Starts the path's process and waits until it reports ready (stream: partitions assigned).
ActivePath start_path(PathKind kind, const BenchOptions& o, const Plan& plan) {
  ActivePath p;
  p.kind = kind;
  p.port = free_port();
  p.log_path = path_file(o, kind, ".log");
  fs::remove(p.log_path);
  const std::string acks = path_file(o, kind, "-acks.csv");
  fs::remove(acks);
  p.visibility = std::make_unique<Visibility>(acks);
  p.run.started_at = wall_clock_micros();
  p.child = std::make_unique<Child>(path_argv(kind, o, plan, p.port), p.log_path);
  p.run.kind = kind;
  p.run.log_path = p.log_path;
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline) {
    p.check_alive();
    if (auto r = http::get("127.0.0.1", p.port, "/readyz", std::chrono::milliseconds(500));
        r && r->status == 200)
      return p;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw Error("bench: the " + std::string(path_name(kind)) +
              " path was not ready within 60 s; see " + p.log_path);
}

/// Partitions per topic: as asked, else 1 (as LIMS), else for --max on the embedded Kafka
/// enough that the backlog fits its 5 MiB per partition with room to spare.
int partitions_for(const BenchOptions& o) {
  if (o.partitions > 0) return o.partitions;
  if (!o.max || !o.brokers.empty()) return 1;
  const double event_bytes =
      static_cast<double>(o.workload.image_min_bytes + o.workload.image_max_bytes) + 1000;
  const double per_topic = static_cast<double>(o.count) * event_bytes / 3;
  return std::max(1, static_cast<int>(std::ceil(per_topic / (3.0 * (1 << 20)))));
}

/// Records of this run that the broker no longer holds (deleted by retention: the embedded Kafka
/// keeps the newest 5 MiB of each partition): those below a partition's low watermark now and
/// at or above its high watermark when the run began. 0 if the broker cannot be asked.
std::uint64_t dropped_by_broker(const Plan& plan) {
  try {
    kafka::Reader reader({plan.brokers, 10000, {}});
    std::uint64_t dropped = 0;
    for (const auto& range : reader.partitions(plan.topics)) {
      const auto start = plan.start_high.find({range.partition.topic, range.partition.partition});
      const std::int64_t first = start == plan.start_high.end() ? 0 : start->second;
      dropped += static_cast<std::uint64_t>(std::max<std::int64_t>(0, range.low - first));
    }
    return dropped;
  } catch (const std::exception& e) {
    log::warn(std::string("bench: cannot ask the broker what it still holds: ") + e.what());
    return 0;
  }
}

/// The runs sync-batch reported in its log ("sync-batch: N images, R bytes read, ...").
std::vector<BatchRunLine> read_batch_runs(const std::string& log_path) {
  std::ifstream in(log_path);
  std::vector<BatchRunLine> runs;
  for (std::string line; std::getline(in, line);) {
    const auto at = line.find("sync-batch: ");
    if (at == std::string::npos) continue;
    BatchRunLine r;
    unsigned long long images, read, written;
    if (std::sscanf(line.c_str() + at,
                    "sync-batch: %llu images, %llu bytes read, %llu bytes written in %lf s",
                    &images, &read, &written, &r.seconds) != 4)
      continue;
    r.images = images;
    r.bytes_read = read;
    r.bytes_written = written;
    runs.push_back(r);
  }
  return runs;
}

}  // namespace

std::string_view path_name(PathKind kind) { return kind == PathKind::stream ? "stream" : "batch"; }

namespace {

/// The run once the stores are filled and the broker is up: the paths, the workload, the drain.
class Runner {
 public:
  Runner(const BenchOptions& o, const Plan& plan, const std::atomic<bool>& stop)
      : o_(o), plan_(plan), stop_(stop) {}

  RunResult run(sim::Workload& workload, store::ImageStore& producer_store,
                kafka::Producer* producer) {
    sim::SimulatorOptions sim;
    sim.speedup = o_.speedup;
    sim.topic_prefix = o_.topic_prefix;
    sim.producer_store = &producer_store;
    sim.on_event = [this](const sim::ProducedEvent& e) {
      std::lock_guard lock(mutex_);
      events_.push_back(e);
    };
    sim::SimulatorStats stats;
    if (o_.max) {  // the backlog first, then the paths drain it from the moment each starts
      sim.max_rate = true;
      sim.count = o_.count;
      log::info("bench: writing a backlog of " + std::to_string(o_.count) + " changes");
      sim::run_simulator(producer, workload, sim, stop_, stats);
      begin();
    }
    for (PathKind kind : o_.paths) paths_.push_back(start_path(kind, o_, plan_));
    if (!o_.max) begin();
    std::atomic<bool> sim_stop{false}, sim_done{o_.max};
    std::exception_ptr sim_error;
    std::thread simulator;
    if (!o_.max) {
      sim.duration_s = o_.duration_s;
      simulator = std::thread([&] {
        try {
          sim::run_simulator(producer, workload, sim, sim_stop, stats);
        } catch (...) {
          sim_error = std::current_exception();
          sim_failed_ = true;
        }
        result_.workload_seconds = elapsed_s();
        sim_done = true;
      });
    }
    try {
      follow(sim_done);
    } catch (...) {
      sim_stop = true;
      if (simulator.joinable()) simulator.join();
      throw;
    }
    sim_stop = true;
    if (simulator.joinable()) simulator.join();
    if (sim_error) std::rethrow_exception(sim_error);  // a store or Kafka refused a change
    if (o_.max) result_.workload_seconds = elapsed_s();
    finish();
    return std::move(result_);
  }

 private:
  /// The run's clock starts: the workload's, or (--max) the drain's.
  void begin() {
    result_.started_at = wall_clock_micros();
    start_ = Clock::now();
  }

  double elapsed_s() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

  /// Reads acks and scrapes until every change is visible on every path, or the drain times out.
  void follow(const std::atomic<bool>& sim_done) {
    std::optional<Clock::time_point> drain_deadline;
    auto next_tick = Clock::now();
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      std::size_t produced;
      {
        std::lock_guard lock(mutex_);
        produced = events_.size();
        for (auto& p : paths_) {
          p.visibility->read_acks();
          p.visible = p.visibility->resolve(events_);
        }
      }
      if (Clock::now() >= next_tick) {
        next_tick += std::chrono::seconds(1);
        scrape();
        progress(produced, sim_done);
      }
      if (stop_) {  // first: a Ctrl-C may have reached the paths too
        result_.stopped = true;
        return;
      }
      if (sim_failed_) return;  // its error ends the run
      for (auto& p : paths_) p.check_alive();
      if (!sim_done) continue;
      if (!drain_deadline) drain_deadline = Clock::now() + drain_timeout();
      bool all = true;
      for (const auto& p : paths_) all = all && p.done(produced);
      if (all) return;
      if (Clock::now() > *drain_deadline) {
        log::warn("bench: gave up waiting for changes that never became visible");
        return;
      }
    }
  }

  /// How long after the workload a path may take to show the last change.
  Clock::duration drain_timeout() const {
    double seconds = 30;
    for (const auto& p : paths_)
      if (p.kind == PathKind::batch)
        seconds = std::max(seconds, 2 * o_.batch_interval_s / o_.speedup + 60);
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  }

  void scrape() {
    const double t = elapsed_s();
    for (auto& p : paths_) p.scrape(t, p.visible);
  }

  void progress(std::size_t produced, bool sim_done) const {
    std::string line = "bench: " + std::to_string(static_cast<int>(elapsed_s())) + " s, " +
                       std::to_string(produced) + " changes written" + (sim_done ? " (done)" : "");
    for (const auto& p : paths_)
      line += "; " + std::string(path_name(p.kind)) + " " + std::to_string(p.visible) + " visible";
    log::line(line);
  }

  /// Lets the stream's Kafka statistics catch up, scrapes once more and stops the processes.
  void finish() {
    // librdkafka reports its byte counters once a second: wait for one more report.
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    scrape();
    result_.seconds = elapsed_s();
    for (auto& p : paths_) {
      p.run.usage = p.child->stop();
      p.visibility->read_acks();
      p.visibility->resolve(events_);
      for (std::size_t i = 0; i < events_.size(); ++i)
        p.run.visible_at.push_back(p.visibility->visible_at(i));
      if (!p.run.wire_timeline.empty()) p.run.wire_bytes = p.run.wire_timeline.back().second;
      if (p.kind == PathKind::stream) p.run.dropped_by_broker = dropped_by_broker(plan_);
      if (p.kind == PathKind::batch) p.run.batch_runs = read_batch_runs(p.log_path);
      result_.paths.push_back(std::move(p.run));
    }
    result_.events = std::move(events_);
  }

  const BenchOptions& o_;
  const Plan& plan_;
  const std::atomic<bool>& stop_;
  std::mutex mutex_;
  std::vector<sim::ProducedEvent> events_;
  std::vector<ActivePath> paths_;
  std::atomic<bool> sim_failed_{false};
  Clock::time_point start_;
  RunResult result_;
};

}  // namespace

RunResult run_bench(const BenchOptions& o, const std::atomic<bool>& stop) {
  fs::create_directories(o.dir);
  const bool stream = std::find(o.paths.begin(), o.paths.end(), PathKind::stream) != o.paths.end();
  const bool batch = std::find(o.paths.begin(), o.paths.end(), PathKind::batch) != o.paths.end();
  Plan plan;
  plan.partitions = partitions_for(o);
  plan.group = "lims-bench-" + std::to_string(wall_clock_micros() / 1000);
  for (Plant p : kPlants) plan.topics.push_back(o.topic_prefix + std::string(plant_name(p)));
  std::optional<kafka::MockCluster> cluster;
  if (stream && o.brokers.empty()) {
    cluster.emplace();
    for (const auto& topic : plan.topics) cluster->create_topic(topic, plan.partitions);
    plan.brokers = cluster->bootstrap_servers();
  } else if (stream) {
    // A real Kafka: the topics must exist before the consumer subscribes, or it waits for the
    // next metadata refresh (minutes) before it is assigned anything. Where the topics exist
    // already (a reused --topic-prefix), what retention deleted before the run is not counted.
    plan.brokers = o.brokers;
    kafka::create_topics(plan.brokers, plan.topics, plan.partitions);
    kafka::Reader reader({plan.brokers, 10000, {}});
    for (const auto& range : reader.partitions(plan.topics))
      plan.start_high[{range.partition.topic, range.partition.partition}] = range.high;
  }
  plan.producer_uri = store_uri(o.producer_store, o, "producer.db");
  auto producer_store = store::open_store(plan.producer_uri);
  std::vector<store::ImageStore*> prefill = {producer_store.get()};
  std::vector<std::unique_ptr<store::ImageStore>> consumers;
  if (stream) {
    plan.stream_uri = store_uri(o.stream_store, o, "stream.db");
    prefill.push_back(consumers.emplace_back(store::open_store(plan.stream_uri)).get());
  }
  if (batch) {
    plan.batch_uri = store_uri(o.batch_store, o, "batch.db");
    prefill.push_back(consumers.emplace_back(store::open_store(plan.batch_uri)).get());
  }
  sim::Workload workload(o.workload);
  if (o.initial > 0) {
    log::info("bench: pre-filling " + std::to_string(prefill.size()) + " stores with " +
              std::to_string(o.initial) + " images per plant");
    sim::prefill_stores(workload, o.initial, prefill);
  }
  consumers.clear();  // the paths' processes open them
  std::optional<kafka::Producer> producer;
  if (stream) producer.emplace(kafka::ProducerConfig{plan.brokers, 10000, {}});
  Runner runner(o, plan, stop);
  RunResult result = runner.run(workload, *producer_store, producer ? &*producer : nullptr);
  result.options = o;
  result.partitions = plan.partitions;
  return result;
}

}  // namespace lims::bench
