#include "emit/pin_render.h"

#include <fmt/core.h>

#include "base/text.h"
#include "core/nfs_ports.h"
#include "emit/json_writer.h"

namespace berth {

namespace {

void PortOptionField(JsonWriter& j, const Service& s) {
  j.Key("port_option");
  if (const std::string option = PinPortOption(s); option.empty()) j.Null(); else j.String(option);
}

}  // namespace

void RenderPinPlan(const PinView& v, RenderForm form, bool compact, const Sink& sink) {
  const Service& first = v.services.front();
  if (form == RenderForm::kJson) {
    JsonWriter j = compact ? JsonWriter(JsonLayout::kCompact)
                           : JsonWriter(JsonLayout::kPretty, JsonEscaping::kNlohmann);
    j.BeginObject();
    j.Field("can_reserve", v.can_reserve);
    j.Key("command");
    if (v.command.empty()) j.Null(); else j.String(v.command);
    j.Field("engine", v.engine);
    j.Field("engine_why", v.engine_why);
    j.Field("free", v.holders.empty());
    j.Key("from").PortRanges(v.from);
    j.Key("holders").BeginArray();
    for (const PinHolderView& h : v.holders) {
      j.BeginObject().Field("endpoint", h.endpoint).Field("port", static_cast<int>(h.port));
      j.Field("proto", h.proto).Field("state", h.state).EndObject();
    }
    j.EndArray();
    j.Key("pid");
    if (v.pid > 0) j.Int(v.pid); else j.Null();
    j.Field("port", static_cast<int>(first.port));
    PortOptionField(j, first);
    j.Field("proto", ServiceProtoName(first.proto));
    j.Field("reserved", v.reserved);
    j.Field("schema", kPinSchema);
    j.Field("service", first.name);
    j.Key("services").BeginArray();
    for (const Service& s : v.services) {
      j.BeginObject().Field("port", static_cast<int>(s.port));
      PortOptionField(j, s);
      j.Field("proto", ServiceProtoName(s.proto)).Field("service", s.name).EndObject();
    }
    j.EndArray();
    j.StringArray("warnings", v.warnings);
    j.EndObject();
    j.buffer() += '\n';
    sink(j.Take());
    return;
  }
  std::string pinned;
  for (const Service& s : v.services) {
    pinned += fmt::format("{}{}{}/{}", pinned.empty() ? "" : ", ",
                          v.services.size() > 1 ? TerminalSafe(s.name) + " " : "", s.port,
                          ServiceProtoName(s.proto));
  }
  std::string out = v.services.size() == 1
                        ? fmt::format("{}: {} with the {} engine ({})\n", TerminalSafe(first.name),
                                      pinned, v.engine, v.engine_why)
                        : fmt::format("{} with the {} engine ({})\n", pinned, v.engine, v.engine_why);
  for (const Service& s : v.services) {
    bool held = false;
    for (const PinHolderView& h : v.holders) {
      if (h.port != s.port) continue;
      held = true;
      out += fmt::format("  port {}: in use, {} {} {}\n", s.port, h.proto, TerminalSafe(h.endpoint), h.state);
    }
    if (!held) out += fmt::format("  port {}: free\n", s.port);
  }
  out += v.reserved      ? "  ip_local_reserved_ports: reserved\n"
         : v.can_reserve ? "  ip_local_reserved_ports: reserved while pinned\n"
                         : "  ip_local_reserved_ports: not reserved (needs root)\n";
  out += fmt::format("  moves: binds to port 0{}{}\n", v.from.empty() ? "" : " and to ",
                     v.from.empty() ? "" : v.from.Format());
  for (const Protocol proto : {Protocol::kTcp, Protocol::kUdp}) {
    if (v.services.size() == 1) break;
    std::string order, last;
    for (const Service& s : v.services) {
      if (!Covers(s.proto, proto)) continue;
      last = TerminalSafe(s.name);
      order += fmt::format("{}{}", order.empty() ? "" : ", then ", last);
    }
    if (order.empty()) continue;
    out += fmt::format("  {} listeners, in the order they bind: {}; any further one: {}'s port (taken)\n",
                       ProtocolName(proto), order, last);
  }
  for (const Service& s : v.services) {
    if (PinPortOption(s).empty()) continue;
    out += fmt::format("  alternative: {} has a port option (berth pin --print-unit {} prints it)\n",
                       TerminalSafe(s.name), TerminalSafe(s.name));
  }
  if (!v.command.empty()) out += fmt::format("  command: {}\n", TerminalSafe(v.command));
  sink(out);
}

std::string PinPortOption(const Service& s) {
  for (const NfsDaemon& d : NfsDaemons()) {
    if (d.service == s.name) return NfsConfLines(d, s.port);
  }
  return {};
}

void RenderPinAlternative(const Service& s, const Sink& sink) {
  if (const std::string option = PinPortOption(s); !option.empty()) {
    sink(fmt::format("# {0} has a port option: put this in /etc/nfs.conf (or a file in\n"
                     "# /etc/nfs.conf.d/) and restart it; it then needs no berth pin. Written by\n"
                     "# berth pin --print-unit.\n{1}",
                     s.name, option));
    return;
  }
  std::string listen;
  if (Covers(s.proto, Protocol::kTcp)) listen += fmt::format("ListenStream={}\n", s.port);
  if (Covers(s.proto, Protocol::kUdp)) listen += fmt::format("ListenDatagram={}\n", s.port);
  sink(fmt::format(
      "# {0}.socket: systemd listens on {0}'s registered port {1}/{2} and hands the socket to\n"
      "# {0}.service (socket activation: sd_listen_fds(3)). A server that accepts a socket this\n"
      "# way, or a port option, needs no berth pin. Written by berth pin --print-unit.\n"
      "[Unit]\n"
      "Description={3} on its registered port {1}/{2}\n"
      "\n"
      "[Socket]\n"
      "{4}"
      "\n"
      "[Install]\n"
      "WantedBy=sockets.target\n",
      s.name, s.port, ServiceProtoName(s.proto), CommentText(s.name), listen));
}

}  // namespace berth
