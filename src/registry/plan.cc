#include "registry/plan.h"

#include <algorithm>
#include <map>

#include <fmt/core.h>

#include "base/text.h"
#include "registry/sqlite_store.h"

namespace berth::registry {
namespace {

template <class T>
std::map<std::string, const T*, std::less<>> ByName(const std::vector<T>& items) {
  std::map<std::string, const T*, std::less<>> m;
  for (const T& i : items) m.emplace(i.name, &i);
  return m;
}

std::string Brief(const Service& s) {
  std::string out = fmt::format("{}/{}", FormatRange(PortsOf(s)), ServiceProtoName(s.proto));
  if (s.group != kDefaultGroup) out += fmt::format(" in group '{}'", s.group);
  return out;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& x : v) out += (out.empty() ? "" : ", ") + x;
  return out;
}

std::string ServiceDelta(const Service& a, const Service& b) {
  std::vector<std::string> d;
  if (a.port != b.port || a.size != b.size) {
    d.push_back(fmt::format("port {} -> {}", FormatRange(PortsOf(a)), FormatRange(PortsOf(b))));
  }
  if (a.proto != b.proto) d.push_back(fmt::format("proto {} -> {}", ServiceProtoName(a.proto), ServiceProtoName(b.proto)));
  if (a.group != b.group) d.push_back(fmt::format("group '{}' -> '{}'", TerminalSafe(a.group), TerminalSafe(b.group)));
  if (a.family != b.family) d.push_back(fmt::format("family '{}' -> '{}'", TerminalSafe(a.family), TerminalSafe(b.family)));
  if (a.owner != b.owner) d.push_back(fmt::format("owner '{}' -> '{}'", TerminalSafe(a.owner), TerminalSafe(b.owner)));
  if (a.description != b.description) d.push_back("description");
  if (a.tags != b.tags) d.push_back("tags");
  if (a.sources != b.sources) d.push_back("sources");
  return Join(d);
}

template <class T, class Same, class Brief, class Delta>
void DiffList(std::vector<Change>& out, std::string_view what, const std::vector<T>& cur,
              const std::vector<T>& want, Same same, Brief brief, Delta delta) {
  auto before = ByName(cur);
  auto after = ByName(want);
  for (const auto& [name, w] : after) {
    auto it = before.find(name);
    if (it == before.end()) {
      out.push_back({Change::Kind::kAdd, std::string(what), name, brief(*w)});
    } else if (!same(*it->second, *w)) {
      out.push_back({Change::Kind::kChange, std::string(what), name, delta(*it->second, *w)});
    }
  }
  for (const auto& [name, c] : before) {
    if (!after.contains(name)) out.push_back({Change::Kind::kRemove, std::string(what), name, brief(*c)});
  }
}

}  // namespace

Result<RegistryDoc> ResolvePorts(RegistryDoc desired, const RegistryDoc& current,
                                 const HostView& host) {
  auto cur = ByName(current.services);
  std::vector<std::size_t> open;
  for (std::size_t i = 0; i < desired.services.size(); ++i) {
    Service& s = desired.services[i];
    if (s.port != 0) continue;
    auto it = cur.find(s.name);
    if (it != cur.end() && it->second->group == s.group && it->second->proto == s.proto) {
      s.port = it->second->port;
    } else {
      open.push_back(i);
    }
  }
  if (open.empty()) return desired;
  // Allocate against the desired registry itself, in memory, with the ordinary allocator.
  RegistryDoc fixed = desired;
  std::erase_if(fixed.services, [](const Service& s) { return s.port == 0; });
  auto mem = BERTH_TRY(SqliteStore::OpenMemory());
  BERTH_TRY(mem->Replace(fixed, "planned"));
  Allocator alloc(*mem, host);
  for (std::size_t i : open) {
    Service& s = desired.services[i];
    AssignRequest req;
    req.name = s.name;
    req.proto = s.proto;
    req.group = s.group;
    req.family = s.family;
    req.owner = s.owner;
    req.description = s.description;
    req.tags = s.tags;
    Assignment a = BERTH_TRY(alloc.Assign(req));
    s.port = a.record.service.port;
    if (s.family.empty()) s.family = a.record.service.family;
  }
  return desired;
}

RegistryDoc Merge(const RegistryDoc& current, const RegistryDoc& desired) {
  RegistryDoc out = desired;
  auto add = [](auto& into, const auto& from) {
    auto have = ByName(into);
    std::vector<std::string> names;
    for (const auto& x : from) {
      if (!have.contains(x.name)) into.push_back(x);
    }
    std::sort(into.begin(), into.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  };
  add(out.groups, current.groups);
  add(out.families, current.families);
  add(out.services, current.services);
  return out;
}

std::vector<Change> Diff(const RegistryDoc& current, const RegistryDoc& desired) {
  std::vector<Change> out;
  DiffList(out, "group", current.groups, desired.groups,
           [](const Group& a, const Group& b) { return a == b; },
           [](const Group& g) { return fmt::format("range {}-{}", g.range.low, g.range.high); },
           [](const Group&, const Group&) { return std::string("settings"); });
  DiffList(out, "family", current.families, desired.families,
           [](const Family& a, const Family& b) { return a == b; },
           [](const Family& f) { return fmt::format("base {}, size {}", f.base, f.size); },
           [](const Family&, const Family&) { return std::string("settings"); });
  DiffList(out, "service", current.services, desired.services, SameService, Brief, ServiceDelta);
  return out;
}

std::vector<std::string> PolicyWarnings(const RegistryDoc& desired,
                                        const std::vector<Change>& changes, const HostView& host) {
  auto groups = ByName(desired.groups);
  auto services = ByName(desired.services);
  std::vector<std::string> out;
  for (const Change& c : changes) {
    if (c.what != "service" || c.kind == Change::Kind::kRemove) continue;
    auto it = services.find(c.name);
    if (it == services.end()) continue;
    const Service& s = *it->second;
    EffectiveGroup g;
    auto git = groups.find(s.group);
    if (git != groups.end()) g.group = *git->second;
    g.group.name = s.group;
    g.includes_this_host = s.group == kDefaultGroup ||
                           std::find(g.group.hosts.begin(), g.group.hosts.end(), host.hostname) !=
                               g.group.hosts.end();
    g.ephemeral = g.group.ephemeral;
    if (g.includes_this_host) g.ephemeral.Add(host.config.ephemeral);
    HostView quiet = host;  // listeners and IANA are advice for assign, not for a declared file
    quiet.listening_tcp = {};
    quiet.listening_udp = {};
    const auto no_claims = [](Port) { return std::vector<Claim>{}; };
    for (const Violation& v : RangeViolations(PortsOf(s), s.proto, g, no_claims, quiet,
                                              /*allow_iana=*/true, !s.family.empty())) {
      out.push_back(fmt::format("service {}: {}", s.name, v.text));
    }
    // A port other products use by convention: the same warning as berth assign --port's.
    const PortRange ports = PortsOf(s);
    for (std::uint32_t p = ports.low; p <= ports.high; ++p) {
      if (auto v = ConventionalWarning(static_cast<Port>(p), s.proto, s.name)) {
        out.push_back(fmt::format("service {}: {}", s.name, v->text));
      }
    }
  }
  return out;
}

std::string FormatChanges(const std::vector<Change>& changes) {
  std::string out;
  std::size_t n[3] = {0, 0, 0};
  for (const Change& c : changes) {
    const char mark = c.kind == Change::Kind::kAdd ? '+' : c.kind == Change::Kind::kChange ? '~' : '-';
    n[static_cast<int>(c.kind)]++;
    // Names and details come from the file and the registry: terminal-safe, one line each.
    out += fmt::format("{} {} {}: {}\n", mark, c.what, TerminalSafe(c.name), TerminalSafe(c.detail, kTerminalMaxLine));
  }
  if (changes.empty()) return "no changes: the registry already matches the file\n";
  out += fmt::format("{} to add, {} to change, {} to remove\n", n[0], n[1], n[2]);
  return out;
}

}  // namespace berth::registry
