#include "http/client.hpp"

#include <httplib.h>

namespace lims::http {

std::optional<Fetched> get(const std::string& host, int port, const std::string& path,
                           std::chrono::milliseconds timeout) {
  httplib::Client client(host, port);
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  auto result = client.Get(path);
  if (!result) return std::nullopt;
  return Fetched{result->status, std::move(result->body)};
}

}  // namespace lims::http
