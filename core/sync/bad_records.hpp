#pragma once
// Where rejected records go (--on-bad-record). The stream counts them and carries on; a sink
// decides what else happens: log and skip, fail the run, or keep a dead letter (a Kafka topic or
// a JSON-lines file) with the original key and value and where they came from.

#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codec/decode.hpp"
#include "common/error.hpp"
#include "common/file.hpp"
#include "kafka/producer.hpp"

namespace lims::sync {

/// Thrown by BadRecordSink::flush() when rejected records are not kept yet but may be on a later
/// try (a dead-letter topic that does not exist yet, a broker that does not take them): the
/// stream keeps their offsets uncommitted, pauses fetching and calls flush() again with backoff,
/// as it does for a store outage.
class UnkeptError : public Error {
 public:
  using Error::Error;
};

/// What the stream does after handing a rejected record to a sink.
struct Verdict {
  bool stop = false;  // end the run at this record, its offset uncommitted (exit 4)
  std::string why;    // the error the run ends with, when it stops

  static Verdict carry_on() { return {}; }
  static Verdict stop_with(std::string why) { return {true, std::move(why)}; }
};

class BadRecordSink {
 public:
  virtual ~BadRecordSink() = default;
  /// Takes one rejected record with its one-line reason, and says whether the run goes on.
  /// Called from the consuming thread (codec rejects) and the store-writing thread (store
  /// rejects), possibly at once: must be thread-safe. Throws lims::Error only for a dead letter
  /// that cannot even be queued.
  virtual Verdict reject(const codec::RawRecord& record, std::string_view reason) = 0;
  /// Returns once every record rejected so far is safely kept (a dead letter acknowledged, a
  /// file synced), or throws: UnkeptError when a later call may succeed, lims::Error when none
  /// will. The stream calls it before committing offsets past rejected records.
  virtual void flush() {}
};

/// Logs each rejected record's reason as one warning line, and drops it.
class SkipBadRecords final : public BadRecordSink {
 public:
  Verdict reject(const codec::RawRecord& record, std::string_view reason) override;
};

/// Ends the run at the first rejected record (the stream then exits 4 with the reason). Its
/// offset and everything after it in its partition stay uncommitted.
class FailOnBadRecord final : public BadRecordSink {
 public:
  Verdict reject(const codec::RawRecord& record, std::string_view reason) override;
};

/// Produces each rejected record, original key and value, to a dead-letter topic with headers
/// lims.error, lims.source.topic, lims.source.partition, lims.source.offset and
/// lims.consumer.group. A value too big for a Kafka record is cut to `max_value_bytes` and
/// marked with lims.value.truncated (its original size). A dead letter the broker does not
/// acknowledge is kept and produced again by the next flush(), never twice once acknowledged.
class DeadLetterTopic final : public BadRecordSink {
 public:
  struct Config {
    kafka::ProducerConfig producer;
    std::string topic = "lims-dead-letters";
    std::string group;
    std::size_t max_value_bytes = 900 * 1024;  // under Kafka's default 1 MB record limit
    int ack_timeout_ms = 60000;  // a dead letter's delivery timeout; flush() waits 1 s more
    /// Make sure the topic exists at start (kafka::ensure_topic: created with 1 partition and
    /// the broker's default replication factor when missing). When it cannot, a warning says
    /// why and the dead letters wait in flush() until the topic takes them.
    bool ensure_topic = true;
  };
  /// Makes sure the topic exists (Config::ensure_topic), then connects its producer. Throws
  /// lims::Error unreachable if the brokers do not answer.
  explicit DeadLetterTopic(Config config);
  Verdict reject(const codec::RawRecord& record, std::string_view reason) override;
  /// Produces again the dead letters that failed, then waits for every dead letter to be
  /// acknowledged (ack_timeout_ms and 1 s at most); throws UnkeptError if some are not.
  void flush() override;
  /// Dead letters not acknowledged yet.
  std::size_t unacknowledged() const;

 private:
  struct Letter {
    std::string key;
    std::optional<std::string> value;
    kafka::Headers headers;
  };
  void produce(std::uint64_t tag, const Letter& letter);
  void delivered(std::uint64_t tag, std::string_view error);

  Config config_;
  mutable std::mutex mutex_;
  std::map<std::uint64_t, Letter> unacked_;  // by tag: queued, in flight or failed
  std::vector<std::uint64_t> failed_;        // tags to produce again
  std::uint64_t next_tag_ = 1;
  std::string last_error_;
  std::unique_ptr<kafka::Producer> producer_;  // last: its delivery reports reach the above
};

/// Appends each rejected record to a file as one JSON object per line: error, topic,
/// partition, offset, group, key and value (as strings when they are UTF-8 text, else as
/// key_base64 / value_base64; null when absent).
class DeadLetterFile final : public BadRecordSink {
 public:
  /// Opens `path` for appending (lims::Error if it cannot).
  DeadLetterFile(const std::string& path, std::string group);
  ~DeadLetterFile() override;
  Verdict reject(const codec::RawRecord& record, std::string_view reason) override;
  /// Writes out and fsyncs what was appended.
  void flush() override;

 private:
  std::string path_;
  std::string group_;
  std::mutex mutex_;
  File file_;
  bool dirty_ = false;
};

/// One dead-letter line as DeadLetterFile writes it (without the newline).
std::string dead_letter_json(const codec::RawRecord& record, std::string_view reason,
                             std::string_view group);

}  // namespace lims::sync
