// Terminal output helpers shared by the subcommands: colour policy, writing to stdout,
// and printing errors in berth's one format.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/sink.h"

namespace berth::cli {

enum class ColorMode { kAuto, kAlways, kNever };

// "auto" / "always" / "never" (anything else: auto).
ColorMode ParseColorMode(std::string_view text);

// Colour only on a terminal, never with NO_COLOR set, unless --color always.
bool UseColor(ColorMode mode);

// Writes all of `s` to stdout (fd 1), retrying short writes; ignores EPIPE (a closed pager).
void WriteStdout(std::string_view s);
// The width text on stdout is wrapped to: the terminal's columns when stdout is a terminal
// (or $COLUMNS when set, as a user's override), else 0: no wrapping, so that pipes, files
// and generated documents (the man page) get whole lines.
std::size_t TerminalWidth();

// WriteStdout as a renderer's Sink.
inline const Sink kStdoutSink{[](std::string_view s) { WriteStdout(s); }};

// "berth: error: <message>" on stderr, then "berth: fix: <remedies>" when the error carries
// any, worded as this command line's flags and commands; returns 2, the exit code for errors.
// The message is made terminal-safe (TerminalSafeLines): it may echo names and text from any
// input.
int PrintError(const Error& e);
// One remedy as a user of this command line applies it.
std::string WordRemedy(const Hint& h);
int PrintError(std::string_view message);

// "berth: warning: <message>" on stderr, terminal-safe like PrintError.
void PrintWarning(std::string_view message);

}  // namespace berth::cli
