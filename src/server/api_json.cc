#include "server/api_json.h"

#include "core/iana.h"
#include "emit/findings_render.h"
#include "emit/json_writer.h"
#include "server/drift.h"

namespace berth::server {
namespace {

void Head(JsonWriter& j, const FleetSnapshot& snap) {
  j.BeginObject();
  j.Field("schema", kApiSchema);
  j.Field("revision", snap.revision);
  j.Field("read_at", snap.read_at);
  j.Key("stale");
  if (snap.stale_read.empty()) {
    j.Null();
  } else {
    j.String(snap.stale_read);
  }
}

std::string Close(JsonWriter& j) {
  j.EndObject();
  return j.Take();
}

void Range(JsonWriter& j, std::string_view key, PortRange r) {
  j.Key(key).BeginArray().Int(r.low).Int(r.high).EndArray();
}

void OptionalInt(JsonWriter& j, std::string_view key, std::optional<std::int64_t> v) {
  j.Key(key);
  if (v) {
    j.Int(*v);
  } else {
    j.Null();
  }
}

void HostObject(JsonWriter& j, const FleetSnapshot& snap, const JudgedHost& jh,
                std::int64_t now) {
  const registry::FleetHost& h = *jh.host;
  const registry::HostReport& r = h.report;
  j.BeginObject();
  j.Field("name", r.host);
  j.Field("state", HostStateName(jh.verdict.state));
  j.Field("reason", jh.verdict.reason);
  j.Field("group", r.group.empty() ? std::string(registry::kDefaultGroup) : r.group);
  Range(j, "ephemeral", r.ephemeral);
  j.Key("reserved").PortRanges(r.reserved);
  OptionalInt(j, "scanned", r.scanned > 0 ? std::optional(r.scanned) : std::nullopt);
  OptionalInt(j, "changed", r.changed > 0 ? std::optional(r.changed) : std::nullopt);
  OptionalInt(j, "sync_age_seconds", SyncAge(r, now));
  j.Field("listeners", static_cast<std::int64_t>(r.listeners));
  const auto f = snap.findings.find(r.host);
  j.Field("findings", static_cast<std::int64_t>(f == snap.findings.end() ? 0 : f->second.size()));
  j.Field("error", r.error);
  j.Field("source", registry::ReportSourceName(r.source));
  OptionalInt(j, "collected", r.source == registry::ReportSource::kCollected && r.collected > 0
                                  ? std::optional(r.collected)
                                  : std::nullopt);
  j.Key("agent");
  if (h.presence) {
    j.BeginObject();
    j.Field("version", h.presence->version);
    j.Field("started", h.presence->started);
    j.Field("interval_seconds", h.presence->interval);
    j.Field("lease_ttl_seconds", h.presence->ttl);
    OptionalInt(j, "lease_left_seconds", jh.lease_left);
    j.EndObject();
  } else {
    j.Null();
  }
  j.EndObject();
}

void HostsArray(JsonWriter& j, const FleetSnapshot& snap, std::span<const JudgedHost> hosts,
                std::int64_t now) {
  j.Key("hosts").BeginArray();
  for (const JudgedHost& h : hosts) HostObject(j, snap, h, now);
  j.EndArray();
}

void ObservationObject(JsonWriter& j, const registry::HostReport& r,
                       const registry::Observation& o) {
  j.BeginObject();
  j.Field("proto", ProtocolName(o.proto));
  j.Field("port", static_cast<std::int64_t>(o.port));
  j.Field("pid", static_cast<std::int64_t>(o.pid));
  j.Field("command", o.command);
  j.Field("service", o.service);
  j.Field("class", PortClassName(r, o.port));
  const auto iana = IanaLookup(o.port, o.proto);
  j.Field("iana", iana ? iana->service : std::string_view());
  j.Field("first_seen", o.first_seen);
  j.Field("last_seen", o.last_seen);
  j.EndObject();
}

// {remedy, subject, detail}: what would get past an error or a warning.
void RemedyObject(JsonWriter& j, const Hint& h) {
  j.BeginObject();
  j.Field("remedy", RemedyName(h.remedy));
  j.Field("subject", h.subject);
  j.Field("detail", h.detail);
  j.EndObject();
}

void ServiceObject(JsonWriter& j, const registry::ServiceRecord& rec) {
  const Service& s = rec.service;
  j.BeginObject();
  j.Field("name", s.name);
  j.Field("proto", ServiceProtoName(s.proto));
  j.Field("port", static_cast<std::int64_t>(s.port));
  j.Field("size", static_cast<std::int64_t>(s.size));  // > 1: a range claim, port .. port+size-1
  j.Field("group", s.group);
  j.Field("family", s.family);
  j.Field("owner", s.owner);
  j.Field("description", s.description);
  j.StringArray("tags", s.tags);
  j.Field("reason", rec.reason);
  j.Field("revision", rec.revision);
  j.Field("created", s.created);
  j.Field("updated", s.updated);
  j.EndObject();
}

void ClaimObject(JsonWriter& j, const registry::Claim& c) {
  j.BeginObject();
  j.Field("group", c.group);
  j.Field("proto", ProtocolName(c.slot));
  j.Field("port", static_cast<std::int64_t>(c.port));
  j.Field("service", c.service);
  j.EndObject();
}

void GroupObject(JsonWriter& j, const registry::Group& g) {
  j.BeginObject();
  j.Field("name", g.name);
  j.Field("description", g.description);
  j.StringArray("hosts", g.hosts);
  Range(j, "range", g.range);
  j.Key("ephemeral").PortRanges(g.ephemeral);
  j.Key("reserved").PortRanges(g.reserved);
  j.Key("allow").PortRanges(g.allow);
  j.EndObject();
}

void FindingsArray(JsonWriter& j, const FleetSnapshot& snap, std::string_view host) {
  j.Key("findings").BeginArray();
  for (const auto& [name, findings] : snap.findings) {
    if (!host.empty() && name != host) continue;
    for (const Finding& f : findings) {
      j.BeginObject();
      j.Field("host", name);
      j.Key("finding");
      WriteFindingJson(j, f);
      j.EndObject();
    }
  }
  j.EndArray();
}

void DriftArray(JsonWriter& j, const FleetSnapshot& snap) {
  j.Key("drift").BeginArray();
  for (const Drift& d : FindDrift(snap)) {
    j.BeginObject();
    j.Field("service", d.service);
    j.Field("group", d.group);
    j.Field("kind", DriftKindName(d.kind));
    j.Field("registered_port", static_cast<std::int64_t>(d.registered));
    j.Field("proto", ProtocolName(d.proto));
    j.Field("host", d.host);
    j.Key("seen_port");
    if (d.kind == DriftKind::kOtherPort) {
      j.Int(d.seen);
    } else {
      j.Null();
    }
    j.EndObject();
  }
  j.EndArray();
}

}  // namespace

std::string_view PortClassName(const registry::HostReport& report, Port port) {
  if (report.reserved.contains(port)) return "reserved";
  if (report.ephemeral.high != 0 && report.ephemeral.contains(port)) return "ephemeral";
  if (port < 1024) return "system";
  return "user";
}

std::string HostsJson(const FleetSnapshot& snap, std::span<const JudgedHost> hosts,
                      std::int64_t now) {
  JsonWriter j;
  Head(j, snap);
  HostsArray(j, snap, hosts, now);
  return Close(j);
}

std::string ObservationsJson(const FleetSnapshot& snap, const JudgedHost& host) {
  JsonWriter j;
  Head(j, snap);
  j.Field("host", host.host->report.host);
  j.Key("observations").BeginArray();
  if (const auto it = snap.observations.find(host.host->report.host);
      it != snap.observations.end()) {
    for (const registry::Observation& o : it->second) ObservationObject(j, host.host->report, o);
  }
  j.EndArray();
  return Close(j);
}

std::string FindingsJson(const FleetSnapshot& snap, std::string_view host) {
  JsonWriter j;
  Head(j, snap);
  FindingsArray(j, snap, host);
  return Close(j);
}

// {head..., "KEY": [write(item) for each item that passes]}.
template <class Items, class Write>
std::string ListJson(const FleetSnapshot& snap, std::string_view key, const Items& items,
                     Write write) {
  JsonWriter j;
  Head(j, snap);
  j.Key(key).BeginArray();
  for (const auto& item : items) write(j, item);
  j.EndArray();
  return Close(j);
}

std::string ServicesJson(const FleetSnapshot& snap) {
  return ListJson(snap, "services", snap.services, ServiceObject);
}

std::string ClaimsJson(const FleetSnapshot& snap, std::string_view group) {
  return ListJson(snap, "claims", snap.claims, [group](JsonWriter& j, const registry::Claim& c) {
    if (group.empty() || c.group == group) ClaimObject(j, c);
  });
}

std::string GroupsJson(const FleetSnapshot& snap) {
  return ListJson(snap, "groups", snap.groups, GroupObject);
}

std::string DriftJson(const FleetSnapshot& snap) {
  JsonWriter j;
  Head(j, snap);
  DriftArray(j, snap);
  return Close(j);
}

// Everything of the map after "hosts": the same for every request on one snapshot, so it is
// written once (25,000 listeners are 1.6 MB) as the inside of an object, without its braces.
const std::string& MapTail(const FleetSnapshot& snap) {
  std::call_once(snap.map_once, [&snap] {
    JsonWriter j;
    j.BeginObject();
    // Listeners as rows of one object per host: {"host", "rows": [[proto, port, pid, command,
    // service, class, iana, last_seen], ...]}: 25,000 listeners without 25,000 key sets.
    j.Key("listeners").BeginArray();
    for (const registry::FleetHost& h : snap.hosts) {
      const registry::HostReport& r = h.report;
      const auto it = snap.observations.find(r.host);
      if (it == snap.observations.end()) continue;
      j.BeginObject().Field("host", r.host).Key("rows").BeginArray();
      for (const registry::Observation& o : it->second) {
        const auto iana = IanaLookup(o.port, o.proto);
        j.BeginArray()
            .String(ProtocolName(o.proto))
            .Int(o.port)
            .Int(o.pid)
            .String(o.command)
            .String(o.service)
            .String(PortClassName(r, o.port))
            .String(iana ? iana->service : std::string_view())
            .Int(o.last_seen)
            .EndArray();
      }
      j.EndArray().EndObject();
    }
    j.EndArray();
    j.Key("services").BeginArray();
    for (const registry::ServiceRecord& s : snap.services) ServiceObject(j, s);
    j.EndArray();
    j.Key("claims").BeginArray();
    for (const registry::Claim& c : snap.claims) ClaimObject(j, c);
    j.EndArray();
    j.Key("groups").BeginArray();
    for (const registry::Group& g : snap.groups) GroupObject(j, g);
    j.EndArray();
    FindingsArray(j, snap, "");
    DriftArray(j, snap);
    j.EndObject();
    std::string text = j.Take();
    snap.map_tail = text.substr(1, text.size() - 2);  // without the braces
  });
  return snap.map_tail;
}

std::string MapJson(const FleetSnapshot& snap, std::span<const JudgedHost> hosts,
                    std::int64_t now, std::uint64_t generation) {
  JsonWriter j;
  Head(j, snap);
  j.Field("generation", generation);
  HostsArray(j, snap, hosts, now);
  std::string out = j.Take();  // the object is still open: the tail and its brace follow
  out += ',';
  out += MapTail(snap);
  out += '}';
  return out;
}

std::string AssignedJson(const registry::Assignment& a, std::span<const std::string> host_warnings) {
  JsonWriter j;
  j.BeginObject();
  j.Field("schema", kApiSchema);
  j.Field("created", a.created);
  j.Key("service");
  ServiceObject(j, a.record);
  j.Key("warnings").BeginArray();
  for (const registry::Violation& w : a.warnings) {
    j.BeginObject();
    j.Field("rule", registry::RuleName(w.rule));
    j.Field("message", w.text);
    j.Key("remedies").BeginArray();
    if (w.hint) RemedyObject(j, *w.hint);
    j.EndArray();
    j.EndObject();
  }
  for (const std::string& w : host_warnings) {
    j.BeginObject();
    j.Field("rule", "host");
    j.Field("message", w);
    j.Key("remedies").BeginArray().EndArray();
    j.EndObject();
  }
  j.EndArray();
  return Close(j);
}

std::string ReleasedJson(std::span<const registry::ServiceRecord> released) {
  JsonWriter j;
  j.BeginObject();
  j.Field("schema", kApiSchema);
  j.Key("released").BeginArray();
  for (const registry::ServiceRecord& s : released) ServiceObject(j, s);
  j.EndArray();
  return Close(j);
}

std::string ErrorJson(std::string_view code, std::string_view message,
                      std::span<const Hint> hints) {
  JsonWriter j;
  j.BeginObject();
  j.Field("error", code);
  j.Field("message", message);
  j.Key("remedies").BeginArray();
  for (const Hint& h : hints) RemedyObject(j, h);
  j.EndArray();
  j.EndObject();
  return j.Take() + "\n";
}

}  // namespace berth::server
