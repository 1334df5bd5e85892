#pragma once
// The HTTP side of a running stream (consume --listen, demo): the Image API handlers over a
// reading connection of their own, readiness from the consumer, /metrics and the gallery's
// live counters.

#include <memory>
#include <mutex>
#include <string>

#include "http/server.hpp"
#include "metrics/registry.hpp"
#include "store/image_store.hpp"
#include "sync/stream.hpp"

namespace lims::cli {

/// /api/stats of a stream (the gallery's counters) as JSON: events/s received since the previous
/// reading at least a second back (null before there is one), lag, end-to-end p99 in seconds
/// (null before any event), records received and bad records. Thread-safe.
class LiveStats {
 public:
  explicit LiveStats(const sync::StreamSync& stream);
  std::string json();

 private:
  const sync::StreamSync& stream_;
  std::mutex mutex_;
  sync::StreamSnapshot last_;
  double rate_;
};

/// Serves while it lives; declare it after the stream and the registry, so it stops first.
class StreamHttp {
 public:
  /// Opens `store_uri` read-only and starts serving on `listen` (lims::Error if it cannot);
  /// /metrics renders `registry`, which also gets the request metrics.
  StreamHttp(const std::string& store_uri, const sync::StreamSync& stream,
             metrics::Registry& registry, const http::ServerOptions& listen);
  std::string url() const { return server_.url(); }

 private:
  std::unique_ptr<store::ImageStore> reader_;
  LiveStats live_;
  http::Handlers handlers_;
  http::Server server_;
};

}  // namespace lims::cli
