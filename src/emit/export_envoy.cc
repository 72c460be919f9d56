// berth export --format envoy (emit/export_lb.h): an Envoy v3 bootstrap, static_resources
// only. The plan (services, backends, bind address) is the one HAProxy's and nginx's front
// ends are written from (emit/lb_plan.h); this file only writes it as YAML. Every string
// scalar goes through YamlQuote, numbers and Envoy's enum and type names are berth's own.
#include <string>
#include <string_view>
#include <vector>

#include <fmt/core.h>

#include "emit/export_lb.h"
#include "emit/firewall_quote.h"
#include "emit/lb_plan.h"

namespace berth {
namespace {

// One listener and its cluster: a service on one protocol.
struct EnvoyProxy {
  const Service* service;
  Protocol proto;
  std::string name;  // the listener's and the cluster's
};

// The service, its group and description as listener and cluster metadata: data in quoted
// scalars, read back by Envoy's admin interface (/config_dump) or a control plane.
std::string EnvoyMetadata(const Service& s, std::string_view indent) {
  return fmt::format(
      "{0}metadata:\n"
      "{0}  filter_metadata:\n"
      "{0}    berth:\n"
      "{0}      service: {1}\n"
      "{0}      group: {2}\n"
      "{0}      description: {3}\n",
      indent, YamlQuote(s.name), YamlQuote(s.group), YamlQuote(s.description));
}

std::string EnvoyListener(const EnvoyProxy& p, const std::string& bind) {
  const Service& s = *p.service;
  std::string out = fmt::format("  - name: {}\n", YamlQuote(p.name));
  out += EnvoyMetadata(s, "    ");
  out += fmt::format("    address:\n      socket_address:\n{}        address: {}\n"
                     "        port_value: {}\n",
                     p.proto == Protocol::kUdp ? "        protocol: UDP\n" : "",
                     YamlQuote(bind), s.port);
  if (p.proto == Protocol::kTcp) {
    out += fmt::format(
        "    filter_chains:\n"
        "    - filters:\n"
        "      - name: envoy.filters.network.tcp_proxy\n"
        "        typed_config:\n"
        "          \"@type\": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy\n"
        "          stat_prefix: {0}\n"
        "          cluster: {0}\n"
        "          idle_timeout: 60s\n",
        YamlQuote(p.name));
  } else {
    out += fmt::format(
        "    listener_filters:\n"
        "    - name: envoy.filters.udp_listener.udp_proxy\n"
        "      typed_config:\n"
        "        \"@type\": type.googleapis.com/envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig\n"
        "        stat_prefix: {0}\n"
        "        matcher:\n"
        "          on_no_match:\n"
        "            action:\n"
        "              name: route\n"
        "              typed_config:\n"
        "                \"@type\": type.googleapis.com/envoy.extensions.filters.udp.udp_proxy.v3.Route\n"
        "                cluster: {0}\n",
        YamlQuote(p.name));
  }
  return out;
}

std::string EnvoyCluster(const EnvoyProxy& p, const std::vector<LbBackend>& backends) {
  bool all_ips = true;
  for (const LbBackend& b : backends) all_ips = all_ips && lb::IpLiteral(b.host);
  std::string out = fmt::format("  - name: {}\n", YamlQuote(p.name));
  out += EnvoyMetadata(*p.service, "    ");
  // STATIC takes addresses only; STRICT_DNS resolves names (and keeps resolving them).
  out += fmt::format("    type: {}\n    connect_timeout: 5s\n", all_ips ? "STATIC" : "STRICT_DNS");
  out += fmt::format("    load_assignment:\n      cluster_name: {}\n      endpoints:\n"
                     "      - lb_endpoints:\n",
                     YamlQuote(p.name));
  for (const LbBackend& b : backends) {
    out += fmt::format("        - endpoint:\n            address:\n              socket_address:\n"
                       "                address: {}\n                port_value: {}\n",
                       YamlQuote(b.host), b.port);
  }
  if (p.proto == Protocol::kTcp) {
    // HAProxy's check: a new connection every 2s, also before any traffic (Envoy's default
    // is every 60s until the cluster has had some) and not one kept open (reuse_connection).
    out += "    health_checks:\n"
           "    - timeout: 2s\n"
           "      interval: 2s\n"
           "      no_traffic_interval: 2s\n"
           "      unhealthy_threshold: 3\n"
           "      healthy_threshold: 2\n"
           "      reuse_connection: false\n"
           "      tcp_health_check: {}\n";
  } else {
    out += "    # UDP: not checked (Envoy has no UDP health check)\n";
  }
  return out;
}

}  // namespace

Result<void> RenderEnvoyExport(std::span<const Service> services, const LbOptions& options,
                               const Sink& sink) {
  const lb::Plan plan = BERTH_TRY(lb::MakePlan(services, options, LbProgram::kEnvoy));
  const std::string bind = plan.bind_host.empty() ? std::string("0.0.0.0") : plan.bind_host;
  std::vector<EnvoyProxy> proxies;
  std::string listeners;
  for (const Service* s : plan.services) {
    if (!lb::Proxied(*s, LbProgram::kEnvoy)) {
      listeners += lb::RangeNotProxied(*s, "  ");
      continue;
    }
    for (Protocol p : {Protocol::kTcp, Protocol::kUdp}) {
      if (!Covers(s->proto, p)) continue;
      // '_' is never in a service name: NAME_udp cannot be another service's listener.
      const bool both = s->proto == ServiceProto::kBoth;
      proxies.push_back({s, p, both && p == Protocol::kUdp ? s->name + "_udp" : s->name});
      listeners += EnvoyListener(proxies.back(), bind);
    }
  }
  sink(fmt::format(
      "# Generated by berth: Envoy front ends on the registered ports of {}.\n"
      "# An Envoy v3 bootstrap with static_resources only: run it (envoy -c THIS) or merge its\n"
      "# listeners and clusters into your bootstrap; envoy --mode validate -c THIS checks it.\n"
      "# TCP backends get a TCP connect check every 2s: 3 failures take one out, 2 successes\n"
      "# put it back. UDP goes through udp_proxy, its backends unchecked (Envoy has no UDP\n"
      "# check).\n"
      "static_resources:\n",
      lb::Scope(options)));
  sink(proxies.empty() ? "  listeners: []\n" : "  listeners:\n");
  sink(listeners);
  sink(proxies.empty() ? "  clusters: []\n" : "  clusters:\n");
  for (const EnvoyProxy& p : proxies) sink(EnvoyCluster(p, plan.backends.at(p.service->name)));
  return {};
}

}  // namespace berth
