#include "registry/etcd_records.h"

#include <algorithm>
#include <charconv>
#include <limits>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "base/json_text.h"
#include "base/text.h"

namespace berth::registry::etcd {
namespace {

using nlohmann::json;

constexpr int kMaxDepth = 6;

std::unexpected<Error> Bad(std::string_view key, std::string_view what) {
  return Fail(ErrorCode::kMalformed,
              fmt::format("etcd key {} holds a value berth cannot read ({}): it was not written "
                          "by this berth; check it with 'berth store check'",
                          TerminalSafe(key, 200), what));
}

std::string Dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<json> ParseObject(std::string_view value, std::string_view key) {
  if (value.size() > kMaxRecordBytes) return Bad(key, fmt::format("{} bytes", value.size()));
  if (auto d = CheckJsonDepth(value, kMaxDepth, "value"); !d) return Bad(key, d.error().message);
  json j = json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Bad(key, "not a JSON object");
  return j;
}

// A field reader that remembers the key for its messages.
struct Reader {
  const json& j;
  std::string_view key;

  Result<std::string> Text(const char* field, bool required = false) const {
    auto it = j.find(field);
    if (it == j.end()) {
      if (required) return Bad(key, fmt::format("no '{}'", field));
      return std::string();
    }
    if (!it->is_string()) return Bad(key, fmt::format("'{}' is not text", field));
    return it->get<std::string>();
  }
  Result<std::int64_t> Int(const char* field, std::int64_t low, std::int64_t high,
                           std::int64_t absent = 0) const {
    auto it = j.find(field);
    if (it == j.end()) return absent;
    if (!it->is_number_integer()) return Bad(key, fmt::format("'{}' is not an integer", field));
    const auto v = it->get<std::int64_t>();
    if (v < low || v > high) return Bad(key, fmt::format("'{}' {} is out of range", field, v));
    return v;
  }
  Result<std::vector<std::string>> List(const char* field) const {
    std::vector<std::string> out;
    auto it = j.find(field);
    if (it == j.end()) return out;
    if (!it->is_array()) return Bad(key, fmt::format("'{}' is not a list", field));
    for (const auto& item : *it) {
      if (!item.is_string()) return Bad(key, fmt::format("'{}' holds a non-text item", field));
      out.push_back(item.get<std::string>());
    }
    return out;
  }
  Result<PortSet> Set(const char* field) const {
    const std::string text = BERTH_TRY(Text(field));
    auto set = PortSet::Parse(text);
    if (!set) return Bad(key, fmt::format("'{}' is not a port list", field));
    return *set;
  }
};

constexpr std::int64_t kMaxTime = std::int64_t{1} << 40;

}  // namespace

std::string EncodeService(const ServiceRecord& r) {
  const Service& s = r.service;
  json j{{"name", s.name},       {"proto", ServiceProtoName(s.proto)}, {"port", s.port},
         {"group", s.group},     {"family", s.family},                 {"owner", s.owner},
         {"description", s.description}, {"tags", s.tags},            {"sources", s.sources},
         {"created", s.created}, {"updated", s.updated},               {"reason", r.reason}};
  if (r.revision != 0) j["revision"] = r.revision;
  if (s.size != 1) j["size"] = s.size;  // absent: one port (records written before ranges)
  return Dump(j);
}

Result<ServiceRecord> DecodeService(std::string_view value, std::string_view key) {
  const json j = BERTH_TRY(ParseObject(value, key));
  const Reader in{j, key};
  ServiceRecord r;
  Service& s = r.service;
  s.name = BERTH_TRY(in.Text("name", true));
  auto proto = ParseServiceProto(BERTH_TRY(in.Text("proto", true)));
  if (!proto) return Bad(key, "'proto' is not tcp, udp or both");
  s.proto = *proto;
  s.port = static_cast<Port>(BERTH_TRY(in.Int("port", 1, 65535, -1)));
  if (!j.contains("port")) return Bad(key, "no 'port'");
  s.size = static_cast<std::uint32_t>(BERTH_TRY(in.Int("size", 1, kMaxServiceSize, 1)));
  if (std::uint32_t{s.port} + s.size - 1 > 65535) return Bad(key, "'size' ends the range past 65535");
  s.group = BERTH_TRY(in.Text("group", true));
  s.family = BERTH_TRY(in.Text("family"));
  s.owner = BERTH_TRY(in.Text("owner"));
  s.description = BERTH_TRY(in.Text("description"));
  s.tags = BERTH_TRY(in.List("tags"));
  s.sources = BERTH_TRY(in.List("sources"));
  s.created = BERTH_TRY(in.Int("created", 0, kMaxTime));
  s.updated = BERTH_TRY(in.Int("updated", 0, kMaxTime));
  r.reason = BERTH_TRY(in.Text("reason"));
  r.revision = BERTH_TRY(in.Int("revision", 0, std::numeric_limits<std::int64_t>::max()));
  return r;
}

std::string EncodeGroup(const Group& g) {
  return Dump(json{{"name", g.name},
                   {"description", g.description},
                   {"hosts", g.hosts},
                   {"ephemeral", g.ephemeral.Format()},
                   {"reserved", g.reserved.Format()},
                   {"range_low", g.range.low},
                   {"range_high", g.range.high},
                   {"allow", g.allow.Format()}});
}

Result<Group> DecodeGroup(std::string_view value, std::string_view key) {
  const json j = BERTH_TRY(ParseObject(value, key));
  const Reader in{j, key};
  Group g;
  g.name = BERTH_TRY(in.Text("name", true));
  g.description = BERTH_TRY(in.Text("description"));
  g.hosts = BERTH_TRY(in.List("hosts"));
  g.ephemeral = BERTH_TRY(in.Set("ephemeral"));
  g.reserved = BERTH_TRY(in.Set("reserved"));
  g.range.low = static_cast<Port>(BERTH_TRY(in.Int("range_low", 0, 65535, kUserRange.low)));
  g.range.high = static_cast<Port>(BERTH_TRY(in.Int("range_high", 0, 65535, kUserRange.high)));
  if (g.range.low > g.range.high) return Bad(key, "its range is reversed");
  g.allow = BERTH_TRY(in.Set("allow"));
  return g;
}

std::string EncodeFamily(const Family& f) {
  return Dump(json{{"name", f.name},
                   {"description", f.description},
                   {"base", f.base},
                   {"size", f.size},
                   {"skip", f.skip.Format()}});
}

Result<Family> DecodeFamily(std::string_view value, std::string_view key) {
  const json j = BERTH_TRY(ParseObject(value, key));
  const Reader in{j, key};
  Family f;
  f.name = BERTH_TRY(in.Text("name", true));
  f.description = BERTH_TRY(in.Text("description"));
  f.base = static_cast<Port>(BERTH_TRY(in.Int("base", 1, 65535, -1)));
  if (!j.contains("base")) return Bad(key, "no 'base'");
  f.size = static_cast<std::uint32_t>(BERTH_TRY(in.Int("size", 1, 65536, 100)));
  f.skip = BERTH_TRY(in.Set("skip"));
  return f;
}

std::string EncodeHostScans(const HostScans& h) {
  json obs = json::array();
  for (const Observation& o : h.observations) {
    obs.push_back(json{{"service", o.service},
                       {"proto", ProtocolName(o.proto)},
                       {"port", o.port},
                       {"pid", o.pid},
                       {"command", o.command},
                       {"first_seen", o.first_seen},
                       {"last_seen", o.last_seen}});
  }
  return Dump(json{{"scans", h.scans}, {"observations", std::move(obs)}});
}

Result<HostScans> DecodeHostScans(std::string_view value, std::string_view key) {
  const json j = BERTH_TRY(ParseObject(value, key));
  HostScans h;
  auto scans = j.find("scans");
  auto obs = j.find("observations");
  if (scans == j.end() || !scans->is_array()) return Bad(key, "no 'scans' list");
  if (obs == j.end() || !obs->is_array()) return Bad(key, "no 'observations' list");
  if (scans->size() > kMaxScansKept || obs->size() > kMaxObservations) {
    return Bad(key, "more scans or observations than berth keeps");
  }
  for (const json& t : *scans) {
    if (!t.is_number_integer() || t.get<std::int64_t>() < 0) return Bad(key, "a scan time is not a time");
    h.scans.push_back(t.get<std::int64_t>());
  }
  if (!std::is_sorted(h.scans.begin(), h.scans.end())) return Bad(key, "scan times out of order");
  for (const json& item : *obs) {
    if (!item.is_object()) return Bad(key, "an observation is not an object");
    const Reader in{item, key};
    Observation o;
    o.service = BERTH_TRY(in.Text("service"));
    auto proto = ParseProtocol(BERTH_TRY(in.Text("proto", true)));
    if (!proto) return Bad(key, "an observation's 'proto' is not tcp or udp");
    o.proto = *proto;
    o.port = static_cast<Port>(BERTH_TRY(in.Int("port", 0, 65535)));
    o.pid = static_cast<int>(BERTH_TRY(in.Int("pid", 0, 1 << 30)));
    o.command = BERTH_TRY(in.Text("command"));
    o.first_seen = BERTH_TRY(in.Int("first_seen", 0, kMaxTime));
    o.last_seen = BERTH_TRY(in.Int("last_seen", 0, kMaxTime));
    h.observations.push_back(std::move(o));
  }
  return h;
}

std::string EncodePresence(const HostPresence& p) {
  return Dump(json{{"host", p.host},         {"lease", p.lease},     {"ttl", p.ttl},
                   {"interval", p.interval}, {"refresh", p.refresh}, {"started", p.started},
                   {"version", p.version}});
}

Result<HostPresence> DecodePresence(std::string_view value, std::string_view key) {
  const json j = BERTH_TRY(ParseObject(value, key));
  const Reader in{j, key};
  HostPresence p;
  p.host = BERTH_TRY(in.Text("host", true));
  p.lease = BERTH_TRY(in.Int("lease", std::numeric_limits<std::int64_t>::min(),
                             std::numeric_limits<std::int64_t>::max()));
  p.ttl = BERTH_TRY(in.Int("ttl", 0, kMaxTime));
  p.interval = BERTH_TRY(in.Int("interval", 0, kMaxTime));
  p.refresh = BERTH_TRY(in.Int("refresh", 0, 1 << 30));
  p.started = BERTH_TRY(in.Int("started", 0, kMaxTime));
  p.version = BERTH_TRY(in.Text("version"));
  return p;
}

std::string EncodeHostReport(const HostReport& r, const std::vector<Finding>& findings) {
  json list = json::array();
  for (const Finding& f : findings) {
    json item{{"id", std::string(FindingIdName(f.id))},
              {"severity", std::string(SeverityName(f.severity))},
              {"subject", f.subject},
              {"ports", f.ports.Format()},
              {"pids", f.pids},
              {"why", f.why},
              {"fix", f.fix}};
    if (f.proto) item["proto"] = std::string(ProtocolName(*f.proto));
    list.push_back(std::move(item));
  }
  return Dump(json{{"host", r.host},
                   {"group", r.group},
                   {"ephemeral", fmt::format("{}-{}", r.ephemeral.low, r.ephemeral.high)},
                   {"reserved", r.reserved.Format()},
                   {"scanned", r.scanned},
                   {"changed", r.changed},
                   {"digest", r.digest},
                   {"listeners", r.listeners},
                   {"error", r.error},
                   {"source", std::string(ReportSourceName(r.source))},
                   {"collected", r.collected},
                   {"findings", std::move(list)}});
}

Result<HostReportDoc> DecodeHostReport(std::string_view value, std::string_view key) {
  const json j = BERTH_TRY(ParseObject(value, key));
  const Reader in{j, key};
  HostReportDoc d;
  HostReport& r = d.report;
  r.host = BERTH_TRY(in.Text("host", true));
  r.group = BERTH_TRY(in.Text("group"));
  const auto eph = ParsePortRange(BERTH_TRY(in.Text("ephemeral", true)));
  if (!eph) return Bad(key, "'ephemeral' is not one port range");
  r.ephemeral = *eph;
  r.reserved = BERTH_TRY(in.Set("reserved"));
  r.scanned = BERTH_TRY(in.Int("scanned", 0, kMaxTime));
  r.changed = BERTH_TRY(in.Int("changed", 0, kMaxTime));
  r.digest = BERTH_TRY(in.Text("digest"));
  r.listeners = static_cast<std::uint32_t>(BERTH_TRY(in.Int("listeners", 0, 1 << 30)));
  r.error = BERTH_TRY(in.Text("error"));
  // Reports written before collected hosts joined the fleet carry no source: an agent's.
  if (const std::string source = BERTH_TRY(in.Text("source")); !source.empty()) {
    const auto parsed = ParseReportSource(source);
    if (!parsed) return Bad(key, "'source' is neither agent nor collected");
    r.source = *parsed;
  }
  r.collected = BERTH_TRY(in.Int("collected", 0, kMaxTime));
  auto list = j.find("findings");
  if (list == j.end() || !list->is_array()) return Bad(key, "no 'findings' list");
  if (list->size() > kMaxFindings) return Bad(key, "more findings than berth keeps");
  for (const json& item : *list) {
    if (!item.is_object()) return Bad(key, "a finding is not an object");
    const Reader f{item, key};
    Finding out;
    const auto id = ParseFindingId(BERTH_TRY(f.Text("id", true)));
    if (!id) return Bad(key, "a finding's 'id' is not one berth knows");
    out.id = *id;
    auto severity = ParseSeverity(BERTH_TRY(f.Text("severity", true)));
    if (!severity) return Bad(key, "a finding's 'severity' is not info, warning or error");
    out.severity = *severity;
    out.subject = BERTH_TRY(f.Text("subject"));
    const std::string proto = BERTH_TRY(f.Text("proto"));
    if (!proto.empty()) {
      auto p = ParseProtocol(proto);
      if (!p) return Bad(key, "a finding's 'proto' is not tcp or udp");
      out.proto = *p;
    }
    out.ports = BERTH_TRY(f.Set("ports"));
    auto pids = item.find("pids");
    if (pids != item.end()) {
      if (!pids->is_array() || pids->size() > 4096) return Bad(key, "a finding's 'pids' is not a list");
      for (const json& pid : *pids) {
        if (!pid.is_number_integer() || pid.get<std::int64_t>() < 0 || pid.get<std::int64_t>() > (1 << 30)) {
          return Bad(key, "a finding's pid is not a pid");
        }
        out.pids.push_back(pid.get<int>());
      }
    }
    out.why = BERTH_TRY(f.Text("why"));
    out.fix = BERTH_TRY(f.Text("fix"));
    d.findings.push_back(std::move(out));
  }
  return d;
}

std::string KeyPart(std::string_view name) {
  std::string out;
  for (unsigned char c : name) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '.' || c == '_' || c == '-';
    if (plain) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

Result<std::string> FromKeyPart(std::string_view part) {
  std::string out;
  for (std::size_t i = 0; i < part.size(); ++i) {
    if (part[i] != '%') {
      out += part[i];
      continue;
    }
    unsigned v = 0;
    if (i + 2 >= part.size()) {
      return Fail(ErrorCode::kMalformed, "a key part ends in the middle of an escape");
    }
    auto r = std::from_chars(part.data() + i + 1, part.data() + i + 3, v, 16);
    if (r.ec != std::errc() || r.ptr != part.data() + i + 3) {
      return Fail(ErrorCode::kMalformed, "a key part holds a bad escape");
    }
    out += static_cast<char>(v);
    i += 2;
  }
  return out;
}

}  // namespace berth::registry::etcd
