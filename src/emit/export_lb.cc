#include "emit/export_lb.h"

#include <arpa/inet.h>

#include <algorithm>
#include <set>

#include <fmt/core.h>

#include "base/text.h"
#include "emit/lb_plan.h"

namespace berth {
namespace {

bool DnsName(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (std::size_t start = 0; start <= host.size();) {
    std::size_t dot = host.find('.', start);
    if (dot == std::string_view::npos) dot = host.size();
    const std::string_view label = host.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) return false;
    }
    start = dot + 1;
  }
  return true;
}

bool Ipv4(const std::string& s) {
  in_addr a{};
  return ::inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool Ipv6(const std::string& s) {
  in6_addr a{};
  return ::inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

// HOST:PORT as both programs read it: IPv6 in brackets.
std::string Address(const LbBackend& b) {
  return b.host.find(':') != std::string::npos ? fmt::format("[{}]:{}", b.host, b.port)
                                               : fmt::format("{}:{}", b.host, b.port);
}

Result<std::string> BindAddress(const std::string& bind) {
  if (bind.empty()) return std::string();
  if (Ipv4(bind)) return bind;
  if (Ipv6(bind)) return "[" + bind + "]";
  return Fail(ErrorCode::kInvalidArgument,
              fmt::format("invalid bind address '{}': give an IPv4 or IPv6 address (without "
                          "brackets), or none for every address",
                          CommentText(bind)));
}

}  // namespace

namespace lb {

bool Proxied(const Service& s, LbProgram program) {
  return s.size == 1 && (program != LbProgram::kHaproxy || Covers(s.proto, Protocol::kTcp));
}

std::string RangeNotProxied(const Service& s, std::string_view indent) {
  return fmt::format("\n{}# {} ({}/{}, group {}): a range claim, reached directly, not proxied\n",
                     indent, s.name, FormatRange(PortsOf(s)), ServiceProtoName(s.proto),
                     CommentText(s.group));
}

Result<Plan> MakePlan(std::span<const Service> services, const LbOptions& o, LbProgram program) {
  Plan plan;
  plan.services = BERTH_TRY(SelectServices(services, o.group));
  if (plan.services.empty()) {
    return Fail(ErrorCode::kNotFound,
                fmt::format("no services in {}", o.group.empty() ? "the registry"
                                                                 : "group " + CommentText(o.group)));
  }
  plan.bind = BERTH_TRY(BindAddress(o.bind));
  plan.bind_host = o.bind;
  auto find = [&plan](std::string_view name) -> const Service* {
    for (const Service* s : plan.services) {
      if (s->name == name) return s;
    }
    return nullptr;
  };
  for (const std::string& given : o.backends) {
    const std::size_t eq = given.find('=');
    const std::string_view name = std::string_view(given).substr(0, eq == std::string::npos ? 0 : eq);
    const Service* s = find(name);
    if (eq == std::string::npos || s == nullptr) {
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("backend '{}': give SERVICE=HOST[:PORT] for a service that is "
                              "exported ({})",
                              CommentText(given), eq == std::string::npos
                                                      ? "no '=' in it"
                                                      : "'" + CommentText(name) + "' is not"));
    }
    LbBackend b = BERTH_TRY(ParseLbBackend(std::string_view(given).substr(eq + 1), s->port));
    plan.backends[s->name].push_back(std::move(b));
  }
  for (const Service* s : plan.services) {
    if (plan.backends.contains(s->name) || !Proxied(*s, program)) continue;
    auto hosts = o.group_hosts.find(s->group);
    if (hosts == o.group_hosts.end() || hosts->second.empty()) {
      return Fail(ErrorCode::kNotFound,
                  fmt::format("service {} has no backend address: none was given, and its group "
                              "{} names no hosts",
                              s->name, CommentText(s->group)));
    }
    for (const std::string& host : hosts->second) {
      auto b = ParseLbBackend(host, s->port);
      if (!b) {
        return Fail(ErrorCode::kInvalidArgument,
                    fmt::format("group {}'s host: {}", CommentText(s->group), b.error().message));
      }
      plan.backends[s->name].push_back(std::move(*b));
    }
  }
  return plan;
}

std::string Scope(const LbOptions& o) {
  return o.group.empty() ? std::string("every group") : "group " + CommentText(o.group);
}

bool IpLiteral(const std::string& host) { return Ipv4(host) || Ipv6(host); }

}  // namespace lb

Result<LbBackend> ParseLbBackend(std::string_view text, Port default_port) {
  auto bad = [&](std::string_view why) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("backend '{}': {}", CommentText(text), why));
  };
  std::string host;
  std::string_view port_text;
  if (text.starts_with('[')) {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return bad("an IPv6 address opened with '[' is not closed");
    host = std::string(text.substr(1, close - 1));
    if (!Ipv6(host)) return bad("not an IPv6 address between the brackets");
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return bad("after ']' comes ':PORT' or nothing");
      port_text = text.substr(close + 2);
      if (port_text.empty()) return bad("an empty port");
    }
  } else {
    const std::size_t colon = text.find(':');
    if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos) {
      return bad("an IPv6 address goes in brackets: [ADDRESS]:PORT");
    }
    host = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = text.substr(colon + 1);
      if (port_text.empty()) return bad("an empty port");
    }
    if (!Ipv4(host) && !DnsName(host)) {
      return bad("the host is neither a DNS name (letters, digits, '-' and dots) nor an IP address");
    }
  }
  Port port = default_port;
  if (!port_text.empty()) {
    unsigned v = 0;
    if (port_text.size() > 5 || !std::all_of(port_text.begin(), port_text.end(),
                                              [](char c) { return c >= '0' && c <= '9'; })) {
      return bad("the port is not a number 1-65535");
    }
    for (char c : port_text) v = v * 10 + static_cast<unsigned>(c - '0');
    if (v == 0 || v > 65535) return bad("the port is not a number 1-65535");
    port = static_cast<Port>(v);
  }
  return LbBackend{std::move(host), port};
}

std::vector<std::string> LbServicesWithoutBackend(std::span<const Service> services,
                                                  const LbOptions& options, LbProgram program) {
  std::vector<std::string> out;
  auto selected = SelectServices(services, options.group);
  if (!selected) return out;
  for (const Service* s : *selected) {
    if (!lb::Proxied(*s, program)) continue;
    const bool given = std::any_of(options.backends.begin(), options.backends.end(),
                                   [s](const std::string& b) { return b.starts_with(s->name + "="); });
    auto hosts = options.group_hosts.find(s->group);
    if (!given && (hosts == options.group_hosts.end() || hosts->second.empty())) {
      out.push_back(s->name);
    }
  }
  return out;
}

Result<void> RenderHaproxyExport(std::span<const Service> services, const LbOptions& options,
                                 const Sink& sink) {
  const lb::Plan plan = BERTH_TRY(lb::MakePlan(services, options, LbProgram::kHaproxy));
  sink(fmt::format(
      "# Generated by berth: HAProxy front ends on the registered ports of {}.\n"
      "# Use it beside haproxy.cfg (haproxy -f haproxy.cfg -f THIS) or alone; check it with\n"
      "# haproxy -c -f THIS. Each backend server gets a TCP connect check every 2s: 3 failures\n"
      "# take it out, 2 successes put it back.\n"
      "defaults\n"
      "    mode tcp\n"
      "    timeout connect 5s\n"
      "    timeout client 1m\n"
      "    timeout server 1m\n"
      "    default-server inter 2s fall 3 rise 2 init-addr last,libc,none\n",
      lb::Scope(options)));
  for (const Service* s : plan.services) {
    if (s->size > 1) {
      sink(lb::RangeNotProxied(*s, ""));
      continue;
    }
    if (!Covers(s->proto, Protocol::kTcp)) {
      sink(fmt::format("\n# {} ({}/udp, group {}): UDP, which HAProxy does not proxy\n", s->name,
                       s->port, CommentText(s->group)));
      continue;
    }
    sink(fmt::format("\nlisten {}\n    # group {}{}\n    bind {}:{}\n", s->name, CommentText(s->group),
                     s->proto == ServiceProto::kBoth ? "; its UDP port is not proxied (HAProxy does not)" : "",
                     plan.bind, s->port));
    int n = 0;
    for (const LbBackend& b : plan.backends.at(s->name)) {
      sink(fmt::format("    server {}-{} {} check\n", s->name, ++n, Address(b)));
    }
  }
  return {};
}

Result<void> RenderNginxExport(std::span<const Service> services, const LbOptions& options,
                               const Sink& sink) {
  const lb::Plan plan = BERTH_TRY(lb::MakePlan(services, options, LbProgram::kNginx));
  sink(fmt::format(
      "# Generated by berth: nginx stream front ends on the registered ports of {}.\n"
      "# Include it at the top level of nginx.conf (beside http {{}}, not inside it), after the\n"
      "# stream module is loaded (Debian: libnginx-mod-stream); nginx -t checks it. Backends are\n"
      "# checked passively (nginx has no active check without NGINX Plus): 3 failed connections\n"
      "# within 10s take a server out for 10s.\n"
      "stream {{\n",
      lb::Scope(options)));
  const std::string listen_at = plan.bind.empty() ? "" : plan.bind + ":";
  for (const Service* s : plan.services) {
    if (s->size > 1) {
      sink(lb::RangeNotProxied(*s, "    "));
      continue;
    }
    sink(fmt::format("    # {}: group {}\n    upstream {} {{\n", s->name, CommentText(s->group), s->name));
    for (const LbBackend& b : plan.backends.at(s->name)) {
      sink(fmt::format("        server {} max_fails=3 fail_timeout=10s;\n", Address(b)));
    }
    sink("    }\n");
    for (Protocol p : {Protocol::kTcp, Protocol::kUdp}) {
      if (!Covers(s->proto, p)) continue;
      sink(fmt::format("    server {{\n        listen {}{}{};\n        proxy_pass {};\n"
                       "        proxy_connect_timeout 5s;\n    }}\n",
                       listen_at, s->port, p == Protocol::kUdp ? " udp" : "", s->name));
    }
  }
  sink("}\n");
  return {};
}

}  // namespace berth
