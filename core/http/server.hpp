#pragma once
// The HTTP server around Handlers (libmicrohttpd): a few event threads, each multiplexing many
// keep-alive connections with poll(), bounded connections, requests and idle time. Listens from
// construction until stop() or destruction.

#include <chrono>
#include <memory>
#include <string>

#include "http/handlers.hpp"

namespace lims::http {

struct ServerOptions {
  std::string host = "0.0.0.0";
  int port = 8080;  // 0: any free port (see Server::port())
  /// Event threads: requests handled at once. Each thread serves its share of the connections,
  /// so a connection holds no thread while it waits for its next request.
  int threads = 8;
  /// Connections open at once; one more is refused until another closes.
  unsigned max_connections = 1024;
  /// A connection silent this long is closed: neither a slow request nor an idle keep-alive
  /// holds it longer. Above the 600 s a Google Cloud load balancer keeps idle connections to its
  /// backends, so the server never closes one the balancer is about to reuse.
  std::chrono::seconds idle_timeout{620};
  std::size_t max_body_bytes = 4096;  // GET only: a body is never needed
};

/// "HOST:PORT", ":PORT" (all interfaces) or "PORT"; throws lims::Error (usage) otherwise.
ServerOptions parse_listen(const std::string& text);

class Server {
 public:
  /// Binds and starts serving `handlers` on threads of its own; throws lims::Error if the
  /// address cannot be bound. `handlers` must outlive the server.
  Server(Handlers& handlers, const ServerOptions& options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// The port listened on (the one picked, for port 0).
  int port() const;
  /// "http://HOST:PORT".
  std::string url() const;
  /// Stops accepting, finishes the requests in progress and closes every connection.
  /// Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lims::http
