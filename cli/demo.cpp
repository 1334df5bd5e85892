// lims demo: the whole pipeline in one process on the embedded defaults.

#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>

#include "codec/api_json.hpp"
#include "commands.hpp"
#include "common/log.hpp"
#include "common/signals.hpp"
#include "kafka/mock_cluster.hpp"
#include "metrics/process.hpp"
#include "sim/simulator.hpp"
#include "store/image_store.hpp"
#include "stream_http.hpp"
#include "sync/report.hpp"
#include "sync/stream.hpp"

namespace lims::cli {
namespace {

constexpr const char* kDemoStore = "sqlite:demo.db";

struct DemoOptions {
  double duration_s = 30;
  double speedup = 1000;
  int partitions = 3;
  std::string store = kDemoStore;
  std::uint64_t seed = 1;
  HttpOptions http{.listen = "127.0.0.1:8080"};
};

/// The demo's HTTP side on `listen`, or on any free port when that one is taken.
std::unique_ptr<StreamHttp> serve_demo(const DemoOptions& o, const sync::StreamSync& stream,
                                       metrics::Registry& registry) {
  http::ServerOptions where = *o.http.server();
  try {
    return std::make_unique<StreamHttp>(o.store, stream, registry, where);
  } catch (const Error& e) {
    if (e.code() != ExitCode::unreachable || where.port == 0) throw;
    log::warn(std::string(e.what()) + "; using a free port instead");
    where.port = 0;
    return std::make_unique<StreamHttp>(o.store, stream, registry, where);
  }
}

void remove_default_store() {
  for (const char* suffix : {"", "-wal", "-shm"})
    std::filesystem::remove(std::string("demo.db") + suffix);
}

/// Prints a ready-to-paste get-image command for the last image created in the first plant that
/// has one, and what it prints.
void show_example(store::ImageStore& store, const std::string& uri,
                  const sim::SimulatorStats& produced) {
  // This binary, relative to the working directory when it lies below it (build-release/lims).
  std::error_code error;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", error);
  std::string lims = error ? "lims" : exe.string();
  if (const auto rel = std::filesystem::proximate(exe, error);
      !error && !rel.empty() && *rel.begin() != "..")
    lims = rel.string();
  for (Plant p : kPlants) {
    std::int64_t id = produced.max_id[static_cast<std::size_t>(p)];
    if (id <= 0) continue;
    auto record = store.get(p, id);
    if (!record) continue;
    std::cout << "\nTry it:\n  " << lims << " get-image " << plant_name(p) << ' ' << id
              << " --store " << uri << " --no-data\n"
              << codec::to_api_json(*record, false) << "\n  " << lims << " get-image "
              << plant_name(p) << ' ' << id << " --store " << uri << " --out leaf.jpg\n";
    return;
  }
}

int run_demo(const DemoOptions& o) {
  install_stop_handlers();
  if (o.store == kDemoStore) remove_default_store();  // the demo's own file: start afresh
  kafka::MockCluster cluster;
  const std::string brokers = cluster.bootstrap_servers();
  for (const auto& topic : plant_topics("")) cluster.create_topic(topic, o.partitions);
  log::info("embedded Kafka at " + brokers + "; store " + o.store + "; LIMS jobs sped up " +
            std::to_string(static_cast<int>(o.speedup)) + "x for " +
            std::to_string(static_cast<int>(o.duration_s)) + " s (Ctrl-C ends early)");

  auto store = store::open_store(o.store);
  kafka::ConsumerConfig config;
  config.brokers = brokers;
  config.topics = plant_topics("");
  sync::SkipBadRecords bad_records;  // the simulator writes no bad records
  sync::StreamOptions options;
  options.progress_interval = std::chrono::seconds(1);
  metrics::Registry registry;
  metrics::add_process_metrics(registry);
  options.metrics = &registry;
  sync::StreamSync stream(config, *store, bad_records, options);
  const auto http_side = serve_demo(o, stream, registry);
  log::line("demo: watch it in a browser: " + http_side->url() + "/ (metrics at " +
            http_side->url() + "/metrics)");

  sim::WorkloadOptions workload_options;
  workload_options.seed = o.seed;
  sim::Workload workload(workload_options);
  kafka::Producer producer({brokers, 10000, {}});
  sim::SimulatorOptions sim;
  sim.speedup = o.speedup;
  sim.duration_s = o.duration_s;
  sim::SimulatorStats produced;
  std::atomic<bool> sim_stop{false}, produced_all{false};
  std::thread simulator([&] {
    try {
      sim::run_simulator(&producer, workload, sim, sim_stop, produced);
    } catch (const std::exception& e) {
      log::error(std::string("simulator: ") + e.what());
    }
    produced_all = true;
  });
  // However the demo ends, the simulator stops and is joined first.
  struct Join {
    std::atomic<bool>& stop;
    std::thread& thread;
    ~Join() {
      stop = true;
      thread.join();
    }
  } join{sim_stop, simulator};

  std::atomic<bool> done{false};
  sync::StreamSnapshot last = stream.snapshot();
  std::optional<std::chrono::steady_clock::time_point> drain_deadline;
  int ticks = 0;
  stream.run(done, [&](const sync::StreamSnapshot& now) {
    if (++ticks % 3 == 0 || produced_all) {
      log::line("demo: produced " + std::to_string(produced.events) + " events; " +
                sync::progress_line(now, last));
      last = now;
    }
    if (stop_flag()) sim_stop = true;
    if (!produced_all) return;
    // Done when everything the broker took has been committed, or 10 s after the last event.
    if (!drain_deadline)
      drain_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    if (stop_flag() || now.steady_records >= producer.delivered() ||
        std::chrono::steady_clock::now() > *drain_deadline)
      done = true;
  });
  const auto summary = stream.snapshot();
  log::line(sim::simulator_summary(produced, summary.elapsed_s));
  log::line(sync::summary_line(summary));
  log::line(sync::stages_line(stream.stages(), summary.records, "consume"));
  for (Plant p : kPlants)
    log::line("demo: " + std::string(plant_name(p)) + ": " + std::to_string(store->count(p)) +
              " images in " + store->describe());
  show_example(*store, o.store, produced);
  return 0;
}

}  // namespace

Command setup_demo(CLI::App& app) {
  auto o = std::make_shared<DemoOptions>();
  CLI::App* c = app.add_subcommand(
      "demo",
      "Run the whole pipeline in one process: an embedded Kafka, the LIMS jobs simulated at a\n"
      "high speedup, and the stream consumer into a SQLite store, with live progress. Ends\n"
      "after --duration (or Ctrl-C) with a summary and a ready-to-paste get-image example.\n"
      "Meanwhile the gallery page (http://127.0.0.1:8080/) shows the images as they arrive.\n"
      "The default store demo.db is recreated on every run. It reads no LIMS_* variable but\n"
      "LIMS_LOG_LEVEL: everything it uses is its own.");
  c->add_option("-d,--duration", o->duration_s, "Seconds to simulate")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c->add_option("--speedup", o->speedup, "Divide LIMS's job periods by this")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c->add_option("-p,--partitions", o->partitions, "Partitions per topic")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  c->add_option("-s,--store", o->store, "Store to fill")->capture_default_str();
  c->add_option("--seed", o->seed, "Workload seed")->capture_default_str();
  add_http_options(c, o->http, /*optional_server=*/false)
      ->description(
          "Serve the gallery page, the Image API handlers and /metrics here while the demo runs "
          "(a free port if this one is taken)")
      ->envname("");
  return {c, [o] { return run_demo(*o); }};
}

}  // namespace lims::cli
