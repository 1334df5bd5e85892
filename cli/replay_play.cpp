// lims replay play: produce a capture again, at its pace or faster.

#include <chrono>
#include <cstdio>
#include <memory>

#include "common/error.hpp"
#include "common/log.hpp"
#include "common/signals.hpp"
#include "replay.hpp"
#include "replay/play.hpp"

namespace lims::cli {
namespace {

/// `x` in as few digits as it takes ("2", "0.5").
std::string shortest(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

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
  replay::Capture capture(o.file);  // every line checked before anything is produced
  replay::PlayOptions options;
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
  replay::PlayStats stats;
  auto progress = [](const replay::PlayStats& s) { log::line(replay::play_progress(s)); };
  replay::play(producer, capture, options, stop_flag(), stats,
               o.progress_s > 0 ? std::function(progress) : nullptr);
  log::line(replay::play_summary(stats));
  return stats.failed ? static_cast<int>(ExitCode::failure) : 0;
}

}  // namespace

Command setup_replay_play(CLI::App* replay) {
  auto shared = std::make_shared<PlayCommand>();
  PlayCommand& o = *shared;
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
          kCaptureFormat);
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
  return {c, [shared] { return run_play(*shared); }};
}

}  // namespace lims::cli
