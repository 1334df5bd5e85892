// lims consume: the stream sync service.

#include "commands.hpp"
#include "common/log.hpp"
#include "common/signals.hpp"
#include "http/server.hpp"
#include "metrics/process.hpp"
#include "store/image_store.hpp"
#include "stream_http.hpp"
#include "stream_run.hpp"
#include "sync/report.hpp"
#include "sync/stream.hpp"

namespace lims::cli {
namespace {

/// The consumer's, the stream's and the store's settings are bound straight to their own
/// structs, so each default lives in one place (kafka::ConsumerConfig, sync::StreamOptions,
/// store::OpenOptions).
struct ConsumeOptions {
  KafkaOptions kafka;
  TopicOptions topics;
  kafka::ConsumerConfig consumer;
  std::string store = kDefaultStore;
  store::OpenOptions open;
  std::string marker_retention = "7d";
  sync::StreamOptions stream;
  double progress_s = 5;
  BadRecordOptions bad_records;
  double shutdown_timeout_s = 30;
  HttpOptions http;
  std::string ack_log;  // empty: none
};

int run_consume(ConsumeOptions o) {
  const auto listen = o.http.server();
  install_stop_handlers();
  arm_shutdown_deadline(std::chrono::milliseconds(static_cast<long>(o.shutdown_timeout_s * 1000)));
  o.open.delete_marker_retention = marker_retention_arg(o.marker_retention);
  auto store = store::open_store(o.store, o.open);

  kafka::ConsumerConfig& config = o.consumer;
  config.brokers = o.kafka.brokers;
  config.topics = o.topics.names();
  config.report_eof = o.stream.exit_at_end;
  config.connect_timeout_ms = o.kafka.connect_timeout_ms();
  config.statistics_interval_ms = 1000;  // lims_kafka_received_bytes_total
  config.extra = o.kafka.parsed_properties();

  sync::StreamOptions& options = o.stream;
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
            o.kafka.brokers + " as group " + config.group + " into " + store->describe());
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
      "a tombstone (null value) deletes, unless the stored record was written from later in\n"
      "its partition, and leaves a marker: an upsert must be newer than the deleted record\n"
      "to bring it back (--delete-marker-retention). A record the codec or the store rejects is "
      "logged,\n"
      "counted and handled by --on-bad-record. While the store fails, fetching pauses and the\n"
      "batch in hand is retried with backoff. SIGINT/SIGTERM finish and commit the batch in\n"
      "hand, then leave the group, within --shutdown-timeout.");
  add_kafka_options(c, o->kafka);
  add_topic_options(c, o->topics, "read");
  c->add_option("-g,--group", o->consumer.group, "Consumer group id")
      ->envname("LIMS_GROUP")
      ->capture_default_str();
  add_store_option(c, o->store);
  c->add_option("--write-concern", o->open.write_concern,
                "MongoDB write concern: majority, or the number of nodes that must acknowledge")
      ->envname("LIMS_WRITE_CONCERN")
      ->check(CLI::IsMember({"majority"}) | CLI::Range(1, 50))
      ->capture_default_str();
  add_marker_retention_option(c, o->marker_retention);
  c->add_flag("--from-beginning", o->consumer.from_beginning,
              "Start at the earliest offset even if the group has committed offsets (a new group "
              "starts there anyway)");
  c->add_flag("-e,--exit-at-end", o->stream.exit_at_end,
              "Exit 0 once every assigned partition is drained and committed");
  add_count_option(c, o->stream.max_records, "Exit after this many records (0: no limit)");
  c->add_option("--batch-max-events", o->stream.batch_max_events, "Records per store write at most")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c->add_option("--batch-max-bytes", o->stream.batch_max_bytes,
                "Value bytes per store write at most (accepts KiB/MiB suffixes)")
      ->transform(CLI::AsSizeValue(false))
      ->capture_default_str();
  c->add_option(
       "--batch-max-ms", o->stream.batch_max_ms,
       "Longest a received record waits for more before its batch is written (at once when "
       "nothing more is waiting and the writer is idle)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  c->add_option("--retry-initial-ms", o->stream.retry_initial_ms,
                "First backoff after a transient store error (doubles, with jitter)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c->add_option("--retry-max-ms", o->stream.retry_max_ms, "Longest backoff between store retries")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  add_bad_record_options(c, o->bad_records);
  c->add_option("--shutdown-timeout", o->shutdown_timeout_s,
                "Seconds a graceful stop may take before the process exits 1 regardless")
      ->envname("LIMS_SHUTDOWN_TIMEOUT")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  add_http_options(c, o->http, /*optional_server=*/true);
  add_ack_log_option(c, o->ack_log);
  add_progress_option(c, o->progress_s);
  return {c, [o] { return run_consume(*o); }};
}

}  // namespace lims::cli
