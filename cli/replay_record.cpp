// lims replay record: capture the plant topics to a file of JSON lines.

#include <cstdio>
#include <memory>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/log.hpp"
#include "common/signals.hpp"
#include "replay.hpp"
#include "replay/record.hpp"

namespace lims::cli {
namespace {

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
  File file;
  if (!to_stdout) file = open_file(o.out, "w", "capture", ExitCode::usage);
  std::FILE* out = to_stdout ? stdout : file.get();
  replay::RecordOptions options;
  options.topics = o.topics.names();
  options.topic_prefix = o.topics.prefix;
  options.follow = o.follow;
  options.progress_interval = std::chrono::milliseconds(static_cast<long>(o.progress_s * 1000));
  replay::RecordStats stats;
  auto progress = [](const replay::RecordStats& s) { log::line(replay::record_summary(s)); };
  replay::record(reader, options, out, to_stdout ? "stdout" : o.out, stop_flag(), stats,
                 o.progress_s > 0 ? std::function(progress) : nullptr);
  if (file) close_file(std::move(file), o.out, "capture");  // here, to see its error
  log::line(replay::record_summary(stats));
  return 0;
}

}  // namespace

Command setup_replay_record(CLI::App* replay) {
  auto shared = std::make_shared<RecordCommand>();
  RecordCommand& o = *shared;
  CLI::App* c = replay->add_subcommand(
      "record",
      std::string("Capture the plant topics from their beginning to a file, one JSON line per\n"
                  "record. Reads outside any consumer group (partitions assigned, nothing\n"
                  "committed), so the stream's group is untouched. Stops at the end offsets\n"
                  "current when it started (like kcat -C -e), or with --follow runs until\n"
                  "Ctrl-C. A summary line goes to stderr: records per topic, bytes, seconds.\n\n") +
          kCaptureFormat);
  add_kafka_options(c, o.kafka);
  add_topic_options(c, o.topics, "read");
  c->add_option("-o,--out", o.out, "File to write (replaced), or - for stdout")
      ->type_name("FILE")
      ->required();
  c->add_flag("-f,--follow", o.follow, "Keep recording new records until SIGINT/SIGTERM");
  add_progress_option(c, o.progress_s);
  return {c, [shared] { return run_record(*shared); }};
}

}  // namespace lims::cli
