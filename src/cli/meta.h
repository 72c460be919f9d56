// What the command line says about itself: parse errors in berth's format with "did you
// mean", shell completions generated from the same command tree as --help and the man page.
// Called from main, one thread.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

namespace berth::cli {

// "berth: error: <what CLI11 found>" plus, for a mistyped command or option, "did you mean"
// the nearest names, and where to read the options. Returns 2.
int PrintParseError(const CLI::App& app, int argc, char** argv, const CLI::ParseError& e);

// `berth completion bash|zsh|fish`: prints the completion script for that shell.
void AddCompletionCommand(CLI::App& app, int& exit_code);

// The script for `shell` ("bash", "zsh", "fish") completing every command and option of
// `app`; "" for another shell.
std::string CompletionScript(const CLI::App& app, std::string_view shell);

// --help text wrapped to `width` columns (0: CLI11's text unchanged): an option or command row
// continues under its description column, prose under its own indent. Set on the top app
// before subcommands are added (they copy it).
std::shared_ptr<CLI::Formatter> WrappingFormatter(std::size_t width);

}  // namespace berth::cli
