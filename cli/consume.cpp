// lims consume: the stream sync service.

#include "commands.hpp"
#include "common/log.hpp"
#include "common/signals.hpp"
#include "http/server.hpp"
#include "metrics/process.hpp"
#include "store/image_store.hpp"
#include "stream_http.hpp"
#include "stream_options.hpp"
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
  BadRecordOptions bad_records;
  double shutdown_timeout_s = 30;
  std::string listen;   // empty: no HTTP
  std::string ack_log;  // empty: none
};

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
  config.statistics_interval_ms = 1000;  // lims_kafka_received_bytes_total
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
  std::optional<sync::AckLog> ack_log;
  if (!o.ack_log.empty()) options.on_acked = ack_log.emplace(o.ack_log).observer();
  auto bad_records = make_bad_record_sink(o.bad_records, config);
  sync::StreamSync stream(config, *store, *bad_records, options);

  std::optional<StreamHttp> http_side;  // after the stream: stops serving before it goes
  if (listen) http_side.emplace(o.store, stream, registry, *listen);
  log::info("consuming " + std::to_string(config.topics.size()) + " topics from " +
            o.kafka.brokers + " as group " + o.group + " into " + store->describe());
  run_with_summary(stream, o.progress_s, "consume");
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
  add_bad_record_options(c, o->bad_records);
  c->add_option("--shutdown-timeout", o->shutdown_timeout_s,
                "Seconds a graceful stop may take before the process exits 1 regardless")
      ->envname("LIMS_SHUTDOWN_TIMEOUT")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  add_listen_option(c, o->listen, /*optional_server=*/true);
  add_ack_log_option(c, o->ack_log);
  c->add_option("--progress", o->progress_s, "Seconds between progress lines on stderr (0: off)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  return {c, [o] { return run_consume(*o); }};
}

}  // namespace lims::cli
