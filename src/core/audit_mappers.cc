// Port mappers and the daemons found through them (see core/audit_parts.h).
#include <algorithm>
#include <array>

#include <fmt/core.h>

#include "core/audit_parts.h"
#include "core/classify.h"
#include "core/nfs_ports.h"
#include "core/port_mappers.h"

namespace berth::audit {
namespace {

// A daemon that clients find only through a port mapper.
struct MappedDaemon {
  std::string_view command;  // /proc comm (15 chars at most)
  std::string_view what;
  std::string_view fix;      // "" when `nfs` says how to pin it
  const NfsDaemon* nfs;      // the NFS daemon it is, if any: its fix is the nfs.conf lines
  // How its port moves; "" for the usual: a new port each time it starts.
  std::string_view moves = "";
};

constexpr std::string_view kSambaDcerpcd = "samba-dcerpcd";

constexpr std::array kMappedDaemons{
    MappedDaemon{"rpc.statd", "NFS status monitor (RPC 100024)", "", &kNfsStatd},
    MappedDaemon{"rpc.mountd", "NFS mount daemon (RPC 100005)", "", &kNfsMountd},
    MappedDaemon{"rpc.rquotad", "NFS quota daemon (RPC 100011)",
                 "start rpc.rquotad with a fixed port: -p PORT (Debian: RPCRQUOTADOPTS in "
                 "/etc/default/quota)",
                 nullptr},
    MappedDaemon{"ypserv", "NIS server (RPC 100004)",
                 "start ypserv with a fixed port: -p PORT (Debian: YPSERVARGS in "
                 "/etc/default/nis)",
                 nullptr},
    MappedDaemon{"ypbind", "NIS binder (RPC 100007)",
                 "start ypbind with a fixed port: -p PORT (Debian: YPBINDARGS in "
                 "/etc/default/nis)",
                 nullptr},
    MappedDaemon{"rpc.yppasswdd", "NIS password daemon (RPC 100009)",
                 "start rpc.yppasswdd with a fixed port: --port PORT", nullptr},
    MappedDaemon{kSambaDcerpcd, "Samba DCE/RPC service (behind the endpoint mapper)",
                 "smb.conf [global]: 'rpc server dynamic port range = A-B' (pins the set, not "
                 "each service); in AD DC mode 'rpc server port:<service> = N' pins each one",
                 nullptr},
    MappedDaemon{"sqlservr", "SQL Server instance (found through the SQL Server Browser)",
                 "SQL Server on Linux: sudo /opt/mssql/bin/mssql-conf set network.tcpport PORT "
                 "(a port claimed with berth assign mssql.INSTANCE), then sudo systemctl restart "
                 "mssql-server; clients use Server=tcp:HOST,PORT",
                 nullptr,
                 "SQL Server keeps its last dynamic port across restarts until another program "
                 "holds it at startup, then takes a new one"},
};

const MappedDaemon* FindMappedDaemon(std::string_view command) {
  for (const MappedDaemon& d : kMappedDaemons) {
    if (d.command == command) return &d;
  }
  // Samba's rpcd_* workers are pinned through samba-dcerpcd's settings.
  if (command.starts_with("rpcd_")) return FindMappedDaemon(kSambaDcerpcd);
  return nullptr;
}

std::string MappedDaemonFix(const MappedDaemon& d) {
  if (d.nfs == nullptr) return std::string(d.fix);
  return fmt::format("in /etc/nfs.conf:\n{}then: systemctl restart {}", NfsConfLines(*d.nfs),
                     d.nfs->unit);
}

Finding NewPortMapperFinding(const AuditInput& in, int process, const PortMapper& m) {
  Finding f{.id = FindingId::kPortMapper,
            .severity = Severity::kWarning,
            .subject = Subject(in.snap, process),
            .proto = m.proto,
            .ports = {},
            .pids = {},
            .why = fmt::format("{} is live: it hands clients ports that change on every "
                               "restart, so firewalls and monitors cannot name them",
                               m.what),
            .fix = PortMapperFix(m)};
  if (process >= 0) f.pids.push_back(in.snap.processes[static_cast<std::size_t>(process)].pid);
  return f;
}

}  // namespace

std::vector<Finding> PortMapperFindings(const AuditInput& in) {
  std::vector<Finding> out;
  for (std::size_t i = 0; i < in.snap.sockets.size(); ++i) {
    const SocketRecord& s = in.snap.sockets[i];
    if (!s.is_server()) continue;
    for (const PortMapper& m : kPortMappers) {
      if (!m.audited || m.port != s.local_port || m.proto != s.proto) continue;
      const int owner = in.snap.PrimaryOwner(static_cast<std::uint32_t>(i));
      const std::string subject = Subject(in.snap, owner);
      auto hit = std::find_if(out.begin(), out.end(), [&](const Finding& f) {
        return f.subject == subject && f.proto == s.proto;
      });
      if (hit == out.end()) hit = out.insert(out.end(), NewPortMapperFinding(in, owner, m));
      hit->ports.Add(s.local_port);
    }
  }
  return out;
}

std::optional<Finding> MappedServiceFinding(const AuditInput& in, const ServerGroup& g) {
  if (g.process == nullptr) return std::nullopt;
  const MappedDaemon* d = FindMappedDaemon(g.process->command);
  if (d == nullptr) return std::nullopt;
  PortSet moving = g.ports.Intersect(kIanaDynamicRange);
  moving.Add(g.ports.Intersect(in.ephemeral));
  if (moving.empty()) return std::nullopt;
  return Finding{.id = FindingId::kMappedService,
                 .severity = Severity::kWarning,
                 .subject = g.subject,
                 .proto = g.proto,
                 .ports = moving,
                 .pids = g.pids,
                 .why = fmt::format("{} on a dynamic port, found by clients only through a port "
                                    "mapper: {}",
                                    d->what,
                                    d->moves.empty() ? "the port changes on every restart" : d->moves),
                 .fix = MappedDaemonFix(*d)};
}

}  // namespace berth::audit
