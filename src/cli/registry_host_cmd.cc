// berth check, berth reserve, berth range: hold this host to the registry.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include <fmt/core.h>

#include "base/file.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/registry_common.h"
#include "host/sysctl.h"
#include "registry/conformance.h"

namespace berth::cli {
namespace {

constexpr const char* kReservedPath = "/proc/sys/net/ipv4/ip_local_reserved_ports";

struct HostInputs {
  HostSnapshot snap;
  std::vector<Service> services;  // of this host's groups
  PortSet allow;                  // the groups' allowlists
};

Result<HostInputs> LoadHostInputs(const std::string& db, bool owners) {
  HostInputs in;
  auto store = BERTH_TRY(OpenRegistry(db, registry::OpenMode::kRead));
  auto doc = BERTH_TRY(store->Export());
  in.snap = BERTH_TRY(TakeSnapshot(owners));
  in.services = registry::ServicesOfHost(doc.services, doc.groups, in.snap.hostname);
  for (const auto& g : doc.groups) {
    if (g.name == registry::kDefaultGroup ||
        std::find(g.hosts.begin(), g.hosts.end(), in.snap.hostname) != g.hosts.end()) {
      in.allow.Add(g.allow);
    }
  }
  for (const auto& w : in.snap.warnings) fmt::print(stderr, "berth: warning: {}\n", w);
  return in;
}

struct CheckFlags {
  std::string allow, fail_on = "warning", db;
  bool json = false;
  bool no_procs = false;
};

int RunCheck(const CheckFlags& f) {
  auto in = LoadHostInputs(f.db, !f.no_procs);
  if (!in) return PrintError(in.error());
  if (!f.allow.empty()) {
    auto extra = PortSet::Parse(f.allow);
    if (!extra) return PrintError(fmt::format("--allow: {}", extra.error().message));
    in->allow.Add(*extra);
  }
  const auto findings = registry::CheckHost(in->snap, in->services, in->allow);
  PrintFindings(findings, f.json,
                fmt::format("berth check ({} registered service(s) of this host)", in->services.size()));
  return FindingsExitCode(findings, f.fail_on);
}

struct ReserveFlags {
  std::string write, db;
  bool apply = false;
};

int RunReserve(const ReserveFlags& f) {
  auto store = OpenRegistry(f.db, registry::OpenMode::kRead);
  if (!store) return PrintError(store.error());
  auto doc = (*store)->Export();
  if (!doc) return PrintError(doc.error());
  auto current_text = ReadSmallFile(kReservedPath);
  if (!current_text) return PrintError(current_text.error());
  auto current = PortSet::Parse(*current_text);
  if (!current) return PrintError(fmt::format("{}: {}", kReservedPath, current.error().message));
  const auto services = registry::ServicesOfHost(doc->services, doc->groups, HostName());
  const PortSet merged = registry::MergeReserved(*current, services);
  const std::string file = registry::SysctlFile(merged);
  const bool write = f.apply || !f.write.empty();
  const std::string path = f.write.empty() ? "/etc/sysctl.d/60-berth.conf" : f.write;
  if (!write) {
    WriteStdout(fmt::format("current:  {}\nproposed: {}\n\n{}\n(dry run: --write PATH writes "
                            "the file, --apply writes {} and sets the value now)\n",
                            current->empty() ? "(empty)" : current->Format(),
                            merged.empty() ? "(empty)" : merged.Format(), file, path));
    return 0;
  }
  if (auto w = WriteFileAtomic(path, file); !w) return PrintError(w.error());
  WriteStdout(fmt::format("wrote {}\n", path));
  if (!f.apply) return 0;
  if (merged == *current) {
    WriteStdout("net.ipv4.ip_local_reserved_ports already covers the registry\n");
    return 0;
  }
  const std::string value = merged.Format() + "\n";
  int fd = ::open(kReservedPath, O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return PrintError(ErrnoError(errno, fmt::format("cannot set {} (needs root)", kReservedPath)));
  }
  ssize_t n = ::write(fd, value.data(), value.size());
  const int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(value.size())) {
    return PrintError(ErrnoError(err, fmt::format("cannot set {}", kReservedPath)));
  }
  auto back = ReadSmallFile(kReservedPath);
  auto back_set = back ? PortSet::Parse(*back) : Result<PortSet>(std::unexpected(back.error()));
  if (!back_set || back_set->Intersect(merged) != merged) {
    return PrintError(fmt::format("{} did not take the value: it reads back as '{}'", kReservedPath,
                                  back ? *back : std::string("?")));
  }
  WriteStdout(fmt::format("net.ipv4.ip_local_reserved_ports = {}\n", back_set->Format()));
  return 0;
}

int RunRange(int low, int high, bool json, const std::string& db) {
  if (low < 1 || high > 65535 || low > high) {
    return PrintError(fmt::format("range {} {}: give LOW HIGH with 1 <= LOW <= HIGH <= 65535", low, high));
  }
  auto in = LoadHostInputs(db, true);
  if (!in) return PrintError(in.error());
  const PortRange proposed{static_cast<Port>(low), static_cast<Port>(high)};
  const auto findings = registry::CheckRange(proposed, in->snap, in->services);
  PrintFindings(findings, json,
                fmt::format("ip_local_port_range {} {} (now {} {})", low, high,
                            in->snap.config.ephemeral.low, in->snap.config.ephemeral.high));
  return FindingsExitCode(findings, "warning");
}

}  // namespace

void AddCheckCommand(CLI::App& app, int& exit_code) {
  auto f = std::make_shared<CheckFlags>();
  CLI::App* cmd = app.add_subcommand(
      "check", "Hold this host to the registry: every registered port of its groups is outside "
               "the ephemeral range, reserved in ip_local_reserved_ports, and listening; no "
               "listener is unregistered unless allowed.");
  cmd->add_option("--allow", f->allow, "listener ports accepted unregistered, e.g. 22,53 "
                                       "(added to the groups' allowlists)");
  cmd->add_option("--fail-on", f->fail_on, "exit 1 when a finding is at least this severe: info, "
                                           "warning, error, or none")
      ->check(CLI::IsMember({"info", "warning", "error", "none"}))->capture_default_str();
  cmd->add_flag("--json", f->json, "print JSON: {\"findings\": [...]}");
  cmd->add_flag("--no-procs", f->no_procs, "do not name the processes (no /proc walk)");
  AddDbOption(cmd, f->db);
  cmd->footer("Exit status: 0 no finding at or above --fail-on, 1 findings, 2 error.");
  cmd->callback([f, &exit_code] { exit_code = RunCheck(*f); });
}

void AddReserveCommand(CLI::App& app, int& exit_code) {
  auto f = std::make_shared<ReserveFlags>();
  CLI::App* cmd = app.add_subcommand(
      "reserve", "Compute net.ipv4.ip_local_reserved_ports covering the registry, merged with the "
                 "current value (never dropping an entry). Without options, prints it.");
  cmd->add_option("--write", f->write, "write the sysctl.d file here (default with --apply: "
                                       "/etc/sysctl.d/60-berth.conf)");
  cmd->add_flag("--apply", f->apply, "also write the file and set the value in this network "
                                     "namespace now (needs root)");
  AddDbOption(cmd, f->db);
  cmd->footer("Exit status: 0 ok, 2 error.\n"
              "Example: sudo berth reserve --apply");
  cmd->callback([f, &exit_code] { exit_code = RunReserve(*f); });
}

void AddRangeCommand(CLI::App& app, int& exit_code) {
  struct Flags {
    int low = 0, high = 0;
    bool json = false;
    std::string db;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "range", "Check a proposed net.ipv4.ip_local_port_range LOW HIGH against the registry and "
               "the live listeners: say what it would break before you change it.");
  cmd->add_option("low", f->low, "first port of the proposed range")->required();
  cmd->add_option("high", f->high, "last port of the proposed range")->required();
  cmd->add_flag("--json", f->json, "print JSON: {\"findings\": [...]}");
  AddDbOption(cmd, f->db);
  cmd->footer("Exit status: 0 safe, 1 something would break, 2 error.");
  cmd->callback([f, &exit_code] { exit_code = RunRange(f->low, f->high, f->json, f->db); });
}

}  // namespace berth::cli
