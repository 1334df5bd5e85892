#pragma once
// Options shared by several subcommands, each with its LIMS_* environment fallback.

#include <CLI/CLI.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "http/server.hpp"
#include "kafka/config.hpp"
#include "model/image.hpp"

namespace lims::cli {

/// A registered subcommand and what runs it; run() returns the process exit code.
struct Command {
  CLI::App* app;
  std::function<int()> run;
};

/// The topic names for the plants under `prefix`.
std::vector<std::string> plant_topics(const std::string& prefix);

struct KafkaOptions {
  std::string brokers = "localhost:9092";
  std::vector<std::string> properties;  // -X key=value
  double connect_timeout_s = 10;

  /// The -X list parsed; throws lims::Error (usage) on a malformed entry.
  kafka::Properties parsed_properties() const;
  int connect_timeout_ms() const { return static_cast<int>(connect_timeout_s * 1000); }
};

/// -b/--brokers (LIMS_BROKERS), -X key=value (repeatable), --connect-timeout.
void add_kafka_options(CLI::App* app, KafkaOptions& options);

/// The consumer store every reader and writer of it uses unless told otherwise.
inline constexpr const char* kDefaultStore = "sqlite:lims.db";
/// -s/--store (LIMS_STORE), default kDefaultStore.
void add_store_option(CLI::App* app, std::string& store);

/// The plant topics, under a prefix.
struct TopicOptions {
  std::vector<std::string> topics = plant_topics("");
  std::string prefix;
  /// The topic names with the prefix in front.
  std::vector<std::string> names() const;
};
/// -t/--topic (repeatable or comma-separated; --topics too, hidden) for topics to `what` ("read",
/// "create"), and --topic-prefix (LIMS_TOPIC_PREFIX).
void add_topic_options(CLI::App* app, TopicOptions& options, const std::string& what);
/// --topic-prefix (LIMS_TOPIC_PREFIX), for commands that always use the three plant topics.
void add_topic_prefix_option(CLI::App* app, std::string& prefix);

/// Where HTTP is served unless --listen says otherwise.
inline constexpr const char* kDefaultListen = "0.0.0.0:8080";
/// An HTTP server's options: where, and how many requests at once.
struct HttpOptions {
  std::string listen;  // empty: no server (commands for which HTTP is optional)
  int threads = 8;
  /// The server's options, or nullopt without --listen; lims::Error (usage) for a bad one.
  std::optional<http::ServerOptions> server() const;
};
/// --listen HOST:PORT (LIMS_LISTEN) and --http-threads. `optional_server`: HTTP only when
/// --listen is given (consume, sync-batch); otherwise it has a default (serve, demo).
/// Returns the --listen option.
CLI::Option* add_http_options(CLI::App* app, HttpOptions& options, bool optional_server);

/// --delete-marker-retention DURATION (LIMS_DELETE_MARKER_RETENTION), for the commands that write
/// a consumer store: how long a delete marker stays. Default "7d" (store::kDefaultMarkerRetention).
void add_marker_retention_option(CLI::App* app, std::string& retention);
/// The retention given, in microseconds (the option's check has vetted it).
Micros marker_retention_arg(const std::string& retention);

/// --ack-log FILE: one CSV line per record the store applied (sync::AckLog), for `lims bench`.
void add_ack_log_option(CLI::App* app, std::string& path);
/// --progress SECONDS between progress lines on stderr (0: off).
void add_progress_option(CLI::App* app, double& seconds);
/// -c/--count N (and -n, hidden), with `help`.
template <class T>
CLI::Option* add_count_option(CLI::App* app, T& count, const std::string& help) {
  auto* main = app->add_option("-c,--count", count, help);
  app->add_option("-n", count)->group("");  // hidden: the spelling simulate and bench had
  return main;
}

/// The plant given on the command line, or a usage error naming the value.
Plant parse_plant_arg(const std::string& text);

}  // namespace lims::cli
