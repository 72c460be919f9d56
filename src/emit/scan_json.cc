#include <array>

#include "core/classify.h"
#include "core/iana.h"
#include "emit/findings_render.h"
#include "emit/json_writer.h"
#include "emit/scan_render.h"

namespace berth {
namespace {

void WriteNullable(JsonWriter& j, std::string_view key, std::string_view value) {
  j.Key(key);
  if (value.empty()) j.Null(); else j.String(value);
}

}  // namespace

void RenderScanJson(const ScanView& v, const Sink& sink) {
  const HostSnapshot& snap = *v.snap;
  const HostPortConfig& cfg = snap.config;
  JsonWriter j;
  auto flush = [&] {
    if (j.buffer().size() >= 1 << 16) sink(j.Take());
  };
  j.BeginObject();
  j.Field("schema", kScanSchema);
  j.Key("host").BeginObject();
  j.Field("hostname", snap.hostname);
  WriteNullable(j, "netns", snap.netns);
  j.Key("ephemeral_range").BeginObject();
  j.Field("low", cfg.ephemeral.low).Field("high", cfg.ephemeral.high).Field("size", cfg.ephemeral.size());
  j.EndObject();
  j.Key("reserved_ports").PortRanges(cfg.reserved);
  j.Field("usable_ephemeral", cfg.usable_ephemeral());
  j.Field("unprivileged_port_start", cfg.unprivileged_port_start);
  j.Field("tcp_tw_reuse", cfg.tcp_tw_reuse);
  j.Field("tcp_timestamps", cfg.tcp_timestamps);
  j.Field("iana_registry", IanaVersion());
  j.EndObject();
  j.Field("all_states", v.all_states);
  j.Field("owners_resolved", snap.owners_resolved);
  j.Field("owners_walk", OwnerWalkName(snap.owners_walk));
  WriteNullable(j, "owners_walk_fallback", snap.owners_walk_fallback);
  j.Field("partial", snap.partial);
  j.Key("warnings").BeginArray();
  for (const std::string& w : snap.warnings) j.String(w);
  j.EndArray();

  std::size_t owner_at = 0;
  std::size_t socket_count = 0;
  j.Key("sockets").BeginArray();
  if (v.sockets) {
    for (std::size_t i = 0; i < snap.sockets.size(); ++i) {
      const SocketRecord& s = snap.sockets[i];
      const IpAddress& local = snap.Local(s);
      const IpAddress& remote = snap.Remote(s);
      while (owner_at < snap.owners.size() && snap.owners[owner_at].socket < i) ++owner_at;
      if (!v.all_states && !s.is_server()) continue;
      ++socket_count;
      j.BeginObject();
      j.Field("proto", ProtocolName(s.proto));
      j.Field("family", local.family == 4 ? "ipv4" : "ipv6");
      j.Field("state", StateName(s.state, s.proto));
      j.Field("address", local.Format());
      j.Field("port", s.local_port);
      WriteNullable(j, "interface", snap.InterfaceName(s));
      if (local.family == 6) j.Field("v6only", s.v6only);
      if (s.remote_port != 0 || !remote.is_any()) {
        j.Field("peer_address", remote.Format());
        j.Field("peer_port", s.remote_port);
      }
      j.Field("inode", s.inode);
      j.Field("uid", snap.Uid(s));
      j.Field("rqueue", s.rqueue).Field("wqueue", s.wqueue);
      const PortClass c = ClassifyPort(s.local_port, s.proto, cfg);
      j.Key("class").BeginObject();
      j.Field("rfc6335", Rfc6335Name(c.rfc6335));
      j.Field("ephemeral", c.ephemeral);
      j.Field("reserved", c.reserved);
      j.Key("iana");
      if (c.iana) {
        j.BeginObject().Field("service", c.iana->service).Field("description", c.iana->description);
        j.EndObject();
      } else {
        j.Null();
      }
      j.EndObject();
      if (v.registry != nullptr && i < v.registry->size() && (*v.registry)[i]) {
        const RegistryMark& m = *(*v.registry)[i];
        j.Key("registry").BeginObject().Field("status", registry::RegStatusName(m.status));
        WriteNullable(j, "service", m.service);
        j.EndObject();
      }
      j.Key("owners").BeginArray();
      for (std::size_t k = owner_at; k < snap.owners.size() && snap.owners[k].socket == i; ++k) {
        j.BeginObject();
        j.Field("pid", snap.processes[snap.owners[k].process].pid);
        j.Key("fd");
        if (snap.owners[k].fd < 0) {
          j.Null();  // unknown: a collected Windows host names processes, not descriptors
        } else {
          j.Int(snap.owners[k].fd);
        }
        j.EndObject();
      }
      j.EndArray();
      j.EndObject();
      flush();
    }
  }
  j.EndArray();

  j.Key("processes").BeginArray();
  for (const ProcessInfo& p : snap.processes) {
    j.BeginObject();
    j.Field("pid", p.pid).Field("command", p.command).Field("user", p.user).Field("uid", p.uid);
    WriteNullable(j, "unit", p.unit);
    WriteNullable(j, "container", p.container);
    j.EndObject();
    flush();
  }
  j.EndArray();

  std::array<int, 3> count{};
  j.Key("findings").BeginArray();
  if (v.findings) {
    for (const Finding& f : *v.findings) {
      ++count[static_cast<int>(f.severity)];
      WriteFindingJson(j, f);
    }
  }
  j.EndArray();

  if (v.pressure) {
    const PressureReport& p = *v.pressure;
    j.Key("pressure").BeginObject();
    j.Field("usable_ports", p.usable);
    j.Key("destinations").BeginArray();
    for (const PressureRow& r : p.rows) {
      j.BeginObject();
      j.Field("source", r.source.Format());
      j.Field("destination", r.destination.Format());
      j.Field("destination_port", r.destination_port);
      j.Field("sockets", r.sockets).Field("time_wait", r.time_wait).Field("share", r.share);
      j.EndObject();
      flush();
    }
    j.EndArray();
    j.EndObject();
  }

  j.Key("summary").BeginObject();
  j.Field("sockets", socket_count).Field("processes", snap.processes.size());
  j.Key("findings").BeginObject();
  j.Field("error", count[2]).Field("warning", count[1]).Field("info", count[0]);
  j.EndObject();
  j.EndObject();
  j.EndObject();
  j.buffer() += '\n';
  sink(j.Take());
}

}  // namespace berth
