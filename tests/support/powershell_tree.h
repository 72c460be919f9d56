// The generated PowerShell, parsed by a real PowerShell grammar: tree-sitter (Debian's
// libtree-sitter) with tree-sitter-powershell from the npm registry, which scripts/install-deps
// fetches into a cache outside the repository (tests/CMakeLists.txt compiles it into this
// test-only library). PowerShell itself is not on these machines (docs/windows.md). Test-only;
// each call builds its own parser, so calls may run on any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace berth::test {

// False when the build found no grammar (tests then skip, and fail under CI=true).
bool HavePowerShellGrammar();

// One command invocation: its name and its elements as source text, separators dropped
// ("-Name", "'TcpPort'", "$key", "@('5000-5255')").
struct PsCommand {
  std::string name;
  std::vector<std::string> elements;

  // The source text of the argument after parameter `parameter` ("-Key"), or "" when the
  // parameter is absent or last.
  std::string Arg(std::string_view parameter) const;
  bool Has(std::string_view parameter) const;
};

struct PsParse {
  bool ok = false;                      // parsed, and no ERROR or MISSING node anywhere
  std::string error;                    // the first ERROR/MISSING node and its byte offset
  std::string shape;                    // the S-expression of node types (no text)
  std::vector<PsCommand> commands;      // every command, in source order
  std::vector<std::string> verbatim;    // every single-quoted string token, quotes included
  std::vector<std::string> comments;    // every comment token
  std::vector<std::string> variables;   // every variable token ("$key")
  std::vector<std::string> expandable;  // every double-quoted string, quotes included

  // The commands named `name` (case-sensitive).
  std::vector<PsCommand> Named(std::string_view name) const;
};

// Parses `script`. With no grammar, ok is false and error says so.
PsParse ParsePowerShell(std::string_view script);

// PowerShell's own rule for a single-quoted token: inside the quotes, each of the quote
// characters PowerShell accepts (' and U+2018..U+201B) appears only in pairs. The grammar
// knows only the ASCII quote, so this is checked on each token's text.
bool VerbatimClosedForPowerShell(std::string_view token);

// The value of a single-quoted token: quotes removed, each doubled quote character one.
std::string UnquoteVerbatim(std::string_view token);

}  // namespace berth::test
