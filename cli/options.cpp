#include "options.hpp"

#include "common/error.hpp"
#include "common/time_units.hpp"
#include "model/image.hpp"

namespace lims::cli {

kafka::Properties KafkaOptions::parsed_properties() const {
  kafka::Properties out;
  for (const auto& p : properties) out.push_back(kafka::parse_property(p));
  return out;
}

void add_kafka_options(CLI::App* app, KafkaOptions& options) {
  app->add_option("-b,--brokers", options.brokers, "Kafka bootstrap servers, host:port[,...]")
      ->envname("LIMS_BROKERS")
      ->capture_default_str();
  app->add_option("-X", options.properties,
                  "A librdkafka property key=value, passed through as is (repeatable)")
      ->allow_extra_args(false);
  app->add_option("--connect-timeout", options.connect_timeout_s,
                  "Seconds to wait for the broker before exiting 3")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

void add_store_option(CLI::App* app, std::string& store) {
  app->add_option("-s,--store", store,
                  "Consumer store: sqlite:PATH or mongodb://[USER:PASS@]HOST[:PORT][/DB][?OPTIONS] "
                  "(DB defaults to imagedbplantconsumer)")
      ->envname("LIMS_STORE")
      ->capture_default_str();
}

void add_topic_prefix_option(CLI::App* app, std::string& prefix) {
  app->add_option("--topic-prefix", prefix,
                  "Prefix for the plant topics, e.g. 'stg.' for stg.potato")
      ->envname("LIMS_TOPIC_PREFIX");
}

void add_marker_retention_option(CLI::App* app, std::string& retention) {
  app->add_option("--delete-marker-retention", retention,
                  "How long the marker a delete leaves is kept (a duration: 90s, 12h, 7d). While "
                  "it is, an upsert no newer than the deleted record (a redelivery, a replay) is "
                  "refused as stale; after it, such an upsert brings the record back")
      ->envname("LIMS_DELETE_MARKER_RETENTION")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            const auto d = parse_duration(text);
            if (d && *d > 0) return {};
            return "expected a duration longer than 0: <number><unit> pairs with units ms, s, "
                   "m, h, d, such as 90s, 12h or 7d";
          },
          ""))
      ->type_name("DURATION")
      ->capture_default_str();
}

Micros marker_retention_arg(const std::string& retention) {
  return duration_arg(retention, "--delete-marker-retention");
}

void add_ack_log_option(CLI::App* app, std::string& path) {
  app->add_option("--ack-log", path,
                  "Write one CSV line per record the store applied, plant,id,version_us,acked_us "
                  "(flushed per batch): how `lims bench` sees when each change became visible");
}

std::vector<std::string> TopicOptions::names() const {
  std::vector<std::string> out;
  for (const auto& t : topics) out.push_back(prefix + t);
  return out;
}

void add_topic_options(CLI::App* app, TopicOptions& o, const std::string& what) {
  app->add_option("-t,--topic", o.topics,
                  "Topic to " + what +
                      " (repeatable or comma-separated); its plant is the name or its last .-_ "
                      "separated part")
      ->delimiter(',')
      ->capture_default_str();
  app->add_option("--topics", o.topics)->delimiter(',')->group("");  // hidden: an older spelling
  add_topic_prefix_option(app, o.prefix);
}

std::optional<http::ServerOptions> HttpOptions::server() const {
  if (listen.empty()) return std::nullopt;
  http::ServerOptions server = http::parse_listen(listen);
  server.threads = threads;
  return server;
}

CLI::Option* add_http_options(CLI::App* app, HttpOptions& o, bool optional_server) {
  auto* listen =
      app->add_option("--listen", o.listen,
                      optional_server
                          ? "Also serve the HTTP handlers, probes and /metrics on HOST:PORT, :PORT "
                            "or PORT (e.g. 0.0.0.0:8080; default: no HTTP)"
                          : "Serve HTTP on HOST:PORT, :PORT or PORT")
          ->envname("LIMS_LISTEN")
          ->capture_default_str();
  app->add_option("--http-threads", o.threads,
                  "HTTP requests handled at once (event threads; each serves many connections)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  return listen;
}

void add_progress_option(CLI::App* app, double& seconds) {
  app->add_option("--progress", seconds, "Seconds between progress lines on stderr (0: off)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
}

Plant parse_plant_arg(const std::string& text) {
  if (auto p = parse_plant(text)) return *p;
  throw Error("plant '" + text + "' is not one of potato, tomato, pepper", ExitCode::usage);
}

std::vector<std::string> plant_topics(const std::string& prefix) {
  std::vector<std::string> topics;
  for (Plant p : kPlants) topics.push_back(prefix + std::string(plant_name(p)));
  return topics;
}

}  // namespace lims::cli
