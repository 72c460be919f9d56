#include "host/host_recorder.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <memory>

#include <fmt/core.h>

#include "base/file.h"
#include "base/unique_fd.h"
#include "host/recorded_dump.h"
#include "host/scanner.h"

namespace berth {
namespace {

Result<void> MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return std::unexpected(ErrnoError(errno, fmt::format("creating {}", path)));
  }
  return {};
}

// The target must be new or empty: recording over an old recording would mix two hosts.
Result<void> PrepareDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) == 0) return {};
  if (errno != EEXIST) return std::unexpected(ErrnoError(errno, fmt::format("creating {}", dir)));
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOTDIR) {
      return Fail(ErrorCode::kConflict, fmt::format("{} exists and is not a directory", dir));
    }
    return std::unexpected(ErrnoError(errno, fmt::format("listing {}", dir)));
  }
  std::unique_ptr<DIR, int (*)(DIR*)> owned(d, ::closedir);
  while (dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name != "." && name != "..") {
      return Fail(ErrorCode::kConflict,
                  fmt::format("{} is not empty: record into a new or empty directory", dir));
    }
  }
  return {};
}

// Recording files are new files in a new directory: O_EXCL, and no fsync per file (there
// can be thousands; completeness is marked by the `recording` file written last instead).
Result<void> WriteNew(const std::string& path, std::string_view data) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return std::unexpected(ErrnoError(errno, fmt::format("creating {}", path)));
  UniqueFd owned(fd);
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(ErrnoError(errno, fmt::format("writing {}", path)));
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

std::string_view AsText(const std::vector<std::byte>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// The owners' part of /proc: comm as the scan saw it, cgroup and status copied, and one
// symlink per owned socket fd whose target is the text the kernel showed.
Result<void> WriteOwners(const std::string& dir, const HostSnapshot& snap, RecordStats& stats) {
  const std::string proc = dir + "/proc";
  std::map<std::uint32_t, std::string> users;
  for (std::size_t p = 0; p < snap.processes.size(); ++p) {
    const ProcessInfo& info = snap.processes[p];
    const std::string base = fmt::format("{}/{}", proc, info.pid);
    BERTH_TRY(MakeDir(base));
    BERTH_TRY(MakeDir(base + "/fd"));
    BERTH_TRY(WriteNew(base + "/comm", info.command + "\n"));
    for (const char* name : {"cgroup", "status"}) {
      auto text = ReadSmallFile(fmt::format("/proc/{}/{}", info.pid, name));
      if (!text) {
        ++stats.missing_files;  // exited since the scan
        continue;
      }
      BERTH_TRY(WriteNew(fmt::format("{}/{}", base, name), *text));
    }
    if (info.user != std::to_string(info.uid)) users.emplace(info.uid, info.user);
    ++stats.processes;
  }
  for (const SocketOwner& o : snap.owners) {
    const ProcessInfo& info = snap.processes[o.process];
    const std::string link = fmt::format("{}/{}/fd/{}", proc, info.pid, o.fd);
    const std::string target = fmt::format("socket:[{}]", snap.sockets[o.socket].inode);
    if (::symlink(target.c_str(), link.c_str()) != 0 && errno != EEXIST) {
      return std::unexpected(ErrnoError(errno, fmt::format("creating {}", link)));
    }
    ++stats.owners;
  }
  std::string text;
  for (const auto& [uid, name] : users) text += fmt::format("{} {}\n", uid, name);
  if (!text.empty()) BERTH_TRY(WriteNew(dir + "/users", text));
  return {};
}

}  // namespace

Result<RecordStats> RecordHost(const std::string& dir, const LiveHost::Options& live,
                               const HostQuery& query) {
  BERTH_TRY(PrepareDir(dir));
  ScanCapture capture;
  ScanOptions options = ToScanOptions(live, query);
  options.capture = &capture;
  HostSnapshot snap = BERTH_TRY(ScanHost(options));
  if (snap.hostname.empty()) snap.hostname = LocalHostName();

  RecordStats stats;
  stats.sockets = snap.sockets.size();
  stats.partial = snap.partial;
  BERTH_TRY(WriteNew(dir + "/hostname", snap.hostname + "\n"));
  if (!snap.netns.empty()) BERTH_TRY(WriteNew(dir + "/netns", snap.netns + "\n"));
  std::string text;
  for (const auto& [index, name] : snap.interfaces) text += fmt::format("{} {}\n", index, name);
  if (!text.empty()) BERTH_TRY(WriteNew(dir + "/interfaces", text));
  text.clear();
  for (const std::string& w : snap.warnings) {
    // Warnings a replay regenerates (from the sysctl files and the netlink bytes) are not
    // kept twice; what only the live scan knew (unreadable fd tables) is.
    if (w.find("/proc/sys/") != std::string::npos || w.find(" sockets could not be listed") !=
        std::string::npos || w.find("socket table changed") != std::string::npos) {
      continue;
    }
    text += w.substr(0, w.find('\n')) + "\n";
  }
  if (!text.empty()) BERTH_TRY(WriteNew(dir + "/warnings", text));

  for (const char* sub : {"/proc", "/proc/sys", "/proc/sys/net", "/proc/sys/net/ipv4",
                                 "/sock_diag"}) {
    BERTH_TRY(MakeDir(dir + sub));
  }
  for (const auto& [name, value] : capture.sysctls) {
    BERTH_TRY(WriteNew(fmt::format("{}/proc/sys/net/ipv4/{}", dir, name), value));
  }
  if (query.tcp) BERTH_TRY(WriteNew(dir + "/sock_diag/tcp.nl", AsText(capture.tcp_diag)));
  if (query.udp) BERTH_TRY(WriteNew(dir + "/sock_diag/udp.nl", AsText(capture.udp_diag)));
  stats.diag_bytes = capture.tcp_diag.size() + capture.udp_diag.size();
  const bool owners = query.resolve_owners && snap.owners_resolved;
  if (owners) BERTH_TRY(WriteOwners(dir, snap, stats));

  const std::string recording =
      fmt::format("{}\nall_states {}\ntcp {}\nudp {}\nowners {}\n", kDumpFormat, query.all_states,
                  query.tcp, query.udp, owners);
  BERTH_TRY(WriteFileAtomic(dir + "/recording", recording));
  return stats;
}

}  // namespace berth
