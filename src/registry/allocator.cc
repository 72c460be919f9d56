#include "registry/allocator.h"

#include <algorithm>

#include <fmt/core.h>

#include "core/conventional_ports.h"
#include "core/iana.h"

namespace berth::registry {
namespace {


bool IanaFor(Port p, ServiceProto proto) {
  return (Covers(proto, Protocol::kTcp) && IanaAssigned(p, Protocol::kTcp)) ||
         (Covers(proto, Protocol::kUdp) && IanaAssigned(p, Protocol::kUdp));
}

std::string IanaNames(Port p, ServiceProto proto) {
  std::string out;
  for (Protocol x : {Protocol::kTcp, Protocol::kUdp}) {
    if (!Covers(proto, x)) continue;
    if (auto e = IanaLookup(p, x)) {
      if (!out.empty()) out += ", ";
      out += fmt::format("{}/{} '{}' ({})", p, ProtocolName(x), e->service, e->description);
    }
  }
  return out;
}

std::string_view Stem(std::string_view service) {
  auto dash = service.rfind('-');
  return dash == std::string_view::npos ? service : service.substr(0, dash);
}

// Ports of a family's block that IANA gives to the same product as its base port
// (ms-sql-s at 1433 -> ms-sql-m at 1434): always skipped.
bool IanaSibling(const Family& f, Port p) {
  if (p == f.base) return false;
  for (Protocol x : {Protocol::kTcp, Protocol::kUdp}) {
    auto base = IanaLookup(f.base, x);
    if (!base) continue;
    for (Protocol y : {Protocol::kTcp, Protocol::kUdp}) {
      auto e = IanaLookup(p, y);
      if (e && Stem(e->service) == Stem(base->service)) return true;
    }
  }
  return false;
}

PortRange FamilyBlock(const Family& f) {
  const std::uint32_t high = std::min<std::uint32_t>(std::uint32_t{f.base} + f.size - 1, 65535);
  return PortRange{f.base, static_cast<Port>(high)};
}

std::optional<std::string> FirstLabelFamily(std::string_view name) {
  auto dot = name.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  return std::string(name.substr(0, dot));
}

// The service a request describes, before it has a port.
Service NewService(const AssignRequest& req, const std::string& group, const std::optional<Family>& family) {
  Service s;
  s.name = req.name;
  s.proto = req.proto.value_or(ServiceProto::kTcp);
  s.group = group;
  s.owner = req.owner;
  s.description = req.description;
  s.tags = req.tags;
  s.size = req.size;
  if (family) s.family = family->name;
  return s;
}

// Whose ephemeral range holds `port` (one of g.ephemeral), for the sentences that say so.
std::string EphemeralRangeOf(Port port, const EffectiveGroup& g, const HostView& host) {
  if (g.includes_this_host && host.config.ephemeral.contains(port)) {
    return fmt::format("this host's ip_local_port_range {}-{}", host.config.ephemeral.low,
                       host.config.ephemeral.high);
  }
  if (host.remote_ephemeral.contains(port)) {
    return fmt::format("the probed hosts' ephemeral range {}", host.remote_ephemeral.Format());
  }
  return fmt::format("the ephemeral ranges recorded for group '{}' ({})", g.group.name,
                     g.group.ephemeral.Format());
}

}  // namespace

std::uint64_t NameHash(std::string_view name) {
  std::uint64_t h = 14695981039346656037ull;
  for (char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

Result<EffectiveGroup> ResolveGroup(Store& store, std::string_view name, const HostView& host) {
  EffectiveGroup eg;
  auto stored = BERTH_TRY(store.GetGroup(name));
  if (stored) {
    eg.group = std::move(*stored);
  } else if (name == kDefaultGroup) {
    eg.group.name = std::string(kDefaultGroup);
  } else {
    return Fail(ErrorCode::kNotFound, fmt::format("unknown group '{}'", name),
                {{Remedy::kCreateGroup, std::string(name)}, {Remedy::kUseDefaultGroup}});
  }
  eg.includes_this_host =
      eg.group.name == kDefaultGroup ||
      std::find(eg.group.hosts.begin(), eg.group.hosts.end(), host.hostname) != eg.group.hosts.end();
  eg.ephemeral = eg.group.ephemeral;
  eg.ephemeral.Add(host.remote_ephemeral);
  eg.reserved = eg.group.reserved;
  if (eg.includes_this_host) {
    eg.ephemeral.Add(host.config.ephemeral);
    eg.reserved.Add(host.config.reserved);
  }
  return eg;
}

std::vector<Violation> RuleViolations(Port port, ServiceProto proto, const EffectiveGroup& g,
                                      const std::vector<Claim>& claims, const HostView& host,
                                      bool allow_iana, bool in_family,
                                      std::string_view self_name) {
  std::vector<Violation> out;
  if (port == 0) {
    out.push_back({"port 0 means 'any port' to the kernel: give a port 1-65535", {}, Rule::kPortZero});
  }
  if (!in_family && !g.group.range.contains(port)) {
    out.push_back({fmt::format("{} is outside group '{}''s range {}-{} (the registered user range "
                               "{}-{} unless the group says otherwise)",
                               port, g.group.name, g.group.range.low, g.group.range.high,
                               kUserRange.low, kUserRange.high),
                   Hint{Remedy::kWidenGroupRange, g.group.name}, Rule::kRange});
  }
  if (g.ephemeral.contains(port)) {
    out.push_back({fmt::format("{} is inside {}: the kernel hands these ports to outbound "
                               "connections, so the service could find its port taken at start",
                               port, EphemeralRangeOf(port, g, host)),
                   Hint{Remedy::kReservePorts, g.group.name},
                   Rule::kEphemeral});
  }
  for (const Claim& c : claims) {
    if (c.port == port && Covers(proto, c.slot) && c.service != self_name) {
      out.push_back({fmt::format("{}/{} is already registered to '{}' in group '{}'", port,
                                 ProtocolName(c.slot), c.service, g.group.name),
                     {}, Rule::kClaimed});
    }
  }
  // When the listener is the service itself, adopting the port registers it where it runs.
  const std::optional<Hint> adopt =
      self_name.empty() ? std::nullopt
                        : std::optional<Hint>(Hint{Remedy::kAdoptListener, std::string(self_name),
                                                   fmt::format("{}/{}", port, ServiceProtoName(proto))});
  if (Covers(proto, Protocol::kTcp) && host.listening_tcp.contains(port)) {
    out.push_back({fmt::format("{}/tcp has a listener on this host right now (see 'berth scan')", port),
                   adopt, Rule::kListening});
  }
  if (Covers(proto, Protocol::kUdp) && host.listening_udp.contains(port)) {
    out.push_back({fmt::format("{}/udp is bound on this host right now (see 'berth scan')", port),
                   adopt, Rule::kListening});
  }
  if (!allow_iana && IanaFor(port, proto)) {
    out.push_back({fmt::format("IANA assigns {}", IanaNames(port, proto)), Hint{Remedy::kAllowIana},
                   Rule::kIana});
  }
  return out;
}

std::vector<Violation> RangeViolations(PortRange ports, ServiceProto proto, const EffectiveGroup& g,
                                       const std::function<std::vector<Claim>(Port)>& claims,
                                       const HostView& host, bool allow_iana, bool in_family,
                                       std::string_view self_name) {
  std::vector<std::pair<PortSet, Violation>> by_rule;  // in the order first met
  for (std::uint32_t p = ports.low; p <= ports.high; ++p) {
    const Port port = static_cast<Port>(p);
    for (Violation& v : RuleViolations(port, proto, g, claims(port), host, allow_iana, in_family,
                                       self_name)) {
      auto it = std::find_if(by_rule.begin(), by_rule.end(),
                             [&](const auto& e) { return e.second.rule == v.rule; });
      if (it == by_rule.end()) {
        by_rule.emplace_back(PortSet{{port, port}}, std::move(v));
      } else {
        it->first.Add(port);
      }
    }
  }
  std::vector<Violation> out;
  for (auto& [set, v] : by_rule) {
    if (v.rule == Rule::kListening && v.hint && ports.size() > 1) {
      v.hint->detail = fmt::format("{}/{}", FormatRange(ports), ServiceProtoName(proto));  // adopt it whole
    }
    if (set.count() > 1) {
      v.text = fmt::format("{} ports of the range ({}) break this rule, the first: {}", set.count(),
                           set.Format(), v.text);
    }
    out.push_back(std::move(v));
  }
  return out;
}

std::string_view RuleName(Rule r) {
  switch (r) {
    case Rule::kPortZero: return "port-zero";
    case Rule::kRange: return "range";
    case Rule::kEphemeral: return "ephemeral";
    case Rule::kClaimed: return "claimed";
    case Rule::kListening: return "listening";
    case Rule::kIana: return "iana";
    case Rule::kConventional: return "conventional";
  }
  return "range";
}

std::optional<Violation> ConventionalWarning(Port port, ServiceProto proto, std::string_view name) {
  for (Protocol x : {Protocol::kTcp, Protocol::kUdp}) {
    if (!Covers(proto, x)) continue;
    const auto others = ConventionalOthers(port, x, name);
    if (others.empty()) continue;
    return Violation{ConventionalWhy(others, name),
                     std::nullopt, Rule::kConventional};
  }
  return std::nullopt;
}

void Allocator::Reload() {
  for (auto& [name, cache] : groups_) cache.stale = true;
}

Result<const ClaimIndex*> Allocator::Claims(const std::string& group, bool exact) {
  return exact ? store_.ClaimedPorts(group) : store_.ClaimsToGuide(group);
}

Result<Allocator::GroupCache*> Allocator::Cache(const std::string& group, bool exact) {
  auto it = groups_.find(group);
  if (it != groups_.end() && !it->second.stale) {
    GroupCache& cache = it->second;
    if (exact && !cache.exact) {
      cache.index = BERTH_TRY(store_.ClaimedPorts(group));
      cache.exact = true;
    }
    return &cache;
  }
  if (it != groups_.end()) {
    GroupCache& cache = it->second;
    EffectiveGroup fresh = BERTH_TRY(ResolveGroup(store_, group, host_));
    if (fresh.ephemeral != cache.group.ephemeral || !(fresh.group.range == cache.group.group.range)) {
      cache.spaces.clear();  // the candidate ports depend on these
    }
    cache.group = std::move(fresh);
    cache.index = BERTH_TRY(Claims(group, exact));
    cache.exact = exact;
    cache.held.Clear();  // a new step: what this Allocator claimed before is in the store's index
    cache.stale = false;
    return &cache;
  }
  GroupCache cache;
  cache.group = BERTH_TRY(ResolveGroup(store_, group, host_));
  cache.index = BERTH_TRY(Claims(group, exact));
  cache.exact = exact;
  return &groups_.emplace(group, std::move(cache)).first->second;
}

std::vector<Claim> Allocator::ClaimsAt(const GroupCache& cache, Port port) {
  std::vector<Claim> out = cache.index->At(cache.group.group.name, port);
  for (Claim& c : cache.held.At(cache.group.group.name, port)) out.push_back(std::move(c));
  return out;
}

const std::vector<Port>& Allocator::Space(GroupCache& cache, ServiceProto proto, bool allow_iana) {
  const int key = static_cast<int>(proto) * 2 + (allow_iana ? 1 : 0);
  auto it = cache.spaces.find(key);
  if (it != cache.spaces.end()) return it->second;
  std::vector<Port> space;
  const PortRange r = cache.group.group.range;
  for (std::uint32_t p = std::max<std::uint32_t>(r.low, 1); p <= r.high; ++p) {
    const Port port = static_cast<Port>(p);
    if (cache.group.ephemeral.contains(port)) continue;
    if (!allow_iana && IanaFor(port, proto)) continue;
    // Ports products use by convention (Prometheus' 9090, Jaeger's 16686, ...) are never
    // chosen for a service: only asked for (--port), and then with a warning.
    if (ConventionalWarning(port, proto, "")) continue;
    space.push_back(port);
  }
  return cache.spaces.emplace(key, std::move(space)).first->second;
}

bool Allocator::Free(const GroupCache& cache, Port p, ServiceProto proto) const {
  for (Protocol slot : {Protocol::kTcp, Protocol::kUdp}) {
    if (!Covers(proto, slot)) continue;
    const PortSet& listening = slot == Protocol::kTcp ? host_.listening_tcp : host_.listening_udp;
    if (cache.index->Holds(slot, p) || cache.held.Holds(slot, p) || listening.contains(p)) return false;
  }
  return true;
}

std::vector<Violation> Allocator::Violations(const GroupCache& cache, const Service& s, Port port,
                                             bool allow_iana, bool in_family) const {
  const PortRange ports{port, static_cast<Port>(port + s.size - 1)};
  return RangeViolations(ports, s.proto, cache.group,
                         [&](Port p) { return ClaimsAt(cache, p); }, host_, allow_iana, in_family,
                         s.name);
}

Result<std::pair<Port, std::string>> Allocator::PlaceRange(GroupCache& cache, const Service& s,
                                                           bool allow_iana) {
  const std::vector<Port>& space = Space(cache, s.proto, allow_iana);
  const std::size_t n = s.size;
  const EffectiveGroup& g = cache.group;
  const std::string policy = fmt::format(
      "{}-{} (minus ephemeral {}{})", g.group.range.low, g.group.range.high, g.ephemeral.Format(),
      allow_iana ? "" : ", minus IANA-assigned");
  if (space.size() >= n) {
    const std::size_t start = static_cast<std::size_t>(NameHash(s.name) % space.size());
    for (std::size_t k = 0; k < space.size();) {
      const std::size_t i = (start + k) % space.size();
      // The block is a run of the space: none of its ports is ephemeral or (unless allowed)
      // IANA's.
      if (i + n > space.size() || std::size_t{space[i + n - 1]} - space[i] != n - 1) {
        ++k;
        continue;
      }
      std::size_t free = 0;
      while (free < n && Free(cache, space[i + free], s.proto)) ++free;
      if (free < n) {
        k += free + 1;  // every block starting up to the taken port holds it: skip them
        continue;
      }
      return std::pair{space[i],
                       fmt::format("a range of {} ports placed by name hash: the first {} "
                                   "consecutive free-policy ports of {} from {} onward",
                                   n, n, policy, space[start])};
    }
  }
  std::vector<Hint> hints{{Remedy::kWidenGroupRange, g.group.name}};
  if (!allow_iana) hints.push_back({Remedy::kAllowIana});
  return Fail(ErrorCode::kUnavailable,
              fmt::format("no {} consecutive free ports for '{}' in group '{}': {} has no such "
                          "run left",
                          n, s.name, g.group.name, policy),
              std::move(hints));
}

Result<std::pair<Port, std::string>> Allocator::Place(GroupCache& cache, const Service& s,
                                                      bool allow_iana,
                                                      const std::optional<Family>& family) {
  if (family) {
    const PortRange block = FamilyBlock(*family);
    std::vector<std::string> skipped;
    for (std::uint32_t p = block.low; p <= block.high; ++p) {
      const Port port = static_cast<Port>(p);
      if (family->skip.contains(port)) continue;
      if (IanaSibling(*family, port)) {
        skipped.push_back(fmt::format("{} (IANA {}, same product as the base port)", port,
                                      IanaNames(port, s.proto)));
        continue;
      }
      if (port != family->base && !allow_iana && IanaFor(port, s.proto)) continue;
      if (cache.group.ephemeral.contains(port) || !Free(cache, port, s.proto)) continue;
      std::string why = fmt::format("family '{}': first free port of its block {}-{}", family->name,
                                    block.low, block.high);
      if (!skipped.empty()) {
        why += "; skipped";
        for (const std::string& k : skipped) why += " " + k;
      }
      return std::pair{port, why};
    }
    std::vector<Hint> hints{{Remedy::kWidenFamily, family->name, std::to_string(family->base)}};
    if (!allow_iana) hints.push_back({Remedy::kAllowIana});
    return Fail(ErrorCode::kUnavailable,
                fmt::format("family '{}' has no free port left in its block {}-{} (claimed, "
                            "listening, ephemeral{} or skipped)",
                            family->name, block.low, block.high, allow_iana ? "" : ", IANA-assigned"),
                std::move(hints));
  }
  const std::vector<Port>& space = Space(cache, s.proto, allow_iana);
  if (!space.empty()) {
    const std::size_t start = static_cast<std::size_t>(NameHash(s.name) % space.size());
    for (std::size_t i = 0; i < space.size(); ++i) {
      const Port port = space[(start + i) % space.size()];
      if (!Free(cache, port, s.proto)) continue;
      return std::pair{
          port, fmt::format("placed by name hash: FNV-1a('{}') mod {} free-policy ports of {}-{} "
                            "(minus ephemeral {}{}) starts at {}, {} taken port(s) skipped",
                            s.name, space.size(), cache.group.group.range.low,
                            cache.group.group.range.high, cache.group.ephemeral.Format(),
                            allow_iana ? "" : ", minus IANA-assigned", space[start], i)};
    }
  }
  std::vector<Hint> hints{{Remedy::kWidenGroupRange, cache.group.group.name}};
  if (!allow_iana) hints.push_back({Remedy::kAllowIana});
  return Fail(ErrorCode::kUnavailable,
              fmt::format("no free port for '{}' in group '{}': range {}-{}{}{} is full",
                          s.name, cache.group.group.name, cache.group.group.range.low,
                          cache.group.group.range.high,
                          cache.group.ephemeral.empty() ? ""
                                                        : " minus ephemeral " + cache.group.ephemeral.Format(),
                          allow_iana ? "" : " minus IANA-assigned ports"),
              std::move(hints));
}

Result<std::optional<Family>> Allocator::FamilyOf(const AssignRequest& req) {
  if (!req.family.empty()) {
    auto family = BERTH_TRY(store_.GetFamily(req.family));
    if (!family) {
      return Fail(ErrorCode::kNotFound, fmt::format("unknown family '{}'", req.family),
                  {{Remedy::kCreateFamily, req.family}});
    }
    return family;
  }
  if (auto label = FirstLabelFamily(req.name)) return store_.GetFamily(*label);
  return std::optional<Family>{};
}

namespace {

// The free text of a request, checked before anything is stored (ValidateText).
Result<void> ValidateRequestText(const AssignRequest& req) {
  BERTH_TRY(ValidateText("owner", req.owner));
  BERTH_TRY(ValidateText("description", req.description));
  for (const std::string& t : req.tags) BERTH_TRY(ValidateText("tag", t));
  return {};
}

}  // namespace

void Allocator::Hold(GroupCache& cache, const Service& s) {
  const PortRange ports = PortsOf(s);
  for (Protocol p : {Protocol::kTcp, Protocol::kUdp}) {
    if (!Covers(s.proto, p)) continue;
    for (std::uint32_t port = ports.low; port <= ports.high; ++port) {
      cache.held.Add(p, static_cast<Port>(port), s.name);
    }
  }
}

namespace {

// A range's size, and a range not in a family. Failure: kInvalidArgument.
Result<void> ValidateRequestSize(const AssignRequest& req) {
  if (req.size < 1 || req.size > kMaxServiceSize) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("'{}': a range holds 1 to {} ports, not {}", req.name, kMaxServiceSize,
                            req.size));
  }
  if (req.port && std::uint32_t{*req.port} + req.size - 1 > 65535) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("'{}': {} ports from {} end past 65535", req.name, req.size, *req.port));
  }
  if (req.size > 1 && !req.family.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("'{}': a range is placed in its group's range, not in a family's "
                            "block: leave out the family",
                            req.name));
  }
  return {};
}

}  // namespace

Result<std::optional<Family>> Allocator::RequestFamily(const AssignRequest& req) {
  if (req.size > 1) return std::optional<Family>{};  // a name's first label names no block
  return FamilyOf(req);
}

PrefetchHint HintFor(std::span<const AssignRequest> requests) {
  PrefetchHint h;
  for (const AssignRequest& req : requests) {
    h.services.push_back(req.name);
    h.groups.push_back(req.group.empty() ? std::string(kDefaultGroup) : req.group);
    if (!req.family.empty()) {
      h.families.push_back(req.family);
    } else if (auto label = FirstLabelFamily(req.name)) {
      h.families.push_back(std::move(*label));
    }
  }
  return h;
}

Result<Assignment> Allocator::Assign(const AssignRequest& req) {
  BERTH_TRY(ValidateServiceName(req.name));
  BERTH_TRY(ValidateRequestText(req));
  BERTH_TRY(ValidateRequestSize(req));
  const std::string group = req.group.empty() ? std::string(kDefaultGroup) : req.group;
  // The store's claim reports an existing name by itself; look first only when the request
  // pins something that an existing registration could contradict.
  const bool pinned = req.port || req.proto || !req.group.empty() || req.size > 1;
  if (auto existing = pinned ? BERTH_TRY(store_.GetService(req.name)) : std::nullopt) {
    const Service& e = existing->service;
    std::vector<std::string> diffs;
    if (req.port && *req.port != e.port) diffs.push_back(fmt::format("port {}", e.port));
    if (req.size > 1 && req.size != e.size) diffs.push_back(fmt::format("{} port(s), {}", e.size, FormatRange(PortsOf(e))));
    if (req.proto && *req.proto != e.proto) diffs.push_back(fmt::format("protocol {}", ServiceProtoName(e.proto)));
    if (!req.group.empty() && group != e.group) diffs.push_back(fmt::format("group '{}'", e.group));
    if (!diffs.empty()) {
      std::string list;
      for (const auto& d : diffs) list += (list.empty() ? "" : ", ") + d;
      return Fail(ErrorCode::kConflict,
                  fmt::format("'{}' is already registered with {}: a name keeps its port",
                              req.name, list),
                  {{Remedy::kReleaseFirst, req.name}});
    }
    return Assignment{std::move(*existing), false};
  }

  // A placed single port may be chosen from a guide (the claim's commit checks it); a port
  // asked for and a range are checked against every claim here, for the message.
  GroupCache* cache = BERTH_TRY(Cache(group, /*exact=*/req.port || req.size > 1));
  const std::optional<Family> family = BERTH_TRY(RequestFamily(req));
  const Service s = NewService(req, group, family);

  std::vector<Violation> warnings;
  for (int attempt = 0; attempt < 100000; ++attempt) {
    ServiceRecord rec;
    rec.service = s;
    if (req.port) {
      auto broken = Violations(*cache, s, *req.port, req.allow_iana, family.has_value());
      const PortRange asked{*req.port, static_cast<Port>(*req.port + s.size - 1)};
      const bool adopted = req.adopt.Intersect(asked).count() == asked.size();
      if (adopted) {
        // The service holds the port already: its listener is no conflict, and an ephemeral
        // range is a risk to warn of (while it is down), not a reason to refuse. A range
        // stays out of every ephemeral range, as assign --size does: the kernel would hand
        // its idle ports to outbound connections.
        warnings.clear();
        std::erase_if(broken, [&](const Violation& v) {
          if (v.rule == Rule::kEphemeral && s.size > 1) return false;
          if (v.rule == Rule::kEphemeral) {
            warnings.push_back(
                {fmt::format("{} is inside {}: while '{}' is down (a restart, a crash) the "
                             "kernel may hand the port to an outbound connection, and '{}' "
                             "then cannot bind it",
                             *req.port, EphemeralRangeOf(*req.port, cache->group, host_), s.name,
                             s.name),
                 v.hint, v.rule});
          }
          return v.rule == Rule::kListening || v.rule == Rule::kEphemeral;
        });
      }
      if (!broken.empty()) {
        std::string msg = fmt::format("cannot register '{}' on {}/{}:", req.name,
                                      FormatRange({*req.port, static_cast<Port>(*req.port + s.size - 1)}),
                                      ServiceProtoName(s.proto));
        std::vector<Hint> hints;
        for (const auto& b : broken) {
          msg += "\n  - " + b.text;
          if (b.hint) hints.push_back(*b.hint);
        }
        return Fail(ErrorCode::kInvalidArgument, msg, std::move(hints));
      }
      rec.service.port = *req.port;
      rec.reason = adopted ? "adopted: the port its listener holds now, checked against every "
                             "other rule"
                           : "requested explicitly (--port), checked against every rule";
    } else {
      auto placed = s.size > 1 ? PlaceRange(*cache, s, req.allow_iana)
                               : Place(*cache, s, req.allow_iana, family);
      if (!placed) {
        // A registered name keeps its port even when no new one would fit.
        if (auto existing = BERTH_TRY(store_.GetService(req.name))) {
          return Assignment{std::move(*existing), false};
        }
        return std::unexpected(placed.error());
      }
      rec.service.port = placed->first;
      rec.reason = std::move(placed->second);
    }
    auto outcome = store_.ClaimService(rec);
    if (outcome) {
      Hold(*cache, outcome->record.service);
      const bool created = outcome->status == ClaimStatus::kClaimed;
      if (auto c = ConventionalWarning(outcome->record.service.port, s.proto, s.name); c && created) {
        warnings.push_back(std::move(*c));
      }
      return Assignment{std::move(outcome->record), created, std::move(warnings)};
    }
    if (outcome.error().code != ErrorCode::kConflict) return std::unexpected(outcome.error());
    // Another process claimed the port between our read and our write: refresh the claims
    // (the loser learns the winner) and probe onward.
    cache->index = BERTH_TRY(Claims(group, cache->exact));
    if (req.port) continue;  // re-check the explicit port against the fresh claims
  }
  return Fail(ErrorCode::kUnavailable, fmt::format("could not claim a port for '{}': the registry "
                                                   "kept changing; retry", req.name));
}

Result<Proposal> Allocator::Propose(const AssignRequest& req) {
  BERTH_TRY(ValidateServiceName(req.name));
  BERTH_TRY(ValidateRequestText(req));
  BERTH_TRY(ValidateRequestSize(req));
  if (auto held = proposals_.find(req.name); held != proposals_.end()) return held->second;
  if (auto existing = BERTH_TRY(store_.GetService(req.name))) {
    return proposals_.emplace(req.name, Proposal{std::move(*existing), true}).first->second;
  }
  const std::string group = req.group.empty() ? std::string(kDefaultGroup) : req.group;
  GroupCache* cache = BERTH_TRY(Cache(group, /*exact=*/true));
  const std::optional<Family> family = BERTH_TRY(RequestFamily(req));
  ServiceRecord rec;
  rec.service = NewService(req, group, family);
  Service& s = rec.service;
  std::string lost;
  if (req.port) {
    auto broken = Violations(*cache, s, *req.port, req.allow_iana, family.has_value());
    if (broken.empty()) {
      s.port = *req.port;
      rec.reason = "preferred port, checked against every rule";
    } else {
      lost = fmt::format("preferred port {} not used ({}); ", *req.port, broken.front().text);
    }
  }
  if (s.port == 0) {
    auto placed = BERTH_TRY(s.size > 1 ? PlaceRange(*cache, s, req.allow_iana)
                                       : Place(*cache, s, req.allow_iana, family));
    s.port = placed.first;
    rec.reason = lost + placed.second;
  }
  Hold(*cache, s);
  return proposals_.emplace(req.name, Proposal{std::move(rec), false}).first->second;
}

}  // namespace berth::registry
