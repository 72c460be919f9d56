#include "emit/registry_render.h"

#include <algorithm>

#include <fmt/core.h>

#include "base/text.h"
#include "emit/json_writer.h"
#include "emit/table.h"
#include "registry/berth_toml.h"

namespace berth {
namespace {

JsonWriter Pretty() { return JsonWriter(JsonLayout::kPretty, JsonEscaping::kNlohmann); }

void Finish(JsonWriter& j, const Sink& sink) {
  j.buffer() += '\n';
  sink(j.Take());
}

std::string OrDash(const std::string& s) { return s.empty() ? "-" : TerminalSafe(s); }
std::string SetOrDash(const PortSet& s) { return s.empty() ? "-" : s.Format(); }

void WriteObservation(JsonWriter& j, const registry::Observation& o) {
  j.BeginObject();
  j.Field("command", o.command);
  j.Field("first_seen", registry::FormatUtc(o.first_seen));
  j.Field("host", o.host);
  j.Field("last_seen", registry::FormatUtc(o.last_seen));
  j.Field("pid", o.pid);
  j.Field("port", o.port);
  j.Field("proto", ProtocolName(o.proto));
  j.EndObject();
}

// What a service object may carry beyond the record: assign's created_now, show's
// observations. Written at their places in the alphabetical order.
struct ServiceExtras {
  const bool* created_now = nullptr;
  std::span<const registry::Observation> seen;
  bool with_seen = false;
  bool with_schema = false;  // the object is the whole document
};

// The service object, keys alphabetical (cli ServiceJson, as nlohmann sorted it).
void WriteServiceJson(JsonWriter& j, const registry::ServiceRecord& r,
                      const ServiceExtras& extras = {}) {
  const Service& s = r.service;
  j.BeginObject();
  j.Field("created", registry::FormatUtc(s.created));
  if (extras.created_now != nullptr) j.Field("created_now", *extras.created_now);
  j.Field("description", s.description);
  j.Field("family", s.family);
  j.Field("group", s.group);
  if (extras.with_seen) {
    j.Key("last_seen");
    if (extras.seen.empty()) j.Null(); else WriteObservation(j, extras.seen.front());
  }
  j.Field("name", s.name);
  if (extras.with_seen) {
    j.Key("observations").BeginArray();
    for (const registry::Observation& o : extras.seen) WriteObservation(j, o);
    j.EndArray();
  }
  j.Field("owner", s.owner);
  j.Field("port", s.port);
  j.Field("proto", ServiceProtoName(s.proto));
  j.Field("reason", r.reason);
  j.Field("revision", r.revision);
  if (extras.with_schema) j.Field("schema", kRegistrySchema);
  j.Field("size", s.size);
  j.StringArray("sources", s.sources);
  j.StringArray("tags", s.tags);
  j.Field("updated", registry::FormatUtc(s.updated));
  j.EndObject();
}

void WriteGroupJson(JsonWriter& j, const registry::Group& g) {
  j.BeginObject();
  j.Key("allow").PortRanges(g.allow);
  j.Field("description", g.description);
  j.Key("ephemeral").PortRanges(g.ephemeral);
  j.StringArray("hosts", g.hosts);
  j.Field("name", g.name);
  j.Key("range").PortRanges(PortSet{{g.range.low, g.range.high}});
  j.Key("reserved").PortRanges(g.reserved);
  j.EndObject();
}

void WriteFamilyJson(JsonWriter& j, const registry::Family& f) {
  j.BeginObject();
  j.Field("base", f.base);
  j.Field("description", f.description);
  j.Field("name", f.name);
  j.Field("size", f.size);
  j.Key("skip").PortRanges(f.skip);
  j.EndObject();
}

// {"KEY": [each item], "schema": "berth.registry/2"} then a newline: the registry's list
// documents (groups, families, released services).
template <class Items, class Write>
void RenderListJson(std::string_view key, const Items& items, Write write, const Sink& sink) {
  JsonWriter j = Pretty();
  j.BeginObject().Key(key).BeginArray();
  for (const auto& item : items) write(j, item);
  j.EndArray().Field("schema", kRegistrySchema).EndObject();
  Finish(j, sink);
}

}  // namespace

void RenderServiceList(std::span<const registry::ServiceRecord> rows, std::int64_t revision,
                       RenderForm form, const Sink& sink) {
  if (form == RenderForm::kJson) {
    JsonWriter j = Pretty();
    j.BeginObject().Field("revision", revision).Field("schema", kRegistrySchema);
    j.Key("services").BeginArray();
    for (const auto& r : rows) WriteServiceJson(j, r);
    j.EndArray().EndObject();
    Finish(j, sink);
    return;
  }
  if (rows.empty()) {
    sink("no services registered (or none matches the filters)\n");
    return;
  }
  // PROTO, GROUP and FAMILY keep the fixed widths this table always had.
  Table table({{"NAME"},
               {"PORT", Align::kRight, 5, true},
               {"PROTO", Align::kLeft, 5, true},
               {"GROUP", Align::kLeft, 12, true},
               {"FAMILY", Align::kLeft, 12, true},
               {"OWNER"}});
  for (const auto& r : rows) {
    const Service& s = r.service;
    table.AddRow({TerminalSafe(s.name), FormatRange(PortsOf(s)),
                  std::string(ServiceProtoName(s.proto)), TerminalSafe(s.group), OrDash(s.family),
                  OrDash(s.owner)});
  }
  sink(table.Format());
}

void RenderServiceShow(const registry::ServiceRecord& rec,
                       std::span<const registry::Observation> seen, RenderForm form,
                       const Sink& sink) {
  if (form == RenderForm::kJson) {
    JsonWriter j = Pretty();
    ServiceExtras extras;
    extras.seen = seen;
    extras.with_seen = true;
    extras.with_schema = true;
    WriteServiceJson(j, rec, extras);
    Finish(j, sink);
    return;
  }
  const Service& s = rec.service;
  std::string out = fmt::format("{}\n  port        {}/{}{}\n  group       {}\n", TerminalSafe(s.name),
                                FormatRange(PortsOf(s)), ServiceProtoName(s.proto),
                                s.size > 1 ? fmt::format(" (a range of {} ports)", s.size) : "",
                                TerminalSafe(s.group));
  if (!s.family.empty()) out += fmt::format("  family      {}\n", TerminalSafe(s.family));
  if (!s.owner.empty()) out += fmt::format("  owner       {}\n", TerminalSafe(s.owner));
  if (!s.description.empty()) {
    out += fmt::format("  description {}\n", TerminalSafe(s.description));
  }
  if (!s.tags.empty()) {
    std::string tags;
    for (const auto& t : s.tags) tags += (tags.empty() ? "" : ", ") + TerminalSafe(t);
    out += fmt::format("  tags        {}\n", tags);
  }
  out += fmt::format("  why         {}\n", TerminalSafe(rec.reason, kTerminalMaxLine));
  out += fmt::format("  registered  {} (updated {})\n", registry::FormatUtc(s.created),
                     registry::FormatUtc(s.updated));
  if (seen.empty()) {
    out += "  last seen   never seen listening (run 'berth scan' on its host)\n";
  } else {
    const registry::Observation& o = seen.front();
    out += fmt::format("  last seen   {} on {}:{}/{} by {} (pid {}){}\n",
                       registry::FormatUtc(o.last_seen), TerminalSafe(o.host), o.port,
                       ProtocolName(o.proto), o.command.empty() ? "?" : TerminalSafe(o.command),
                       o.pid, !PortsOf(s).contains(o.port) ? "  DRIFTED: not its registered port" : "");
  }
  sink(out);
}

void RenderGroupList(std::span<const registry::Group> groups, RenderForm form, const Sink& sink) {
  if (form == RenderForm::kJson) {
    RenderListJson("groups", groups, WriteGroupJson, sink);
    return;
  }
  if (groups.empty()) {
    sink("no groups recorded: the default group is this host with its live ranges\n");
    return;
  }
  Table table({{"NAME"}, {"RANGE"}, {"HOSTS"}, {"EPHEMERAL"}, {"RESERVED"}, {"ALLOW"}});
  for (const auto& g : groups) {
    std::string hosts;
    for (const auto& h : g.hosts) hosts += (hosts.empty() ? "" : ",") + TerminalSafe(h, 64);
    table.AddRow({TerminalSafe(g.name), fmt::format("{}-{}", g.range.low, g.range.high),
                  hosts.empty() ? "-" : hosts, SetOrDash(g.ephemeral), SetOrDash(g.reserved),
                  SetOrDash(g.allow)});
  }
  sink(table.Format());
}

void RenderFamilyList(std::span<const registry::Family> families, RenderForm form,
                      const Sink& sink) {
  if (form == RenderForm::kJson) {
    RenderListJson("families", families, WriteFamilyJson, sink);
    return;
  }
  if (families.empty()) {
    sink("no families\n");
    return;
  }
  Table table({{"NAME"}, {"BASE"}, {"SIZE"}, {"BLOCK"}, {"SKIP"}});
  for (const auto& f : families) {
    const std::uint32_t high = std::min<std::uint32_t>(std::uint32_t{f.base} + f.size - 1, 65535);
    table.AddRow({TerminalSafe(f.name), std::to_string(f.base), std::to_string(f.size),
                  fmt::format("{}-{}", f.base, high), SetOrDash(f.skip)});
  }
  sink(table.Format());
}

void RenderGroupAdded(const registry::Group& g, RenderForm form, const Sink& sink) {
  if (form == RenderForm::kJson) {
    JsonWriter j = Pretty();
    j.BeginObject().Key("group");
    WriteGroupJson(j, g);
    j.Field("schema", kRegistrySchema).EndObject();
    Finish(j, sink);
    return;
  }
  sink(fmt::format("group {}: range {}-{}, ephemeral {}, reserved {}\n", TerminalSafe(g.name),
                   g.range.low, g.range.high, SetOrDash(g.ephemeral), SetOrDash(g.reserved)));
}

void RenderFamilyAdded(const registry::Family& f, RenderForm form, const Sink& sink) {
  if (form == RenderForm::kJson) {
    JsonWriter j = Pretty();
    j.BeginObject().Key("family");
    WriteFamilyJson(j, f);
    j.Field("schema", kRegistrySchema).EndObject();
    Finish(j, sink);
    return;
  }
  const std::int64_t last = std::min<std::int64_t>(65535, std::int64_t{f.base} + f.size - 1);
  sink(fmt::format("family {}: block {}-{}\n", TerminalSafe(f.name), f.base, last));
}

void RenderRegistryJson(const registry::RegistryDoc& doc, const Sink& sink) {
  JsonWriter j = Pretty();
  j.BeginObject();
  j.Key("families").BeginArray();
  for (const auto& f : doc.families) WriteFamilyJson(j, f);
  j.EndArray();
  j.Key("groups").BeginArray();
  for (const auto& g : doc.groups) WriteGroupJson(j, g);
  j.EndArray();
  j.Field("schema", kRegistrySchema);
  j.Key("services").BeginArray();
  for (const Service& s : doc.services) WriteServiceJson(j, registry::ServiceRecord{s, "", 0});
  j.EndArray();
  j.EndObject();
  Finish(j, sink);
}

void RenderAssignments(std::span<const registry::Assignment> assigned, std::size_t requested,
                       RenderForm form, const Sink& sink) {
  if (form == RenderForm::kJson) {
    JsonWriter j = Pretty();
    const bool one = requested == 1 && assigned.size() == 1;
    if (!one) j.BeginObject().Field("schema", kRegistrySchema).Key("services").BeginArray();
    for (const auto& a : assigned) {
      ServiceExtras extras;
      extras.created_now = &a.created;
      extras.with_schema = one;
      WriteServiceJson(j, a.record, extras);
    }
    if (!one) j.EndArray().EndObject();
    Finish(j, sink);
    return;
  }
  std::string out;
  for (const auto& a : assigned) {
    const Service& s = a.record.service;
    out += requested == 1 ? fmt::format("{}\n", FormatRange(PortsOf(s)))
                          : fmt::format("{} {}\n", TerminalSafe(s.name), FormatRange(PortsOf(s)));
  }
  sink(out);
}

void RenderAssignExplanation(const registry::Assignment& a, const Sink& sink) {
  const Service& s = a.record.service;
  sink(fmt::format("{} {}/{}: {} ({})\n", TerminalSafe(s.name), FormatRange(PortsOf(s)), ServiceProtoName(s.proto),
                   a.created ? "assigned" : "already registered", TerminalSafe(a.record.reason)));
}

void RenderAdoption(const registry::Assignment& a, std::span<const PortHolder> holders,
                    RenderForm form, const Sink& sink) {
  const Service& s = a.record.service;
  if (form == RenderForm::kJson) {
    JsonWriter j = Pretty();
    j.BeginObject();
    j.Key("listeners").BeginArray();
    for (const PortHolder& h : holders) {
      j.BeginObject();
      j.Field("endpoint", h.endpoint);
      j.Key("processes").BeginArray();
      for (const ProcessInfo& p : h.processes) {
        j.BeginObject();
        j.Field("command", p.command);
        j.Field("pid", p.pid);
        j.Field("unit", p.unit);
        j.Field("user", p.user);
        j.EndObject();
      }
      j.EndArray();
      j.Field("proto", ProtocolName(h.proto));
      j.Field("uid", h.uid);
      j.EndObject();
    }
    j.EndArray();
    j.Field("schema", kRegistrySchema);
    j.Key("service");
    ServiceExtras extras;
    extras.created_now = &a.created;
    WriteServiceJson(j, a.record, extras);
    j.Key("warnings").BeginArray();
    for (const registry::Violation& w : a.warnings) j.String(w.text);
    j.EndArray();
    j.EndObject();
    Finish(j, sink);
    return;
  }
  const std::string ports = FormatRange(PortsOf(s));
  std::string out = a.created ? fmt::format("adopted {} on {}/{}\n", TerminalSafe(s.name), ports,
                                            ServiceProtoName(s.proto))
                              : fmt::format("{} was already registered on {}/{}\n",
                                            TerminalSafe(s.name), ports, ServiceProtoName(s.proto));
  for (const PortHolder& h : holders) out += "  listener: " + TerminalSafe(DescribeHolder(h)) + "\n";
  sink(out);
}

void RenderReleased(std::span<const registry::ServiceRecord> released, RenderForm form,
                    const Sink& sink) {
  if (form == RenderForm::kJson) {
    RenderListJson("released", released,
                   [](JsonWriter& j, const registry::ServiceRecord& r) { WriteServiceJson(j, r); }, sink);
    return;
  }
  std::string out;
  for (const auto& r : released) {
    const Service& s = r.service;
    out += fmt::format("released {} ({}/{})\n", TerminalSafe(s.name), FormatRange(PortsOf(s)),
                       ServiceProtoName(s.proto));
  }
  sink(out);
}

void RenderReservePlan(const ReserveView& v, RenderForm form, const Sink& sink) {
  if (form == RenderForm::kJson) {
    JsonWriter j = Pretty();
    j.BeginObject();
    j.Key("current").PortRanges(v.current);
    j.Field("file", v.file);
    j.Key("proposed").PortRanges(v.proposed);
    j.Field("schema", kReserveSchema);
    j.Key("set_now");
    if (v.set_now) j.PortRanges(*v.set_now); else j.Null();
    j.Key("written");
    if (v.written.empty()) j.Null(); else j.String(v.written);
    j.EndObject();
    Finish(j, sink);
    return;
  }
  if (v.written.empty()) {
    sink(fmt::format("current:  {}\nproposed: {}\n\n{}\n(dry run: --write PATH writes the file, "
                     "--apply writes {} and sets the value now)\n",
                     v.current.empty() ? "(empty)" : v.current.Format(),
                     v.proposed.empty() ? "(empty)" : v.proposed.Format(), v.file,
                     TerminalSafe(v.default_path)));
    return;
  }
  std::string out = fmt::format("wrote {}\n", TerminalSafe(v.written));
  if (v.applied) {
    out += v.set_now ? fmt::format("net.ipv4.ip_local_reserved_ports = {}\n", v.set_now->Format())
                     : "net.ipv4.ip_local_reserved_ports already covers the registry\n";
  }
  sink(out);
}

void RenderStoreHealth(std::string_view location, std::string_view kind,
                       std::span<const std::string> problems, std::string_view remedy,
                       RenderForm form, const Sink& sink) {
  if (form == RenderForm::kJson) {
    JsonWriter j = Pretty();
    j.BeginObject();
    j.Field("kind", kind);
    j.Field("location", location);
    j.Field("ok", problems.empty());
    j.Key("problems").BeginArray();
    for (const std::string& p : problems) j.String(p);
    j.EndArray();
    j.Key("remedy");
    if (problems.empty()) j.Null(); else j.String(remedy);
    j.Field("schema", kStoreSchema);
    j.EndObject();
    Finish(j, sink);
    return;
  }
  const std::string_view check = kind == "etcd" ? "the claims-against-services check"
                                                : "SQLite integrity_check";
  if (problems.empty()) {
    sink(fmt::format("{}: ok ({} found no problem)\n", TerminalSafe(location), check));
    return;
  }
  std::string out = fmt::format("{}: corrupt: {} reports {} problem{}:\n", TerminalSafe(location),
                                check, problems.size(), problems.size() == 1 ? "" : "s");
  for (const std::string& p : problems) out += fmt::format("  {}\n", TerminalSafe(p, kTerminalMaxLine));
  out += fmt::format("berth refuses to write to it; {}\n", remedy);
  sink(out);
}

void RenderStoreStatus(const StoreStatusView& v, RenderForm form, const Sink& sink) {
  if (form == RenderForm::kJson) {
    JsonWriter j = Pretty();
    j.BeginObject();
    j.Key("counts");
    if (v.revision) {
      j.BeginObject();
      j.Field("claims", static_cast<std::int64_t>(v.claims));
      j.Field("families", static_cast<std::int64_t>(v.families));
      j.Field("groups", static_cast<std::int64_t>(v.groups));
      j.Field("services", static_cast<std::int64_t>(v.services));
      j.EndObject();
    } else {
      j.Null();
    }
    j.Key("error");
    if (v.error.empty()) j.Null(); else j.String(v.error);
    j.Field("kind", v.kind);
    j.Field("location", v.location);
    j.Key("members").BeginArray();
    for (const registry::StoreMember& m : v.members) {
      j.BeginObject();
      j.Field("answered", m.answered);
      j.Field("db_size", m.db_size);
      j.Field("endpoint", m.endpoint);
      j.Key("error");
      if (m.error.empty()) j.Null(); else j.String(m.error);
      j.Field("leader", m.has_leader);
      j.Field("revision", m.revision);
      j.Field("version", m.version);
      j.EndObject();
    }
    j.EndArray();
    j.Key("revision");
    if (v.revision) j.Int(*v.revision); else j.Null();
    j.Field("schema", kStoreStatusSchema);
    j.EndObject();
    Finish(j, sink);
    return;
  }
  std::string out = fmt::format("{} store {}\n", v.kind, TerminalSafe(v.location));
  if (!v.members.empty()) {
    Table t({{"ENDPOINT"}, {"STATE"}, {"VERSION"}, {"REVISION", Align::kRight}, {"DB", Align::kRight}},
            TableStyle{.indent = "  "});
    for (const registry::StoreMember& m : v.members) {
      if (!m.answered) {
        t.AddRow({TerminalSafe(m.endpoint), "down: " + TerminalSafe(m.error, 80), "", "", ""});
        continue;
      }
      t.AddRow({TerminalSafe(m.endpoint), m.has_leader ? "ok" : "no leader", TerminalSafe(m.version),
                std::to_string(m.revision), fmt::format("{} KiB", m.db_size / 1024)});
    }
    out += t.Format();
  }
  if (v.revision) {
    out += fmt::format("revision {}: {} services, {} claims, {} groups, {} families\n", *v.revision,
                       v.services, v.claims, v.groups, v.families);
  } else {
    out += fmt::format("the registry cannot be read: {}\n", TerminalSafeLines(v.error));
  }
  sink(out);
}

}  // namespace berth
