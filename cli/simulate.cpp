// lims simulate: the LIMS jobs as a stream of image change events into Kafka.

#include <charconv>

#include "commands.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/signals.hpp"
#include "sim/simulator.hpp"
#include "store/image_store.hpp"

namespace lims::cli {
namespace {

struct SimulateOptions {
  KafkaOptions kafka;
  std::string topic_prefix;
  sim::WorkloadOptions workload;
  sim::SimulatorOptions simulator;
  std::string image_size = "15000:30000";
  std::string encoding = "hex";
  std::string producer_store;               // empty: produce only
  std::int64_t initial = 0;                 // pre-filled images per plant
  std::vector<std::string> prefill_stores;  // more stores that start identical to the producer's
};

/// "MIN:MAX" or "N" in bytes, within what the JPEG generator supports.
std::pair<std::size_t, std::size_t> parse_size_range(const std::string& text) {
  auto number = [](std::string_view part, std::size_t& out) {
    auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), out);
    return error == std::errc() && end == part.data() + part.size() && !part.empty();
  };
  const std::string_view all(text);
  const auto colon = all.find(':');
  std::size_t lo = 0, hi = 0;
  const bool ok = colon == std::string_view::npos
                      ? number(all, lo) && number(all, hi)
                      : number(all.substr(0, colon), lo) && number(all.substr(colon + 1), hi);
  if (ok && lo >= 4000 && hi <= 200000 && lo <= hi) return {lo, hi};
  throw Error("--image-size '" + text + "': expected MIN:MAX bytes within 4000..200000",
              ExitCode::usage);
}

/// Writes the --initial images to the producer store and the --prefill-store stores.
void prefill(sim::Workload& workload, const SimulateOptions& o, store::ImageStore* producer) {
  std::vector<std::unique_ptr<store::ImageStore>> others;
  std::vector<store::ImageStore*> targets;
  if (producer) targets.push_back(producer);
  for (const auto& uri : o.prefill_stores)
    targets.push_back(others.emplace_back(store::open_store(uri)).get());
  const auto written = sim::prefill_stores(workload, o.initial, targets);
  log::info("simulate: pre-filled " + std::to_string(written) + " images (" +
            std::to_string(o.initial) + " per plant) into " + std::to_string(targets.size()) +
            " store(s)");
}

int run_simulate(SimulateOptions o) {
  install_stop_handlers();
  std::tie(o.workload.image_min_bytes, o.workload.image_max_bytes) = parse_size_range(o.image_size);
  o.simulator.topic_prefix = o.topic_prefix;
  o.simulator.encoding =
      o.encoding == "base64" ? codec::DataEncoding::base64 : codec::DataEncoding::hex;
  if (o.initial > 0 && o.producer_store.empty() && o.prefill_stores.empty())
    throw Error("--initial needs --producer-store or --prefill-store: the stores to pre-fill",
                ExitCode::usage);
  sim::Workload workload(o.workload);
  std::unique_ptr<store::ImageStore> producer_store;
  if (!o.producer_store.empty()) producer_store = store::open_store(o.producer_store);
  o.simulator.producer_store = producer_store.get();
  if (o.initial > 0) prefill(workload, o, producer_store.get());
  kafka::Producer producer(
      {o.kafka.brokers, o.kafka.connect_timeout_ms(), o.kafka.parsed_properties()});
  sim::SimulatorStats stats;
  const auto start = std::chrono::steady_clock::now();
  sim::run_simulator(&producer, workload, o.simulator, stop_flag(), stats);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  log::line(sim::simulator_summary(stats, seconds));
  return producer.failed() ? static_cast<int>(ExitCode::failure) : 0;
}

}  // namespace

Command setup_simulate(CLI::App& app) {
  auto o = std::make_shared<SimulateOptions>();
  CLI::App* c = app.add_subcommand(
      "simulate",
      "Produce LIMS-shaped image change events, keyed by image id, to the plant topics: camera\n"
      "creates (every 100 s per camera), disease recognition (100 s), activate/deactivate and\n"
      "metadata edits (300 s each), soft deletes (700 s). Images are real JPEGs. With\n"
      "--producer-store each change is written there first, as LIMS's Image API does. The same\n"
      "--seed gives the same sequence of changes (their times are the wall clock's). Runs until\n"
      "--count or --duration, or until Ctrl-C.");
  add_kafka_options(c, o->kafka);
  add_topic_prefix_option(c, o->topic_prefix);
  c->add_option("--speedup", o->simulator.speedup, "Divide LIMS's job periods by this")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c->add_flag("--max-rate", o->simulator.max_rate,
              "Ignore the periods and produce as fast as possible (same sequence)");
  add_count_option(c, o->simulator.count, "Stop after this many events");
  c->add_option("-d,--duration", o->simulator.duration_s, "Stop after this many seconds")
      ->check(CLI::NonNegativeNumber);
  c->add_option("--seed", o->workload.seed, "Seed: the same seed gives the same sequence")
      ->capture_default_str();
  c->add_option("--cameras", o->workload.cameras, "Number of Camera Jobs")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  c->add_option("--intensity", o->workload.intensity,
                "Multiply every job's rate by this (in LIMS time, unlike --speedup)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c->add_option("--producer-store", o->producer_store,
                "Write each change here first, then produce it, as LIMS's Image API does (the "
                "source for sync-batch)")
      ->envname("LIMS_PRODUCER_STORE");
  c->add_option("--initial", o->initial,
                "Pre-fill the producer store with this many classified images per plant before "
                "the jobs start (LIMS starts with about 2000); no events are produced for them")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  c->add_option("--prefill-store", o->prefill_stores,
                "Another store to pre-fill with the same --initial images (LIMS's consumer DB "
                "starts identical to the producer's); repeatable");
  c->add_option("--image-size", o->image_size, "JPEG size range in bytes, MIN:MAX")
      ->capture_default_str();
  c->add_option("--encoding", o->encoding, "How `data` is encoded in events")
      ->check(CLI::IsMember({"hex", "base64"}))
      ->capture_default_str();
  return {c, [o] { return run_simulate(*o); }};
}

}  // namespace lims::cli
