#pragma once
// Options shared by several subcommands, each with its LIMS_* environment fallback.

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "kafka/config.hpp"
#include "model/image.hpp"

namespace lims::cli {

/// A registered subcommand and what runs it; run() returns the process exit code.
struct Command {
  CLI::App* app;
  std::function<int()> run;
};

struct KafkaOptions {
  std::string brokers = "localhost:9092";
  std::vector<std::string> properties;  // -X key=value
  double connect_timeout_s = 10;

  /// The -X list parsed; throws lims::Error (usage) on a malformed entry.
  kafka::Properties parsed_properties() const;
  int connect_timeout_ms() const { return static_cast<int>(connect_timeout_s * 1000); }
};

/// --brokers (LIMS_BROKERS), -X key=value (repeatable), --connect-timeout.
void add_kafka_options(CLI::App* app, KafkaOptions& options);
/// --store (LIMS_STORE), default sqlite:lims.db.
void add_store_option(CLI::App* app, std::string& store);
/// Where HTTP is served unless --listen says otherwise.
inline constexpr const char* kDefaultListen = "0.0.0.0:8080";
/// --listen HOST:PORT (LIMS_LISTEN).
void add_listen_option(CLI::App* app, std::string& listen, bool optional_server = false);
/// --ack-log FILE: one CSV line per record the store applied (sync::AckLog), for `lims bench`.
void add_ack_log_option(CLI::App* app, std::string& path);
/// --topic-prefix (LIMS_TOPIC_PREFIX).
void add_topic_prefix_option(CLI::App* app, std::string& prefix);

/// The plant given on the command line, or a usage error naming the value.
Plant parse_plant_arg(const std::string& text);
/// The topic names for `plants` under `prefix`.
std::vector<std::string> plant_topics(const std::string& prefix);

}  // namespace lims::cli
