#pragma once
// Where rejected records go. The stream counts them and carries on; a sink decides what else
// happens (log them now; a dead-letter topic or file can implement the same interface).

#include <string_view>

#include "codec/decode.hpp"

namespace lims::sync {

class BadRecordSink {
 public:
  virtual ~BadRecordSink() = default;
  /// Takes one rejected record with its one-line reason. Called from the consuming thread (codec
  /// rejects) and the store-writing thread (store rejects), possibly at once: must be
  /// thread-safe. Must not throw for a record's content.
  virtual void reject(const codec::RawRecord& record, std::string_view reason) = 0;
};

/// Logs each rejected record's reason as one warning line on stderr.
class LogBadRecords final : public BadRecordSink {
 public:
  void reject(const codec::RawRecord& record, std::string_view reason) override;
};

}  // namespace lims::sync
