#include "http/server.hpp"

#include <httplib.h>

#include <charconv>
#include <thread>

#include "common/error.hpp"
#include "common/log.hpp"

namespace lims::http {

ServerOptions parse_listen(const std::string& text) {
  ServerOptions o;
  const auto colon = text.rfind(':');
  std::string_view port = text;
  if (colon != std::string::npos) {
    if (colon > 0) o.host = text.substr(0, colon);
    port = std::string_view(text).substr(colon + 1);
  }
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), o.port);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || o.port < 0 ||
      o.port > 65535)
    throw Error("--listen '" + text + "': expected HOST:PORT, :PORT or PORT", ExitCode::usage);
  return o;
}

struct Server::Impl {
  httplib::Server server;
  std::string host;
  int port = 0;
  std::thread thread;
};

Server::Server(Handlers& handlers, const ServerOptions& options) : impl_(std::make_unique<Impl>()) {
  auto& s = impl_->server;
  const int threads = options.threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  s.set_read_timeout(options.read_timeout);
  s.set_write_timeout(options.write_timeout);
  s.set_payload_max_length(options.max_body_bytes);
  s.set_keep_alive_max_count(100);
  s.set_tcp_nodelay(true);  // small responses must not wait for the client's delayed ACK
  auto serve = [&handlers](const httplib::Request& req, httplib::Response& res) {
    // Request only views these: they must outlive handle() (httplib returns copies).
    const std::string fields = req.get_param_value("fields");
    const std::string accept = req.get_header_value("Accept");
    const std::string plant = req.get_param_value("plant");
    const std::string n = req.get_param_value("n");
    const Request request{req.method, req.path, fields, accept, plant, n};
    Response response = handlers.handle(request);
    res.status = response.status;
    res.set_content(std::move(response.body), response.content_type.c_str());
  };
  // Every path and method goes through Handlers, which answers unknown ones itself.
  s.set_pre_routing_handler([serve](const httplib::Request& req, httplib::Response& res) {
    serve(req, res);
    return httplib::Server::HandlerResponse::Handled;
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    const Response r = error(500, "internal error");
    res.status = r.status;
    res.set_content(r.body, r.content_type.c_str());
  });
  impl_->host = options.host;
  impl_->port = options.port == 0
                    ? s.bind_to_any_port(options.host)
                    : (s.bind_to_port(options.host, options.port) ? options.port : -1);
  if (impl_->port <= 0)
    throw Error("cannot listen on " + options.host + ":" + std::to_string(options.port) +
                    " (in use, or not an address of this host)",
                ExitCode::unreachable);
  impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
  log::info("serving HTTP on " + url());
}

Server::~Server() { stop(); }

int Server::port() const { return impl_->port; }

std::string Server::url() const {
  return "http://" + impl_->host + ":" + std::to_string(impl_->port);
}

void Server::stop() {
  if (!impl_->thread.joinable()) return;
  impl_->server.stop();
  impl_->thread.join();
}

}  // namespace lims::http
