// Conventional ports: ports that well-known products use by default although IANA gives the
// port to another service or to none (Prometheus and Cockpit on 9090, gRPC's examples on
// 50051, Elasticsearch on 9200). One curated table, each entry with its source (the product's
// documentation), used by berth lint (conventional-port), the host audit (a listener on such
// a port that is not the product) and the allocator's warnings. Pure data; thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/port.h"

namespace berth {

struct ConventionalPort {
  Port port;
  Protocol proto;
  std::string_view product;  // "Prometheus"
  std::string_view use;      // what listens there: "server (web UI, API)"
  // Words a service name or a command holds when it is the product (lower-case letters and
  // digits, space-separated): "prometheus". Empty: no product owns the port (gRPC's 50051).
  std::string_view names;
  std::string_view source;   // where the product documents the port (a URL)
};

// `s` lower-cased, every character but letters and digits dropped ("Grafana-Server" ->
// "grafanaserver"): how service names, commands and products are compared.
std::string LettersAndDigits(std::string_view s);

// Every entry, sorted by port and protocol.
std::span<const ConventionalPort> ConventionalPorts();

// The entries for port/proto (several products may share one: 9090).
std::span<const ConventionalPort> ConventionalAt(Port port, Protocol proto);

// True when `name` (a service name, a command, a unit) is the entry's product: it contains
// one of the entry's names once lower-cased with every character but letters and digits
// dropped ("node_exporter" holds "nodeexporter", "grafana-server" holds "grafana").
bool IsConventionalOwner(const ConventionalPort& c, std::string_view name);

// The products that use port/proto by convention when `name` is none of them (a port whose
// product `name` is draws nothing: Prometheus on 9090 is at home, Cockpit notwithstanding).
// `name` empty: every entry.
std::span<const ConventionalPort> ConventionalOthers(Port port, Protocol proto,
                                                     std::string_view name);

// One sentence for findings and warnings: "9090/tcp is where Prometheus (server: web UI, API)
// and Cockpit (web console) listen by convention (IANA gives it to websm)". `entries` are
// one port's, non-empty.
std::string ConventionalText(std::span<const ConventionalPort> entries);

// Why `name` on such a port is a risk: ConventionalText, then "and 'NAME' is not one of them:
// a client, scraper or dashboard that assumes the convention reaches 'NAME', and installing
// one of them there finds the port taken" (for a port no product owns, gRPC's: services that
// copy it collide). `others` as ConventionalOthers gives them.
std::string ConventionalWhy(std::span<const ConventionalPort> others, std::string_view name);

}  // namespace berth
