#pragma once
// What a store acknowledged, write by write: the hook that lets `lims bench` time each change
// from the producer's write to the moment it is visible in a consumer store.

#include <cstdio>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "common/file.hpp"
#include "store/image_store.hpp"

namespace lims::sync {

/// Told about each batch the store acknowledged: its writes and their results, in order.
using WriteObserver = std::function<void(std::span<const store::Write> writes,
                                         std::span<const store::WriteResult> results)>;

/// A CSV file with one line per upsert the store applied, "plant,id,version_us,acked_us"
/// (version: updated_at, else created_at; acked: wall clock when apply returned; both in
/// microseconds since the epoch). Lines are flushed once per batch, so a reader can follow it.
class AckLog {
 public:
  /// Creates or truncates PATH and writes the header; throws lims::Error if it cannot.
  explicit AckLog(const std::string& path);
  /// Appends the applied upserts of one acknowledged batch; throws lims::Error on a write error.
  void record(std::span<const store::Write> writes, std::span<const store::WriteResult> results);
  /// record() as a WriteObserver; the log must outlive it.
  WriteObserver observer();

 private:
  std::string path_;
  File file_;
};

}  // namespace lims::sync
