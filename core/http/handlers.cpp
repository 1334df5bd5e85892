#include "http/handlers.hpp"

#include <charconv>
#include <vector>

#include "codec/api_json.hpp"
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

Handlers::Handlers(store::ImageStore& store, HandlerOptions options)
    : store_(store), options_(std::move(options)) {}

Response Handlers::handle(const Request& request) {
  if (request.path.size() > kMaxPath)
    return error(414, "the path is longer than " + std::to_string(kMaxPath) + " bytes");
  const auto s = segments_of(request.path);
  for (auto segment : s)
    if (segment == ".." || segment == ".") return error(400, "the path must not contain . or ..");
  if (request.method != "GET") return error(405, "Method Not Allowed");

  if (s.empty()) return {200, "text/html; charset=utf-8", std::string(gallery_page())};
  if (s.size() == 1 && s[0] == "ping") return {200, "application/json", "\"Hello, I am alive\""};
  if (s.size() == 1 && s[0] == "healthz") return {200, "application/json", "{\"status\":\"ok\"}"};
  if (s.size() == 1 && s[0] == "readyz") return ready();
  if (s.size() == 1 && s[0] == "metrics" && options_.metrics)
    return {200, "text/plain; version=0.0.4; charset=utf-8", options_.metrics()};
  if (s.size() == 2 && s[0] == "api") {
    if (s[1] == "latest") return latest(request.plant, request.n);
    if (s[1] == "stats")
      return {200, "application/json", options_.stats ? options_.stats() : std::string("{}")};
  }
  if (s.size() >= 3 && s.size() <= 4 && s[0] == "image-plant") {
    if (s.size() == 3 && s[2] == "total") return total(s[1]);
    if (s.size() == 3 || s[3] == "jpeg") {
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
    std::lock_guard lock(store_mutex_);
    record = store_.get(*plant, *id);
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
    std::lock_guard lock(store_mutex_);
    return {200, "application/json",
            "{\"total_images\":" + std::to_string(store_.count(*plant)) + "}"};
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
    std::lock_guard lock(store_mutex_);
    records = store_.latest(*plant, *n);
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
    std::lock_guard lock(store_mutex_);
    store_.count(Plant::potato);  // the store answers
  } catch (const std::exception& e) {
    return not_ready(std::string("store: ") + e.what());
  }
  if (options_.readiness)
    if (auto why = options_.readiness()) return not_ready(*why);
  return {200, "application/json", "{\"status\":\"ready\"}"};
}

}  // namespace lims::http
