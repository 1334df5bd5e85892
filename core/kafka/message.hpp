#pragma once
// One consumed Kafka record (or a partition-EOF / error event), owning librdkafka's message.
// Public headers of core/kafka keep librdkafka's own header out of the boxes above.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

extern "C" struct rd_kafka_message_s;

namespace lims::kafka {

/// A record's key and value, copied out of librdkafka.
struct RecordCopy {
  std::optional<std::string> key;    // nullopt: the record has none
  std::optional<std::string> value;  // nullopt: a tombstone
};

class Message {
 public:
  struct Deleter {
    void operator()(rd_kafka_message_s* m) const noexcept;
  };
  using Handle = std::unique_ptr<rd_kafka_message_s, Deleter>;

  /// Takes ownership of a message librdkafka handed out.
  explicit Message(Handle handle) : m_(std::move(handle)) {}

  /// True for a record; false for an event such as partition EOF or a consumer error.
  bool is_record() const;
  /// True when the partition has no more records for now.
  bool is_partition_eof() const;
  /// The error text for a non-record event.
  std::string error() const;

  /// Where the record came from.
  std::string_view topic() const;
  std::int32_t partition() const;
  std::int64_t offset() const;
  /// The key bytes, or nullptr when the record has none.
  const char* key() const;
  std::size_t key_size() const;
  /// The value bytes, or nullptr for a tombstone.
  const char* value() const;
  std::size_t value_size() const;
  /// The last header called `name`, or nullopt when there is none.
  std::optional<std::string_view> header(std::string_view name) const;
  /// The producer's (or the broker's append) timestamp in ms since the epoch; -1 if unknown.
  std::int64_t timestamp_ms() const;

 private:
  Handle m_;
};

}  // namespace lims::kafka
