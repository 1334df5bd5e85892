// lims sync-batch: the batch baseline, copying producer to consumer as the LIMS DB Synchronizer.

#include <chrono>

#include "commands.hpp"
#include "common/log.hpp"
#include "common/signals.hpp"
#include "http/server.hpp"
#include "metrics/process.hpp"
#include "store/image_store.hpp"
#include "sync/copy.hpp"
#include "sync/report.hpp"

namespace lims::cli {
namespace {

struct SyncBatchOptions {
  std::string from;
  std::string to = kDefaultStore;
  std::string mode = "incremental";
  std::string state;  // empty: the checkpoint lives in the target
  bool once = false;
  double interval_s = 600;
  HttpOptions http;
  std::string ack_log;  // empty: none
  std::string marker_retention = "7d";
};

/// What sync-batch exports on /metrics: its totals and when a run last finished.
struct BatchMetrics {
  metrics::Counter& images;
  metrics::Counter& bytes;
  metrics::Counter& bytes_written;
  metrics::Gauge& last_run;
  explicit BatchMetrics(metrics::Registry& r)
      : images(r.counter("lims_sync_batch_images_total", "Images sync-batch wrote to the target")
                   .with()),
        bytes(r.counter("lims_sync_batch_bytes_total",
                        "Document bytes sync-batch read from the source")
                  .with()),
        bytes_written(r.counter("lims_sync_batch_bytes_written_total",
                                "Document bytes sync-batch wrote to the target")
                          .with()),
        last_run(r.gauge("lims_sync_batch_last_run_timestamp_seconds",
                         "When the last complete sync-batch run ended (Unix time)")
                     .with()) {}
  void record(const sync::BatchRunStats& s) {
    images.inc(static_cast<double>(s.images));
    bytes.inc(static_cast<double>(s.bytes_read));
    bytes_written.inc(static_cast<double>(s.bytes_written));
    if (s.complete)
      last_run.set(
          std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
              .count());
  }
};

int run_sync_batch(const SyncBatchOptions& o) {
  const auto listen = o.http.server();
  install_stop_handlers();
  auto source = store::open_store(o.from, {.read_only = true});
  auto target = store::open_store(
      o.to, {.delete_marker_retention = marker_retention_arg(o.marker_retention)});
  metrics::Registry registry;
  metrics::add_process_metrics(registry);
  BatchMetrics batch_metrics(registry);
  metrics::StageAccount stages = sync::copy_stages();
  stages.expose(registry);
  metrics::StageClock clock(stages, sync::copy_stage::read);
  std::uint64_t images = 0;
  // /metrics and the probes (the target answers), through a connection of their own.
  std::unique_ptr<store::ImageStore> reader;
  std::optional<http::Handlers> handlers;
  std::optional<http::Server> server;
  if (listen) {
    reader = store::open_store(o.to, {.read_only = true});
    handlers.emplace(*reader, http::HandlerOptions{.metrics = &registry});
    server.emplace(*handlers, *listen);
  }
  const auto mode = o.mode == "full" ? sync::BatchMode::full : sync::BatchMode::incremental;
  const auto checkpoint = o.state.empty() ? sync::checkpoint_in_target(*target, *source, mode)
                                          : sync::checkpoint_file(o.state);
  std::optional<sync::AckLog> ack_log;
  sync::WriteObserver on_acked;
  if (!o.ack_log.empty()) on_acked = ack_log.emplace(o.ack_log).observer();
  log::info("sync-batch " + o.mode + " from " + source->describe() + " to " + target->describe() +
            (mode == sync::BatchMode::full ? "" : "; checkpoint in " + checkpoint->describe()));
  for (;;) {
    const auto next = std::chrono::steady_clock::now() +
                      std::chrono::milliseconds(static_cast<long>(o.interval_s * 1000));
    const sync::BatchRunStats stats = sync::run_batch_sync(*source, *target, mode, checkpoint.get(),
                                                           stop_flag(), 200, on_acked, &clock);
    batch_metrics.record(stats);
    images += stats.images;
    log::line(sync::batch_summary_line(stats) + (stats.complete ? "" : " (stopped part way)"));
    clock.enter(sync::copy_stage::wait);
    log::line(sync::stages_line(stages, images, "sync-batch"));
    if (o.once || stop_flag()) return 0;
    if (wait_for_stop(next)) return 0;
  }
}

}  // namespace

Command setup_sync_batch(CLI::App& app) {
  auto o = std::make_shared<SyncBatchOptions>();
  CLI::App* c = app.add_subcommand(
      "sync-batch",
      "The batch baseline: copy the producer store into the consumer store, as the LIMS DB\n"
      "Synchronizer does, every --interval seconds or --once. Incremental runs copy what changed\n"
      "since the checkpoint: per plant, the last record copied (by updated_at, else created_at,\n"
      "then id), kept in the target itself (lims_copy_positions), keyed by the source and mode,\n"
      "and moved with each chunk written. Full runs copy everything and delete what the source no\n"
      "longer has, leaving delete markers, and never a record newer than the one found missing.\n"
      "The stale-event guard applies. Each run prints: sync-batch: N images, R bytes\n"
      "read, W bytes written in T s.");
  c->add_option("--from", o->from, "Source store (the producer DB)")
      ->required()
      ->envname("LIMS_SYNC_FROM");
  c->add_option("--to", o->to, "Target store (the consumer DB)")
      ->envname("LIMS_STORE")
      ->capture_default_str();
  c->add_option("--mode", o->mode, "incremental or full")
      ->check(CLI::IsMember({"incremental", "full"}))
      ->capture_default_str();
  c->add_flag("--once", o->once, "Run once and exit");
  c->add_option("--interval", o->interval_s, "Seconds from the start of one run to the next")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c->add_option("--state", o->state,
                "Keep the incremental checkpoint in this file instead of the target (one line "
                "per plant, replaced atomically after each chunk)")
      ->envname("LIMS_SYNC_STATE");
  add_marker_retention_option(c, o->marker_retention);
  add_http_options(c, o->http, /*optional_server=*/true);
  add_ack_log_option(c, o->ack_log);
  return {c, [o] { return run_sync_batch(*o); }};
}

}  // namespace lims::cli
