// serve_fixture: writes fleet records into a registry through the Store API, as agents
// would (presence under a lease, a scan's observations, a report with findings), for the
// tests of berth serve (C++ and the page's node tests) and bench/serve_bench.
//   serve_fixture STORE_URL fleet N LISTENERS [TTL]   hosts host-000.. each with LISTENERS
//                                                      listeners, one inside its ephemeral range
//   serve_fixture STORE_URL host NAME [TTL]            one up host with three listeners
//   serve_fixture STORE_URL stale NAME                 a host whose last scan is an hour old
//   serve_fixture STORE_URL down NAME                  a host with a report and no agent
//   serve_fixture STORE_URL finding HOST PORT          adds an ephemeral-listener finding
//   serve_fixture STORE_URL moved HOST SERVICE PORT    HOST's scan sees SERVICE listening on PORT
//   serve_fixture STORE_URL hostile                    hostile names everywhere (see below)
//   serve_fixture corpus                               the hostile strings, as a JSON array
// Exit 0 on success, 2 with a message on stderr.
#include <fmt/core.h>

#include <ctime>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "emit/hostile_corpus.h"
#include "registry/store_url.h"

namespace {

using namespace berth;
using registry::Store;

std::int64_t Now() { return static_cast<std::int64_t>(std::time(nullptr)); }

// The hostile corpus plus what breaks out of HTML and JavaScript in particular.
std::vector<std::string> Corpus() {
  std::vector<std::string> c = test::HostileCorpus("/tmp/berth-serve-hostile-marker");
  for (const char* s : {"<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
                        "\"><svg onload=alert(1)>", "javascript:alert(1)",
                        "'--><iframe srcdoc=\"<script>alert(1)</script>\">",
                        "{{constructor.constructor('alert(1)')()}}", "</style><script>alert(1)//"}) {
    c.emplace_back(s);
  }
  return c;
}

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "serve_fixture: " << what << "\n";
  std::exit(2);
}

template <class T>
T Must(Result<T> r, std::string_view what) {
  if (!r) Die(fmt::format("{}: {}", what, r.error().message));
  return std::move(*r);
}
void Must(Result<void> r, std::string_view what) {
  if (!r) Die(fmt::format("{}: {}", what, r.error().message));
}

registry::Observation Listener(const std::string& host, Port port, std::string command,
                               std::string service = "") {
  registry::Observation o;
  o.host = host;
  o.port = port;
  o.pid = 1000 + port % 5000;
  o.command = std::move(command);
  o.service = std::move(service);
  return o;
}

Finding EphemeralFinding(Port port, std::string subject) {
  Finding f;
  f.id = FindingId::kEphemeralListener;
  f.severity = Severity::kError;
  f.subject = std::move(subject);
  f.proto = Protocol::kTcp;
  f.ports.Add(port);
  f.why = fmt::format("a server listens on {}, inside the ephemeral range", port);
  f.fix = fmt::format("berth adopt {} --port {}", "svc", port);
  return f;
}

// One host: presence (unless `agent` is false), a scan of `seen`, a report with `findings`.
void PutHost(Store& store, const std::string& name, std::vector<registry::Observation> seen,
             std::vector<Finding> findings, std::int64_t scanned, bool agent, std::int64_t ttl,
             const std::string& group = "default") {
  Must(store.RecordScan(name, scanned, seen), "record scan");
  registry::HostReport r;
  r.host = name;
  r.group = group;
  r.ephemeral = {32768, 60999};
  r.reserved.Add(PortRange{7000, 7010});
  r.scanned = scanned;
  r.changed = scanned;
  r.digest = fmt::format("{}-{}", seen.size(), findings.size());
  r.listeners = static_cast<std::uint32_t>(seen.size());
  Must(store.PutHostReport(r, findings), "put host report");
  if (!agent) return;
  registry::HostPresence p;
  p.host = name;
  p.lease = Must(store.GrantLease(ttl), "grant lease");
  p.ttl = ttl;
  p.interval = 30;
  p.refresh = 10;
  p.started = scanned;
  p.version = "0.1.0";
  Must(store.PutPresence(p), "put presence");
}

std::vector<registry::Observation> Standard(const std::string& host, int n) {
  std::vector<registry::Observation> seen;
  seen.push_back(Listener(host, 22, "sshd"));
  seen.push_back(Listener(host, 40123, "java"));  // inside the ephemeral range
  for (int i = 2; i < n; ++i) seen.push_back(Listener(host, static_cast<Port>(10000 + i), "app" + std::to_string(i)));
  return seen;
}

int Fleet(Store& store, int hosts, int listeners, std::int64_t ttl) {
  const std::int64_t now = Now();
  for (int h = 0; h < hosts; ++h) {
    const std::string name = fmt::format("host-{:03}", h);
    PutHost(store, name, Standard(name, listeners), {EphemeralFinding(40123, "java (pid 1123)")},
            now, true, ttl, h % 2 == 0 ? "default" : "web");
  }
  return 0;
}

int Hostile(Store& store) {
  const std::vector<std::string> corpus = Corpus();
  const std::int64_t now = Now();
  std::vector<registry::Observation> seen;
  std::vector<Finding> findings;
  for (std::size_t i = 0; i < corpus.size(); ++i) {
    seen.push_back(Listener("hostile-host", static_cast<Port>(12000 + i), corpus[i]));
    Finding f = EphemeralFinding(static_cast<Port>(12000 + i), corpus[i]);
    f.why = corpus[(i + 1) % corpus.size()];
    f.fix = corpus[(i + 2) % corpus.size()];
    findings.push_back(f);
  }
  PutHost(store, "hostile-host", seen, findings, now, true, 600);
  // Host names from the corpus (an agent's --host is free text).
  for (std::size_t i = corpus.size() - 7; i < corpus.size(); ++i) {
    PutHost(store, corpus[i], {Listener(corpus[i], 22, corpus[i])}, {}, now, true, 600);
  }
  for (Service& s : test::HostileServices(corpus, "default")) {
    registry::ServiceRecord rec;
    s.created = s.updated = now;
    rec.service = s;
    rec.reason = "hostile corpus";
    Must(store.ClaimService(rec), "claim hostile service");
  }
  return 0;
}

int AddFinding(Store& store, const std::string& host, Port port) {
  auto hosts = Must(store.ListHosts(), "list hosts");
  for (const registry::FleetHost& h : hosts) {
    if (h.report.host != host) continue;
    auto findings = Must(store.HostFindings(host), "host findings");
    findings.push_back(EphemeralFinding(port, fmt::format("late (port {})", port)));
    registry::HostReport r = h.report;
    r.changed = Now();
    r.digest += "+";
    Must(store.PutHostReport(r, findings), "put host report");
    return 0;
  }
  Die("no such host: " + host);
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> a(argv + 1, argv + argc);
  if (a.size() == 1 && a[0] == "corpus") {
    std::cout << nlohmann::json(Corpus()).dump(-1, ' ', false,
                                               nlohmann::json::error_handler_t::replace)
              << "\n";
    return 0;
  }
  if (a.size() < 2) Die("usage: serve_fixture STORE_URL fleet|host|stale|down|finding|moved|hostile ...");
  auto where = Must(registry::ParseStoreUrl(a[0]), "store url");
  auto store = Must(registry::OpenStore(where, registry::OpenMode::kWrite), "open store");
  const std::string& cmd = a[1];
  const auto arg = [&](std::size_t i) -> const std::string& {
    if (a.size() <= i) Die("missing argument for " + cmd);
    return a[i];
  };
  const std::int64_t now = Now();
  if (cmd == "fleet") {
    return Fleet(*store, std::stoi(arg(2)), std::stoi(arg(3)), a.size() > 4 ? std::stoll(a[4]) : 600);
  }
  if (cmd == "host") {
    const std::string& n = arg(2);
    PutHost(*store, n, Standard(n, 3), {}, now, true, a.size() > 3 ? std::stoll(a[3]) : 600);
    return 0;
  }
  if (cmd == "stale") {
    PutHost(*store, arg(2), Standard(arg(2), 3), {}, now - 3600, true, 600);
    return 0;
  }
  if (cmd == "down") {
    PutHost(*store, arg(2), Standard(arg(2), 3), {}, now, false, 0);
    return 0;
  }
  if (cmd == "finding") return AddFinding(*store, arg(2), static_cast<Port>(std::stoi(arg(3))));
  if (cmd == "moved") {
    auto seen = Standard(arg(2), 3);
    seen.push_back(Listener(arg(2), static_cast<Port>(std::stoi(arg(4))), arg(3), arg(3)));
    PutHost(*store, arg(2), seen, {}, now, true, 600);
    return 0;
  }
  if (cmd == "hostile") return Hostile(*store);
  Die("unknown command " + cmd);
}
