#include "host/windows_parse.h"

#include <arpa/inet.h>

#include <algorithm>
#include <map>
#include <unordered_map>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "base/json_text.h"
#include "host/powershell_text_parse.h"

namespace berth {
namespace {

using nlohmann::json;
using windows::WindowsHost;

constexpr std::size_t kMaxName = 1024;      // names, addresses, registry values
constexpr std::size_t kMaxWarning = 16384;

// PowerShell's text for an object or array that ConvertTo-Json's -Depth cut off.
bool LooksTruncated(std::string_view s) {
  return s.starts_with("@{") || s.starts_with("System.") || s.starts_with("Microsoft.") ||
         s == "CimInstance";
}

class Reader {
 public:
  explicit Reader(std::string_view source) : source_(source) {}

  std::unexpected<Error> Bad(std::string_view at, std::string_view what) const {
    return Fail(ErrorCode::kMalformed, fmt::format("{}: {} (at {})", source_, what, at));
  }
  std::unexpected<Error> Truncated(std::string_view at) const {
    return Bad(at, "cut by ConvertTo-Json's -Depth (PowerShell wrote an object as its type "
                   "name); rerun the collector exactly as 'berth collect --format powershell' "
                   "prints it, which serializes deep enough");
  }

  const json* Member(const json& obj, std::string_view key) const {
    auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
  }

  Result<std::int64_t> Int(const json& v, std::string_view at, std::int64_t min, std::int64_t max) const {
    std::int64_t n = 0;
    if (v.is_number_unsigned()) {
      const auto u = v.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(max)) {
        return Bad(at, fmt::format("expected an integer {}-{}, got {}", min, max, u));
      }
      n = static_cast<std::int64_t>(u);
    } else if (v.is_number_integer()) {
      n = v.get<std::int64_t>();
    } else {
      return Bad(at, fmt::format("expected an integer {}-{}, got {}", min, max, v.type_name()));
    }
    if (n < min || n > max) return Bad(at, fmt::format("expected an integer {}-{}, got {}", min, max, n));
    return n;
  }
  Result<std::int64_t> IntField(const json& obj, std::string_view at, std::string_view key,
                                std::int64_t min, std::int64_t max) const {
    const json* v = Member(obj, key);
    const std::string where = fmt::format("{}.{}", at, key);
    if (v == nullptr) return Bad(where, "missing");
    return Int(*v, where, min, max);
  }

  // A string, a number (PowerShell writes registry values as they are typed) or null/absent
  // ("" then). Objects and arrays are refused.
  Result<std::string> Text(const json& obj, std::string_view at, std::string_view key,
                           bool required = false) const {
    const json* v = Member(obj, key);
    const std::string where = fmt::format("{}.{}", at, key);
    if (v == nullptr || v->is_null()) {
      if (required) return Bad(where, "missing");
      return std::string();
    }
    if (v->is_number_unsigned()) return fmt::format("{}", v->get<std::uint64_t>());
    if (v->is_number_integer()) return fmt::format("{}", v->get<std::int64_t>());
    if (!v->is_string()) return Bad(where, fmt::format("expected a string, got {}", v->type_name()));
    const auto& s = v->get_ref<const std::string&>();
    if (s.size() > kMaxName) return Bad(where, fmt::format("{} bytes, more than {}", s.size(), kMaxName));
    if (required && s.empty()) return Bad(where, "empty");
    return s;
  }

  // The objects of list `key`: absent or null is none, a lone object is one (ConvertTo-Json
  // writes a one-element pipeline result so).
  Result<std::vector<const json*>> Objects(const json& obj, std::string_view key) const {
    std::vector<const json*> out;
    const json* v = Member(obj, key);
    if (v == nullptr || v->is_null()) return out;
    if (v->is_object()) {
      out.push_back(v);
      return out;
    }
    if (v->is_string() && LooksTruncated(v->get_ref<const std::string&>())) return Truncated(key);
    if (!v->is_array()) return Bad(key, fmt::format("expected an array, got {}", v->type_name()));
    if (v->size() > kWindowsMaxItems) {
      return Bad(key, fmt::format("{} entries, more than the {} allowed", v->size(), kWindowsMaxItems));
    }
    for (std::size_t i = 0; i < v->size(); ++i) {
      const json& e = (*v)[i];
      const std::string at = fmt::format("{}[{}]", key, i);
      if (e.is_string() && LooksTruncated(e.get_ref<const std::string&>())) return Truncated(at);
      if (!e.is_object()) return Bad(at, fmt::format("expected an object, got {}", e.type_name()));
      out.push_back(&e);
    }
    return out;
  }

  // A list of strings: an array, a lone string, null. `split`: a lone string is also split on
  // blanks (and commas), as -Depth leaves a string array ("5000-5100 6000-6100").
  Result<std::vector<std::string>> Strings(const json& obj, std::string_view at, std::string_view key,
                                           bool split, std::size_t max_len) const {
    std::vector<std::string> out;
    const json* v = Member(obj, key);
    const std::string where = at.empty() ? std::string(key) : fmt::format("{}.{}", at, key);
    if (v == nullptr || v->is_null()) return out;
    auto one = [&](const json& e, const std::string& w) -> Result<void> {
      if (e.is_number_unsigned()) {
        out.push_back(fmt::format("{}", e.get<std::uint64_t>()));
        return {};
      }
      if (!e.is_string()) return Bad(w, fmt::format("expected a string, got {}", e.type_name()));
      const auto& s = e.get_ref<const std::string&>();
      if (s.size() > max_len) return Bad(w, fmt::format("{} bytes, more than {}", s.size(), max_len));
      if (!split) {
        out.push_back(s);
        return {};
      }
      std::size_t i = 0;
      while (i < s.size()) {
        const std::size_t start = s.find_first_not_of(" ,\t", i);
        if (start == std::string::npos) break;
        const std::size_t end = std::min(s.find_first_of(" ,\t", start), s.size());
        out.push_back(s.substr(start, end - start));
        i = end;
      }
      return {};
    };
    if (v->is_array()) {
      if (v->size() > kWindowsMaxItems) return Bad(where, "too many entries");
      for (std::size_t i = 0; i < v->size(); ++i) BERTH_TRY(one((*v)[i], fmt::format("{}[{}]", where, i)));
    } else {
      if (v->is_string() && LooksTruncated(v->get_ref<const std::string&>())) return Truncated(where);
      BERTH_TRY(one(*v, where));
    }
    if (out.size() > kWindowsMaxItems) return Bad(where, "too many entries");
    return out;
  }

  // An enum PowerShell may write as its number or its name; `names` maps both to a value.
  Result<int> Enum(const json& obj, std::string_view at, std::string_view key,
                   std::initializer_list<std::pair<std::string_view, int>> names, int numeric_max) const {
    const json* v = Member(obj, key);
    const std::string where = fmt::format("{}.{}", at, key);
    if (v == nullptr || v->is_null()) return Bad(where, "missing");
    if (v->is_boolean()) return v->get<bool>() ? 1 : 2;  // Enabled written as a boolean
    if (v->is_number_integer()) return static_cast<int>(BERTH_TRY(Int(*v, where, 0, numeric_max)));
    if (v->is_string()) {
      const auto& s = v->get_ref<const std::string&>();
      for (const auto& [name, value] : names) {
        if (s.size() == name.size() &&
            std::equal(s.begin(), s.end(), name.begin(),
                       [](char a, char b) { return (a | 0x20) == (b | 0x20); })) {
          return value;
        }
      }
      if (s.size() > 64) return Bad(where, "unknown value");
      return Bad(where, fmt::format("unknown value '{}'", s));
    }
    return Bad(where, fmt::format("expected a number or a name, got {}", v->type_name()));
  }

 private:
  std::string_view source_;
};

Result<IpAddress> Address(const Reader& r, std::string text, std::string_view at) {
  if (const std::size_t pct = text.find('%'); pct != std::string::npos) text.resize(pct);  // scope id
  IpAddress a;
  a.family = text.find(':') == std::string::npos ? 4 : 6;
  if (::inet_pton(a.family == 4 ? AF_INET : AF_INET6, text.c_str(), a.bytes.data()) != 1) {
    return r.Bad(at, fmt::format("'{}' is not an IP address", text));
  }
  return a;
}

Result<std::optional<std::int64_t>> Collected(const Reader& r, const json& root) {
  const json* v = r.Member(root, "Collected");
  if (v == nullptr || v->is_null()) return std::optional<std::int64_t>();
  // 5.1 writes Get-Date with its note properties: {"value": "\/Date(..)\/", "DateTime": ...}.
  if (v->is_object()) v = r.Member(*v, "value");
  if (v == nullptr || !v->is_string() || v->get_ref<const std::string&>().size() > 64) {
    return r.Bad("Collected", "expected a date (\"\\/Date(ms)\\/\" or ISO 8601)");
  }
  auto ms = ParsePowerShellDate(v->get_ref<const std::string&>());
  if (!ms) return r.Bad("Collected", fmt::format("'{}' is not a date", v->get_ref<const std::string&>()));
  return ms;
}

Result<void> ReadBlocks(const Reader& r, const json& root, std::string_view key, bool excluded,
                        std::vector<windows::PortBlock>& out) {
  const auto items = BERTH_TRY(r.Objects(root, key));
  for (std::size_t i = 0; i < items.size(); ++i) {
    const json& e = *items[i];
    const std::string at = fmt::format("{}[{}]", key, i);
    windows::PortBlock b;
    b.family = static_cast<std::uint8_t>(
        BERTH_TRY(r.Enum(e, at, "Family", {{"ipv4", 4}, {"ipv6", 6}, {"IPv4", 4}, {"IPv6", 6}}, 6)));
    if (b.family != 4 && b.family != 6) return r.Bad(at + ".Family", "expected 4 or 6");
    b.proto = BERTH_TRY(r.Enum(e, at, "Protocol", {{"tcp", 6}, {"udp", 17}}, 17)) == 17 ? Protocol::kUdp
                                                                                         : Protocol::kTcp;
    const auto start = BERTH_TRY(r.IntField(e, at, "StartPort", 1, 65535));
    std::int64_t end = 0;
    if (excluded) {
      end = BERTH_TRY(r.IntField(e, at, "EndPort", start, 65535));
      if (const json* a = r.Member(e, "Administered"); a != nullptr && a->is_boolean()) {
        b.administered = a->get<bool>();
      }
    } else {
      const auto n = BERTH_TRY(r.IntField(e, at, "NumberOfPorts", 1, 65536 - start));
      end = start + n - 1;
    }
    b.range = PortRange{static_cast<Port>(start), static_cast<Port>(end)};
    out.push_back(b);
  }
  return {};
}

Result<void> ReadSql(const Reader& r, const json& root, WindowsHost& host) {
  const auto items = BERTH_TRY(r.Objects(root, "SqlInstances"));
  for (std::size_t i = 0; i < items.size(); ++i) {
    const json& e = *items[i];
    const std::string at = fmt::format("SqlInstances[{}]", i);
    windows::SqlInstance s;
    s.name = BERTH_TRY(r.Text(e, at, "Name", true));
    s.id = BERTH_TRY(r.Text(e, at, "Id", true));
    s.tcp_port = BERTH_TRY(r.Text(e, at, "TcpPort"));
    s.tcp_dynamic_ports = BERTH_TRY(r.Text(e, at, "TcpDynamicPorts"));
    if (const json* en = r.Member(e, "TcpEnabled"); en != nullptr && !en->is_null()) {
      s.tcp_enabled = BERTH_TRY(r.Int(*en, at + ".TcpEnabled", 0, 1)) == 1;
    }
    host.sql.push_back(std::move(s));
  }
  return {};
}

Result<void> ReadRpc(const Reader& r, const json& root, WindowsHost& host) {
  const json* v = r.Member(root, "RpcInternet");
  if (v == nullptr || v->is_null()) return {};
  if (v->is_string() && LooksTruncated(v->get_ref<const std::string&>())) return r.Truncated("RpcInternet");
  if (!v->is_object()) return r.Bad("RpcInternet", fmt::format("expected an object, got {}", v->type_name()));
  host.rpc.present = true;
  host.rpc.ports = BERTH_TRY(r.Strings(*v, "RpcInternet", "Ports", true, kMaxName));
  host.rpc.ports_internet_available = BERTH_TRY(r.Text(*v, "RpcInternet", "PortsInternetAvailable"));
  host.rpc.use_internet_ports = BERTH_TRY(r.Text(*v, "RpcInternet", "UseInternetPorts"));
  return {};
}

Result<void> ReadFirewall(const Reader& r, const json& root, WindowsHost& host) {
  const auto items = BERTH_TRY(r.Objects(root, "FirewallRules"));
  for (std::size_t i = 0; i < items.size(); ++i) {
    const json& e = *items[i];
    const std::string at = fmt::format("FirewallRules[{}]", i);
    windows::FirewallRule f;
    f.name = BERTH_TRY(r.Text(e, at, "Name", true));
    f.display_name = BERTH_TRY(r.Text(e, at, "DisplayName"));
    f.enabled = BERTH_TRY(r.Enum(e, at, "Enabled", {{"True", 1}, {"False", 2}}, 2)) == 1;
    f.inbound = BERTH_TRY(r.Enum(e, at, "Direction", {{"Inbound", 1}, {"Outbound", 2}}, 2)) == 1;
    const int action = BERTH_TRY(r.Enum(
        e, at, "Action", {{"NotConfigured", 0}, {"Allow", 2}, {"AllowBypass", 3}, {"Block", 4}}, 4));
    f.allow = action == 2 || action == 3;
    f.protocol = BERTH_TRY(r.Text(e, at, "Protocol"));
    const auto ports = BERTH_TRY(r.Strings(e, at, "LocalPort", true, kMaxName));
    for (const std::string& p : ports) {
      if (!f.local_port.empty()) f.local_port += ',';
      f.local_port += p;
      if (auto range = ParsePortRange(p)) f.ports.Add(*range);  // "Any", "RPC", "RPCEPMap": no number
    }
    host.firewall.push_back(std::move(f));
  }
  return {};
}

// Processes and the services each hosts; returns pid -> process index.
Result<std::unordered_map<std::int64_t, std::uint32_t>> ReadProcesses(const Reader& r, const json& root,
                                                                      WindowsHost& host) {
  const auto services = BERTH_TRY(r.Objects(root, "Services"));
  std::map<std::int64_t, std::vector<std::string>> hosted;
  for (std::size_t i = 0; i < services.size(); ++i) {
    const std::string at = fmt::format("Services[{}]", i);
    windows::WinService s;
    s.name = BERTH_TRY(r.Text(*services[i], at, "Name", true));
    s.pid = static_cast<int>(BERTH_TRY(r.IntField(*services[i], at, "ProcessId", 0, 0x7fffffff)));
    s.state = BERTH_TRY(r.Text(*services[i], at, "State"));
    if (s.name.find(',') != std::string::npos) return r.Bad(at + ".Name", "a service name has no ','");
    if (s.pid != 0) hosted[s.pid].push_back(s.name);
    host.services.push_back(std::move(s));
  }
  const auto procs = BERTH_TRY(r.Objects(root, "Processes"));
  std::unordered_map<std::int64_t, std::uint32_t> by_pid;
  for (std::size_t i = 0; i < procs.size(); ++i) {
    const std::string at = fmt::format("Processes[{}]", i);
    ProcessInfo p;
    const auto pid = BERTH_TRY(r.IntField(*procs[i], at, "Id", 0, 0x7fffffff));
    p.pid = static_cast<int>(pid);
    p.command = BERTH_TRY(r.Text(*procs[i], at, "ProcessName", true));
    if (!by_pid.emplace(pid, static_cast<std::uint32_t>(host.snap.processes.size())).second) {
      return r.Bad(at + ".Id", fmt::format("pid {} is listed twice", pid));
    }
    if (auto it = hosted.find(pid); it != hosted.end()) {
      std::sort(it->second.begin(), it->second.end());
      for (const std::string& name : it->second) p.unit += (p.unit.empty() ? "" : ",") + name;
    }
    host.snap.processes.push_back(std::move(p));
  }
  host.snap.owners_resolved = !procs.empty();
  return by_pid;
}

Result<void> ReadSockets(const Reader& r, const json& root, Protocol proto,
                         const std::unordered_map<std::int64_t, std::uint32_t>& by_pid, WindowsHost& host) {
  const std::string_view key = proto == Protocol::kTcp ? "TcpListeners" : "UdpEndpoints";
  const auto items = BERTH_TRY(r.Objects(root, key));
  for (std::size_t i = 0; i < items.size(); ++i) {
    const json& e = *items[i];
    const std::string at = fmt::format("{}[{}]", key, i);
    if (proto == Protocol::kTcp && r.Member(e, "State") != nullptr) {
      // MSFT_NetTCPConnection.State: Listen is 2 (Closed 1, Established 5, Bound 100...).
      const int state = BERTH_TRY(r.Enum(e, at, "State",
                                         {{"Listen", 2}, {"Closed", 1}, {"Established", 5}, {"Bound", 100},
                                          {"TimeWait", 11}, {"CloseWait", 8}},
                                         100));
      if (state != 2) continue;
    }
    SocketRecord s;
    s.proto = proto;
    s.state = proto == Protocol::kTcp ? SocketState::kListen : SocketState::kClose;
    std::string address = BERTH_TRY(r.Text(e, at, "LocalAddress", true));
    const IpAddress local = BERTH_TRY(Address(r, std::move(address), at + ".LocalAddress"));
    IpAddress remote;
    remote.family = local.family;
    host.snap.SetAddresses(s, local, remote);
    s.v6only = local.family == 6;
    s.local_port = static_cast<Port>(BERTH_TRY(r.IntField(e, at, "LocalPort", 0, 65535)));
    const auto pid = BERTH_TRY(r.IntField(e, at, "OwningProcess", 0, 0x7fffffff));
    const auto index = static_cast<std::uint32_t>(host.snap.sockets.size());
    host.snap.sockets.push_back(s);
    if (auto it = by_pid.find(pid); it != by_pid.end()) {
      host.snap.owners.push_back(SocketOwner{index, it->second, -1});
    }
  }
  return {};
}

Result<WindowsHost> ReadDocument(const Reader& r, const json& root) {
  if (!root.is_object()) return r.Bad("document", fmt::format("expected an object, got {}", root.type_name()));
  const json* schema = r.Member(root, "Schema");
  if (schema == nullptr || !schema->is_string() || schema->get_ref<const std::string&>() != kWindowsSchema) {
    return r.Bad("Schema", fmt::format("not a collected Windows host: expected Schema \"{}\" (the "
                                       "output of the script 'berth collect --format powershell' "
                                       "prints)",
                                       kWindowsSchema));
  }
  WindowsHost host;
  host.snap.hostname = BERTH_TRY(r.Text(root, "document", "ComputerName", true));
  if (host.snap.hostname.size() > 255) return r.Bad("ComputerName", "longer than 255 bytes");
  host.ps_version = BERTH_TRY(r.Text(root, "document", "PSVersion"));
  host.collected = BERTH_TRY(Collected(r, root));
  const auto by_pid = BERTH_TRY(ReadProcesses(r, root, host));
  BERTH_TRY(ReadSockets(r, root, Protocol::kTcp, by_pid, host));
  BERTH_TRY(ReadSockets(r, root, Protocol::kUdp, by_pid, host));
  std::sort(host.snap.owners.begin(), host.snap.owners.end(), [](const SocketOwner& a, const SocketOwner& b) {
    return std::tie(a.socket, a.process) < std::tie(b.socket, b.process);
  });
  BERTH_TRY(ReadBlocks(r, root, "DynamicPortRanges", false, host.dynamic));
  BERTH_TRY(ReadBlocks(r, root, "ExcludedPortRanges", true, host.excluded));
  BERTH_TRY(ReadSql(r, root, host));
  BERTH_TRY(ReadRpc(r, root, host));
  BERTH_TRY(ReadFirewall(r, root, host));
  host.snap.warnings = BERTH_TRY(r.Strings(root, "", "Warnings", false, kMaxWarning));
  host.snap.partial = !host.snap.warnings.empty();
  host.snap.config.ephemeral = windows::DynamicRange(host, Protocol::kTcp);
  host.snap.config.reserved = windows::ExcludedPorts(host, Protocol::kTcp);
  host.snap.config.unprivileged_port_start = 0;  // Windows has no privileged ports
  return host;
}

}  // namespace

bool LooksLikeWindowsCollection(std::string_view bytes) {
  if (bytes.starts_with("\xFF\xFE") || bytes.starts_with("\xFE\xFF")) return true;
  // "Schema": "berth.windows/..." anywhere (a writer may order keys its own way); a berth
  // scan document's key is "schema".
  for (std::size_t at = bytes.find("\"Schema\""); at != std::string_view::npos;
       at = bytes.find("\"Schema\"", at + 1)) {
    std::size_t i = at + 8;
    while (i < bytes.size() && (bytes[i] == ' ' || bytes[i] == '\t' || bytes[i] == '\r' || bytes[i] == '\n')) ++i;
    if (i >= bytes.size() || bytes[i] != ':') continue;
    ++i;
    while (i < bytes.size() && (bytes[i] == ' ' || bytes[i] == '\t' || bytes[i] == '\r' || bytes[i] == '\n')) ++i;
    if (bytes.substr(i).starts_with("\"berth.windows/")) return true;
  }
  return false;
}

Result<windows::WindowsHost> ParseWindowsCollection(std::string_view bytes, std::string_view source) {
  const std::string text = BERTH_TRY(DecodePowerShellText(bytes, source));
  BERTH_TRY(CheckJsonDepth(text, kWindowsMaxDepth, source));
  const Reader reader(source);
  // nlohmann reports errors by exception; none may leave this function.
  try {
    const json root = json::parse(text);
    return ReadDocument(reader, root);
  } catch (const json::exception& e) {
    return Fail(ErrorCode::kMalformed, fmt::format("{}: not valid JSON: {}", source, e.what()));
  } catch (const std::bad_alloc&) {
    return Fail(ErrorCode::kMalformed, fmt::format("{}: too large to hold in memory", source));
  }
}

}  // namespace berth
