#include "cli/registry_common.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include <fmt/core.h>

#include "cli/output.h"
#include "host/scanner.h"
#include "host/sysctl.h"
#include "registry/berth_toml.h"
#include "registry/db_path.h"

namespace berth::cli {

void AddDbOption(CLI::App* cmd, std::string& db) {
  cmd->add_option("--db", db,
                  "registry file (default: $BERTH_DB, else /var/lib/berth/registry.db as root, "
                  "$XDG_STATE_HOME/berth/registry.db otherwise)");
}

Result<std::unique_ptr<registry::SqliteStore>> OpenRegistry(const std::string& db,
                                                            registry::OpenMode mode) {
  const std::string path = BERTH_TRY(registry::ResolveDbPath(db));
  return registry::SqliteStore::Open(path, mode);
}

std::string HostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

Result<HostSnapshot> TakeSnapshot(bool owners) {
  ScanOptions options;
  options.resolve_owners = owners;
  HostSnapshot snap = BERTH_TRY(ScanHost(options));
  if (snap.hostname.empty()) snap.hostname = HostName();
  return snap;
}

Result<registry::HostView> TakeHostView() {
  HostSnapshot snap = BERTH_TRY(TakeSnapshot(false));
  registry::HostView view;
  view.hostname = snap.hostname;
  view.config = snap.config;
  for (const SocketRecord& s : snap.sockets) {
    if (!s.is_server()) continue;
    (s.proto == Protocol::kTcp ? view.listening_tcp : view.listening_udp).Add(s.local_port);
  }
  for (const std::string& w : snap.warnings) fmt::print(stderr, "berth: warning: {}\n", w);
  return view;
}

Result<std::string> ReadWholeFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(ErrnoError(errno, fmt::format("cannot read {}", path)));
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Error e = ErrnoError(errno, fmt::format("cannot read {}", path));
      ::close(fd);
      return std::unexpected(std::move(e));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

nlohmann::json ServiceJson(const registry::ServiceRecord& r) {
  const Service& s = r.service;
  return nlohmann::json{{"name", s.name},
                        {"port", s.port},
                        {"proto", ServiceProtoName(s.proto)},
                        {"group", s.group},
                        {"family", s.family},
                        {"owner", s.owner},
                        {"description", s.description},
                        {"tags", s.tags},
                        {"sources", s.sources},
                        {"reason", r.reason},
                        {"created", registry::FormatUtc(s.created)},
                        {"updated", registry::FormatUtc(s.updated)},
                        {"revision", r.revision}};
}

nlohmann::json FindingJson(const Finding& f) {
  nlohmann::json j{{"id", std::string(FindingIdName(f.id))},
                   {"severity", SeverityName(f.severity)},
                   {"subject", f.subject},
                   {"ports", f.ports.Format()},
                   {"pids", f.pids},
                   {"why", f.why},
                   {"fix", f.fix}};
  j["proto"] = f.proto ? nlohmann::json(ProtocolName(*f.proto)) : nlohmann::json(nullptr);
  return j;
}

void PrintFindings(const std::vector<Finding>& findings, bool json, std::string_view title) {
  if (json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const Finding& f : findings) arr.push_back(FindingJson(f));
    WriteStdout(nlohmann::json{{"findings", arr}}.dump(2) + "\n");
    return;
  }
  std::string out;
  if (findings.empty()) {
    out = fmt::format("{}: no findings\n", title);
  } else {
    out = fmt::format("{}: {} finding(s)\n", title, findings.size());
    for (const Finding& f : findings) {
      out += fmt::format("{:<8} {:<28} {}: {}\n", SeverityName(f.severity), FindingIdName(f.id), f.subject, f.why);
      out += fmt::format("         fix: {}\n", f.fix);
    }
  }
  WriteStdout(out);
}

int FindingsExitCode(const std::vector<Finding>& findings, const std::string& fail_on) {
  if (fail_on == "none") return 0;
  auto threshold = ParseSeverity(fail_on);
  if (!threshold) return 0;
  for (const Finding& f : findings) {
    if (f.severity >= *threshold) return 1;
  }
  return 0;
}

}  // namespace berth::cli
