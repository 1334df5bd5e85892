#include "sync/bad_records.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "codec/api_json.hpp"
#include "codec/record_line.hpp"
#include "common/error.hpp"
#include "common/log.hpp"

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

void SkipBadRecords::reject(const codec::RawRecord&, std::string_view reason) {
  log::warn("skipped bad record " + std::string(reason));
}

void FailOnBadRecord::reject(const codec::RawRecord&, std::string_view reason) {
  throw Error(
      "bad record " + std::string(reason) + " (--on-bad-record=fail; its offset is not committed)",
      ExitCode::data);
}

DeadLetterTopic::DeadLetterTopic(Config config)
    : config_(std::move(config)), producer_([this] {
        kafka::ProducerConfig p = config_.producer;
        // Give up on a dead letter within the flush bound, unless -X says otherwise.
        p.extra.insert(p.extra.begin(),
                       {"message.timeout.ms", std::to_string(config_.ack_timeout_ms)});
        return p;
      }()) {}

void DeadLetterTopic::reject(const codec::RawRecord& record, std::string_view reason) {
  const RecordOrigin& o = record.origin;
  kafka::Headers headers = {
      {"lims.error", std::string(reason)},
      {"lims.source.topic", std::string(o.topic)},
      {"lims.source.partition", std::to_string(o.partition)},
      {"lims.source.offset", std::to_string(o.offset)},
      {"lims.consumer.group", config_.group},
  };
  std::optional<std::string_view> value;
  if (record.value) {
    value = std::string_view(record.value, record.value_size);
    if (value->size() > config_.max_value_bytes) {
      headers.emplace_back("lims.value.truncated", std::to_string(value->size()));
      value = value->substr(0, config_.max_value_bytes);
    }
  }
  producer_.produce(config_.topic, bytes_of(record.key, record.key_size), value, -1, 0, headers);
  log::warn("dead-lettered to " + config_.topic + ": " + std::string(reason));
}

void DeadLetterTopic::flush() {
  producer_.flush(config_.ack_timeout_ms);
  if (const std::uint64_t failed = producer_.failed(); failed > failed_seen_) {
    failed_seen_ = failed;
    throw Error("dead letters to " + config_.topic +
                " were not acknowledged (see the delivery errors above); offsets past them are "
                "not committed");
  }
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
    : path_(path), group_(std::move(group)), file_(std::fopen(path.c_str(), "ae")) {
  if (!file_)
    throw Error("cannot open dead-letter file " + path + ": " + std::strerror(errno),
                ExitCode::usage);
}

DeadLetterFile::~DeadLetterFile() {
  try {
    flush();
  } catch (const std::exception& e) {
    log::error(e.what());
  }
  std::fclose(file_);
}

void DeadLetterFile::reject(const codec::RawRecord& record, std::string_view reason) {
  std::string line = dead_letter_json(record, reason, group_);
  line += '\n';
  {
    std::lock_guard lock(mutex_);
    if (std::fwrite(line.data(), 1, line.size(), file_) != line.size())
      throw Error("writing dead-letter file " + path_ + ": " + std::strerror(errno));
    dirty_ = true;
  }
  log::warn("dead-lettered to " + path_ + ": " + std::string(reason));
}

void DeadLetterFile::flush() {
  std::lock_guard lock(mutex_);
  if (!dirty_) return;
  if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0)
    throw Error("writing dead-letter file " + path_ + ": " + std::strerror(errno));
  dirty_ = false;
}

}  // namespace lims::sync
