#include "cli/registry_common.h"

#include <fmt/core.h>

#include "app/host_view.h"
#include "cli/output.h"
#include "host/live_host.h"
#include "registry/berth_toml.h"

namespace berth::cli {

void AddStoreOptions(CLI::App* cmd, StoreFlags& flags) {
  cmd->add_option("--store", flags.store,
                  "the registry as a URL: sqlite:///PATH (default: $BERTH_STORE, else --db)")
      ->type_name("URL");
  cmd->add_option("--db", flags.db,
                  "registry file (default: $BERTH_DB, else /var/lib/berth/registry.db as root, "
                  "$XDG_STATE_HOME/berth/registry.db otherwise)");
}

Result<std::unique_ptr<registry::Store>> OpenRegistry(const StoreFlags& flags,
                                                      registry::OpenMode mode) {
  const registry::StoreLocation where = BERTH_TRY(registry::ResolveStore(flags.store, flags.db));
  return registry::OpenStore(where, mode);
}

void PrintWarnings(const std::vector<std::string>& warnings) {
  for (const std::string& w : warnings) fmt::print(stderr, "berth: warning: {}\n", w);
}

Result<registry::HostView> TakeHostView() {
  LiveHost host;
  std::vector<std::string> warnings;
  auto view = app::TakeHostView(host, warnings);
  PrintWarnings(warnings);
  return view;
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

namespace {

nlohmann::json FindingJson(const Finding& f) {
  nlohmann::json j{{"id", f.id},
                   {"severity", SeverityName(f.severity)},
                   {"subject", f.subject},
                   {"ports", f.ports.Format()},
                   {"pids", f.pids},
                   {"why", f.why},
                   {"fix", f.fix}};
  j["proto"] = f.proto ? nlohmann::json(ProtocolName(*f.proto)) : nlohmann::json(nullptr);
  return j;
}

}  // namespace

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
      out += fmt::format("{:<8} {:<28} {}: {}\n", SeverityName(f.severity), f.id, f.subject, f.why);
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
