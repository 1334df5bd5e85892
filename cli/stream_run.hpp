#pragma once
// What consume and replay rebuild share around the stream: the bad-record policy and its
// options, and running a stream with progress and summary lines.

#include <memory>
#include <string>
#include <string_view>

#include "options.hpp"
#include "sync/bad_records.hpp"
#include "sync/stream.hpp"

namespace lims::cli {

/// --on-bad-record and where dead letters go.
struct BadRecordOptions {
  std::string policy = "dead-letter";  // dead-letter, skip or fail
  std::string topic = sync::DeadLetterTopic::Config{}.topic;
  std::string file;  // empty: the topic
};

/// --on-bad-record (LIMS_ON_BAD_RECORD), --dead-letter-topic, --dead-letter-file.
void add_bad_record_options(CLI::App* app, BadRecordOptions& options);
/// The policy as a sink; dead letters name `consumer`'s group and go through its brokers.
std::unique_ptr<sync::BadRecordSink> make_bad_record_sink(const BadRecordOptions& options,
                                                          const kafka::ConsumerConfig& consumer);
/// Runs `stream` until it ends or SIGINT/SIGTERM, logging a progress line every `progress_s`
/// (0: none) and the summary line at the end, also when it throws; both named `what`.
void run_with_summary(sync::StreamSync& stream, double progress_s, std::string_view what);

}  // namespace lims::cli
