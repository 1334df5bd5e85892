#include "http/server.hpp"

#include <microhttpd.h>
#include <netdb.h>
#include <sys/socket.h>

#include <array>
#include <charconv>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <mutex>

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

namespace {

struct DaemonDeleter {
  void operator()(MHD_Daemon* d) const noexcept { MHD_stop_daemon(d); }
};
struct AddrInfoDeleter {
  void operator()(addrinfo* a) const noexcept { freeaddrinfo(a); }
};

/// libmicrohttpd's own messages (a socket error, the connection limit reached) as warnings.
void log_daemon(void*, const char* format, va_list args) {
  std::array<char, 512> line{};
  std::vsnprintf(line.data(), line.size(), format, args);
  std::string text(line.data());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  log::warn("http: " + text);
}

/// What the request's state pointer holds between calls: 0 before the headers were seen, then
/// 1 + the body bytes read so far (a GET has none).
std::uintptr_t& state_of(void** req_cls) { return *reinterpret_cast<std::uintptr_t*>(req_cls); }

std::string_view value_of(MHD_Connection* c, MHD_ValueKind kind, const char* key) {
  const char* v = MHD_lookup_connection_value(c, kind, key);
  return v ? std::string_view(v) : std::string_view();
}

MHD_Result send(MHD_Connection* connection, Response response) {
  auto* body = new std::string(std::move(response.body));
  MHD_Response* r = MHD_create_response_from_buffer_with_free_callback_cls(
      body->size(), body->data(), [](void* cls) { delete static_cast<std::string*>(cls); }, body);
  if (!r) {
    delete body;
    return MHD_NO;
  }
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, response.content_type.c_str());
  const MHD_Result queued =
      MHD_queue_response(connection, static_cast<unsigned>(response.status), r);
  MHD_destroy_response(r);
  return queued;
}

Response too_large(std::size_t limit) {
  return error(413, "the request body is larger than " + std::to_string(limit) + " bytes");
}

}  // namespace

struct Server::Impl {
  Impl(Handlers& h, std::size_t body, std::string where)
      : handlers(h), max_body_bytes(body), host(std::move(where)) {}

  Handlers& handlers;
  std::size_t max_body_bytes;
  std::string host;
  int port = 0;
  std::unique_ptr<MHD_Daemon, DaemonDeleter> daemon;
  std::mutex stop_mutex;

  static MHD_Result on_request(void* cls, MHD_Connection* connection, const char* url,
                               const char* method, const char*, const char*,
                               std::size_t* upload_size, void** req_cls) {
    auto& self = *static_cast<Impl*>(cls);
    std::uintptr_t& state = state_of(req_cls);
    if (state == 0) {  // the headers: wait for the body, if any
      state = 1;
      // A body announced over the limit is refused now (once it is being read, the only
      // answer left is closing the connection).
      const std::string_view length =
          value_of(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
      std::size_t announced = 0;
      if (!length.empty() &&
          std::from_chars(length.data(), length.data() + length.size(), announced).ec ==
              std::errc() &&
          announced > self.max_body_bytes)
        return send(connection, too_large(self.max_body_bytes));
      return MHD_YES;
    }
    if (*upload_size != 0) {  // a body: read and drop it, up to the limit
      state += *upload_size;
      *upload_size = 0;
      return state - 1 > self.max_body_bytes ? MHD_NO : MHD_YES;  // too much: close
    }
    const std::string_view path(url);
    Request request{method,
                    path,
                    value_of(connection, MHD_GET_ARGUMENT_KIND, "fields"),
                    value_of(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT),
                    value_of(connection, MHD_GET_ARGUMENT_KIND, "plant"),
                    value_of(connection, MHD_GET_ARGUMENT_KIND, "n")};
    try {
      return send(connection, self.handlers.handle(request));
    } catch (const std::exception& e) {
      log::error(std::string("http: ") + method + " " + std::string(path) + ": " + e.what());
      return send(connection, error(500, "internal error"));
    }
  }
};

Server::Server(Handlers& handlers, const ServerOptions& options)
    : impl_(std::make_unique<Impl>(handlers, options.max_body_bytes, options.host)) {
  const std::string where = options.host + ":" + std::to_string(options.port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(options.port);
  if (getaddrinfo(options.host.c_str(), service.c_str(), &hints, &found) != 0 || !found)
    throw Error("cannot listen on " + where + " (not an address of this host)",
                ExitCode::unreachable);
  std::unique_ptr<addrinfo, AddrInfoDeleter> address(found);

  // poll(), not epoll: libmicrohttpd 0.9.75's edge-triggered epoll mode was seen to leave all
  // of a worker's connections unread (128 of them, its share of the limit) until they timed
  // out, under 256 connections on busy cores (e2e.read-load). ITC: a channel that wakes the
  // threads when the server stops (else an idle one sleeps in poll for good).
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
  if (address->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
  const auto threads = static_cast<unsigned>(options.threads);
  impl_->daemon.reset(MHD_start_daemon(
      flags, static_cast<std::uint16_t>(options.port), nullptr, nullptr, &Impl::on_request,
      impl_.get(), MHD_OPTION_EXTERNAL_LOGGER, &log_daemon, nullptr,
      MHD_OPTION_SOCK_ADDR, address->ai_addr,
      MHD_OPTION_THREAD_POOL_SIZE, threads > 1 ? threads : 0u,
      MHD_OPTION_CONNECTION_LIMIT, options.max_connections,
      MHD_OPTION_CONNECTION_TIMEOUT, static_cast<unsigned>(options.idle_timeout.count()),
      // Connections arriving together wait in the kernel, not in SYN retries.
      MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END));
  if (!impl_->daemon)
    throw Error("cannot listen on " + where + " (in use, or not an address of this host)",
                ExitCode::unreachable);
  const MHD_DaemonInfo* info = MHD_get_daemon_info(impl_->daemon.get(), MHD_DAEMON_INFO_BIND_PORT);
  impl_->port = info ? info->port : options.port;
  log::info("serving HTTP on " + url());
}

Server::~Server() { stop(); }

int Server::port() const { return impl_->port; }

std::string Server::url() const {
  return "http://" + impl_->host + ":" + std::to_string(impl_->port);
}

void Server::stop() {
  std::lock_guard lock(impl_->stop_mutex);
  impl_->daemon.reset();
}

}  // namespace lims::http
