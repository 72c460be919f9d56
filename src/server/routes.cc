#include "server/routes.h"

#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <regex>

#include "app/host_view.h"
#include "app/registry_ops.h"
#include "base/clock.h"
#include "host/live_host.h"
#include "server/api_json.h"
#include "server/assets.h"
#include "server/metrics.h"
#include "server/request_parse.h"

namespace berth::server {
namespace {

constexpr std::string_view kJson = "application/json";


void Reply(httplib::Response& res, int status, std::string body,
           std::string_view type = kJson) {
  res.status = status;
  res.set_content(std::move(body), std::string(type).c_str());
}

void ReplyError(httplib::Response& res, int status, std::string_view code,
                std::string_view message, std::span<const Hint> hints = {}) {
  Reply(res, status, ErrorJson(code, message, hints));
}

// A store or use-case failure as an HTTP status.
void ReplyFailure(httplib::Response& res, const Error& e) {
  int status = 500;
  std::string_view code = "internal";
  switch (e.code) {
    case ErrorCode::kNotFound: status = 404, code = "not_found"; break;
    case ErrorCode::kInvalidArgument: status = 400, code = "invalid_argument"; break;
    case ErrorCode::kMalformed: status = 400, code = "bad_json"; break;
    case ErrorCode::kConflict: status = 409, code = "conflict"; break;
    case ErrorCode::kUnavailable:
    case ErrorCode::kTimeout: status = 503, code = "store_unavailable"; break;
    case ErrorCode::kPermissionDenied: status = 403, code = "forbidden"; break;
    case ErrorCode::kInternal: break;
  }
  ReplyError(res, status, code, e.message, e.hints);
}

// The routes each method answers, for 405 and its Allow header.
struct RouteTable {
  std::vector<std::string> get, post;
  bool Matches(const std::vector<std::string>& patterns, const std::string& path) const {
    return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) {
      return std::regex_match(path, std::regex(p));
    });
  }
};

class Api {
 public:
  Api(FleetWatch& watch, const RouteOptions& options) : watch_(watch), options_(options) {}

  // The snapshot and its hosts judged now; 503 when the store never answered. `generation`
  // is read first: a snapshot is published before its generation moves, so the view is at
  // least as new as the event stream's event of that generation.
  struct View {
    std::shared_ptr<const FleetSnapshot> snap;
    std::vector<JudgedHost> hosts;
    std::uint64_t generation = 0;
  };
  std::optional<View> Take(httplib::Response& res) const {
    const std::uint64_t generation = watch_.Generation();
    auto snap = watch_.Current();
    if (!snap) {
      ReplyError(res, 503, "store_unavailable", "the store has not answered yet");
      return std::nullopt;
    }
    View v{snap, watch_.Judge(*snap), generation};
    return v;
  }
  const JudgedHost* FindHost(const View& v, const std::string& name) const {
    for (const JudgedHost& h : v.hosts) {
      if (h.host->report.host == name) return &h;
    }
    return nullptr;
  }

  // Whether the request may write; replies 401/403 when not.
  bool Authorized(const httplib::Request& req, httplib::Response& res) const {
    if (!options_.token) {
      ReplyError(res, 403, "writes_disabled",
                 "this server was started without a token file: it does not accept writes");
      return false;
    }
    if (!req.has_header("Authorization")) {
      res.set_header("WWW-Authenticate", "Bearer");
      ReplyError(res, 401, "unauthorized",
                 "a write needs the header 'Authorization: Bearer TOKEN' with the server's "
                 "token");
      return false;
    }
    if (req.get_header_value_count("Authorization") != 1 ||
        !options_.token->Matches(req.get_header_value("Authorization"))) {
      ReplyError(res, 403, "forbidden", "the bearer token is not this server's token");
      return false;
    }
    if (req.get_header_value("Content-Type").rfind("application/json", 0) != 0) {
      ReplyError(res, 415, "unsupported_media_type", "a write's body must be application/json");
      return false;
    }
    return true;
  }

  void Assign(const httplib::Request& req, httplib::Response& res) {
    if (!Authorized(req, res)) return;
    auto body = ParseAssignBody(req.body);
    if (!body) return ReplyFailure(res, body.error());
    registry::AssignRequest r;
    r.name = body->name;
    r.group = body->group;
    r.proto = body->proto;
    r.size = body->size;
    r.port = body->port;
    r.allow_iana = body->allow_iana;
    r.owner = body->owner;
    r.description = body->description;
    std::optional<registry::Assignment> done;
    std::vector<std::string> host_warnings;  // what the host view could not read
    auto ok = watch_.WithStore([&](registry::Store& store) -> Result<void> {
      LiveHost live;
      registry::HostView host = BERTH_TRY(app::TakeHostView(live, host_warnings));
      auto steps = app::Assign(store, std::move(host), std::span(&r, 1));
      if (steps.failed) return std::unexpected(*steps.failed);
      done = steps.done.front();
      return {};
    });
    if (!done) return ReplyFailure(res, ok.error());
    Reply(res, done->created ? 201 : 200, AssignedJson(*done, host_warnings));
  }

  void Release(const httplib::Request& req, httplib::Response& res) {
    if (!Authorized(req, res)) return;
    auto body = ParseReleaseBody(req.body);
    if (!body) return ReplyFailure(res, body.error());
    std::vector<registry::ServiceRecord> released;
    bool done = false;
    auto ok = watch_.WithStore([&](registry::Store& store) -> Result<void> {
      auto steps = app::Release(store, body->names, /*missing_ok=*/false);
      if (steps.failed) return std::unexpected(*steps.failed);
      released = std::move(steps.done);
      done = true;
      return {};
    });
    if (!done) return ReplyFailure(res, ok.error());
    Reply(res, 200, ReleasedJson(released));
  }

  // Server-Sent Events: one "change" event per generation, a comment line as keep-alive.
  void Events(const httplib::Request&, httplib::Response& res) {
    if (streams_.fetch_add(1) >= options_.max_streams) {
      streams_.fetch_sub(1);
      res.set_header("Retry-After", "5");
      return ReplyError(res, 503, "too_many_streams",
                        fmt::format("{} event streams are open, the most this server keeps; "
                                    "try again later",
                                    options_.max_streams));
    }
    auto seen = std::make_shared<std::uint64_t>(0);
    res.set_header("Cache-Control", "no-store");
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, seen](size_t, httplib::DataSink& sink) {
          std::string event;
          if (*seen == 0 || watch_.WaitGeneration(*seen, options_.stream_ping)) {
            *seen = watch_.Generation();
            const auto snap = watch_.Current();
            event = fmt::format("event: change\ndata: {{\"revision\":{},\"generation\":{}}}\n\n",
                                snap ? snap->revision : 0, *seen);
          } else if (watch_.stopped()) {
            sink.done();
            return false;
          } else {
            event = ": ping\n\n";
          }
          return sink.is_writable() && sink.write(event.data(), event.size());
        },
        [this](bool) { streams_.fetch_sub(1); });
  }

  FleetWatch& watch_;
  const RouteOptions& options_;
  std::atomic<std::size_t> streams_{0};
};

// GET handlers that answer from the snapshot: f(view) -> body, or 404 for an unknown host.
template <class F>
httplib::Server::Handler ViewHandler(std::shared_ptr<Api> api, F f) {
  return [api, f](const httplib::Request& req, httplib::Response& res) {
    auto view = api->Take(res);
    if (view) f(*view, req, res);
  };
}

void HostRoute(httplib::Server& svr, std::shared_ptr<Api> api, const std::string& pattern,
               std::function<std::string(const Api::View&, const JudgedHost&)> render) {
  svr.Get(pattern, ViewHandler(api, [api, render](const Api::View& v, const httplib::Request& req,
                                                  httplib::Response& res) {
            const JudgedHost* h = api->FindHost(v, req.matches[1]);
            if (!h) {
              return ReplyError(res, 404, "not_found",
                                "no such host in the fleet (see GET /api/v1/hosts)");
            }
            Reply(res, 200, render(v, *h));
          }));
}

void InstallReads(GuardedServer& svr, std::shared_ptr<Api> api, RouteTable& table) {
  for (const Asset& a : Assets()) {
    table.get.push_back(std::string(a.path));
    svr.Get(std::string(a.path), [&a](const httplib::Request&, httplib::Response& res) {
      res.set_content(a.body.data(), a.body.size(), std::string(a.type).c_str());
    });
  }
  const auto get = [&](const std::string& pattern, httplib::Server::Handler h) {
    table.get.push_back(pattern);
    svr.Get(pattern, std::move(h));
  };
  get("/api/v1/hosts", ViewHandler(api, [](const Api::View& v, const httplib::Request&,
                                           httplib::Response& res) {
        Reply(res, 200, HostsJson(*v.snap, v.hosts, UnixNow()));
      }));
  table.get.push_back("/api/v1/hosts/([^/]+)/observations");
  HostRoute(svr, api, table.get.back(),
            [](const Api::View& v, const JudgedHost& h) { return ObservationsJson(*v.snap, h); });
  table.get.push_back("/api/v1/hosts/([^/]+)/findings");
  HostRoute(svr, api, table.get.back(), [](const Api::View& v, const JudgedHost& h) {
    return FindingsJson(*v.snap, h.host->report.host);
  });
  table.get.push_back("/api/v1/hosts/([^/]+)");
  HostRoute(svr, api, table.get.back(), [](const Api::View& v, const JudgedHost& h) {
    return HostsJson(*v.snap, std::span(&h, 1), UnixNow());
  });
  get("/api/v1/findings", ViewHandler(api, [](const Api::View& v, const httplib::Request&,
                                              httplib::Response& res) {
        Reply(res, 200, FindingsJson(*v.snap, ""));
      }));
  get("/api/v1/services", ViewHandler(api, [](const Api::View& v, const httplib::Request&,
                                              httplib::Response& res) {
        Reply(res, 200, ServicesJson(*v.snap));
      }));
  get("/api/v1/claims", ViewHandler(api, [](const Api::View& v, const httplib::Request& req,
                                            httplib::Response& res) {
        Reply(res, 200, ClaimsJson(*v.snap, req.get_param_value("group")));
      }));
  get("/api/v1/groups", ViewHandler(api, [](const Api::View& v, const httplib::Request&,
                                            httplib::Response& res) {
        Reply(res, 200, GroupsJson(*v.snap));
      }));
  get("/api/v1/drift", ViewHandler(api, [](const Api::View& v, const httplib::Request&,
                                           httplib::Response& res) {
        Reply(res, 200, DriftJson(*v.snap));
      }));
  get("/api/v1/map", ViewHandler(api, [](const Api::View& v, const httplib::Request&,
                                         httplib::Response& res) {
        Reply(res, 200, MapJson(*v.snap, v.hosts, UnixNow(), v.generation));
      }));
  get("/metrics", ViewHandler(api, [api](const Api::View& v, const httplib::Request&,
                                         httplib::Response& res) {
        Reply(res, 200, RenderMetrics(*v.snap, v.hosts, UnixNow(), api->watch_.StoreProblem()),
              kMetricsContentType);
      }));
  get("/api/v1/events", [api](const httplib::Request& req, httplib::Response& res) {
    api->Events(req, res);
  });
}

// Answers what the guard refused before reading the body, and a Host header that is not
// this server's (a DNS-rebinding page would send its own name).
httplib::Server::HandlerResponse PreRoute(const RouteOptions& options,
                                          const httplib::Request& req, httplib::Response& res) {
  switch (GuardedServer::CurrentRefusal()) {
    case Refusal::kNone: break;
    case Refusal::kTransferEncoding:
      ReplyError(res, 411, "length_required",
                 "request bodies must have a Content-Length; Transfer-Encoding (chunked) is not "
                 "accepted");
      return httplib::Server::HandlerResponse::Handled;
    case Refusal::kContentEncoding:
      ReplyError(res, 415, "unsupported_media_type",
                 "compressed request bodies (Content-Encoding) are not accepted");
      return httplib::Server::HandlerResponse::Handled;
    case Refusal::kBadLength:
      ReplyError(res, 400, "bad_request",
                 "Content-Length must be one decimal number, and only requests that take a "
                 "body may have one");
      return httplib::Server::HandlerResponse::Handled;
  }
  const std::string host = req.get_header_value("Host");
  if (req.get_header_value_count("Host") != 1 ||
      std::find(options.hosts.begin(), options.hosts.end(), host) == options.hosts.end()) {
    ReplyError(res, 421, "misdirected_request",
               "the Host header does not name this server (allowed: the address it listens on, "
               "or a name it was told to accept)");
    return httplib::Server::HandlerResponse::Handled;
  }
  const auto length = req.get_header_value<std::uint64_t>("Content-Length");
  if (length > kMaxRequestBody) {
    ReplyError(res, 413, "payload_too_large",
               fmt::format("the body has {} bytes, more than the {} accepted", length,
                           kMaxRequestBody));
    return httplib::Server::HandlerResponse::Handled;
  }
  return httplib::Server::HandlerResponse::Unhandled;
}

}  // namespace

httplib::Headers SecurityHeaders() {
  return {
      {"Content-Security-Policy",
       "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
       "frame-ancestors 'none'"},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"},
      {"X-Frame-Options", "DENY"},
      {"Cross-Origin-Resource-Policy", "same-origin"},
      {"Cache-Control", "no-store"},
  };
}

void InstallRoutes(GuardedServer& svr, FleetWatch& watch, const RouteOptions& options) {
  auto api = std::make_shared<Api>(watch, options);
  svr.set_default_headers(SecurityHeaders());
  svr.set_pre_routing_handler([&options](const httplib::Request& req, httplib::Response& res) {
    return PreRoute(options, req, res);
  });
  auto table = std::make_shared<RouteTable>();
  InstallReads(svr, api, *table);
  table->post = {"/api/v1/assign", "/api/v1/release"};
  svr.Post("/api/v1/assign", [api](const httplib::Request& req, httplib::Response& res) {
    api->Assign(req, res);
  });
  svr.Post("/api/v1/release", [api](const httplib::Request& req, httplib::Response& res) {
    api->Release(req, res);
  });
  // Whatever no route took: 405 with Allow when the path exists for another method, else 404.
  const auto other = [table](const httplib::Request& req, httplib::Response& res) {
    std::string allow;
    if (table->Matches(table->get, req.path)) allow = "GET, HEAD";
    if (table->Matches(table->post, req.path)) allow = "POST";
    if (allow.empty()) {
      return ReplyError(res, 404, "not_found",
                        "no such resource (the API is under /api/v1, see docs/api.md)");
    }
    res.set_header("Allow", allow);
    // httplib accepts only the methods it knows, so req.method is one of those words.
    ReplyError(res, 405, "method_not_allowed",
               fmt::format("{} is not allowed here; allowed: {}", req.method, allow));
  };
  svr.Get(".*", other);
  svr.Post(".*", other);
  svr.Put(".*", other);
  svr.Delete(".*", other);
  svr.Patch(".*", other);
  svr.Options(".*", other);
  // httplib's own refusals (a malformed request line, a body too large): JSON too.
  svr.set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    ReplyError(res, res.status, res.status == 413 ? "payload_too_large" : "bad_request",
               fmt::format("the request was refused with HTTP status {}", res.status));
    return httplib::Server::HandlerResponse::Handled;
  }));
}

}  // namespace berth::server
