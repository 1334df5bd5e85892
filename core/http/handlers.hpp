#pragma once
// The HTTP side of lims, without sockets: the LIMS Image API's get-one-image and total handlers
// served from the consumer store, and the probes. The server (server.hpp) only moves bytes.

#include <cstdint>
#include <functional>
#include <memory>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/registry.hpp"
#include "store/image_store.hpp"

namespace lims::http {

struct Request {
  std::string_view method;  // "GET", ...
  std::string_view path;    // decoded, without the query
  std::string_view fields;  // the ?fields= parameter ("meta" leaves out data)
  std::string_view accept;  // the Accept header
  /// The other query parameters the routes read (decoded): ?plant= and ?n= of /api/latest.
  std::string_view plant = {};
  std::string_view n = {};
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

/// nullopt when ready; otherwise why not (for /readyz).
using Readiness = std::function<std::optional<std::string>()>;

/// What Handlers serve besides the store; each is optional.
struct HandlerOptions {
  Readiness readiness = {};  // /readyz's extra condition
  /// The process's metrics: /metrics renders them, and the handlers add their own request
  /// metrics to it (lims_http_*, lims_images_served_total, lims_image_bytes_served_total).
  /// Must outlive the handlers.
  metrics::Registry* metrics = nullptr;
  std::function<std::string()> stats = {};  // /api/stats: a JSON object of live counters
};

/// Routes, in the Image API's shapes (errors are {"detail": "..."} as FastAPI writes them):
///   GET /ping                              "Hello, I am alive"
///   GET /image-plant/{plant}/{id}          the record (hex data); ?fields=meta without data;
///                                          Accept: image/jpeg for the JPEG itself
///   GET /image-plant/{plant}/{id}/jpeg     the JPEG
///   GET /image-plant/{plant}/total/        {"total_images": N}
///   GET /healthz                           the process is alive
///   GET /readyz                            the store answers and `readiness` has no objection
///   GET /metrics                           the `metrics` registry (Prometheus text), if given
///   GET /                                  the gallery page (gallery.hpp)
///   GET /api/latest?plant=P&n=N            the N (1..100, default 12) newest records of P by
///                                          version, newest first, as a JSON list without data
///   GET /api/stats                         `stats()` (a JSON object), else {}
/// Bad input is a 4xx, never a 5xx; a failing store is a 503.
class Handlers {
 public:
  /// `store` must outlive the handlers; reads are serialized (stores are single-threaded).
  explicit Handlers(store::ImageStore& store, HandlerOptions options = {});
  /// Reads spread over `stores` (connections to one store, each used by one request at a time;
  /// at least one), which must outlive the handlers.
  explicit Handlers(std::vector<store::ImageStore*> stores, HandlerOptions options = {});
  ~Handlers();
  /// Answers one request, and counts it in the request metrics.
  Response handle(const Request& request);

 private:
  /// The routes a request can take, as they label the request metrics (never an id).
  enum class Route : std::uint8_t { image, jpeg, total, latest, stats, gallery, ping, healthz,
                                    readyz, metrics, other };
  static constexpr std::size_t kRoutes = static_cast<std::size_t>(Route::other) + 1;
  struct Instruments;

  /// The response, and the route that made it.
  Response dispatch(const Request& request, Route& route, std::optional<Plant>& plant);
  Response image(std::string_view plant, std::string_view id, bool jpeg, bool meta_only);
  Response total(std::string_view plant);
  Response latest(std::string_view plant, std::string_view n);
  Response ready();

  /// A store connection of the pool, held for one read and given back on destruction.
  class Lease;
  Lease lease();

  HandlerOptions options_;
  std::mutex pool_mutex_;
  std::condition_variable pool_free_;
  std::vector<store::ImageStore*> free_;  // the connections no request holds
  std::unique_ptr<Instruments> instruments_;  // null without a registry
};

/// {"detail": "<detail>"} with `status`.
Response error(int status, std::string_view detail);

}  // namespace lims::http
