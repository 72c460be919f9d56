// Shared by the registry subcommands: the --db option, opening the store, this host's view
// for the allocator, atomic file writes, and printing findings and service records as text
// or JSON. Called on the main thread only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/finding.h"
#include "core/socket.h"
#include "base/file.h"
#include "registry/allocator.h"
#include "registry/sqlite_store.h"

namespace berth::cli {

// Adds --db PATH (registry file; default $BERTH_DB, then the per-user or system default).
void AddDbOption(CLI::App* cmd, std::string& db);

// Opens the registry. kRead never creates a file (a missing registry reads as empty).
[[nodiscard]] Result<std::unique_ptr<registry::SqliteStore>> OpenRegistry(const std::string& db,
                                                                          registry::OpenMode mode);

// This host's name.
std::string HostName();

// This host's live ranges and current listeners (no /proc walk), for the allocator.
[[nodiscard]] Result<registry::HostView> TakeHostView();

// A snapshot of this host's servers, with owners when `owners`.
[[nodiscard]] Result<HostSnapshot> TakeSnapshot(bool owners);

// Reads a whole file. Failure: the errno error naming the path.
[[nodiscard]] Result<std::string> ReadWholeFile(const std::string& path);

nlohmann::json ServiceJson(const registry::ServiceRecord& r);
nlohmann::json FindingJson(const Finding& f);

// Prints findings as text ("error  id  subject: why / fix") or JSON ({"findings": [...]}).
void PrintFindings(const std::vector<Finding>& findings, bool json, std::string_view title);

// 1 when any finding is at least as severe as `fail_on` ("none" never), else 0.
int FindingsExitCode(const std::vector<Finding>& findings, const std::string& fail_on);

}  // namespace berth::cli

namespace berth {
struct RegistryMark;
}

namespace berth::cli {

// For `berth scan`: matches the snapshot's servers to the registry (registered,
// unregistered, drifted), appends the registry findings (unregistered-listener,
// drifted-service, port-changed) and records the scan's observations. Never fails: a
// registry that cannot be opened or written adds a warning to the snapshot instead.
void MatchScanWithRegistry(HostSnapshot& snap, const std::string& db,
                           std::vector<Finding>& findings,
                           std::vector<std::optional<RegistryMark>>& marks);

}  // namespace berth::cli
