#include "http/handlers.hpp"

#include <array>
#include <charconv>
#include <chrono>
#include <vector>

#include "codec/api_json.hpp"
#include "codec/json_write.hpp"
#include "common/error.hpp"
#include "http/gallery.hpp"

namespace lims::http {
namespace {

constexpr std::size_t kMaxPath = 512;
constexpr std::size_t kLatestDefault = 12;
constexpr std::size_t kLatestMax = 100;

std::vector<std::string_view> segments_of(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    const auto slash = path.find('/');
    std::string_view segment = path.substr(0, slash);
    if (!segment.empty()) out.push_back(segment);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

/// The text shown for a value in an error: at most 40 printable characters, quoted.
std::string shown(std::string_view text) {
  std::string out = "\"";
  for (char c : text.substr(0, 40)) out += (c >= 0x20 && c < 0x7f && c != '"') ? c : '?';
  if (text.size() > 40) out += "...";
  return out + "\"";
}

std::optional<Plant> plant_or(std::string_view text, Response& failure) {
  if (auto plant = parse_plant(text)) return plant;
  failure = error(422, "plant: expected potato, tomato or pepper; got " + shown(text));
  return std::nullopt;
}

std::optional<std::int64_t> id_or(std::string_view text, Response& failure) {
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (text.empty() || text[0] == '-' || text[0] == '+' || ec != std::errc() ||
      end != text.data() + text.size() || id < 1) {
    failure =
        error(422, "image_id: expected an integer >= 1 that fits in 64 bits; got " + shown(text));
    return std::nullopt;
  }
  return id;
}

/// ?n= of /api/latest: absent means kLatestDefault.
std::optional<std::size_t> count_or(std::string_view text, Response& failure) {
  if (text.empty()) return kLatestDefault;
  std::size_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text[0] == '+' || ec != std::errc() || end != text.data() + text.size() || n < 1 ||
      n > kLatestMax) {
    failure = error(422, "n: expected an integer from 1 to " + std::to_string(kLatestMax) +
                             "; got " + shown(text));
    return std::nullopt;
  }
  return n;
}

}  // namespace

Response error(int status, std::string_view detail) {
  Response r;
  r.status = status;
  r.body = "{\"detail\":";
  codec::append_json_string(r.body, detail);
  r.body += '}';
  return r;
}

/// The request metrics, with every series the hot path touches resolved once.
struct Handlers::Instruments {
  static constexpr std::array<const char*, kRoutes> kRouteNames = {"/image-plant/{plant}/{id}",
                                                                   "/image-plant/{plant}/{id}/jpeg",
                                                                   "/image-plant/{plant}/total/",
                                                                   "/api/latest",
                                                                   "/api/stats",
                                                                   "/",
                                                                   "/ping",
                                                                   "/healthz",
                                                                   "/readyz",
                                                                   "/metrics",
                                                                   "other"};
  /// The statuses lims answers with; any other is looked up in the family at each use.
  static constexpr std::array<int, 9> kCodes = {200, 400, 404, 405, 414, 422, 500, 503, 504};

  metrics::Family<metrics::Counter>& requests;
  std::array<std::array<metrics::Counter*, kCodes.size()>, kRoutes> by_code{};
  std::array<metrics::Histogram*, kRoutes> duration{};
  std::array<metrics::Counter*, kRoutes> bytes{};
  std::array<metrics::Counter*, kPlants.size()> images{}, image_bytes{};

  explicit Instruments(metrics::Registry& r)
      : requests(r.counter("lims_http_requests_total",
                           "HTTP requests answered, by route template and status code",
                           {"route", "code"})) {
    auto& seconds = r.histogram("lims_http_request_duration_seconds",
                                "Time to answer an HTTP request, by route template (the response "
                                "written to the socket not included)",
                                {"route"}, metrics::exponential_buckets(0.0001, 2, 16));
    auto& sent = r.counter("lims_http_response_bytes_total",
                           "Bytes of HTTP response bodies, by route template", {"route"});
    for (std::size_t i = 0; i < kRoutes; ++i) {
      duration[i] = &seconds.with({kRouteNames[i]});
      bytes[i] = &sent.with({kRouteNames[i]});
      for (std::size_t c = 0; c < kCodes.size(); ++c)
        by_code[i][c] = &requests.with({kRouteNames[i], std::to_string(kCodes[c])});
    }
    auto& served = r.counter("lims_images_served_total",
                             "Images served (records or JPEGs answered 200), by plant", {"plant"});
    auto& served_bytes =
        r.counter("lims_image_bytes_served_total",
                  "Bytes of the images served (the response bodies), by plant", {"plant"});
    for (Plant p : kPlants) {
      images[static_cast<std::size_t>(p)] = &served.with({std::string(plant_name(p))});
      image_bytes[static_cast<std::size_t>(p)] = &served_bytes.with({std::string(plant_name(p))});
    }
  }

  void count(Route route, std::optional<Plant> plant, const Response& response, double seconds) {
    const auto i = static_cast<std::size_t>(route);
    std::size_t c = 0;
    while (c < kCodes.size() && kCodes[c] != response.status) ++c;
    if (c < kCodes.size())
      by_code[i][c]->inc();
    else
      requests.with({kRouteNames[i], std::to_string(response.status)}).inc();
    duration[i]->observe(seconds);
    const auto size = static_cast<double>(response.body.size());
    bytes[i]->inc(size);
    if (plant && response.status == 200 && (route == Route::image || route == Route::jpeg)) {
      images[static_cast<std::size_t>(*plant)]->inc();
      image_bytes[static_cast<std::size_t>(*plant)]->inc(size);
    }
  }
};

Handlers::Handlers(store::ImageStore& store, HandlerOptions options)
    : Handlers(std::vector<store::ImageStore*>{&store}, std::move(options)) {}

Handlers::Handlers(std::vector<store::ImageStore*> stores, HandlerOptions options)
    : options_(std::move(options)),
      free_(std::move(stores)),
      instruments_(options_.metrics ? std::make_unique<Instruments>(*options_.metrics) : nullptr) {
  if (free_.empty()) throw Error("Handlers: no store connection");
}

class Handlers::Lease {
 public:
  Lease(Handlers& owner, store::ImageStore* store) : owner_(owner), store_(store) {}
  ~Lease() {
    {
      std::lock_guard lock(owner_.pool_mutex_);
      owner_.free_.push_back(store_);
    }
    owner_.pool_free_.notify_one();
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  store::ImageStore* operator->() const { return store_; }

 private:
  Handlers& owner_;
  store::ImageStore* store_;
};

Handlers::Lease Handlers::lease() {
  std::unique_lock lock(pool_mutex_);
  pool_free_.wait(lock, [this] { return !free_.empty(); });
  store::ImageStore* store = free_.back();
  free_.pop_back();
  return Lease(*this, store);
}

Handlers::~Handlers() = default;

Response Handlers::handle(const Request& request) {
  const auto started = std::chrono::steady_clock::now();
  Route route = Route::other;
  std::optional<Plant> plant;
  Response response = dispatch(request, route, plant);
  if (instruments_)
    instruments_->count(
        route, plant, response,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return response;
}

Response Handlers::dispatch(const Request& request, Route& route, std::optional<Plant>& plant) {
  if (request.path.size() > kMaxPath)
    return error(414, "the path is longer than " + std::to_string(kMaxPath) + " bytes");
  const auto s = segments_of(request.path);
  for (auto segment : s)
    if (segment == ".." || segment == ".") return error(400, "the path must not contain . or ..");
  if (request.method != "GET") return error(405, "Method Not Allowed");

  if (s.empty()) {
    route = Route::gallery;
    return {200, "text/html; charset=utf-8", std::string(gallery_page())};
  }
  if (s.size() == 1 && s[0] == "ping") {
    route = Route::ping;
    return {200, "application/json", "\"Hello, I am alive\""};
  }
  if (s.size() == 1 && s[0] == "healthz") {
    route = Route::healthz;
    return {200, "application/json", "{\"status\":\"ok\"}"};
  }
  if (s.size() == 1 && s[0] == "readyz") {
    route = Route::readyz;
    return ready();
  }
  if (s.size() == 1 && s[0] == "metrics" && options_.metrics) {
    route = Route::metrics;
    return {200, std::string(metrics::kContentType), options_.metrics->render()};
  }
  if (s.size() == 2 && s[0] == "api") {
    if (s[1] == "latest") {
      route = Route::latest;
      return latest(request.plant, request.n);
    }
    if (s[1] == "stats") {
      route = Route::stats;
      return {200, "application/json", options_.stats ? options_.stats() : std::string("{}")};
    }
  }
  if (s.size() >= 3 && s.size() <= 4 && s[0] == "image-plant") {
    plant = parse_plant(s[1]);
    if (s.size() == 3 && s[2] == "total") {
      route = Route::total;
      return total(s[1]);
    }
    if (s.size() == 3 || s[3] == "jpeg") {
      route = s.size() == 4 ? Route::jpeg : Route::image;
      const bool jpeg = s.size() == 4 || request.accept.find("image/jpeg") != std::string::npos;
      return image(s[1], s[2], jpeg, request.fields == "meta");
    }
  }
  return error(404, "Not Found");
}

Response Handlers::image(std::string_view plant_text, std::string_view id_text, bool jpeg,
                         bool meta_only) {
  Response failure;
  const auto plant = plant_or(plant_text, failure);
  if (!plant) return failure;
  const auto id = id_or(id_text, failure);
  if (!id) return failure;
  std::optional<ImageRecord> record;
  try {
    record = lease()->get(*plant, *id);
  } catch (const std::exception& e) {
    return error(503, std::string("store unavailable: ") + e.what());
  }
  if (!record) return error(404, "Image not found");
  if (!jpeg) return {200, "application/json", codec::to_api_json(*record, !meta_only)};
  return {200, "image/jpeg", std::string(record->data.begin(), record->data.end())};
}

Response Handlers::total(std::string_view plant_text) {
  Response failure;
  const auto plant = plant_or(plant_text, failure);
  if (!plant) return failure;
  try {
    return {200, "application/json",
            "{\"total_images\":" + std::to_string(lease()->count(*plant)) + "}"};
  } catch (const std::exception& e) {
    return error(503, std::string("store unavailable: ") + e.what());
  }
}

Response Handlers::latest(std::string_view plant_text, std::string_view n_text) {
  Response failure;
  const auto plant = plant_or(plant_text, failure);
  if (!plant) return failure;
  const auto n = count_or(n_text, failure);
  if (!n) return failure;
  std::vector<ImageRecord> records;
  try {
    records = lease()->latest(*plant, *n);
  } catch (const std::exception& e) {
    return error(503, std::string("store unavailable: ") + e.what());
  }
  Response r{200, "application/json", "["};
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (i > 0) r.body += ',';
    r.body += codec::to_api_json(records[i], false);
  }
  r.body += ']';
  return r;
}

Response Handlers::ready() {
  auto not_ready = [](const std::string& reason) {
    Response r{503, "application/json", "{\"status\":\"not ready\",\"reason\":"};
    codec::append_json_string(r.body, reason);
    r.body += '}';
    return r;
  };
  try {
    lease()->count(Plant::potato);  // the store answers
  } catch (const std::exception& e) {
    return not_ready(std::string("store: ") + e.what());
  }
  if (options_.readiness)
    if (auto why = options_.readiness()) return not_ready(*why);
  return {200, "application/json", "{\"status\":\"ready\"}"};
}

}  // namespace lims::http
