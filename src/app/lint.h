// berth lint's use case: walk the files and directories given (.gitignore respected,
// --include/--exclude globs), read each configuration file berth knows (bounded: at most
// kMaxSmallFile bytes a file), collect its port declarations (lint/format.h), and apply the
// rules (lint/rules.h) with the registry's ports for the services they name. Never prints.
// A file that cannot be read or parsed is an error for that file; the others are still
// linted. One thread; the store is used by this thread only.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "lint/port_decl.h"
#include "registry/store.h"

namespace berth::app {

inline constexpr std::size_t kMaxLintFiles = 100'000;
inline constexpr int kMaxLintDepth = 32;  // directory levels below a path given

struct LintRequest {
  std::vector<std::string> paths;    // files and directories; a file named here is always read
  std::vector<std::string> include;  // fnmatch globs (path below the directory, or base name):
                                     // only matching files, and any name then reads as text
  std::vector<std::string> exclude;  // fnmatch globs: files and directories skipped
  bool gitignore = true;             // skip what .gitignore files below a directory ignore
  std::string group;                 // a registry group whose hosts' ephemeral ranges count too
  std::string probe_file;            // a `berth probe --json` file: the SQL Server instances'
                                     // ports for clients that name an instance without one
};

struct LintReport {
  std::vector<std::string> files;  // read, in walk order (each directory sorted by name)
  std::vector<lint::PortDecl> decls;
  std::vector<lint::LintFinding> findings;
  std::vector<lint::FileError> errors;   // files that could not be read or parsed
  std::optional<Error> registry_error;  // the registry could not be read: no registry ports
};

// Lints what `request` names. `store` may be null (no registry). Failure: kNotFound for a
// path that does not exist or a group the registry does not have, kInvalidArgument for no
// path at all or a group without a registry, kMalformed past kMaxLintFiles files, the
// store's error when the group cannot be read; the probe file's read or parse error.
[[nodiscard]] Result<LintReport> Lint(const LintRequest& request, registry::Store* store);

struct FixOutcome {
  std::size_t files = 0;    // files rewritten
  std::size_t applied = 0;  // edits written
  std::size_t skipped = 0;  // edits whose span no longer held what the lint read, or overlapped
  std::vector<lint::FileError> errors;  // files that could not be read or written
};

// Writes each finding's edit into its file: one atomic replacement per file
// (WriteFileAtomic), its permission bits kept, every byte outside the edits unchanged. Files
// without edits are not touched.
[[nodiscard]] FixOutcome ApplyLintFixes(const std::vector<lint::LintFinding>& findings);

struct FixDiff {
  std::string text;         // a unified diff, one "--- a/PATH" "+++ b/PATH" part per file
  std::size_t files = 0;    // files in the diff
  std::size_t applied = 0;  // edits in the diff
  std::size_t skipped = 0;  // as FixOutcome::skipped
  std::vector<lint::FileError> errors;  // files that could not be read, or whose name cannot
                                        // be written in a diff (a control byte, a leading '"')
};

// What ApplyLintFixes would write, as a unified diff (lint/unified_diff.h) that `patch -p1`
// applies from the current directory: each file is named "a/PATH" and "b/PATH", PATH as the
// lint walked it, an absolute path below the current directory made relative to it. Writes
// nothing.
[[nodiscard]] FixDiff DiffLintFixes(const std::vector<lint::LintFinding>& findings);

}  // namespace berth::app
