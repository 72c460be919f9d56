#include "emit/agent_render.h"

#include "emit/findings_render.h"

namespace berth {

void RenderAgentJson(const AgentReportView& v, JsonLayout layout, const Sink& sink) {
  const registry::HostReport& r = v.report;
  JsonWriter j(layout);
  j.BeginObject().Field("schema", kAgentSchema);
  j.Field("host", r.host).Field("group", r.group).Field("scanned", r.scanned);
  j.Field("digest", r.digest);
  j.Key("ephemeral").PortRanges(PortSet{r.ephemeral});
  j.Key("reserved").PortRanges(r.reserved);
  j.Key("registry_revision");
  if (v.registry_revision) j.Int(*v.registry_revision); else j.Null();
  j.Key("error");
  if (r.error.empty()) j.Null(); else j.String(r.error);
  j.StringArray("warnings", v.warnings);
  j.Key("listeners").BeginArray();
  for (const registry::Observation& o : v.listeners) {
    j.BeginObject()
        .Field("proto", ProtocolName(o.proto))
        .Field("port", o.port)
        .Field("command", o.command)
        .Field("pid", o.pid);
    j.Key("service");
    if (o.service.empty()) j.Null(); else j.String(o.service);
    j.EndObject();
  }
  j.EndArray();
  j.Key("findings").BeginArray();
  for (const Finding& f : v.findings) WriteFindingJson(j, f);
  j.EndArray();
  if (v.store) {
    j.Key("store").BeginObject().Field("location", *v.store);
    j.Key("written");
    if (v.written) j.String(*v.written); else j.Null();
    j.Key("error");
    if (v.error) {
      j.BeginObject().Field("code", CodeName(v.error->code)).Field("message", v.error->message).EndObject();
    } else {
      j.Null();
    }
    j.EndObject();
  }
  if (v.reserved_added) j.Key("reserved_added").PortRanges(*v.reserved_added);
  j.EndObject();
  j.buffer() += '\n';
  sink(j.Take());
}

}  // namespace berth
