#include "sync/bad_records.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "codec/json_write.hpp"
#include "codec/record_line.hpp"
#include "common/error.hpp"
#include "common/file.hpp"
#include "common/log.hpp"
#include "kafka/admin.hpp"

namespace lims::sync {
namespace {

std::string_view bytes_of(const char* data, std::size_t size) {
  return data ? std::string_view(data, size) : std::string_view();
}

/// The bytes, or nullopt when absent (no key, a tombstone).
std::optional<std::string_view> present_bytes(const char* data, std::size_t size) {
  if (!data) return std::nullopt;
  return std::string_view(data, size);
}

}  // namespace

Verdict SkipBadRecords::reject(const codec::RawRecord&, std::string_view reason) {
  log::warn("skipped bad record " + std::string(reason));
  return Verdict::carry_on();
}

Verdict FailOnBadRecord::reject(const codec::RawRecord&, std::string_view reason) {
  return Verdict::stop_with("bad record " + std::string(reason) +
                            " (--on-bad-record=fail; its offset is not committed)");
}

DeadLetterTopic::DeadLetterTopic(Config config) : config_(std::move(config)) {
  const kafka::ProducerConfig& p = config_.producer;
  if (config_.ensure_topic) {
    try {
      switch (kafka::ensure_topic(p.brokers, config_.topic, 1, p.extra, p.connect_timeout_ms)) {
        case kafka::TopicState::existed:
          log::info("dead-letter topic " + config_.topic + " exists");
          break;
        case kafka::TopicState::created:
          log::info("created dead-letter topic " + config_.topic +
                    " (1 partition, the broker's default replication factor)");
          break;
      }
    } catch (const Error& e) {
      if (e.code() == ExitCode::unreachable) throw;
      log::warn("cannot make sure dead-letter topic " + config_.topic + " exists (" + e.what() +
                "); consuming anyway: a rejected record is retried with backoff, fetching "
                "paused and nothing committed past it, until the topic takes it");
    }
  }
  kafka::ProducerConfig producer = p;
  // Give up on a dead letter within the flush bound, unless -X says otherwise.
  producer.extra.insert(producer.extra.begin(),
                        {"message.timeout.ms", std::to_string(config_.ack_timeout_ms)});
  producer_ = std::make_unique<kafka::Producer>(
      producer, [this](std::uint64_t tag, std::string_view error) { delivered(tag, error); });
}

Verdict DeadLetterTopic::reject(const codec::RawRecord& record, std::string_view reason) {
  const RecordOrigin& o = record.origin;
  Letter letter;
  letter.key = std::string(bytes_of(record.key, record.key_size));
  letter.headers = {
      {"lims.error", std::string(reason)},
      {"lims.source.topic", std::string(o.topic)},
      {"lims.source.partition", std::to_string(o.partition)},
      {"lims.source.offset", std::to_string(o.offset)},
      {"lims.consumer.group", config_.group},
  };
  if (record.value) {
    std::string_view value(record.value, record.value_size);
    if (value.size() > config_.max_value_bytes) {
      letter.headers.emplace_back("lims.value.truncated", std::to_string(value.size()));
      value = value.substr(0, config_.max_value_bytes);
    }
    letter.value.emplace(value);
  }
  std::uint64_t tag;
  const Letter* kept;
  {
    std::lock_guard lock(mutex_);
    tag = next_tag_++;
    // A map node stays put, and only its own acknowledgement erases it.
    kept = &unacked_.emplace(tag, std::move(letter)).first->second;
  }
  produce(tag, *kept);
  log::warn("dead-lettered to " + config_.topic + ": " + std::string(reason));
  return Verdict::carry_on();
}

void DeadLetterTopic::produce(std::uint64_t tag, const Letter& letter) {
  try {
    producer_->produce(config_.topic, letter.key,
                       letter.value ? std::optional<std::string_view>(*letter.value) : std::nullopt,
                       -1, 0, letter.headers, tag);
  } catch (const Error& e) {  // not even queued (the topic is known not to exist, say)
    std::lock_guard lock(mutex_);
    failed_.push_back(tag);
    last_error_ = e.what();
  }
}

void DeadLetterTopic::delivered(std::uint64_t tag, std::string_view error) {
  std::lock_guard lock(mutex_);
  if (error.empty()) {
    unacked_.erase(tag);
  } else {
    failed_.push_back(tag);
    last_error_ = std::string(error);
  }
}

void DeadLetterTopic::flush() {
  std::vector<std::pair<std::uint64_t, const Letter*>> again;
  {
    std::lock_guard lock(mutex_);
    for (std::uint64_t tag : failed_) again.emplace_back(tag, &unacked_.at(tag));
    failed_.clear();
    last_error_.clear();
  }
  for (const auto& [tag, letter] : again) produce(tag, *letter);
  try {
    // A little past message.timeout.ms, so that a dead letter produced just now has its
    // delivery report (and the broker's reason) by the time this gives up.
    producer_->flush(config_.ack_timeout_ms + 1000);
  } catch (const Error& e) {  // still in flight: the next flush() looks again
    std::lock_guard lock(mutex_);
    if (last_error_.empty()) last_error_ = e.what();
  }
  std::lock_guard lock(mutex_);
  if (unacked_.empty()) return;
  throw UnkeptError(std::to_string(unacked_.size()) + " dead letter" +
                    (unacked_.size() == 1 ? "" : "s") + " to " + config_.topic +
                    " not acknowledged (" + last_error_ + ")");
}

std::size_t DeadLetterTopic::unacknowledged() const {
  std::lock_guard lock(mutex_);
  return unacked_.size();
}

std::string dead_letter_json(const codec::RawRecord& record, std::string_view reason,
                             std::string_view group) {
  std::string out = "{\"error\":";
  codec::append_json_string(out, reason);
  out += ",\"topic\":";
  codec::append_json_string(out, record.origin.topic);
  out += ",\"partition\":" + std::to_string(record.origin.partition);
  out += ",\"offset\":" + std::to_string(record.origin.offset);
  out += ",\"group\":";
  codec::append_json_string(out, group);
  out += ',';
  codec::append_bytes_field(out, "key", present_bytes(record.key, record.key_size));
  out += ',';
  codec::append_bytes_field(out, "value", present_bytes(record.value, record.value_size));
  out += '}';
  return out;
}

DeadLetterFile::DeadLetterFile(const std::string& path, std::string group)
    : path_(path),
      group_(std::move(group)),
      file_(open_file(path, "a", "dead-letter file", ExitCode::usage)) {}

DeadLetterFile::~DeadLetterFile() {
  try {
    flush();
  } catch (const std::exception& e) {
    log::error(e.what());
  }
}

Verdict DeadLetterFile::reject(const codec::RawRecord& record, std::string_view reason) {
  std::string line = dead_letter_json(record, reason, group_);
  line += '\n';
  {
    std::lock_guard lock(mutex_);
    if (std::fwrite(line.data(), 1, line.size(), file_.get()) != line.size())
      throw Error("writing dead-letter file " + path_ + ": " + std::strerror(errno));
    dirty_ = true;
  }
  log::warn("dead-lettered to " + path_ + ": " + std::string(reason));
  return Verdict::carry_on();
}

void DeadLetterFile::flush() {
  std::lock_guard lock(mutex_);
  if (!dirty_) return;
  if (std::fflush(file_.get()) != 0 || ::fsync(::fileno(file_.get())) != 0)
    throw Error("writing dead-letter file " + path_ + ": " + std::strerror(errno));
  dirty_ = false;
}

}  // namespace lims::sync
