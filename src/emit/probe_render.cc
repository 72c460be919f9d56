#include "emit/probe_render.h"

#include <algorithm>

#include <fmt/core.h>

#include "emit/json_writer.h"
#include "emit/scan_render.h"
#include "emit/table.h"
#include "probe/remedy.h"

namespace berth::probe {
namespace {

std::string What(const ServiceRecord& s) {
  switch (s.mapper) {
    case Mapper::kRpc:
      return fmt::format("{} {} v{}", s.program, s.name.empty() ? "?" : s.name, s.version);
    case Mapper::kSsrp:
      return s.dac ? fmt::format("{} (DAC)", s.instance)
                   : fmt::format("{} ({})", s.instance, s.sql_version);
    case Mapper::kEpm:
      return fmt::format("{} v{}{}{}", s.interface_uuid, s.interface_version,
                         s.annotation.empty() ? "" : " ", s.annotation);
  }
  return "";
}

std::string Answers(const ServiceRecord& s) {
  if (!s.answers) return "-";
  return *s.answers ? "yes" : "no";
}

std::string Static(const ServiceRecord& s) {
  if (!s.static_port) return "-";
  return fmt::format("{} {} ({})", s.static_port->port, s.static_port->name,
                     s.static_port->registered ? "registered" : "proposed");
}

std::string Transport(const ServiceRecord& s) {
  if (s.mapper == Mapper::kRpc || s.mapper == Mapper::kEpm) return s.netid;
  if (s.port == 0) return s.endpoint.empty() ? "-" : "pipe";
  return std::string(ProtocolName(s.transport));
}

}  // namespace

void RenderProbeText(const std::vector<HostReport>& hosts, const ProbeSummary& summary, const Sink& sink) {
  std::size_t dynamic = 0, services = 0;
  for (const HostReport& h : hosts) {
    if (!Interesting(h)) continue;
    std::string out = h.target == h.address ? h.address : fmt::format("{} ({})", TerminalSafe(h.target), h.address);
    if (!h.broadcast.empty()) {
      out += h.address == h.broadcast
                 ? fmt::format(" (broadcast on {})", TerminalSafe(h.interface))
                 : fmt::format(" (answered broadcast {} on {})", h.broadcast, TerminalSafe(h.interface));
    }
    out += "\n";
    for (const MapperStatus& m : h.mappers) {
      out += fmt::format("  {:<6} {:<9} {}\n", MapperName(m.mapper), MapperStateName(m.state), TerminalSafe(m.detail));
    }
    if (!h.services.empty()) {
      const bool pins = std::any_of(h.services.begin(), h.services.end(),
                                    [](const ServiceRecord& s) { return s.static_port.has_value(); });
      // Columns one space apart under a two-space indent; STATIC PORT only when a service
      // has one; no trailing blanks.
      Table table({{"MAPPER"}, {"SERVICE"}, {"TRANSPORT"}, {"PORT"}, {"DYNAMIC"}, {"ANSWERS"},
                   {pins ? "STATIC PORT" : ""}},
                  {.indent = "  ", .separator = " ", .pad_last = true,
                   .skip_empty_columns = true, .trim_trailing = true});
      for (const ServiceRecord& s : h.services) {
        ++services;
        dynamic += s.dynamic ? 1 : 0;
        table.AddRow({std::string(MapperName(s.mapper)), TerminalSafe(What(s)), TerminalSafe(Transport(s)),
                      s.port ? fmt::format("{}", s.port) : TerminalSafe(s.endpoint),
                      s.dynamic ? "dynamic" : "fixed", Answers(s), pins ? TerminalSafe(Static(s)) : ""});
      }
      out += table.Format();
    }
    for (const Remedy& r : Remedies(h)) {
      out += fmt::format("  remedy: {}\n", TerminalSafe(r.subject));
      std::string_view text = r.text;
      while (!text.empty()) {
        const std::size_t nl = text.find('\n');
        out += fmt::format("    {}\n", TerminalSafe(text.substr(0, nl), kTerminalMaxLine));
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
      }
    }
    sink(out + "\n");
  }
  sink(fmt::format("{} targets, {} without any port mapper, {} services, {} on dynamic ports ({:.2f} s)\n",
                   summary.targets, summary.silent, services, dynamic, summary.seconds));
}

void RenderProbeJson(const std::vector<HostReport>& hosts, const ProbeSummary& summary, const Sink& sink) {
  JsonWriter w(JsonLayout::kPretty);
  w.BeginObject().Field("schema", kProbeSchema).Key("hosts").BeginArray();
  std::size_t dynamic = 0, services = 0;
  for (const HostReport& h : hosts) {
    if (!Interesting(h)) continue;
    w.BeginObject().Field("target", h.target).Field("address", h.address);
    if (!h.broadcast.empty()) w.Field("broadcast", h.broadcast).Field("interface", h.interface);
    w.Key("mappers").BeginArray();
    for (const MapperStatus& m : h.mappers) {
      w.BeginObject().Field("protocol", MapperName(m.mapper)).Field("state", MapperStateName(m.state)).Field("detail", m.detail).EndObject();
    }
    w.EndArray().Key("services").BeginArray();
    for (const ServiceRecord& s : h.services) {
      ++services;
      dynamic += s.dynamic ? 1 : 0;
      w.BeginObject().Field("protocol", MapperName(s.mapper)).Field("name", s.name);
      switch (s.mapper) {
        case Mapper::kRpc:
          w.Field("program", s.program).Field("version", s.version).Field("netid", s.netid)
              .Field("owner", s.owner).Field("uaddr", s.uaddr);
          break;
        case Mapper::kSsrp:
          w.Field("instance", s.instance).Field("server_name", s.server_name)
              .Field("sql_version", s.sql_version).Field("dac", s.dac);
          break;
        case Mapper::kEpm:
          w.Field("interface", s.interface_uuid).Field("interface_version", s.interface_version)
              .Field("protseq", s.netid)
              .Field("annotation", s.annotation).Field("endpoint", s.endpoint);
          break;
      }
      w.Field("transport", ProtocolName(s.transport)).Field("port", s.port).Field("dynamic", s.dynamic);
      w.Key("answers");
      if (s.answers) w.Bool(*s.answers);
      else w.Null();
      w.Field("answer_detail", s.answer_detail).Key("static");
      if (s.static_port) {
        const StaticPort& p = *s.static_port;
        w.BeginObject().Field("name", p.name).Field("proto", ServiceProtoName(p.proto)).Field("port", p.port)
            .Field("state", p.registered ? "registered" : "proposed").Field("reason", p.reason).EndObject();
      } else {
        w.Null();
      }
      w.EndObject();
    }
    w.EndArray().Key("remedies").BeginArray();
    for (const Remedy& r : Remedies(h)) {
      w.BeginObject().Field("protocol", MapperName(r.mapper)).Field("subject", r.subject).Field("text", r.text).EndObject();
    }
    w.EndArray().EndObject();
    sink(w.Take());
  }
  w.EndArray().Key("summary").BeginObject().Field("targets", summary.targets).Field("silent", summary.silent)
      .Field("services", services).Field("dynamic", dynamic).Field("seconds", summary.seconds);
  if (const auto& t = summary.timing) {
    w.Key("timing").BeginObject().Field("adaptive", t->adaptive).Field("timeout_ms", t->timeout_ms)
        .Field("timeouts", t->timeouts).Field("shortened", t->shortened)
        .Field("shortest_wait_ms", t->shortest_wait_ms).Field("longest_wait_ms", t->longest_wait_ms)
        .Field("rtt_samples", t->rtt_samples).Field("srtt_ms", t->srtt_ms).Field("rttvar_ms", t->rttvar_ms)
        .Field("max_rtt_ms", t->max_rtt_ms).EndObject();
  }
  w.EndObject().EndObject();
  sink(w.Take() + "\n");
}

}  // namespace berth::probe
