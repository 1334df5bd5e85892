#pragma once
// The HTTP server around Handlers (cpp-httplib): a bounded worker pool, bounded requests and
// timeouts. Listens from construction until stop() or destruction.

#include <chrono>
#include <memory>
#include <string>

#include "http/handlers.hpp"

namespace lims::http {

struct ServerOptions {
  std::string host = "0.0.0.0";
  int port = 8080;  // 0: any free port (see Server::port())
  int threads = 8;  // requests served at once; more wait in the accept queue
  std::chrono::seconds read_timeout{5};
  std::chrono::seconds write_timeout{10};
  std::size_t max_body_bytes = 4096;  // GET only: a body is never needed
};

/// "HOST:PORT", ":PORT" (all interfaces) or "PORT"; throws lims::Error (usage) otherwise.
ServerOptions parse_listen(const std::string& text);

class Server {
 public:
  /// Binds and starts serving `handlers` on a thread of its own; throws lims::Error if the
  /// address cannot be bound. `handlers` must outlive the server.
  Server(Handlers& handlers, const ServerOptions& options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// The port listened on (the one picked, for port 0).
  int port() const;
  /// "http://HOST:PORT".
  std::string url() const;
  /// Stops accepting and waits for requests in progress. Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lims::http
