// lims replay: capture the plant topics to a file of JSON lines, produce such a capture again,
// and rebuild a store from the topics.

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>

#include "bench/replay_play.hpp"
#include "bench/replay_record.hpp"
#include "codec/time.hpp"
#include "commands.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/signals.hpp"
#include "store/image_store.hpp"
#include "stream_options.hpp"

namespace lims::cli {
namespace {

constexpr const char* kFormat =
    "A capture holds one JSON object per line: {\"topic\":..,\"partition\":..,\"offset\":..,\n"
    "\"timestamp\":<ms since the epoch>,\"key\":<string or null>,\"value\":<string or null>}.\n"
    "The value is the event's JSON text as a JSON string (null: a tombstone). A key or value\n"
    "that is not valid UTF-8 is written as \"key_base64\" / \"value_base64\" instead. The topic\n"
    "is the name without --topic-prefix, so a capture plays back under any prefix.";

std::int64_t now_ms() { return codec::wall_clock_micros() / 1000; }

/// `x` in as few digits as it takes ("2", "0.5").
std::string shortest(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

kafka::ReaderConfig reader_config(const KafkaOptions& k) {
  return {k.brokers, k.connect_timeout_ms(), k.parsed_properties()};
}

// ---- record ------------------------------------------------------------------------------------

struct RecordCommand {
  KafkaOptions kafka;
  TopicOptions topics;
  std::string out;
  bool follow = false;
  double progress_s = 5;
};

int run_record(const RecordCommand& o) {
  install_stop_handlers();
  kafka::Reader reader(reader_config(o.kafka));  // first: a wrong --brokers keeps the old file
  const bool to_stdout = o.out == "-";
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(nullptr, &std::fclose);
  if (!to_stdout) {
    file.reset(std::fopen(o.out.c_str(), "we"));
    if (!file)
      throw Error("cannot open " + o.out + " for writing: " + std::strerror(errno),
                  ExitCode::usage);
  }
  std::FILE* out = to_stdout ? stdout : file.get();
  bench::RecordOptions options;
  options.topics = o.topics.names();
  options.topic_prefix = o.topics.prefix;
  options.follow = o.follow;
  options.progress_interval = std::chrono::milliseconds(static_cast<long>(o.progress_s * 1000));
  bench::RecordStats stats;
  auto progress = [](const bench::RecordStats& s) { log::line(bench::record_summary(s)); };
  bench::record(reader, options, out, to_stdout ? "stdout" : o.out, stop_flag(), stats,
                o.progress_s > 0 ? std::function(progress) : nullptr);
  if (file && std::fclose(file.release()) != 0)  // closed here, to see its error
    throw Error("writing " + o.out + ": " + std::strerror(errno));
  log::line(bench::record_summary(stats));
  return 0;
}

CLI::App* setup_record(CLI::App* replay, RecordCommand& o) {
  CLI::App* c = replay->add_subcommand(
      "record",
      std::string("Capture the plant topics from their beginning to a file, one JSON line per\n"
                  "record. Reads outside any consumer group (partitions assigned, nothing\n"
                  "committed), so the stream's group is untouched. Stops at the end offsets\n"
                  "current when it started (like kcat -C -e), or with --follow runs until\n"
                  "Ctrl-C. A summary line goes to stderr: records per topic, bytes, seconds.\n\n") +
          kFormat);
  add_kafka_options(c, o.kafka);
  add_topic_options(c, o.topics, "read");
  c->add_option("-o,--out", o.out, "File to write (replaced), or - for stdout")
      ->type_name("FILE")
      ->required();
  c->add_flag("-f,--follow", o.follow, "Keep recording new records until SIGINT/SIGTERM");
  add_progress_option(c, o.progress_s);
  return c;
}

// ---- play --------------------------------------------------------------------------------------

struct PlayCommand {
  KafkaOptions kafka;
  std::string file;
  std::string topic_prefix;
  double rate_multiplier = 1;
  bool max = false;
  double progress_s = 5;
};

int run_play(const PlayCommand& o) {
  install_stop_handlers();
  bench::Capture capture(o.file);  // every line checked before anything is produced
  bench::PlayOptions options;
  options.topic_prefix = o.topic_prefix;
  options.rate_multiplier = o.rate_multiplier;
  options.max = o.max;
  options.progress_interval = std::chrono::milliseconds(static_cast<long>(o.progress_s * 1000));
  kafka::Producer producer(
      {o.kafka.brokers, o.kafka.connect_timeout_ms(), o.kafka.parsed_properties()});
  log::info("playing " + std::to_string(capture.size()) + " records of " + o.file + " to " +
            o.kafka.brokers +
            (o.max ? " as fast as possible"
                   : " at " + shortest(o.rate_multiplier) + "x the original pace"));
  bench::PlayStats stats;
  auto progress = [](const bench::PlayStats& s) { log::line(bench::play_progress(s)); };
  bench::play(producer, capture, options, stop_flag(), stats,
              o.progress_s > 0 ? std::function(progress) : nullptr);
  log::line(bench::play_summary(stats));
  return stats.failed ? static_cast<int>(ExitCode::failure) : 0;
}

CLI::App* setup_play(CLI::App* replay, PlayCommand& o) {
  CLI::App* c = replay->add_subcommand(
      "play",
      std::string(
          "Produce a capture again: each record to its topic (with --topic-prefix in front),\n"
          "keyed as recorded (the default partitioner maps the key; an empty key goes as no\n"
          "key), tombstones as tombstones, stamped with the time it is produced (a capture's\n"
          "timestamps only pace it). Records keep the original spacing divided by\n"
          "--rate-multiplier, or go as fast as possible with --max. Each partition's records\n"
          "keep their offset order, the partitions are merged by timestamp, and the producer\n"
          "is idempotent with one request in flight: every key's records arrive in their\n"
          "order. Every line is checked first: a bad one exits 2 naming file:line and the\n"
          "field, before anything is produced. The file is read twice (not a pipe).\n\n") +
          kFormat);
  add_kafka_options(c, o.kafka);
  c->add_option("--file", o.file, "The capture to play")
      ->type_name("FILE")
      ->required()
      ->check(CLI::ExistingFile);
  add_topic_prefix_option(c, o.topic_prefix);
  auto* rate = c->add_option("--rate-multiplier", o.rate_multiplier,
                             "Play this many times faster than recorded (0.5: half speed)")
                   ->check(CLI::PositiveNumber)
                   ->capture_default_str();
  c->add_flag("--max", o.max, "Ignore the original spacing: produce as fast as possible")
      ->excludes(rate);
  add_progress_option(c, o.progress_s);
  return c;
}

// ---- rebuild -----------------------------------------------------------------------------------

struct RebuildCommand {
  KafkaOptions kafka;
  TopicOptions topics;
  std::string store = kDefaultStore;
  std::string group;  // empty: lims-rebuild-<unix ms>
  bool from_beginning = false;
  std::string since;
  BadRecordOptions bad_records;
  double progress_s = 5;
};

/// --since in ms since the epoch (0 at the least: Kafka reads negative times as offsets):
/// ISO-8601 (UTC unless it has a zone), or a duration meaning that long ago.
std::int64_t parse_since(const std::string& text) {
  if (auto ago = codec::parse_duration(text))
    return std::max<std::int64_t>(0, now_ms() - *ago / 1000);
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
  auto store = store::open_store(o.store);
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

CLI::App* setup_rebuild(CLI::App* replay, RebuildCommand& o) {
  CLI::App* c = replay->add_subcommand(
      "rebuild",
      "Rebuild a store from the plant topics: consume them from their beginning, or from the\n"
      "first records stamped at or after --since (the brokers' offsets for times), into the\n"
      "store, and exit 0 once caught up with the end offsets current at the start. This is\n"
      "how a lost consumer store is rebuilt. It runs the same stream as consume (decode,\n"
      "batch, apply, then commit), so the stale-event guard makes it safe over a live store:\n"
      "an event older than the stored record changes nothing. It commits to a group of its\n"
      "own, never the stream's.");
  add_kafka_options(c, o.kafka);
  add_store_option(c, o.store);
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
  return c;
}

}  // namespace

Command setup_replay(CLI::App& app) {
  CLI::App* replay = app.add_subcommand(
      "replay",
      "Capture the plant topics to a file (record), produce a capture again (play), or rebuild\n"
      "a store from the topics (rebuild). `lims replay <cmd> --help` for each.");
  replay->require_subcommand(1);
  auto record = std::make_shared<RecordCommand>();
  auto play = std::make_shared<PlayCommand>();
  auto rebuild = std::make_shared<RebuildCommand>();
  CLI::App* record_app = setup_record(replay, *record);
  CLI::App* play_app = setup_play(replay, *play);
  CLI::App* rebuild_app = setup_rebuild(replay, *rebuild);
  return {replay, [=] {
            if (record_app->parsed()) return run_record(*record);
            if (play_app->parsed()) return run_play(*play);
            if (rebuild_app->parsed()) return run_rebuild(*rebuild);
            return static_cast<int>(ExitCode::usage);
          }};
}

}  // namespace lims::cli
