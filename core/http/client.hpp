#pragma once
// A minimal HTTP client for lims's own tools: scraping /metrics and polling probes.

#include <chrono>
#include <optional>
#include <string>

namespace lims::http {

struct Response {
  int status = 0;
  std::string body;
};

/// GET http://HOST:PORT/PATH; nullopt when nothing answers within `timeout`.
std::optional<Response> get(const std::string& host, int port, const std::string& path,
                            std::chrono::milliseconds timeout = std::chrono::seconds(2));

}  // namespace lims::http
