#include "cli/output.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include <fmt/core.h>

#include "base/text.h"

namespace berth::cli {

ColorMode ParseColorMode(std::string_view text) {
  if (text == "always") return ColorMode::kAlways;
  if (text == "never") return ColorMode::kNever;
  return ColorMode::kAuto;
}

bool UseColor(ColorMode mode) {
  if (mode == ColorMode::kAlways) return true;
  if (mode == ColorMode::kNever) return false;
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && *no_color != '\0') return false;
  const char* term = std::getenv("TERM");
  if (term != nullptr && std::string_view(term) == "dumb") return false;
  return ::isatty(STDOUT_FILENO) == 1;
}

void WriteStdout(std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::write(STDOUT_FILENO, s.data(), s.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // EPIPE and friends: the reader went away
    }
    s.remove_prefix(static_cast<std::size_t>(n));
  }
}

int PrintError(std::string_view message) {
  // Messages echo input (names, file text, registry values): terminal-safe, lines kept.
  fmt::print(stderr, "berth: error: {}\n", TerminalSafeLines(message));
  return 2;
}

void PrintWarning(std::string_view message) {
  fmt::print(stderr, "berth: warning: {}\n", TerminalSafeLines(message));
}

int PrintError(const Error& e) { return PrintError(e.message); }

}  // namespace berth::cli
