#include "host/pin_cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <thread>

#include <fmt/core.h>

#include "base/file.h"
#include "base/text.h"

namespace berth {
namespace {

constexpr std::string_view kPrefix = "berth-pin.";

// The cgroup2 mount point from /proc/self/mountinfo ("... - cgroup2 cgroup2 rw").
Result<std::string> Cgroup2Mount() {
  const std::string info = BERTH_TRY(ReadSmallFile("/proc/self/mountinfo"));
  std::size_t pos = 0;
  while (pos < info.size()) {
    std::size_t end = info.find('\n', pos);
    if (end == std::string::npos) end = info.size();
    const std::string_view line(info.data() + pos, end - pos);
    pos = end + 1;
    const std::size_t dash = line.find(" - ");
    if (dash == std::string_view::npos || line.substr(dash + 3).rfind("cgroup2 ", 0) != 0) continue;
    // Fields: id parent major:minor root mountpoint ...
    std::vector<std::string_view> fields;
    std::size_t f = 0;
    while (fields.size() < 5 && f < dash) {
      const std::size_t sp = line.find(' ', f);
      fields.push_back(line.substr(f, sp - f));
      f = sp + 1;
    }
    if (fields.size() == 5 && fields[3] == "/") return std::string(fields[4]);
  }
  return Fail(ErrorCode::kUnavailable, "no cgroup v2 hierarchy is mounted (/proc/self/mountinfo has "
                                       "no cgroup2 line): mount one, or use the seccomp engine");
}

bool OwnerAlive(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
  auto comm = ReadSmallFile(fmt::format("/proc/{}/comm", pid));
  return comm && comm->rfind("berth", 0) == 0;  // a reused pid is not our berth
}

Result<void> WriteText(const std::string& path, std::string_view text) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid() || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    return std::unexpected(ErrnoError(errno, fmt::format("cannot write {}", path)));
  }
  return {};
}

bool Populated(const std::string& dir) {
  auto events = ReadSmallFile(dir + "/cgroup.events");
  return !events || events->find("populated 0") == std::string::npos;
}

// Kills the processes of `dir` and removes it, waiting at most 5 s for them to go.
Result<void> KillAndRemove(const std::string& dir) {
  if (Populated(dir)) {
    if (auto k = WriteText(dir + "/cgroup.kill", "1"); !k) {
      // Before Linux 5.14: signal each process listed.
      auto procs = ReadSmallFile(dir + "/cgroup.procs");
      for (std::string_view rest = procs ? std::string_view(*procs) : ""; !rest.empty();) {
        const std::size_t nl = rest.find('\n');
        const std::string_view item = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? "" : rest.substr(nl + 1);
        pid_t pid = 0;
        if (std::from_chars(item.data(), item.data() + item.size(), pid).ec == std::errc()) {
          ::kill(pid, SIGKILL);
        }
      }
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (::rmdir(dir.c_str()) != 0) {
    if (errno == ENOENT) return {};
    if (errno != EBUSY || std::chrono::steady_clock::now() > deadline) {
      return std::unexpected(ErrnoError(errno, fmt::format("cannot remove the cgroup {}", dir)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // the killed are being reaped
  }
  return {};
}

}  // namespace

std::optional<PinCgroupName> ParsePinCgroupName(std::string_view name) {
  if (name.rfind(kPrefix, 0) != 0) return std::nullopt;
  name.remove_prefix(kPrefix.size());
  PinCgroupName out;
  const auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), out.owner);
  if (ec != std::errc() || out.owner <= 0) return std::nullopt;
  std::string_view rest(p, static_cast<std::size_t>(name.data() + name.size() - p));
  if (rest.rfind(".n", 0) == 0) {
    rest.remove_prefix(2);
    std::uint64_t ns = 0;
    const auto [n, ec1] = std::from_chars(rest.data(), rest.data() + rest.size(), ns);
    if (ec1 != std::errc() || ns == 0) return std::nullopt;
    out.netns = ns;
    rest = std::string_view(n, static_cast<std::size_t>(rest.data() + rest.size() - n));
  }
  if (rest.empty()) return out;
  if (rest.rfind(".r", 0) != 0) return std::nullopt;
  rest.remove_prefix(2);
  // PortSet's canonical text: "8080", "8080,8090", "8080-8082".
  if (rest.empty() || rest.find_first_not_of("0123456789,-") != std::string_view::npos) return std::nullopt;
  auto ports = PortSet::Parse(rest);
  if (!ports || ports->empty() || ports->contains(0)) return std::nullopt;
  out.reserved = std::move(*ports);
  return out;
}

Result<std::string> OwnCgroupDir() {
  const std::string mount = BERTH_TRY(Cgroup2Mount());
  const std::string self = BERTH_TRY(ReadSmallFile("/proc/self/cgroup"));
  std::size_t pos = self.rfind("0::", 0) == 0 ? 0 : self.find("\n0::");
  if (pos == std::string::npos) {
    return Fail(ErrorCode::kUnavailable, "/proc/self/cgroup has no cgroup v2 line (0::)");
  }
  pos = self.find("0::", pos) + 3;
  std::string rel = self.substr(pos, self.find('\n', pos) - pos);
  if (rel.empty() || rel[0] != '/') {
    return Fail(ErrorCode::kMalformed, fmt::format("/proc/self/cgroup: unexpected path '{}'", TerminalSafe(rel)));
  }
  if (rel == "/") rel.clear();
  return mount + rel;
}

std::uint64_t OwnNetns() {
  struct stat st{};
  return ::stat("/proc/self/ns/net", &st) == 0 ? static_cast<std::uint64_t>(st.st_ino) : 0;
}

Result<PinCgroup> PinCgroup::Create(const PortSet& reserved) {
  const std::string parent = BERTH_TRY(OwnCgroupDir());
  PinCgroup cg;
  cg.path_ = fmt::format("{}/{}{}", parent, kPrefix, ::getpid());
  if (const std::uint64_t ns = OwnNetns(); ns != 0) cg.path_ += fmt::format(".n{}", ns);
  if (!reserved.empty()) cg.path_ += fmt::format(".r{}", reserved.Format());
  if (::mkdir(cg.path_.c_str(), 0755) != 0) {
    Error e = ErrnoError(errno, fmt::format("cannot create the cgroup {}", cg.path_));
    if (errno == EACCES || errno == EPERM || errno == EROFS) {
      e.code = ErrorCode::kPermissionDenied;
      e.message += " (needs root, or a delegated cgroup)";
    }
    return std::unexpected(std::move(e));
  }
  cg.dir_.Reset(::open(cg.path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  cg.procs_.Reset(::open((cg.path_ + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
  if (!cg.dir_.valid() || !cg.procs_.valid()) {
    Error e = ErrnoError(errno, fmt::format("cannot open the cgroup {}", cg.path_));
    (void)cg.Remove();
    return std::unexpected(std::move(e));
  }
  return cg;
}

PinCgroup::~PinCgroup() { (void)Remove(); }

Result<void> PinCgroup::Remove() {
  if (path_.empty()) return {};
  procs_.Reset();
  dir_.Reset();
  auto r = KillAndRemove(path_);
  if (r) path_.clear();
  return r;
}

std::vector<StalePin> SweepStalePinCgroups() {
  std::vector<StalePin> out;
  auto parent = OwnCgroupDir();
  if (!parent) return out;
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(parent->c_str()), ::closedir);
  if (!dir) return out;
  while (const dirent* d = ::readdir(dir.get())) {
    auto name = ParsePinCgroupName(d->d_name);
    if (!name || name->owner == ::getpid() || OwnerAlive(name->owner)) continue;
    // The reservation is in the network namespace the berth ran in: only a berth in that
    // namespace can undo it, so a pin from another namespace leaves the cgroup alone.
    if (name->netns && *name->netns != OwnNetns()) continue;
    StalePin s{*parent + "/" + d->d_name, name->owner, name->reserved, false, ""};
    if (auto r = KillAndRemove(s.path); r) {
      s.removed = true;
    } else {
      s.problem = r.error().message;
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace berth
