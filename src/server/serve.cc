#include "server/serve.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>

#include <fmt/core.h>

#include <thread>

#include "server/routes.h"
#include "server/token.h"

namespace berth::server {
namespace {

// SIGTERM and SIGINT are taken by one thread (sigwait), which stops the server; the others
// never see them. SIGUSR1 ends that thread when the server stopped for another reason.
class SignalStopper {
 public:
  explicit SignalStopper(std::function<void()> stop) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
    thread_ = std::thread([this, stop = std::move(stop)] {
      int sig = 0;
      sigwait(&set_, &sig);
      if (sig != SIGUSR1) stop();
    });
  }
  ~SignalStopper() {
    pthread_kill(thread_.native_handle(), SIGUSR1);
    thread_.join();
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SignalStopper(const SignalStopper&) = delete;
  SignalStopper& operator=(const SignalStopper&) = delete;

 private:
  sigset_t set_{}, old_{};
  std::thread thread_;
};

bool IsLoopback(const std::string& ip) {
  in_addr a4{};
  if (inet_pton(AF_INET, ip.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  in6_addr a6{};
  return inet_pton(AF_INET6, ip.c_str(), &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

}  // namespace

std::string ListenAddress::Url() const {
  return host.find(':') != std::string::npos ? fmt::format("http://[{}]:{}", host, port)
                                             : fmt::format("http://{}:{}", host, port);
}

Result<ListenAddress> ParseListen(std::string_view text, bool allow_remote) {
  const auto bad = [&] {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("listen address '{}': expected IP:PORT, [IPV6]:PORT or "
                            "localhost:PORT (port 0-65535; 0 picks a free one)",
                            text));
  };
  ListenAddress out;
  std::string_view host = text, port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return bad();
    host = text.substr(1, close - 1);
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (!rest.starts_with(':')) return bad();
      port = rest.substr(1);
    }
  } else if (const auto colon = text.rfind(':'); colon != std::string_view::npos &&
                                                 text.find(':') == colon) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  out.host = host == "localhost" ? "127.0.0.1" : std::string(host);
  in_addr a4{};
  in6_addr a6{};
  if (inet_pton(AF_INET, out.host.c_str(), &a4) != 1 &&
      inet_pton(AF_INET6, out.host.c_str(), &a6) != 1) {
    return bad();
  }
  if (!port.empty() || text.ends_with(':')) {
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string_view::npos) {
      return bad();
    }
    out.port = std::stoi(std::string(port));
    if (out.port > 65535) return bad();
  }
  out.loopback = IsLoopback(out.host);
  if (!out.loopback && !allow_remote) {
    return Fail(ErrorCode::kPermissionDenied,
                fmt::format("listen address {}: not a loopback address. The API's reads need no "
                            "token and berth serve speaks plain HTTP (no TLS): put it behind a "
                            "TLS proxy on this host instead, or accept the exposure explicitly",
                            out.host));
  }
  return out;
}

Result<void> Serve(const ServeConfig& config, StoreOpener open,
                   const std::function<void(std::string_view)>& announce) {
  RouteOptions routes;
  if (!config.token_file.empty()) routes.token = BERTH_TRY(BearerToken::Load(config.token_file));
  routes.max_streams = std::max<std::size_t>(1, config.limits.threads / 2);

  FleetWatch watch(std::move(open), config.watch);
  GuardedServer svr(config.limits);
  // Before any thread starts, so that every thread inherits the blocked signals. The watch
  // stops first: it wakes the event streams, whose workers the server then joins.
  SignalStopper signals([&] {
    watch.Stop();
    svr.Shutdown();
  });
  BERTH_TRY(watch.Start());
  int port = config.listen.port;
  if (port == 0) {
    port = svr.bind_to_any_port(config.listen.host);
    if (port <= 0) port = -1;
  } else if (!svr.bind_to_port(config.listen.host, port)) {
    port = -1;
  }
  if (port < 0) {
    return Fail(ErrorCode::kUnavailable,
                fmt::format("cannot listen on {}: the port is in use or the address is not "
                            "this host's",
                            config.listen.Url()));
  }
  ListenAddress bound = config.listen;
  bound.port = port;
  const std::string host = bound.host.find(':') != std::string::npos
                               ? fmt::format("[{}]:{}", bound.host, port)
                               : fmt::format("{}:{}", bound.host, port);
  routes.hosts = {host, fmt::format("localhost:{}", port)};
  for (const std::string& h : config.allow_hosts) routes.hosts.push_back(h);
  InstallRoutes(svr, watch, routes);
  announce(bound.Url());
  svr.listen_after_bind();
  watch.Stop();
  return {};
}

}  // namespace berth::server
