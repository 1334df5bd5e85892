#include "stream_run.hpp"

#include "common/log.hpp"
#include "common/signals.hpp"
#include "sync/report.hpp"

namespace lims::cli {

void add_bad_record_options(CLI::App* app, BadRecordOptions& o) {
  app->add_option("--on-bad-record", o.policy,
                  "What a rejected record gets: dead-letter (kept, with its reason and origin, "
                  "before its offset is committed), skip (logged only) or fail (exit 4, offset "
                  "not committed)")
      ->envname("LIMS_ON_BAD_RECORD")
      ->check(CLI::IsMember({"dead-letter", "skip", "fail"}))
      ->capture_default_str();
  app->add_option("--dead-letter-topic", o.topic,
                  "Topic for dead letters: the original key and value, with headers lims.error, "
                  "lims.source.topic, lims.source.partition, lims.source.offset and "
                  "lims.consumer.group")
      ->envname("LIMS_DEAD_LETTER_TOPIC")
      ->capture_default_str();
  app->add_option("--dead-letter-file", o.file,
                  "Append dead letters to this file as JSON lines instead of producing them")
      ->envname("LIMS_DEAD_LETTER_FILE");
}

std::unique_ptr<sync::BadRecordSink> make_bad_record_sink(const BadRecordOptions& o,
                                                          const kafka::ConsumerConfig& consumer) {
  if (o.policy == "skip") return std::make_unique<sync::SkipBadRecords>();
  if (o.policy == "fail") return std::make_unique<sync::FailOnBadRecord>();
  if (!o.file.empty()) return std::make_unique<sync::DeadLetterFile>(o.file, consumer.group);
  sync::DeadLetterTopic::Config config;
  config.producer = {consumer.brokers, consumer.connect_timeout_ms, consumer.extra};
  config.topic = o.topic;
  config.group = consumer.group;
  return std::make_unique<sync::DeadLetterTopic>(std::move(config));
}

void run_with_summary(sync::StreamSync& stream, double progress_s, std::string_view what) {
  sync::StreamSnapshot last = stream.snapshot();
  auto progress = [&](const sync::StreamSnapshot& now) {
    log::line(sync::progress_line(now, last, what));
    last = now;
  };
  auto summarize = [&] {
    const sync::StreamSnapshot end = stream.snapshot();
    log::line(sync::summary_line(end, what));
    log::line(sync::stages_line(stream.stages(), end.records, what));
  };
  try {
    stream.run(stop_flag(), progress_s > 0 ? std::function(progress) : nullptr);
  } catch (...) {
    summarize();  // what was done, before the error
    throw;
  }
  summarize();
}

}  // namespace lims::cli
