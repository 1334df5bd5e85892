// lims consume: the stream sync service.

#include "commands.hpp"
#include "common/log.hpp"
#include "common/signals.hpp"
#include "http/server.hpp"
#include "metrics/process.hpp"
#include "store/image_store.hpp"
#include "stream_http.hpp"
#include "sync/report.hpp"
#include "sync/stream.hpp"

namespace lims::cli {
namespace {

struct ConsumeOptions {
  KafkaOptions kafka;
  std::vector<std::string> topics = {"potato", "tomato", "pepper"};
  std::string topic_prefix;
  std::string group = "lims-consumer";
  std::string store = "sqlite:lims.db";
  std::string write_concern = "majority";
  bool from_beginning = false;
  bool exit_at_end = false;
  std::uint64_t count = 0;
  std::size_t batch_max_events = 1000;
  std::size_t batch_max_bytes = 16u << 20;
  int batch_max_ms = 100;
  int retry_initial_ms = 100;
  int retry_max_ms = 10000;
  double progress_s = 5;
  std::string on_bad_record = "dead-letter";
  std::string dead_letter_topic = "lims-dead-letters";
  std::string dead_letter_file;
  double shutdown_timeout_s = 30;
  std::string listen;  // empty: no HTTP
};

/// The --on-bad-record policy as a sink.
std::unique_ptr<sync::BadRecordSink> bad_record_sink(const ConsumeOptions& o,
                                                     const kafka::ConsumerConfig& consumer) {
  if (o.on_bad_record == "skip") return std::make_unique<sync::SkipBadRecords>();
  if (o.on_bad_record == "fail") return std::make_unique<sync::FailOnBadRecord>();
  if (!o.dead_letter_file.empty())
    return std::make_unique<sync::DeadLetterFile>(o.dead_letter_file, o.group);
  sync::DeadLetterTopic::Config config;
  config.producer = {consumer.brokers, consumer.connect_timeout_ms, consumer.extra};
  config.topic = o.dead_letter_topic;
  config.group = o.group;
  return std::make_unique<sync::DeadLetterTopic>(std::move(config));
}

int run_consume(const ConsumeOptions& o) {
  std::optional<http::ServerOptions> listen;
  if (!o.listen.empty()) listen = http::parse_listen(o.listen);
  install_stop_handlers();
  arm_shutdown_deadline(std::chrono::milliseconds(static_cast<long>(o.shutdown_timeout_s * 1000)));
  auto store = store::open_store(o.store, {.write_concern = o.write_concern});

  kafka::ConsumerConfig config;
  config.brokers = o.kafka.brokers;
  config.group = o.group;
  for (const auto& t : o.topics) config.topics.push_back(o.topic_prefix + t);
  config.from_beginning = o.from_beginning;
  config.report_eof = o.exit_at_end;
  config.connect_timeout_ms = o.kafka.connect_timeout_ms();
  config.extra = o.kafka.parsed_properties();

  sync::StreamOptions options;
  options.batch_max_events = o.batch_max_events;
  options.batch_max_bytes = o.batch_max_bytes;
  options.batch_max_ms = o.batch_max_ms;
  options.exit_at_end = o.exit_at_end;
  options.max_records = o.count;
  options.retry_initial_ms = o.retry_initial_ms;
  options.retry_max_ms = o.retry_max_ms;
  // A stop that cannot commit gives up with a message well before the deadline kills it.
  options.stop_commit_timeout_ms = static_cast<int>(o.shutdown_timeout_s * 1000 / 2);
  options.progress_interval = std::chrono::milliseconds(static_cast<long>(o.progress_s * 1000));

  metrics::Registry registry;
  metrics::add_process_metrics(registry);
  options.metrics = &registry;
  auto bad_records = bad_record_sink(o, config);
  sync::StreamSync stream(config, *store, *bad_records, options);

  std::optional<StreamHttp> http_side;  // after the stream: stops serving before it goes
  if (listen) http_side.emplace(o.store, stream, registry, *listen);
  log::info("consuming " + std::to_string(config.topics.size()) + " topics from " +
            o.kafka.brokers + " as group " + o.group + " into " + store->describe());
  sync::StreamSnapshot last = stream.snapshot();
  auto progress = [&](const sync::StreamSnapshot& now) {
    log::line(sync::progress_line(now, last));
    last = now;
  };
  try {
    stream.run(stop_flag(), o.progress_s > 0 ? std::function(progress) : nullptr);
  } catch (...) {
    log::line(sync::summary_line(stream.snapshot()));  // what was done, before the error
    throw;
  }
  log::line(sync::summary_line(stream.snapshot()));
  return 0;
}

}  // namespace

Command setup_consume(CLI::App& app) {
  auto o = std::make_shared<ConsumeOptions>();
  CLI::App* c = app.add_subcommand(
      "consume",
      "Stream image change events from Kafka into the store (at-least-once, idempotent).\n"
      "Offsets are committed only after the store has applied every event before them; an\n"
      "event older than the stored record (by updated_at, else created_at) changes nothing;\n"
      "a tombstone (null value) deletes. A record the codec or the store rejects is logged,\n"
      "counted and handled by --on-bad-record. While the store fails, fetching pauses and the\n"
      "batch in hand is retried with backoff. SIGINT/SIGTERM finish and commit the batch in\n"
      "hand, then leave the group, within --shutdown-timeout.");
  add_kafka_options(c, o->kafka);
  c->add_option("-t,--topic", o->topics,
                "Topic to read (repeatable or comma-separated); its plant is the name or its last "
                ".-_ separated part")
      ->delimiter(',')
      ->capture_default_str();
  add_topic_prefix_option(c, o->topic_prefix);
  c->add_option("-g,--group", o->group, "Consumer group id")
      ->envname("LIMS_GROUP")
      ->capture_default_str();
  add_store_option(c, o->store);
  c->add_option("--write-concern", o->write_concern,
                "MongoDB write concern: majority, or the number of nodes that must acknowledge")
      ->envname("LIMS_WRITE_CONCERN")
      ->check(CLI::IsMember({"majority"}) | CLI::Range(1, 50))
      ->capture_default_str();
  c->add_flag("--from-beginning", o->from_beginning,
              "Start at the earliest offset even if the group has committed offsets (a new group "
              "starts there anyway)");
  c->add_flag("-e,--exit-at-end", o->exit_at_end,
              "Exit 0 once every assigned partition is drained and committed");
  c->add_option("-c,--count", o->count, "Exit after this many records (0: no limit)");
  c->add_option("--batch-max-events", o->batch_max_events, "Records per store write at most")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c->add_option("--batch-max-bytes", o->batch_max_bytes,
                "Value bytes per store write at most (accepts KiB/MiB suffixes)")
      ->transform(CLI::AsSizeValue(false))
      ->capture_default_str();
  c->add_option(
       "--batch-max-ms", o->batch_max_ms,
       "Longest a received record waits for more before its batch is written (at once when "
       "nothing more is waiting and the writer is idle)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  c->add_option("--retry-initial-ms", o->retry_initial_ms,
                "First backoff after a transient store error (doubles, with jitter)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c->add_option("--retry-max-ms", o->retry_max_ms, "Longest backoff between store retries")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c->add_option("--on-bad-record", o->on_bad_record,
                "What a rejected record gets: dead-letter (kept, with its reason and origin, "
                "before its offset is committed), skip (logged only) or fail (exit 4, offset "
                "not committed)")
      ->envname("LIMS_ON_BAD_RECORD")
      ->check(CLI::IsMember({"dead-letter", "skip", "fail"}))
      ->capture_default_str();
  c->add_option("--dead-letter-topic", o->dead_letter_topic,
                "Topic for dead letters: the original key and value, with headers lims.error, "
                "lims.source.topic, lims.source.partition, lims.source.offset and "
                "lims.consumer.group")
      ->envname("LIMS_DEAD_LETTER_TOPIC")
      ->capture_default_str();
  c->add_option("--dead-letter-file", o->dead_letter_file,
                "Append dead letters to this file as JSON lines instead of producing them")
      ->envname("LIMS_DEAD_LETTER_FILE");
  c->add_option("--shutdown-timeout", o->shutdown_timeout_s,
                "Seconds a graceful stop may take before the process exits 1 regardless")
      ->envname("LIMS_SHUTDOWN_TIMEOUT")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  add_listen_option(c, o->listen, /*optional_server=*/true);
  c->add_option("--progress", o->progress_s, "Seconds between progress lines on stderr (0: off)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  return {c, [o] { return run_consume(*o); }};
}

}  // namespace lims::cli
