#include "core/audit.h"

#include <algorithm>
#include <array>
#include <map>

#include <fmt/core.h>

#include "core/iana.h"

namespace berth {
namespace {

struct MapperPort {
  Port port;
  Protocol proto;
  std::string_view what;
  std::string_view fix;
};

constexpr std::string_view kNfsPins =
    "pin each RPC service in /etc/nfs.conf, then restart nfs-server and rpc-statd:\n"
    "[mountd]\nport=20048\n[statd]\nport=32765\noutgoing-port=32766\n"
    "[lockd]\nport=32767\nudp-port=32767\n"
    "if no NFSv3 or NIS client needs the mapper: systemctl disable --now rpcbind.service "
    "rpcbind.socket";

constexpr std::array kMappers{
    MapperPort{111, Protocol::kTcp, "ONC RPC port mapper (rpcbind)", kNfsPins},
    MapperPort{111, Protocol::kUdp, "ONC RPC port mapper (rpcbind)", kNfsPins},
    MapperPort{135, Protocol::kTcp, "DCE/MS-RPC endpoint mapper",
               "give each RPC service its own port where it has a setting (Samba AD DC: "
               "'rpc server port:<service> = N' in smb.conf; Windows: NTDS 'TCP/IP Port', "
               "Netlogon DCTcpipPort); otherwise restrict the dynamic range (Samba: "
               "'rpc server dynamic port range = A-B'; Windows: HKLM\\Software\\Microsoft\\"
               "Rpc\\Internet Ports) - a range pins the set of ports, not each service"},
    MapperPort{1434, Protocol::kUdp, "SQL Server Browser (SSRP)",
               "for each instance: SQL Server Configuration Manager > TCP/IP > IPAll: clear "
               "'TCP Dynamic Ports', set 'TCP Port'; clients use Server=HOST,PORT instead of "
               "HOST\\INSTANCE; open that one port; then disable the SQL Server Browser"},
};

struct Companion {
  std::string_view command;  // /proc comm (15 chars at most)
  std::string_view what;
  std::string_view fix;
};

constexpr std::array kCompanions{
    Companion{"rpc.statd", "NFS status monitor (RPC 100024)",
              "in /etc/nfs.conf:\n[statd]\nport=32765\noutgoing-port=32766\n"
              "then: systemctl restart rpc-statd"},
    Companion{"rpc.mountd", "NFS mount daemon (RPC 100005)",
              "in /etc/nfs.conf:\n[mountd]\nport=20048\nthen: systemctl restart nfs-mountd"},
    Companion{"rpc.rquotad", "NFS quota daemon (RPC 100011)",
              "start rpc.rquotad with a fixed port: -p PORT (Debian: RPCRQUOTADOPTS in "
              "/etc/default/quota)"},
    Companion{"ypserv", "NIS server (RPC 100004)",
              "start ypserv with a fixed port: -p PORT (Debian: YPSERVARGS in /etc/default/nis)"},
    Companion{"ypbind", "NIS binder (RPC 100007)",
              "start ypbind with a fixed port: -p PORT (Debian: YPBINDARGS in /etc/default/nis)"},
    Companion{"rpc.yppasswdd", "NIS password daemon (RPC 100009)",
              "start rpc.yppasswdd with a fixed port: --port PORT"},
    Companion{"samba-dcerpcd", "Samba DCE/RPC service (behind the endpoint mapper)",
              "smb.conf [global]: 'rpc server dynamic port range = A-B' (pins the set, not each "
              "service); in AD DC mode 'rpc server port:<service> = N' pins each one"},
    Companion{"sqlservr", "SQL Server instance (found through the SQL Server Browser)",
              "SQL Server Configuration Manager > TCP/IP > IPAll: clear 'TCP Dynamic Ports', set "
              "'TCP Port'; clients use Server=HOST,PORT"},
};

const Companion* FindCompanion(std::string_view command) {
  for (const Companion& c : kCompanions) {
    if (c.command == command) return &c;
  }
  if (command.starts_with("rpcd_")) return &kCompanions[6];  // Samba's rpcd_* workers
  return nullptr;
}

std::string Normalize(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) out += c;
  }
  return out;
}

// Daemons whose /proc comm shares no letters with the IANA name of what they serve. The
// second element is a token of the service name: "http" covers www-http, https, http-alt.
constexpr std::array<std::pair<std::string_view, std::string_view>, 36> kAliases{{
    {"nginx", "http"}, {"apache2", "http"}, {"httpd", "http"}, {"caddy", "http"},
    {"haproxy", "http"}, {"envoy", "http"}, {"traefik", "http"}, {"lighttpd", "http"},
    {"postgres", "postgresql"}, {"mysqld", "mysql"}, {"mariadbd", "mysql"},
    {"named", "domain"}, {"unbound", "domain"}, {"dnsmasq", "domain"},
    {"systemd-resolve", "domain"}, {"coredns", "domain"}, {"dnsmasq", "bootps"},
    {"chronyd", "ntp"}, {"ntpd", "ntp"}, {"rpcbind", "sunrpc"}, {"portmap", "sunrpc"},
    {"smbd", "microsoft-ds"}, {"smbd", "netbios"}, {"nmbd", "netbios"}, {"cupsd", "ipp"},
    {"master", "smtp"}, {"master", "submission"}, {"exim4", "smtp"}, {"sendmail", "smtp"},
    {"dhclient", "bootpc"}, {"avahi-daemon", "mdns"}, {"sqlservr", "ms-sql"},
    {"rpc.mountd", "mountd"}, {"rpc.statd", "status"}, {"memcached", "memcache"},
    {"samba-dcerpcd", "epmap"},
}};

std::string Subject(const HostSnapshot& snap, int process) {
  if (process >= 0) {
    const ProcessInfo& p = snap.processes[static_cast<std::size_t>(process)];
    return fmt::format("{} (pid {})", p.command, p.pid);
  }
  return snap.owners_resolved ? "no visible process (kernel or another pid namespace)"
                              : "owner not looked up (--no-procs)";
}

// The command that prefixes sysctl fixes, so they run in the audited namespace.
std::string SysctlPrefix(const HostSnapshot& snap) {
  if (snap.netns.empty()) return "sysctl -w";
  if (snap.netns.find('/') == std::string::npos) {
    return fmt::format("ip netns exec {} sysctl -w", snap.netns);
  }
  return fmt::format("nsenter --net={} sysctl -w", snap.netns);
}

struct Group {
  int process;
  Protocol proto;
  PortSet ports;
  std::vector<int> pids;
};

std::string SampleIana(const PortSet& ports, Protocol proto) {
  std::string out;
  int shown = 0;
  for (PortRange r : ports.ranges()) {
    for (std::uint32_t p = r.low; p <= r.high && shown < 3; ++p, ++shown) {
      auto e = IanaLookup(static_cast<Port>(p), proto);
      if (!out.empty()) out += ", ";
      out += fmt::format("{} is {}", p, e ? e->service : "?");
    }
  }
  if (ports.count() > 3) out += ", ...";
  return out;
}

std::string Plural(std::uint32_t n, std::string_view word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

}  // namespace

bool CommandMatchesService(std::string_view command, std::string_view service) {
  for (auto [c, token] : kAliases) {
    if (c == command && service.find(token) != std::string_view::npos) return true;
  }
  std::string cmd = Normalize(command);
  std::string svc = Normalize(service);
  if (cmd.empty() || svc.empty()) return false;
  if (cmd.size() > 3 && cmd.back() == 'd') cmd.pop_back();  // sshd -> ssh
  if (cmd == svc) return true;
  if (cmd.size() >= 3 && svc.size() >= 3 && (cmd.starts_with(svc) || svc.starts_with(cmd))) {
    return true;
  }
  return false;
}

std::vector<Finding> AuditHost(const HostSnapshot& snap) {
  std::vector<Finding> out;
  const HostPortConfig& cfg = snap.config;
  const PortRange eph = cfg.ephemeral;

  // Primary owner of each socket: the owner with the lowest pid (owners are sorted).
  std::vector<int> primary(snap.sockets.size(), -1);
  for (auto it = snap.owners.rbegin(); it != snap.owners.rend(); ++it) {
    primary[it->socket] = static_cast<int>(it->process);
  }

  std::map<std::pair<int, Protocol>, Group> groups;
  PortSet tcp_in_range;
  PortSet servers_in_range;
  for (std::size_t i = 0; i < snap.sockets.size(); ++i) {
    const SocketRecord& s = snap.sockets[i];
    if (!s.is_server()) continue;
    auto key = std::pair{primary[i], s.proto};
    auto [it, inserted] = groups.try_emplace(key, Group{primary[i], s.proto, {}, {}});
    it->second.ports.Add(s.local_port);
    if (eph.contains(s.local_port)) {
      servers_in_range.Add(s.local_port);
      if (s.proto == Protocol::kTcp) tcp_in_range.Add(s.local_port);
    }
    for (const MapperPort& m : kMappers) {
      if (m.port != s.local_port || m.proto != s.proto) continue;
      auto hit = std::find_if(out.begin(), out.end(), [&](const Finding& f) {
        return f.id == FindingId::kPortMapper && f.subject == Subject(snap, primary[i]) &&
               f.proto == s.proto;
      });
      if (hit == out.end()) {
        Finding f{.id = FindingId::kPortMapper,
                  .severity = Severity::kWarning,
                  .subject = Subject(snap, primary[i]),
                  .proto = s.proto,
                  .ports = {},
                  .pids = {},
                  .why = fmt::format(
                      "{} is live: it hands clients ports that change on every restart, so "
                      "firewalls and monitors cannot name them",
                      m.what),
                  .fix = std::string(m.fix)};
        if (primary[i] >= 0) f.pids.push_back(snap.processes[primary[i]].pid);
        hit = out.insert(out.end(), std::move(f));
      }
      hit->ports.Add(s.local_port);
    }
  }

  for (auto& [key, g] : groups) {
    const ProcessInfo* proc = g.process >= 0 ? &snap.processes[g.process] : nullptr;
    std::vector<int> pids;
    if (proc) pids.push_back(proc->pid);
    const std::string subject = Subject(snap, g.process);

    PortSet in_range = g.ports.Intersect(eph);
    if (!in_range.empty()) {
      const bool tcp = g.proto == Protocol::kTcp;
      out.push_back(Finding{
          .id = FindingId::kEphemeralListener,
          .severity = tcp ? Severity::kWarning : Severity::kInfo,
          .subject = subject,
          .proto = g.proto,
          .ports = in_range,
          .pids = pids,
          .why = tcp ? fmt::format("listens on {} inside the ephemeral range {}-{}: an outbound "
                                   "connection can take it before the server starts, and every "
                                   "firewall sees a dynamic port",
                                   Plural(in_range.count(), "port"), eph.low, eph.high)
                     : fmt::format("UDP socket bound on {} inside the ephemeral range {}-{}: a "
                                   "server here moves on restart (a client socket here is normal)",
                                   Plural(in_range.count(), "port"), eph.low, eph.high),
          .fix = fmt::format("give the service a static port below {} (berth assign NAME "
                             "prints one) and restart it; until then reserve the port (see "
                             "{})",
                             eph.low,
                             FindingIdName(cfg.reserved.empty() ? FindingId::kReservedPortsEmpty
                                                                : FindingId::kUnreservedEphemeralPorts))});
    }

    PortSet dynamic_outside = g.ports.Intersect(PortRange{49152, 65535});
    dynamic_outside.Subtract(eph);
    if (!dynamic_outside.empty()) {
      out.push_back(Finding{
          .id = FindingId::kDynamicRangeListener,
          .severity = Severity::kInfo,
          .subject = subject,
          .proto = g.proto,
          .ports = dynamic_outside,
          .pids = pids,
          .why = "port in the IANA dynamic range 49152-65535: never assigned, the ephemeral "
                 "range of Windows, macOS and FreeBSD, and treated as dynamic by firewalls",
          .fix = "move the service to a static port in 1024-32767 (berth assign NAME)"});
    }

    if (proc) {
      if (const Companion* c = FindCompanion(proc->command)) {
        PortSet moving = g.ports.Intersect(PortRange{49152, 65535});
        moving.Add(in_range);
        if (!moving.empty()) {
          out.push_back(Finding{
              .id = FindingId::kMappedService,
              .severity = Severity::kWarning,
              .subject = subject,
              .proto = g.proto,
              .ports = moving,
              .pids = pids,
              .why = fmt::format("{} on a dynamic port, found by clients only through a port "
                                 "mapper: the port changes on every restart",
                                 c->what),
              .fix = std::string(c->fix)});
        }
      }

      PortSet foreign;
      for (PortRange r : g.ports.ranges()) {
        for (std::uint32_t p = r.low; p <= r.high; ++p) {
          if (eph.contains(static_cast<Port>(p))) continue;
          auto e = IanaLookup(static_cast<Port>(p), g.proto);
          if (e && !CommandMatchesService(proc->command, e->service)) {
            foreign.Add(static_cast<Port>(p));
          }
        }
      }
      if (!foreign.empty()) {
        out.push_back(Finding{
            .id = FindingId::kIanaMismatch,
            .severity = Severity::kInfo,
            .subject = subject,
            .proto = g.proto,
            .ports = foreign,
            .pids = pids,
            .why = fmt::format("IANA assigns {} to other services ({})",
                               foreign.count() == 1 ? "this port" : "these ports",
                               SampleIana(foreign, g.proto)),
            .fix = "fine if clients are configured with the port; to keep it, record it: berth "
                   "assign NAME --port PORT --allow-iana"});
      }
    }
  }

  // Host configuration.
  const std::string sysctl = SysctlPrefix(snap);
  if (eph.size() < 10000) {
    out.push_back(Finding{
        .id = FindingId::kEphemeralRangeSmall,
        .severity = Severity::kWarning,
        .subject = "host",
        .proto = std::nullopt,
        .ports = PortSet{eph},
        .pids = {},
        .why = fmt::format("the ephemeral range {}-{} has only {} ports: busy clients run out "
                           "(each destination IP:port gets at most that many connections)",
                           eph.low, eph.high, eph.size()),
        .fix = fmt::format("{} net.ipv4.ip_local_port_range=\"32768 60999\"  (check first that "
                           "no server listens in the new part)",
                           sysctl)});
  }
  if (!servers_in_range.empty()) {
    // Suggest the largest part of the current range that no server sits in.
    PortSet free_part{eph};
    free_part.Subtract(servers_in_range);
    PortRange best{};
    for (PortRange r : free_part.ranges()) {
      if (r.size() > best.size() || best == PortRange{}) best = r;
    }
    std::string fix =
        best.size() >= 10000 && !free_part.empty()
            ? fmt::format("move the servers out of the range (preferred), or shrink the range "
                          "around them: {} net.ipv4.ip_local_port_range=\"{} {}\"",
                          sysctl, best.low, best.high)
            : std::string("move the servers to static ports below the range (berth assign NAME); "
                          "no part of the range free of servers is 10,000 ports or larger");
    out.push_back(Finding{
        .id = FindingId::kRangeOverlapsListeners,
        .severity = Severity::kInfo,
        .subject = "host",
        .proto = std::nullopt,
        .ports = servers_in_range,
        .pids = {},
        .why = fmt::format("the ephemeral range {}-{} overlaps {} servers use", eph.low,
                           eph.high, Plural(servers_in_range.count(), "port")),
        .fix = std::move(fix)});
  }
  PortSet unreserved = tcp_in_range;
  unreserved.Subtract(cfg.reserved);
  if (!unreserved.empty()) {
    PortSet merged = cfg.reserved;
    merged.Add(unreserved);
    const bool empty = cfg.reserved.empty();
    out.push_back(Finding{
        .id = empty ? FindingId::kReservedPortsEmpty : FindingId::kUnreservedEphemeralPorts,
        .severity = Severity::kWarning,
        .subject = "host",
        .proto = Protocol::kTcp,
        .ports = unreserved,
        .pids = {},
        .why = empty ? fmt::format("{} {} inside the ephemeral range and "
                                   "net.ipv4.ip_local_reserved_ports is empty: any outbound "
                                   "connection may take {} first",
                                   Plural(unreserved.count(), "TCP port"),
                                   unreserved.count() == 1 ? "listens" : "listen",
                                   unreserved.count() == 1 ? "it" : "them")
                     : fmt::format("{} inside the ephemeral range {} not in "
                                   "net.ipv4.ip_local_reserved_ports: any outbound connection "
                                   "may take {} first",
                                   Plural(unreserved.count(), "TCP listener port"),
                                   unreserved.count() == 1 ? "is" : "are",
                                   unreserved.count() == 1 ? "it" : "them"),
        .fix = fmt::format("{} net.ipv4.ip_local_reserved_ports={}\n"
                           "and keep it across reboots: echo "
                           "'net.ipv4.ip_local_reserved_ports = {}' > "
                           "/etc/sysctl.d/60-berth.conf  (merged with the current value; "
                           "writing the sysctl replaces the whole list)",
                           sysctl, merged.Format(), merged.Format())});
  }

  std::stable_sort(out.begin(), out.end(), [](const Finding& a, const Finding& b) {
    if (a.severity != b.severity) return a.severity > b.severity;
    if (a.id != b.id) return FindingIdName(a.id) < FindingIdName(b.id);  // by name, as printed
    return a.subject < b.subject;
  });
  return out;
}

}  // namespace berth
