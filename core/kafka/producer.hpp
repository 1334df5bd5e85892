#pragma once
// An idempotent producer with delivery accounting.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kafka/config.hpp"

namespace lims::kafka {

/// Record headers, in order; a name may repeat.
using Headers = std::vector<std::pair<std::string, std::string>>;

struct ProducerConfig {
  std::string brokers;
  int connect_timeout_ms = 10000;
  Properties extra;  // -X pass-through, applied last
};

/// Told the outcome of each record produced with a non-zero `tag`: an empty `error` once the
/// broker acknowledged it, else why it failed for good. Called from produce(), poll() and
/// flush(), on the thread that called them; must not throw.
using DeliveryCallback = std::function<void(std::uint64_t tag, std::string_view error)>;

class Producer {
 public:
  /// Connects (bounded by connect_timeout_ms, else lims::Error unreachable).
  explicit Producer(const ProducerConfig& config, DeliveryCallback on_delivery = {});
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  /// Queues one record (copying key and value); a nullopt value produces a tombstone.
  /// `partition` -1 lets the partitioner choose by key; `timestamp_ms` 0 means now; a non-zero
  /// `tag` is handed to ProducerConfig::on_delivery with the record's outcome.
  /// Waits while the local queue is full. Throws lims::Error if the record cannot be queued.
  /// Thread-safe.
  void produce(std::string_view topic, std::string_view key, std::optional<std::string_view> value,
               std::int32_t partition = -1, std::int64_t timestamp_ms = 0,
               const Headers& headers = {}, std::uint64_t tag = 0);
  /// Serves delivery reports for up to `timeout_ms`.
  void poll(int timeout_ms);
  /// Waits up to `timeout_ms` for every queued record (serving delivery reports); throws
  /// lims::Error if some remain.
  void flush(int timeout_ms);
  /// Records acknowledged by the broker, and those that failed for good.
  std::uint64_t delivered() const;
  std::uint64_t failed() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lims::kafka
