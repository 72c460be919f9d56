// Shared by the subcommands that use the registry: the --store/--db options, opening the
// store they name, this host's view for the allocator, printing warnings, and the exit code
// for findings. Called on the main thread only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/finding.h"
#include "registry/allocator.h"
#include "registry/store.h"
#include "registry/store_security.h"
#include "registry/store_url.h"

namespace berth::cli {

// Where the registry is: --store URL or --db PATH (else $BERTH_STORE, $BERTH_DB, the default).
struct StoreFlags {
  std::string store;
  std::string db;
  double wait = 5;  // --wait SECONDS for another process's lock
  bool stale = false;  // --stale: etcd reads from any one member (read-only commands)
  registry::SecuritySources security;  // --cacert, --cert, --key, --etcd-user-file
};

// A --port value: decimal 1-65535 (CLI11 would read 0x50 as 80). Failure: kInvalidArgument
// saying what is allowed.
// A decimal number low-high given to `flag` (no sign, no hex: CLI11 would read 0x50 as 80).
// Failure: kInvalidArgument "FLAG 'text': give a decimal WHAT LOW-HIGH".
[[nodiscard]] Result<long> ParseDecimalFlag(std::string_view flag, std::string_view text, long low,
                                            long high, std::string_view what);
[[nodiscard]] Result<Port> ParsePortFlag(std::string_view text);

// Adds --store URL, --db PATH and --wait SECONDS to `cmd`.
void AddStoreOptions(CLI::App* cmd, StoreFlags& flags);

// Adds etcd's TLS files and user file (--cacert, --cert, --key, --etcd-user-file) to `cmd`,
// under their own heading in --help. AddStoreOptions adds them too.
void AddStoreSecurityOptions(CLI::App* cmd, registry::SecuritySources& sources);

// Adds --stale to a command that only reads the registry.
void AddStaleOption(CLI::App* cmd, StoreFlags& flags);

// Where the flags (or BERTH_STORE, BERTH_DB, the default) put the registry, with etcd's TLS
// files and user from the flags or the environment (registry/store_security.h).
[[nodiscard]] Result<registry::StoreLocation> ResolveStore(const StoreFlags& flags);

// Opens the registry the flags name. kRead never creates anything (a missing registry reads
// as empty).
[[nodiscard]] Result<std::unique_ptr<registry::Store>> OpenRegistry(const StoreFlags& flags,
                                                                    registry::OpenMode mode);

// This host's live ranges and current listeners (no /proc walk), for the allocator; the
// snapshot's warnings are printed on stderr.
[[nodiscard]] Result<registry::HostView> TakeHostView();

// "berth: warning: ..." on stderr, one line each.
void PrintWarnings(const std::vector<std::string>& warnings);

// Prints findings as text ("error  id  subject: why / fix") or JSON ({"findings": [...]}).
void PrintFindings(const std::vector<Finding>& findings, bool json, std::string_view title);

// 1 when any finding is at least as severe as `fail_on` ("none" never), else 0.
int FindingsExitCode(const std::vector<Finding>& findings, const std::string& fail_on);

}  // namespace berth::cli
