#include "host/scan_json_parse.h"

#include <arpa/inet.h>

#include <algorithm>
#include <limits>
#include <string>
#include <unordered_map>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "base/json_text.h"

namespace berth {
namespace {

using nlohmann::json;

// What `berth scan --json` writes now; /1 (port sets as comma strings) is still read.
constexpr std::string_view kSchema = "berth.scan/2";
constexpr std::string_view kSchemaV1 = "berth.scan/1";
constexpr std::size_t kMaxName = 4096;       // commands, users, units, hostnames
constexpr std::size_t kMaxWarning = 65536;
constexpr std::size_t kMaxWarnings = 100'000;

std::string_view TypeName(const json& v) { return v.type_name(); }

// One document's reader: every failure names the source and the path of the bad field.
class Reader {
 public:
  explicit Reader(std::string_view source) : source_(source) {}

  std::unexpected<Error> Bad(std::string_view at, std::string_view what) const {
    return Fail(ErrorCode::kMalformed, fmt::format("{}: {} (at {})", source_, what, at));
  }

  // The member `key` of object `obj` (at `at`), or null when absent and optional.
  Result<const json*> Member(const json& obj, std::string_view at, std::string_view key,
                             bool required = true) const {
    auto it = obj.find(key);
    if (it == obj.end()) {
      if (!required) return nullptr;
      return Bad(at, fmt::format("missing field \"{}\"", key));
    }
    return &*it;
  }

  Result<std::uint64_t> UInt(const json& v, std::string_view at, std::uint64_t max) const {
    std::uint64_t n = 0;
    if (v.is_number_unsigned()) {
      n = v.get<std::uint64_t>();
    } else if (v.is_number_integer()) {
      return Bad(at, fmt::format("expected an integer 0-{}, got {}", max, v.get<std::int64_t>()));
    } else {
      return Bad(at, fmt::format("expected an integer 0-{}, got {}", max, TypeName(v)));
    }
    if (n > max) return Bad(at, fmt::format("expected an integer 0-{}, got {}", max, n));
    return n;
  }
  Result<std::uint64_t> UIntField(const json& obj, std::string_view at, std::string_view key,
                                  std::uint64_t max) const {
    const json* v = BERTH_TRY(Member(obj, at, key));
    return UInt(*v, fmt::format("{}.{}", at, key), max);
  }

  Result<bool> BoolField(const json& obj, std::string_view at, std::string_view key,
                         bool required = true) const {
    const json* v = BERTH_TRY(Member(obj, at, key, required));
    if (v == nullptr) return false;
    if (!v->is_boolean()) {
      return Bad(fmt::format("{}.{}", at, key), fmt::format("expected true or false, got {}",
                                                           TypeName(*v)));
    }
    return v->get<bool>();
  }

  Result<std::string> Str(const json& v, std::string_view at, std::size_t max, bool nullable) const {
    if (nullable && v.is_null()) return std::string();
    if (!v.is_string()) {
      return Bad(at, fmt::format("expected a string{}, got {}", nullable ? " or null" : "",
                                 TypeName(v)));
    }
    const auto& s = v.get_ref<const std::string&>();
    if (s.size() > max) {
      return Bad(at, fmt::format("string of {} bytes is longer than {}", s.size(), max));
    }
    return s;
  }
  Result<std::string> StrField(const json& obj, std::string_view at, std::string_view key,
                               std::size_t max, bool nullable = false) const {
    const json* v = BERTH_TRY(Member(obj, at, key));
    return Str(*v, fmt::format("{}.{}", at, key), max, nullable);
  }

  Result<const json*> Array(const json& obj, std::string_view at, std::string_view key,
                            std::size_t max) const {
    const json* v = BERTH_TRY(Member(obj, at.empty() ? "document" : at, key));
    const std::string where = at.empty() ? std::string(key) : fmt::format("{}.{}", at, key);
    if (!v->is_array()) return Bad(where, fmt::format("expected an array, got {}", TypeName(*v)));
    if (v->size() > max) {
      return Bad(where, fmt::format("{} entries, more than the {} allowed", v->size(), max));
    }
    return v;
  }

  Result<const json*> Object(const json& v, std::string_view at) const {
    if (!v.is_object()) return Bad(at, fmt::format("expected an object, got {}", TypeName(v)));
    return &v;
  }

 private:
  std::string_view source_;
};

Result<IpAddress> ParseAddress(const Reader& r, const std::string& text, std::uint8_t family,
                               std::string_view at) {
  IpAddress a;
  a.family = family;
  if (::inet_pton(family == 4 ? AF_INET : AF_INET6, text.c_str(), a.bytes.data()) != 1) {
    return r.Bad(at, fmt::format("'{}' is not an {} address", text, family == 4 ? "IPv4" : "IPv6"));
  }
  return a;
}

Result<void> ReadHost(const Reader& r, const json& root, HostSnapshot& snap, bool v1) {
  const json* host = BERTH_TRY(r.Member(root, "document", "host"));
  BERTH_TRY(r.Object(*host, "host"));
  snap.hostname = BERTH_TRY(r.StrField(*host, "host", "hostname", 255));
  snap.netns = BERTH_TRY(r.StrField(*host, "host", "netns", kMaxName, /*nullable=*/true));
  const json* eph = BERTH_TRY(r.Member(*host, "host", "ephemeral_range"));
  BERTH_TRY(r.Object(*eph, "host.ephemeral_range"));
  const auto low = BERTH_TRY(r.UIntField(*eph, "host.ephemeral_range", "low", 65535));
  const auto high = BERTH_TRY(r.UIntField(*eph, "host.ephemeral_range", "high", 65535));
  if (low > high) return r.Bad("host.ephemeral_range", fmt::format("low {} > high {}", low, high));
  snap.config.ephemeral = PortRange{static_cast<Port>(low), static_cast<Port>(high)};
  if (v1) {
    const std::string reserved = BERTH_TRY(r.StrField(*host, "host", "reserved_ports", 1 << 20));
    auto set = PortSet::Parse(reserved);
    if (!set) return r.Bad("host.reserved_ports", set.error().message);
    snap.config.reserved = std::move(*set);
  } else {
    // [[low, high], ...]: at most 65536 ranges, each two ports in order.
    const json* ranges = BERTH_TRY(r.Array(*host, "host", "reserved_ports", 65536));
    for (std::size_t i = 0; i < ranges->size(); ++i) {
      const std::string at = fmt::format("host.reserved_ports[{}]", i);
      const json& pair = (*ranges)[i];
      if (!pair.is_array() || pair.size() != 2) {
        return r.Bad(at, fmt::format("expected [low, high], got {}", TypeName(pair)));
      }
      const auto lo = BERTH_TRY(r.UInt(pair[0], at, 65535));
      const auto hi = BERTH_TRY(r.UInt(pair[1], at, 65535));
      if (lo > hi) return r.Bad(at, fmt::format("low {} > high {}", lo, hi));
      snap.config.reserved.Add(PortRange{static_cast<Port>(lo), static_cast<Port>(hi)});
    }
  }
  snap.config.unprivileged_port_start =
      static_cast<int>(BERTH_TRY(r.UIntField(*host, "host", "unprivileged_port_start", 65535)));
  snap.config.tcp_tw_reuse = static_cast<int>(BERTH_TRY(r.UIntField(*host, "host", "tcp_tw_reuse", 2)));
  // Added within berth.scan/1: older documents lack it and mean the kernel's default, 1.
  if (const json* ts = BERTH_TRY(r.Member(*host, "host", "tcp_timestamps", false))) {
    snap.config.tcp_timestamps = static_cast<int>(BERTH_TRY(r.UInt(*ts, "host.tcp_timestamps", 2)));
  }
  return {};
}

Result<SocketState> ParseState(const Reader& r, const std::string& name, Protocol proto,
                               std::string_view at) {
  for (int s = 1; s <= 12; ++s) {
    if (StateName(static_cast<SocketState>(s), proto) == name) return static_cast<SocketState>(s);
  }
  return r.Bad(at, fmt::format("'{}' is not a {} socket state (ss's names: LISTEN, UNCONN, "
                               "ESTAB, TIME-WAIT, ...)", name, ProtocolName(proto)));
}

struct PendingOwner {
  std::uint32_t socket;
  std::uint64_t pid;
  int fd;
  std::size_t index;  // within the socket's owners, for the error path
};

Result<SocketRecord> ReadSocket(const Reader& r, const json& v, const std::string& at,
                                HostSnapshot& snap, std::unordered_map<std::string, std::uint32_t>& ifs) {
  BERTH_TRY(r.Object(v, at));
  SocketRecord s;
  const std::string proto = BERTH_TRY(r.StrField(v, at, "proto", 16));
  if (proto == "tcp") s.proto = Protocol::kTcp;
  else if (proto == "udp") s.proto = Protocol::kUdp;
  else return r.Bad(at + ".proto", fmt::format("expected \"tcp\" or \"udp\", got '{}'", proto));
  const std::string family = BERTH_TRY(r.StrField(v, at, "family", 16));
  if (family != "ipv4" && family != "ipv6") {
    return r.Bad(at + ".family", fmt::format("expected \"ipv4\" or \"ipv6\", got '{}'", family));
  }
  const std::uint8_t fam = family == "ipv4" ? 4 : 6;
  const std::string state = BERTH_TRY(r.StrField(v, at, "state", 32));
  s.state = BERTH_TRY(ParseState(r, state, s.proto, at + ".state"));
  const std::string address = BERTH_TRY(r.StrField(v, at, "address", 64));
  const IpAddress local = BERTH_TRY(ParseAddress(r, address, fam, at + ".address"));
  s.local_port = static_cast<Port>(BERTH_TRY(r.UIntField(v, at, "port", 65535)));
  IpAddress remote;
  remote.family = fam;
  const json* peer = BERTH_TRY(r.Member(v, at, "peer_address", false));
  const json* peer_port = BERTH_TRY(r.Member(v, at, "peer_port", false));
  if ((peer == nullptr) != (peer_port == nullptr)) {
    return r.Bad(at, "peer_address and peer_port come together or not at all");
  }
  if (peer != nullptr) {
    const std::string text = BERTH_TRY(r.Str(*peer, at + ".peer_address", 64, false));
    remote = BERTH_TRY(ParseAddress(r, text, fam, at + ".peer_address"));
    s.remote_port = static_cast<Port>(BERTH_TRY(r.UInt(*peer_port, at + ".peer_port", 65535)));
  }
  snap.SetAddresses(s, local, remote);
  if (fam == 6) s.v6only = BERTH_TRY(r.BoolField(v, at, "v6only", false));
  s.inode = static_cast<std::uint32_t>(BERTH_TRY(r.UIntField(v, at, "inode", 0xFFFFFFFFu)));
  snap.SetUid(s, static_cast<std::uint32_t>(BERTH_TRY(r.UIntField(v, at, "uid", 0xFFFFFFFFu))));
  s.rqueue = static_cast<std::uint32_t>(BERTH_TRY(r.UIntField(v, at, "rqueue", 0xFFFFFFFFu)));
  s.wqueue = static_cast<std::uint32_t>(BERTH_TRY(r.UIntField(v, at, "wqueue", 0xFFFFFFFFu)));
  const std::string ifname = BERTH_TRY(r.StrField(v, at, "interface", 64, /*nullable=*/true));
  if (!ifname.empty()) {
    // The document names devices, not their kernel indexes: number them in order of use.
    auto [it, added] = ifs.emplace(ifname, static_cast<std::uint32_t>(ifs.size() + 1));
    snap.SetInterface(s, it->second);
    if (const std::uint16_t iface = snap.Attrs(s).iface; added && iface != 0) {
      snap.interfaces[iface - 1u].second = ifname;
    }
  }
  return s;
}

Result<void> ReadSockets(const Reader& r, const json& root, HostSnapshot& snap,
                         std::vector<PendingOwner>& owners) {
  const json* arr = BERTH_TRY(r.Array(root, "", "sockets", kScanJsonMaxItems));
  std::unordered_map<std::string, std::uint32_t> ifs;
  snap.sockets.reserve(arr->size());
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const json& v = (*arr)[i];
    const std::string at = fmt::format("sockets[{}]", i);
    snap.sockets.push_back(BERTH_TRY(ReadSocket(r, v, at, snap, ifs)));
    const json* list = BERTH_TRY(r.Array(v, at, "owners", kScanJsonMaxItems));
    for (std::size_t k = 0; k < list->size(); ++k) {
      const std::string oat = fmt::format("{}.owners[{}]", at, k);
      const json& o = (*list)[k];
      BERTH_TRY(r.Object(o, oat));
      const auto pid = BERTH_TRY(r.UIntField(o, oat, "pid", std::numeric_limits<int>::max()));
      // null: the descriptor is unknown (a collected Windows host); kept as -1.
      const json* fd_value = BERTH_TRY(r.Member(o, oat, "fd"));
      const int fd = fd_value->is_null()
                         ? -1
                         : static_cast<int>(BERTH_TRY(r.UIntField(o, oat, "fd", std::numeric_limits<int>::max())));
      if (owners.size() >= kScanJsonMaxItems) return r.Bad(oat, "too many owners");
      owners.push_back(PendingOwner{static_cast<std::uint32_t>(i), pid, fd, k});
    }
  }
  return {};
}

Result<void> ReadProcesses(const Reader& r, const json& root, HostSnapshot& snap,
                           std::unordered_map<std::uint64_t, std::uint32_t>& by_pid) {
  const json* arr = BERTH_TRY(r.Array(root, "", "processes", kScanJsonMaxItems));
  snap.processes.reserve(arr->size());
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const json& v = (*arr)[i];
    const std::string at = fmt::format("processes[{}]", i);
    BERTH_TRY(r.Object(v, at));
    ProcessInfo p;
    const auto pid = BERTH_TRY(r.UIntField(v, at, "pid", std::numeric_limits<int>::max()));
    if (pid == 0) return r.Bad(at + ".pid", "pid 0 is not a process");
    p.pid = static_cast<int>(pid);
    p.command = BERTH_TRY(r.StrField(v, at, "command", kMaxName));
    p.user = BERTH_TRY(r.StrField(v, at, "user", kMaxName));
    p.uid = static_cast<std::uint32_t>(BERTH_TRY(r.UIntField(v, at, "uid", 0xFFFFFFFFu)));
    p.unit = BERTH_TRY(r.StrField(v, at, "unit", kMaxName, /*nullable=*/true));
    p.container = BERTH_TRY(r.StrField(v, at, "container", kMaxName, /*nullable=*/true));
    if (!by_pid.emplace(pid, static_cast<std::uint32_t>(i)).second) {
      return r.Bad(at + ".pid", fmt::format("pid {} is listed twice", pid));
    }
    snap.processes.push_back(std::move(p));
  }
  return {};
}

Result<HostSnapshot> ReadDocument(const Reader& r, const json& root, ScanJsonInfo* info) {
  if (!root.is_object()) {
    return r.Bad("document", fmt::format("expected a {} object, got {}", kSchema, TypeName(root)));
  }
  auto schema = root.find("schema");
  if (schema == root.end() || !schema->is_string() ||
      (schema->get_ref<const std::string&>() != kSchema &&
       schema->get_ref<const std::string&>() != kSchemaV1)) {
    const std::string got = schema == root.end() ? "no \"schema\" field"
                            : schema->is_string()
                                ? fmt::format("schema '{}'", schema->get_ref<const std::string&>().substr(0, 64))
                                : fmt::format("a {} schema", TypeName(*schema));
    return r.Bad("schema", fmt::format("not a {} document ({}); expected the output of "
                                       "`berth scan --json`", kSchema, got));
  }
  HostSnapshot snap;
  BERTH_TRY(ReadHost(r, root, snap, schema->get_ref<const std::string&>() == kSchemaV1));
  const bool all_states = BERTH_TRY(r.BoolField(root, "document", "all_states"));
  if (info != nullptr) info->all_states = all_states;
  snap.owners_resolved = BERTH_TRY(r.BoolField(root, "document", "owners_resolved"));
  snap.partial = BERTH_TRY(r.BoolField(root, "document", "partial"));
  const json* warnings = BERTH_TRY(r.Array(root, "", "warnings", kMaxWarnings));
  for (std::size_t i = 0; i < warnings->size(); ++i) {
    snap.warnings.push_back(
        BERTH_TRY(r.Str((*warnings)[i], fmt::format("warnings[{}]", i), kMaxWarning, false)));
  }

  std::vector<PendingOwner> pending;
  BERTH_TRY(ReadSockets(r, root, snap, pending));
  std::unordered_map<std::uint64_t, std::uint32_t> by_pid;
  BERTH_TRY(ReadProcesses(r, root, snap, by_pid));
  snap.owners.reserve(pending.size());
  for (const PendingOwner& o : pending) {
    auto it = by_pid.find(o.pid);
    if (it == by_pid.end()) {
      return r.Bad(fmt::format("sockets[{}].owners[{}].pid", o.socket, o.index),
                   fmt::format("pid {} is not in processes", o.pid));
    }
    snap.owners.push_back(SocketOwner{o.socket, it->second, o.fd});
  }
  std::sort(snap.owners.begin(), snap.owners.end(), [](const SocketOwner& a, const SocketOwner& b) {
    return std::tie(a.socket, a.process, a.fd) < std::tie(b.socket, b.process, b.fd);
  });
  return snap;
}

}  // namespace

Result<HostSnapshot> ParseScanJson(std::string_view text, std::string_view source,
                                   ScanJsonInfo* info) {
  if (text.size() > kScanJsonMaxBytes) {
    return Fail(ErrorCode::kMalformed, fmt::format("{}: {} bytes, more than the {} MiB a "
                                                   "recording may have",
                                                   source, text.size(), kScanJsonMaxBytes >> 20));
  }
  if (text.starts_with("\xEF\xBB\xBF")) {
    return Fail(ErrorCode::kMalformed,
                fmt::format("{}: starts with a byte order mark; expected plain UTF-8 JSON", source));
  }
  BERTH_TRY(CheckJsonDepth(text, kScanJsonMaxDepth, source));
  const Reader reader(source);
  // nlohmann reports errors by exception; none may leave this function.
  try {
    const json root = json::parse(text);
    return ReadDocument(reader, root, info);
  } catch (const json::exception& e) {
    return Fail(ErrorCode::kMalformed, fmt::format("{}: not valid JSON: {}", source, e.what()));
  } catch (const std::bad_alloc&) {
    return Fail(ErrorCode::kMalformed, fmt::format("{}: too large to hold in memory", source));
  }
}

}  // namespace berth
