// lims replay rebuild: rebuild a store from the plant topics.

#include <algorithm>
#include <chrono>
#include <memory>

#include "codec/time.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/signals.hpp"
#include "common/time_units.hpp"
#include "replay.hpp"
#include "store/image_store.hpp"
#include "stream_run.hpp"

namespace lims::cli {
namespace {

std::int64_t now_ms() { return wall_clock_micros() / 1000; }

struct RebuildCommand {
  KafkaOptions kafka;
  TopicOptions topics;
  std::string store = kDefaultStore;
  std::string group;  // empty: lims-rebuild-<unix ms>
  bool from_beginning = false;
  std::string since;
  BadRecordOptions bad_records;
  double progress_s = 5;
  std::string marker_retention = "7d";
};

/// --since in ms since the epoch (0 at the least: Kafka reads negative times as offsets):
/// ISO-8601 (UTC unless it has a zone), or a duration meaning that long ago.
std::int64_t parse_since(const std::string& text) {
  if (auto ago = parse_duration(text)) return std::max<std::int64_t>(0, now_ms() - *ago / 1000);
  if (auto t = codec::parse_iso_time(text))
    return std::max<std::int64_t>(0, *t / 1000 + (*t % 1000 > 0 ? 1 : 0));  // rounded up
  throw Error("--since '" + text +
                  "': expected a time such as 2024-05-01T12:00:00 (UTC unless it has a zone, "
                  "e.g. +02:00) or a duration ago such as 90s, 30m, 1h30m or 2d",
              ExitCode::usage);
}

int run_rebuild(const RebuildCommand& o) {
  install_stop_handlers();
  arm_shutdown_deadline(std::chrono::seconds(30));
  kafka::ConsumerConfig config;
  config.brokers = o.kafka.brokers;
  config.group = o.group.empty() ? "lims-rebuild-" + std::to_string(now_ms()) : o.group;
  config.topics = o.topics.names();
  config.from_beginning = o.from_beginning;
  if (!o.from_beginning) config.start_time_ms = parse_since(o.since);
  config.report_eof = true;
  config.connect_timeout_ms = o.kafka.connect_timeout_ms();
  config.extra = o.kafka.parsed_properties();

  sync::StreamOptions options;
  options.exit_at_end = true;
  std::int64_t end_total = 0;
  for (const auto& range : kafka::Reader(reader_config(o.kafka)).partitions(config.topics)) {
    options.end_offsets.push_back({range.partition.topic, range.partition.partition, range.high});
    end_total += range.high;
  }
  options.progress_interval = std::chrono::milliseconds(static_cast<long>(o.progress_s * 1000));
  auto store = store::open_store(
      o.store, {.delete_marker_retention = marker_retention_arg(o.marker_retention)});
  auto bad_records = make_bad_record_sink(o.bad_records, config);
  sync::StreamSync stream(config, *store, *bad_records, options);
  log::info("rebuilding " + store->describe() + " from " + o.kafka.brokers + " as group " +
            config.group + ", " +
            (o.from_beginning ? std::string("from the beginning")
                              : "from the first records since " +
                                    codec::format_time(*config.start_time_ms * 1000) + " UTC") +
            ", up to the end offsets now (summed: " + std::to_string(end_total) + ")");
  run_with_summary(stream, o.progress_s, "rebuild");
  return 0;
}

}  // namespace

Command setup_replay_rebuild(CLI::App* replay) {
  auto shared = std::make_shared<RebuildCommand>();
  RebuildCommand& o = *shared;
  CLI::App* c = replay->add_subcommand(
      "rebuild",
      "Rebuild a store from the plant topics: consume them from their beginning, or from the\n"
      "first records stamped at or after --since (the brokers' offsets for times), into the\n"
      "store, and exit 0 once caught up with the end offsets current at the start. This is\n"
      "how a lost consumer store is rebuilt. It runs the same stream as consume (decode,\n"
      "batch, apply, then commit), so the stale-event guard makes it safe over a live store:\n"
      "an event older than the stored record changes nothing, a tombstone from before the\n"
      "stored record's write deletes nothing. It commits to a group of its\n"
      "own, never the stream's.");
  add_kafka_options(c, o.kafka);
  add_store_option(c, o.store);
  add_marker_retention_option(c, o.marker_retention);
  add_topic_options(c, o.topics, "read");
  c->add_option("-g,--group", o.group,
                "Consumer group id (default: lims-rebuild-<unix ms>, new each run; not the "
                "stream's group, whose offsets it would move)");
  CLI::Option_group* start = c->add_option_group("start", "Where to start (one is required)");
  start->add_flag("--from-beginning", o.from_beginning, "Every record the topics still hold");
  start
      ->add_option("--since", o.since,
                   "Records stamped at or after TIME: ISO-8601 such as 2024-05-01T12:00:00[.fff]"
                   " (UTC unless it ends in Z or +HH:MM), or a duration ago: 90s, 30m, 1h30m, 2d."
                   " A partition with no record that recent starts at its end")
      ->type_name("TIME");
  start->require_option(1);
  o.bad_records.policy = "skip";  // a live consumer dead-lettered them when it met them
  add_bad_record_options(c, o.bad_records);
  add_progress_option(c, o.progress_s);
  return {c, [shared] { return run_rebuild(*shared); }};
}

}  // namespace lims::cli
