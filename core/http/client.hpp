#pragma once
// A minimal HTTP client for lims's own tools: scraping /metrics and polling probes.

#include <chrono>
#include <optional>
#include <string>

namespace lims::http {

/// What a GET brought back (a name of its own: http::Response is the server's answer).
struct Fetched {
  int status = 0;
  std::string body;
};

/// GET http://HOST:PORT/PATH; nullopt when nothing answers within `timeout`.
std::optional<Fetched> get(const std::string& host, int port, const std::string& path,
                           std::chrono::milliseconds timeout = std::chrono::seconds(2));

}  // namespace lims::http
