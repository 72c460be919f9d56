#include "emit/pin_render.h"

#include <fmt/core.h>

#include "base/text.h"
#include "core/nfs_ports.h"
#include "emit/json_writer.h"

namespace berth {

void RenderPinPlan(const PinView& v, RenderForm form, bool compact, const Sink& sink) {
  const Port port = v.service.port;
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
      j.BeginObject().Field("endpoint", h.endpoint).Field("proto", h.proto).Field("state", h.state).EndObject();
    }
    j.EndArray();
    j.Key("pid");
    if (v.pid > 0) j.Int(v.pid); else j.Null();
    j.Field("port", static_cast<int>(port));
    j.Key("port_option");
    if (const std::string option = PinPortOption(v.service); option.empty()) j.Null(); else j.String(option);
    j.Field("proto", ServiceProtoName(v.service.proto));
    j.Field("reserved", v.reserved);
    j.Field("schema", kPinSchema);
    j.Field("service", v.service.name);
    j.StringArray("warnings", v.warnings);
    j.EndObject();
    j.buffer() += '\n';
    sink(j.Take());
    return;
  }
  std::string out = fmt::format("{}: {}/{} with the {} engine ({})\n", TerminalSafe(v.service.name),
                                port, ServiceProtoName(v.service.proto), v.engine, v.engine_why);
  if (v.holders.empty()) {
    out += fmt::format("  port {}: free\n", port);
  } else {
    for (const PinHolderView& h : v.holders) {
      out += fmt::format("  port {}: in use, {} {} {}\n", port, h.proto, TerminalSafe(h.endpoint), h.state);
    }
  }
  out += v.reserved      ? "  ip_local_reserved_ports: reserved\n"
         : v.can_reserve ? "  ip_local_reserved_ports: reserved while pinned\n"
                         : "  ip_local_reserved_ports: not reserved (needs root)\n";
  out += fmt::format("  moves: binds to port 0{}{}\n", v.from.empty() ? "" : " and to ",
                     v.from.empty() ? "" : v.from.Format());
  if (!PinPortOption(v.service).empty()) {
    out += "  alternative: it has a port option (berth pin --print-unit prints it)\n";
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
