// lims serve: the read side alone. The Image API's get-one-image and total handlers from the
// consumer store, with the probes, until SIGINT/SIGTERM.

#include "commands.hpp"
#include "common/signals.hpp"
#include "http/server.hpp"
#include "metrics/process.hpp"
#include "store/image_store.hpp"

namespace lims::cli {
namespace {

struct ServeOptions {
  std::string store = kDefaultStore;
  HttpOptions http{.listen = kDefaultListen};
  int store_connections = 0;  // 0: one per HTTP thread
};

int run_serve(const ServeOptions& o) {
  const http::ServerOptions server_options = *o.http.server();
  block_stop_signals();  // before any thread starts, so only sigwait sees them
  // By default one read connection per HTTP thread: a SQLite or libmongoc connection serves one
  // thread at a time, so the threads never wait for each other's reads.
  std::vector<std::unique_ptr<store::ImageStore>> stores;
  std::vector<store::ImageStore*> connections;
  const int count = o.store_connections > 0 ? o.store_connections : server_options.threads;
  for (int i = 0; i < count; ++i) {
    stores.push_back(store::open_store(o.store, {.read_only = true}));
    connections.push_back(stores.back().get());
  }
  metrics::Registry registry;
  metrics::add_process_metrics(registry);
  http::Handlers handlers(std::move(connections), {.metrics = &registry});
  http::Server server(handlers, server_options);
  wait_for_stop_signal();
  server.stop();
  return 0;
}

}  // namespace

Command setup_serve(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* c = app.add_subcommand(
      "serve",
      "Serve the consumer store over HTTP as the LIMS Image API does, until SIGINT/SIGTERM:\n"
      "  GET /image-plant/{plant}/{id}        the record (?fields=meta: without data;\n"
      "                                       Accept: image/jpeg, or .../{id}/jpeg: the JPEG)\n"
      "  GET /image-plant/{plant}/total/      {\"total_images\": N}\n"
      "  GET /ping, /healthz, /readyz         liveness and readiness (the store answers)\n"
      "  GET /metrics                         Prometheus metrics of this process\n"
      "  GET /                                the gallery: the newest images per plant\n"
      "  GET /api/latest?plant=P&n=N          the N newest records of P, without data\n"
      "Errors are JSON {\"detail\": ...}: 404 unknown image, 422 bad plant or id.");
  add_store_option(c, o->store);
  add_http_options(c, o->http, /*optional_server=*/false);
  c->add_option("--store-connections", o->store_connections,
                "Store connections the reads share, each serving one request at a time "
                "(0: one per HTTP thread)")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  return {c, [o] { return run_serve(*o); }};
}

}  // namespace lims::cli
