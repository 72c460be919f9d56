#include "host/recorded_dump.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>

#include <fmt/core.h>

#include "base/byte_reader.h"
#include "base/file.h"
#include "base/unique_fd.h"
#include "host/diag_codec.h"
#include "host/proc_owners.h"
#include "host/scanner.h"
#include "host/sysctl.h"

namespace berth {
namespace {

constexpr std::size_t kSmallFile = 1 << 20;     // text files: what ReadSmallFile accepts
constexpr std::size_t kMaxProcesses = 4'000'000;

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty()) out.push_back(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

template <class T>
bool ParseNumber(std::string_view s, T& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc{} && end == s.data() + s.size();
}

// An optional file: absent is fine, present it must be a regular file within the cap.
Result<std::optional<std::string>> ReadOptional(const std::string& path, std::size_t cap) {
  auto text = ReadRecordingFile(path, cap);
  if (!text && text.error().code == ErrorCode::kNotFound) return std::optional<std::string>();
  if (!text) return std::unexpected(std::move(text.error()));
  return std::optional<std::string>(std::move(*text));
}

// Everything the live readers (ReadHostPortConfig, ResolveOwners) will open under `dir` must
// be a regular file or a real directory: they read with plain blocking open(), so a FIFO
// would hang them and a symlinked directory would lead them outside the recording.
Result<void> CheckType(const std::string& path, mode_t want, bool optional) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT && optional) return {};
    return std::unexpected(ErrnoError(errno, fmt::format("recorded host {}", path)));
  }
  if ((st.st_mode & S_IFMT) != want) {
    return Fail(ErrorCode::kMalformed,
                fmt::format("recorded host {}: expected a {}", path,
                            want == S_IFDIR ? "directory" : "regular file"));
  }
  if (want == S_IFREG && static_cast<std::size_t>(st.st_size) > kSmallFile) {
    return Fail(ErrorCode::kMalformed, fmt::format("recorded host {}: larger than 1 MiB", path));
  }
  return {};
}

Result<void> CheckProcTree(const std::string& proc) {
  DIR* dir = ::opendir(proc.c_str());
  if (dir == nullptr) {
    if (errno == ENOENT) return {};
    return std::unexpected(ErrnoError(errno, fmt::format("listing recorded host {}", proc)));
  }
  std::unique_ptr<DIR, int (*)(DIR*)> owned(dir, ::closedir);
  std::size_t pids = 0;
  while (dirent* e = ::readdir(dir)) {
    int pid = 0;
    if (!ParseNumber(std::string_view(e->d_name), pid)) continue;  // sys/, ., ..
    if (++pids > kMaxProcesses) {
      return Fail(ErrorCode::kMalformed, fmt::format("recorded host {}: too many processes", proc));
    }
    const std::string base = fmt::format("{}/{}", proc, e->d_name);
    BERTH_TRY(CheckType(base, S_IFDIR, false));
    BERTH_TRY(CheckType(base + "/fd", S_IFDIR, true));
    for (const char* name : {"comm", "cgroup", "status"}) {
      BERTH_TRY(CheckType(fmt::format("{}/{}", base, name), S_IFREG, true));
    }
  }
  return {};
}

// The effective uid from a /proc/PID/status text ("Uid:\treal\teffective\tsaved\tfs").
std::optional<std::uint32_t> StatusUid(std::string_view status) {
  for (std::string_view line : Lines(status)) {
    if (!line.starts_with("Uid:")) continue;
    line.remove_prefix(4);
    for (int field = 0; field < 2; ++field) {
      while (!line.empty() && (line.front() == '\t' || line.front() == ' ')) line.remove_prefix(1);
      const std::size_t end = line.find_first_of("\t ");
      std::uint32_t uid = 0;
      if (!ParseNumber(line.substr(0, end), uid)) return std::nullopt;
      if (field == 1) return uid;
      line.remove_prefix(end == std::string_view::npos ? line.size() : end);
    }
  }
  return std::nullopt;
}

// ResolveOwners takes a process's uid from the owner of /proc/PID and its name from this
// machine's passwd: in a recording both come from the recording instead.
Result<void> ReplayOwners(const std::string& dir, HostSnapshot& snap) {
  BERTH_TRY(CheckProcTree(dir + "/proc"));
  std::unordered_map<std::uint32_t, std::string> users;
  if (auto text = BERTH_TRY(ReadOptional(dir + "/users", kSmallFile))) {
    for (std::string_view line : Lines(*text)) {
      const std::size_t sp = line.find(' ');
      std::uint32_t uid = 0;
      if (sp == std::string_view::npos || !ParseNumber(line.substr(0, sp), uid)) {
        return Fail(ErrorCode::kMalformed,
                    fmt::format("recorded host {}/users: expected 'UID NAME' lines, got '{}'", dir,
                                line.substr(0, 80)));
      }
      users.emplace(uid, std::string(line.substr(sp + 1)));
    }
  }
  OwnerWalkOptions walk;
  walk.proc_root = dir + "/proc";
  walk.threads = 1;
  walk.stop_when_all_found = false;  // the recording holds exactly the owners found live
  walk.via = OwnerWalk::kProc;
  auto stats = ResolveOwners(snap, walk);
  snap.owners_walk = OwnerWalk::kNone;  // a replay: no walk of this host ran
  if (!stats) {
    snap.partial = true;
    snap.warnings.push_back(fmt::format("process owners unknown: {}", stats.error().message));
    return {};
  }
  for (ProcessInfo& p : snap.processes) {
    auto status = ReadSmallFile(fmt::format("{}/proc/{}/status", dir, p.pid));
    const auto uid = status ? StatusUid(*status) : std::nullopt;
    if (!uid) {
      snap.partial = true;
      snap.warnings.push_back(fmt::format(
          "recorded host {}/proc/{}/status has no Uid line: the owner's user is unknown", dir, p.pid));
      p.uid = 0;
      p.user = "?";
      continue;
    }
    p.uid = *uid;
    auto it = users.find(*uid);
    p.user = it != users.end() ? it->second : std::to_string(*uid);
  }
  return {};
}

Result<DumpContents> ReadContents(const std::string& dir) {
  auto text = ReadRecordingFile(dir + "/recording", kSmallFile);
  if (!text) {
    return Fail(text.error().code == ErrorCode::kNotFound ? ErrorCode::kNotFound : text.error().code,
                fmt::format("{} is not a recorded host: {} (expected a {} directory written by "
                            "RecordHost, or a berth.scan/1 JSON file)",
                            dir, text.error().message, kDumpFormat));
  }
  std::vector<std::string_view> lines = Lines(*text);
  if (lines.empty() || lines[0] != kDumpFormat) {
    return Fail(ErrorCode::kMalformed,
                fmt::format("{}/recording: expected '{}' on the first line", dir, kDumpFormat));
  }
  DumpContents c;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::size_t sp = lines[i].find(' ');
    const std::string_view key = lines[i].substr(0, sp);
    const std::string_view value = sp == std::string_view::npos ? "" : lines[i].substr(sp + 1);
    bool* field = key == "all_states" ? &c.all_states
                  : key == "tcp"      ? &c.tcp
                  : key == "udp"      ? &c.udp
                  : key == "owners"   ? &c.owners
                                      : nullptr;
    if (field == nullptr) continue;  // a later addition
    if (value != "true" && value != "false") {
      return Fail(ErrorCode::kMalformed, fmt::format("{}/recording: '{}' must be true or false",
                                                     dir, key));
    }
    *field = value == "true";
  }
  return c;
}

}  // namespace

Result<std::string> ReadRecordingFile(const std::string& path, std::size_t cap) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return std::unexpected(ErrnoError(errno, fmt::format("reading {}", path)));
  UniqueFd owned(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return std::unexpected(ErrnoError(errno, fmt::format("reading {}", path)));
  if (!S_ISREG(st.st_mode)) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("{} is not a regular file (a FIFO, device or socket is not a recording)",
                            path));
  }
  if (static_cast<std::size_t>(st.st_size) > cap) {
    return Fail(ErrorCode::kMalformed, fmt::format("{}: {} bytes, more than the {} allowed", path,
                                                   st.st_size, cap));
  }
  std::string out(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(ErrnoError(errno, fmt::format("reading {}", path)));
    if (n == 0) break;  // shrank while we read: keep what is there
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

void ReplaySockDiag(std::string_view bytes, Protocol proto, std::string_view what,
                    HostSnapshot& snap) {
  const auto all = std::as_bytes(std::span(bytes.data(), bytes.size()));
  ByteReader reader(all, what);
  bool in_dump = false;
  bool skipping = false;  // after a failure, the rest of that dump (one seq) is skipped
  std::uint32_t failed_seq = 0;
  auto warn = [&](std::string message) {
    snap.partial = true;
    snap.warnings.push_back(fmt::format("{}: {}", what, message));
  };
  while (!reader.empty()) {
    ByteReader head = reader;
    auto len = head.U32Le("nlmsg_len");
    auto skip = head.Skip(4, "nlmsg_type/flags");
    auto seq = head.U32Le("nlmsg_seq");
    if (!len || !skip || !seq || *len < 16 || *len > reader.remaining()) {
      warn(fmt::format("a netlink message at offset {} does not fit the {} bytes left; the rest "
                       "of the recording is ignored", reader.position(), reader.remaining()));
      return;
    }
    const std::size_t size = std::min<std::size_t>((*len + 3u) & ~3u, reader.remaining());
    const auto message = *reader.Bytes(size, "netlink message");
    if (skipping && *seq == failed_seq) continue;
    skipping = false;
    in_dump = true;
    auto batch = DecodeDiagBatch(message, proto, *seq, snap);
    if (!batch) {
      warn(fmt::format("{} sockets could not be listed: {}", ProtocolName(proto),
                       batch.error().message));
      skipping = true;
      failed_seq = *seq;
      in_dump = false;
      continue;
    }
    if (batch->interrupted) {
      warn("the socket table changed during the recorded dump: a socket may be missing");
    }
    if (batch->done) in_dump = false;
  }
  if (in_dump) warn("the recording ends in the middle of a dump (no NLMSG_DONE): it was cut short");
}

Result<HostSnapshot> ReadRecordedDump(const std::string& dir, bool resolve_owners,
                                      DumpContents* contents) {
  const DumpContents c = BERTH_TRY(ReadContents(dir));
  if (contents != nullptr) *contents = c;
  HostSnapshot snap;
  auto host = ReadRecordingFile(dir + "/hostname", 4096);
  if (!host) return std::unexpected(std::move(host.error()));
  snap.hostname = std::string(host->substr(0, host->find('\n')));
  if (auto netns = BERTH_TRY(ReadOptional(dir + "/netns", 4096))) {
    snap.netns = netns->substr(0, netns->find('\n'));
  }

  const std::string sys = dir + "/proc/sys";
  for (std::string_view name : kPortSysctlNames) {
    BERTH_TRY(CheckType(fmt::format("{}/net/ipv4/{}", sys, name), S_IFREG, true));
  }
  snap.config = ReadHostPortConfig(snap.warnings, sys);  // like a live scan: warnings only

  for (Protocol proto : {Protocol::kTcp, Protocol::kUdp}) {
    if (!(proto == Protocol::kTcp ? c.tcp : c.udp)) continue;
    const std::string path = fmt::format("{}/sock_diag/{}.nl", dir, ProtocolName(proto));
    auto bytes = BERTH_TRY(ReadOptional(path, kDumpMaxFileBytes));
    if (!bytes) {
      snap.partial = true;
      snap.warnings.push_back(fmt::format("{} is missing: no {} sockets", path, ProtocolName(proto)));
      continue;
    }
    ReplaySockDiag(*bytes, proto, path, snap);
  }

  if (auto text = BERTH_TRY(ReadOptional(dir + "/interfaces", kSmallFile))) {
    for (std::string_view line : Lines(*text)) {
      const std::size_t sp = line.find(' ');
      std::uint32_t index = 0;
      if (sp == std::string_view::npos || !ParseNumber(line.substr(0, sp), index) || index == 0) {
        return Fail(ErrorCode::kMalformed,
                    fmt::format("{}/interfaces: expected 'IFINDEX NAME' lines, got '{}'", dir,
                                line.substr(0, 80)));
      }
      for (auto& [ifindex, ifname] : snap.interfaces) {
        if (ifindex == index) ifname = std::string(line.substr(sp + 1));
      }
    }
  }
  for (auto& [ifindex, ifname] : snap.interfaces) {
    if (ifname.empty()) ifname = std::to_string(ifindex);  // as a live scan would
  }
  SortSockets(snap);

  if (auto text = BERTH_TRY(ReadOptional(dir + "/warnings", kSmallFile))) {
    for (std::string_view line : Lines(*text)) snap.warnings.emplace_back(line);
    if (!Lines(*text).empty()) snap.partial = true;
  }
  if (resolve_owners && c.owners) BERTH_TRY(ReplayOwners(dir, snap));
  return snap;
}

}  // namespace berth
