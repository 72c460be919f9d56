#include "cli/registry_common.h"

#include <fmt/core.h>

#include "app/host_view.h"
#include "cli/output.h"
#include "base/text.h"
#include "host/live_host.h"
#include "emit/findings_render.h"

namespace berth::cli {

Result<long> ParseDecimalFlag(std::string_view flag, std::string_view text, long low, long high,
                              std::string_view what) {
  const bool decimal =
      !text.empty() && text.size() <= 5 && text.find_first_not_of("0123456789") == std::string::npos;
  const long n = decimal ? std::stol(std::string(text)) : 0;
  if (n < low || n > high) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("{} '{}': give a decimal {} {}-{}", flag, TerminalSafe(text), what, low, high));
  }
  return n;
}

Result<Port> ParsePortFlag(std::string_view text) {
  return static_cast<Port>(BERTH_TRY(ParseDecimalFlag("--port", text, 1, 65535, "port number")));
}

void AddStoreOptions(CLI::App* cmd, StoreFlags& flags) {
  cmd->add_option("--store", flags.store,
                  "the registry as a URL: sqlite:///PATH, or etcd://HOST:PORT[,HOST:PORT...]/PREFIX "
                  "for a fleet's registry in etcd (default: $BERTH_STORE, else --db)")
      ->type_name("URL");
  cmd->add_option("--db", flags.db,
                  "registry file (default: $BERTH_DB, else /var/lib/berth/registry.db as root, "
                  "$XDG_STATE_HOME/berth/registry.db otherwise)");
  cmd->add_option("--wait", flags.wait,
                  "seconds to wait while another process holds the registry's lock, then fail "
                  "naming it (etcd: how long lost races are retried, at least 30)")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str()
      ->type_name("SECONDS");
  AddStoreSecurityOptions(cmd, flags.security);
}

void AddStoreSecurityOptions(CLI::App* cmd, registry::SecuritySources& sources) {
  constexpr const char* kGroup = "etcd TLS and authentication (etcds://; docs/etcd-store.md)";
  cmd->add_option("--cacert", sources.ca_file,
                  "PEM file of the CA that signed etcd's certificates (default: "
                  "$BERTH_ETCD_CACERT, else the system's CAs)")
      ->type_name("FILE")
      ->group(kGroup);
  cmd->add_option("--cert", sources.cert_file,
                  "PEM client certificate for etcd's --client-cert-auth (default: $BERTH_ETCD_CERT)")
      ->type_name("FILE")
      ->group(kGroup);
  cmd->add_option("--key", sources.key_file,
                  "PEM key of --cert, unencrypted (default: $BERTH_ETCD_KEY)")
      ->type_name("FILE")
      ->group(kGroup);
  cmd->add_option("--etcd-user-file", sources.user_file,
                  "file holding the etcd user as USER:PASSWORD on one line, readable by no other "
                  "user (default: $BERTH_ETCD_USER_FILE, else $BERTH_ETCD_USER with "
                  "$BERTH_ETCD_PASSWORD); a password is never taken on the command line")
      ->type_name("FILE")
      ->group(kGroup);
}

void AddStaleOption(CLI::App* cmd, StoreFlags& flags) {
  cmd->add_flag("--stale", flags.stale,
                "etcd: answer from whichever member is reached, without asking the leader (works "
                "without a quorum; the answer may be stale)");
}

Result<registry::StoreLocation> ResolveStore(const StoreFlags& flags) {
  if (!flags.store.empty() && !flags.db.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "--store and --db both name the registry: give one (--db PATH is short for "
                "--store sqlite://PATH)");
  }
  registry::StoreLocation where = BERTH_TRY(registry::ResolveStore(flags.store, flags.db));
  const registry::SecuritySources& given = flags.security;
  if (where.kind != registry::StoreKind::kEtcd &&
      !(given.ca_file.empty() && given.cert_file.empty() && given.key_file.empty() &&
        given.user_file.empty())) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("--cacert, --cert, --key and --etcd-user-file are for an etcd store, "
                            "and the registry is {}: name it with --store etcds://HOST:PORT/PREFIX",
                            TerminalSafe(where.url)));
  }
  BERTH_TRY(registry::AddStoreSecurity(where, given));
  return where;
}

Result<std::unique_ptr<registry::Store>> OpenRegistry(const StoreFlags& flags,
                                                      registry::OpenMode mode) {
  registry::StoreLocation where = BERTH_TRY(ResolveStore(flags));
  if (flags.stale && where.kind == registry::StoreKind::kEtcd) {
    where.stale = true;
    PrintWarning("--stale: read from one etcd member without asking the leader; the answer may "
                 "be stale");
  }
  return registry::OpenStore(
      where, mode, std::chrono::milliseconds(static_cast<std::int64_t>(flags.wait * 1000)));
}

void PrintWarnings(const std::vector<std::string>& warnings) {
  for (const std::string& w : warnings) PrintWarning(w);
}

Result<registry::HostView> TakeHostView() {
  LiveHost host;
  std::vector<std::string> warnings;
  auto view = app::TakeHostView(host, warnings);
  PrintWarnings(warnings);
  return view;
}

void PrintFindings(const std::vector<Finding>& findings, bool json, std::string_view title) {
  const Sink sink = [](std::string_view s) { WriteStdout(s); };
  if (json) {
    RenderFindingsJson(findings, sink);
  } else {
    RenderFindingsText(findings, title, sink);
  }
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
