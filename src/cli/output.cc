#include "cli/output.h"

#include <sys/ioctl.h>
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

std::size_t TerminalWidth() {
  if (const char* columns = std::getenv("COLUMNS"); columns != nullptr && *columns != '\0') {
    char* end = nullptr;
    const unsigned long n = std::strtoul(columns, &end, 10);
    if (end != nullptr && *end == '\0' && n >= 20 && n <= 1000) return n;
  }
  if (::isatty(STDOUT_FILENO) != 1) return 0;
  winsize ws{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_col < 20) return 0;
  return ws.ws_col;
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

std::string WordRemedy(const Hint& h) {
  switch (h.remedy) {
    case Remedy::kAllowIana:
      return "pass --allow-iana to take an IANA-assigned port anyway";
    case Remedy::kWidenGroupRange:
      return fmt::format("widen the group's range with 'berth group add {} --range LOW-HIGH'",
                         TerminalSafe(h.subject));
    case Remedy::kCreateGroup:
      return fmt::format("create the group with 'berth group add {} --host NAME --ephemeral "
                         "LOW-HIGH'",
                         TerminalSafe(h.subject));
    case Remedy::kUseDefaultGroup:
      return "leave --group out for the default group";
    case Remedy::kWidenFamily:
      return fmt::format("widen the family with 'berth family add {} --base {} --size N'",
                         TerminalSafe(h.subject), TerminalSafe(h.detail));
    case Remedy::kCreateFamily:
      return fmt::format("create the family with 'berth family add {} --base PORT [--size N]'",
                         TerminalSafe(h.subject));
    case Remedy::kReleaseFirst:
      return fmt::format("run 'berth release {}' first to move it", TerminalSafe(h.subject));
    case Remedy::kWaitLonger:
      return "retry when it is done, wait longer with --wait SECONDS, or stop that process";
    case Remedy::kChooseRegistry:
      return "choose another registry with --db PATH, --store URL or BERTH_DB";
    case Remedy::kUseBroadcast:
      return fmt::format("use --broadcast {}", TerminalSafe(h.subject));
    case Remedy::kTagMetrics:
      return "register a service with --tag metrics ('berth assign NAME --tag metrics'), or add "
             "\"metrics\" to its tags in berth.toml and 'berth apply' it";
    case Remedy::kReservePorts:
      return h.subject == "default"
                 ? "reserve it: run 'berth reserve --apply' as root (with this registry) so the "
                   "kernel never hands the port to an outbound connection"
                 : fmt::format("reserve it: run 'berth reserve --apply' as root (with this "
                               "registry) on each host of group '{}' that runs the service",
                               TerminalSafe(h.subject));
    case Remedy::kAdoptListener:
    case Remedy::kAssignInstead: {
      const auto slash = h.detail.find('/');
      std::string port = TerminalSafe(h.detail.substr(0, slash));
      const std::string proto =
          slash == std::string::npos ? "tcp" : TerminalSafe(h.detail.substr(slash + 1));
      if (auto r = ParsePortRange(port); r && r->size() > 1) {  // a range: its first port and size
        port = fmt::format("{} --size {}", r->low, r->size());
      }
      if (h.remedy == Remedy::kAssignInstead) {
        return fmt::format("to register a port nothing holds yet, run 'berth assign {} --port {} "
                           "--proto {}'",
                           TerminalSafe(h.subject), port, proto);
      }
      return fmt::format("if that listener is {0} itself, register it where it runs: 'berth "
                         "adopt {0} --port {1} --proto {2}'",
                         TerminalSafe(h.subject), port, proto);
    }
    case Remedy::kGiveStoreCredentials:
      return "put the etcd user as USER:PASSWORD in a file no other user can read (chmod 600) "
             "and pass --etcd-user-file FILE, or set BERTH_ETCD_USER and BERTH_ETCD_PASSWORD";
    case Remedy::kTrustServerCa:
      return "name the CA that signed the server's certificate with --cacert FILE (or "
             "BERTH_ETCD_CACERT), and check that the certificate is current and names the host "
             "in the URL";
    case Remedy::kGiveClientCertificate:
      return "give a client certificate signed by a CA the server trusts, with --cert FILE --key "
             "FILE (or BERTH_ETCD_CERT and BERTH_ETCD_KEY)";
    case Remedy::kAssignFirst:
      return fmt::format("register it first with 'berth assign {}' (or pass --assign to berth "
                         "pin)", TerminalSafe(h.subject));
    case Remedy::kSeeAllProcesses:
      return "run berth as root (with the same registry: --db or BERTH_DB) to see every "
             "process, or leave out --process, --unit and --pid to accept the listener";
  }
  return {};
}

int PrintError(const Error& e) {
  std::string fix;
  for (const Hint& h : e.hints) {
    const std::string worded = WordRemedy(h);
    if (worded.empty() || fix.find(worded) != std::string::npos) continue;
    fix += (fix.empty() ? "" : "; or ") + worded;
  }
  PrintError(e.message);
  if (!fix.empty()) fmt::print(stderr, "berth: fix: {}\n", fix);
  return 2;
}

void PrintWarning(std::string_view message) {
  fmt::print(stderr, "berth: warning: {}\n", TerminalSafeLines(message));
}

}  // namespace berth::cli
