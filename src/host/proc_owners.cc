#include "base/file.h"
#include "host/proc_owners.h"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <system_error>
#include <thread>
#include <unordered_map>

#include <fmt/core.h>

#include "host/proc_parse.h"
#include "host/socket_fds.h"
#include "host/sysctl.h"
#include "base/two_threads.h"
#include "base/unique_fd.h"

namespace berth {
namespace {

// Open addressing over non-zero inodes: read-only once built, so the workers share it
// without locks. A slot holds a socket's index + 1 (4 bytes), the key is read from the socket
// itself, and there are 1.25 slots a socket (5 MiB at a million sockets). A lookup is two
// multiplies and, mostly, two cache lines.
class InodeTable {
 public:
  explicit InodeTable(const std::vector<SocketRecord>& sockets) : sockets_(sockets) {
    slots_.assign(std::max<std::size_t>(16, sockets.size() + sockets.size() / 4), 0);
    for (std::size_t i = 0; i < sockets.size(); ++i) {
      const std::uint32_t ino = sockets[i].inode;
      if (ino == 0) continue;  // TIME_WAIT and request sockets have no fd
      std::size_t h = Hash(ino);
      while (slots_[h] != 0 && sockets_[slots_[h] - 1].inode != ino) h = Next(h);
      if (slots_[h] == 0) ++wanted_;
      slots_[h] = static_cast<std::uint32_t>(i + 1);
    }
  }
  // Index of the socket with this inode, or -1.
  std::int64_t Find(std::uint64_t ino) const {
    if (ino == 0 || ino > UINT32_MAX) return -1;
    for (std::size_t h = Hash(ino);; h = Next(h)) {
      if (slots_[h] == 0) return -1;
      if (sockets_[slots_[h] - 1].inode == ino) return slots_[h] - 1;
    }
  }
  std::size_t wanted() const { return wanted_; }

 private:
  // Any table size: the hash's high bits scaled to it (Lemire's fast range).
  std::size_t Hash(std::uint64_t ino) const {
    const std::uint64_t h = ino * 0x9E3779B97F4A7C15ull;
    return static_cast<std::size_t>((static_cast<unsigned __int128>(h) * slots_.size()) >> 64);
  }
  std::size_t Next(std::size_t h) const { return h + 1 == slots_.size() ? 0 : h + 1; }
  const std::vector<SocketRecord>& sockets_;
  std::vector<std::uint32_t> slots_;
  std::size_t wanted_ = 0;
};

// An owner found by a walk: SocketOwner with the pid in `process` until the processes are
// numbered (the same 12 bytes, so the hits become the owners in place).
using Hit = SocketOwner;

// What a walk's threads share. Without a table (a walk collected before the sockets are
// known) every socket fd is a hit, its inode in `socket`.
struct Shared {
  const InodeTable* table = nullptr;
  int proc_fd = -1;
  const std::vector<int>* pids = nullptr;
  bool stop_when_all_found = false;
  std::unique_ptr<std::atomic<bool>[]> found;
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> remaining{0};
  std::atomic<std::size_t> unreadable{0}, vanished{0}, fds{0};
};

struct linux_dirent64 {
  ino64_t d_ino;
  off64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

void WalkPid(Shared& sh, int pid, std::vector<Hit>& hits) {
  char path[32];
  *fmt::format_to_n(path, sizeof path - 1, "{}/fd", pid).out = '\0';
  int dfd = ::openat(sh.proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    if (errno == ENOENT || errno == ESRCH) {
      sh.vanished.fetch_add(1, std::memory_order_relaxed);
    } else {
      sh.unreadable.fetch_add(1, std::memory_order_relaxed);
    }
    return;
  }
  UniqueFd dir(dfd);
  alignas(8) char buf[16 * 1024];
  char link[64];
  std::size_t fds = 0;
  // /proc/PID/fd can be listable (CAP_DAC_READ_SEARCH) while its links are not (reading them
  // needs ptrace access: CAP_SYS_PTRACE or the same user): that process is unreadable too.
  bool denied = false;
  for (;;) {
    long n = ::syscall(SYS_getdents64, dfd, buf, sizeof buf);
    if (n <= 0) break;  // 0: end; <0: the process exited mid-walk, keep what we have
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<linux_dirent64*>(buf + off);
      off += d->d_reclen;
      if (d->d_name[0] < '0' || d->d_name[0] > '9') continue;
      ssize_t len = ::readlinkat(dfd, d->d_name, link, sizeof link);
      ++fds;
      if (len < 0 && (errno == EACCES || errno == EPERM)) denied = true;
      if (len < 10 || link[0] != 's') continue;
      auto ino = ParseSocketLink(std::string_view(link, static_cast<std::size_t>(len)));
      if (!ino) continue;
      int fd = 0;
      for (const char* c = d->d_name; *c; ++c) fd = fd * 10 + (*c - '0');
      if (sh.table == nullptr) {
        // A socket record's inode is 32 bits, as the kernel's sock_diag gives it.
        if (*ino == 0 || *ino > UINT32_MAX) continue;
        hits.push_back(Hit{static_cast<std::uint32_t>(*ino), static_cast<std::uint32_t>(pid), fd});
        continue;
      }
      std::int64_t idx = sh.table->Find(*ino);
      if (idx < 0) continue;
      hits.push_back(Hit{static_cast<std::uint32_t>(idx), static_cast<std::uint32_t>(pid), fd});
      if (!sh.found[static_cast<std::size_t>(idx)].exchange(true, std::memory_order_relaxed)) {
        sh.remaining.fetch_sub(1, std::memory_order_relaxed);
      }
    }
  }
  sh.fds.fetch_add(fds, std::memory_order_relaxed);
  if (denied) sh.unreadable.fetch_add(1, std::memory_order_relaxed);
}

void Worker(Shared& sh, std::vector<Hit>& hits) {
  constexpr std::size_t kChunk = 4;
  const std::vector<int>& pids = *sh.pids;
  for (;;) {
    if (sh.stop_when_all_found && sh.remaining.load(std::memory_order_relaxed) == 0) return;
    std::size_t i = sh.next.fetch_add(kChunk, std::memory_order_relaxed);
    if (i >= pids.size()) return;
    for (std::size_t j = i; j < std::min(i + kChunk, pids.size()); ++j) WalkPid(sh, pids[j], hits);
  }
}

std::string UserName(std::uint32_t uid, std::unordered_map<std::uint32_t, std::string>& cache) {
  if (auto it = cache.find(uid); it != cache.end()) return it->second;
  passwd pw{};
  passwd* result = nullptr;
  char buf[4096];
  std::string name = (::getpwuid_r(uid, &pw, buf, sizeof buf, &result) == 0 && result)
                         ? std::string(result->pw_name)
                         : std::to_string(uid);
  cache.emplace(uid, name);
  return name;
}

// The pid directories under proc_fd, in the order the kernel lists them.
Result<std::vector<int>> ListPids(int proc_fd, const std::string& proc_root) {
  std::vector<int> pids;
  int dup_fd = ::openat(proc_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR* dir = dup_fd >= 0 ? ::fdopendir(dup_fd) : nullptr;
  if (dir == nullptr) {
    const int err = errno;
    if (dup_fd >= 0) ::close(dup_fd);
    return std::unexpected(ErrnoError(err, fmt::format("listing {}", proc_root)));
  }
  while (dirent* e = ::readdir(dir)) {
    int pid = 0;
    const char* c = e->d_name;
    for (; *c >= '0' && *c <= '9'; ++c) pid = pid * 10 + (*c - '0');
    if (*c == '\0' && c != e->d_name) pids.push_back(pid);
  }
  ::closedir(dir);
  return pids;
}

unsigned WalkThreads(const OwnerWalkOptions& options) {
  unsigned threads = std::min(options.threads, kMaxWalkThreads);
  return threads == 0 ? std::clamp(std::thread::hardware_concurrency(), 1u, 8u) : threads;
}

// Starts workers 1..hits.size()-1 (the caller is worker 0). Workers share one pid counter, so
// any number of them (the calling thread alone included) covers every pid: a thread the
// system refuses is simply not there.
std::vector<std::thread> StartWorkers(Shared& sh, std::vector<std::vector<Hit>>& hits) {
  std::vector<std::thread> workers;
  workers.reserve(hits.size());
  for (std::size_t t = 1; t < hits.size(); ++t) {
    try {
      workers.emplace_back(Worker, std::ref(sh), std::ref(hits[t]));
    } catch (const std::system_error&) {
      break;
    }
  }
  return workers;
}

// The walk's figures, once every worker is joined.
void TakeStats(const Shared& sh, OwnerWalkStats& stats) {
  stats.unreadable = sh.unreadable;
  stats.vanished = sh.vanished;
  stats.fds = sh.fds;
  stats.stopped_early = sh.next.load() < sh.pids->size();
}

std::vector<Hit> Gather(std::vector<std::vector<Hit>>& hits) {
  std::size_t found = 0;
  for (const auto& h : hits) found += h.size();
  std::vector<Hit> all = std::move(hits[0]);
  all.reserve(found);
  for (std::size_t t = 1; t < hits.size(); ++t) all.insert(all.end(), hits[t].begin(), hits[t].end());
  return all;
}

// The /proc walk after the dump: every pid directory's fd links, on up to options.threads
// threads, against the table of wanted sockets.
Result<std::vector<Hit>> WalkProc(const InodeTable& table, int proc_fd, const OwnerWalkOptions& options,
                                  OwnerWalkStats& stats, std::size_t& still_wanted, std::size_t sockets) {
  const std::vector<int> pids = BERTH_TRY(ListPids(proc_fd, options.proc_root));
  stats.processes = pids.size();

  Shared sh;
  sh.table = &table;
  sh.proc_fd = proc_fd;
  sh.pids = &pids;
  sh.stop_when_all_found = options.stop_when_all_found;
  sh.found = std::make_unique<std::atomic<bool>[]>(sockets);
  sh.remaining = table.wanted();

  std::vector<std::vector<Hit>> hits(WalkThreads(options));
  stats.threads = 1;
  if (table.wanted() > 0) {
    std::vector<std::thread> workers = StartWorkers(sh, hits);
    stats.threads = static_cast<unsigned>(workers.size()) + 1;
    Worker(sh, hits[0]);
    for (auto& w : workers) w.join();
  }
  TakeStats(sh, stats);
  still_wanted = sh.remaining.load();
  return Gather(hits);
}

Result<OwnerWalkStats> ResolveOwnersWith(HostSnapshot& snap, const OwnerWalkOptions& options,
                                         WalkRecords* collected) {
  OwnerWalkStats stats;
  int proc_fd = ::open(options.proc_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (proc_fd < 0) {
    return std::unexpected(ErrnoError(errno, fmt::format("listing {}", options.proc_root)));
  }
  UniqueFd proc(proc_fd);

  std::vector<Hit> all;
  std::size_t still_wanted = 0;
  {  // the table goes before the processes are read (5 MiB at a million sockets)
    const InodeTable table(snap.sockets);
    if (collected != nullptr) {
      stats = collected->stats;
      // Inodes become socket indexes in place; fds of sockets not in this snapshot (another
      // namespace's, Unix sockets) are dropped.
      all = std::move(collected->fds);
      std::size_t kept = 0;
      for (const Hit& h : all) {
        const std::int64_t idx = table.Find(h.socket);
        if (idx < 0) continue;
        all[kept++] = Hit{static_cast<std::uint32_t>(idx), h.process, h.fd};
      }
      all.resize(kept);
      if (stats.unreadable > 0) {  // only then is the count of sockets left without an owner said
        std::vector<bool> owned(snap.sockets.size());
        std::size_t distinct = 0;
        for (const Hit& h : all) {
          if (!owned[h.socket]) ++distinct;
          owned[h.socket] = true;
        }
        still_wanted = table.wanted() - distinct;
      }
    } else {
      stats.via = OwnerWalk::kProc;
      all = BERTH_TRY(WalkProc(table, proc_fd, options, stats, still_wanted, snap.sockets.size()));
    }
  }

  // Processes that own something, in pid order; then owners by (socket, process). A walk
  // reports a process's fds together: a run of one pid is one entry before the sort.
  std::vector<int> owner_pids;
  for (const Hit& h : all) {
    if (owner_pids.empty() || owner_pids.back() != static_cast<int>(h.process)) {
      owner_pids.push_back(static_cast<int>(h.process));
    }
  }
  std::sort(owner_pids.begin(), owner_pids.end());
  owner_pids.erase(std::unique(owner_pids.begin(), owner_pids.end()), owner_pids.end());
  owner_pids.shrink_to_fit();

  std::unordered_map<std::uint32_t, std::string> users;
  snap.processes.clear();
  for (int pid : owner_pids) {
    ProcessInfo p;
    p.pid = pid;
    struct stat st {};
    if (::fstatat(proc_fd, std::to_string(pid).c_str(), &st, 0) == 0) p.uid = st.st_uid;
    p.user = UserName(p.uid, users);
    const std::string base = fmt::format("{}/{}/", options.proc_root, pid);
    auto comm = ReadSmallFile(base + "comm");
    p.command = comm ? std::string(comm->substr(0, comm->find('\n'))) : "?";
    if (auto cg = ReadSmallFile(base + "cgroup")) {
      CgroupInfo info = ParseCgroup(*cg);
      p.unit = std::move(info.unit);
      p.container = std::move(info.container);
    }
    snap.processes.push_back(std::move(p));
  }
  std::uint32_t last_pid = 0, last_index = 0;
  bool have_last = false;
  for (Hit& h : all) {
    if (!have_last || h.process != last_pid) {
      auto it = std::lower_bound(owner_pids.begin(), owner_pids.end(), static_cast<int>(h.process));
      last_pid = h.process;
      last_index = static_cast<std::uint32_t>(it - owner_pids.begin());
      have_last = true;
    }
    h.process = last_index;
  }
  snap.owners = std::move(all);
  const auto by_socket = [](const SocketOwner& a, const SocketOwner& b) {
    return std::tie(a.socket, a.process, a.fd) < std::tie(b.socket, b.process, b.fd);
  };
  if (snap.owners.size() >= 65536 && std::thread::hardware_concurrency() >= 2) {
    // Most sockets have one owner: the sockets' lower half holds about half the owners.
    const std::uint32_t half = static_cast<std::uint32_t>(snap.sockets.size() / 2);
    SortBesideEachOther(snap.owners.begin(), snap.owners.end(),
                        [half](const SocketOwner& o) { return o.socket < half; }, by_socket);
  } else {
    std::sort(snap.owners.begin(), snap.owners.end(), by_socket);
  }
  // A thread with a file table of its own reports its process's fds again.
  snap.owners.erase(std::unique(snap.owners.begin(), snap.owners.end(),
                                [](const SocketOwner& a, const SocketOwner& b) {
                                  return a.socket == b.socket && a.process == b.process && a.fd == b.fd;
                                }),
                    snap.owners.end());
  snap.owners_resolved = true;
  snap.owners_walk = stats.via;

  if (stats.unreadable > 0 && still_wanted > 0) {
    snap.partial = true;
    snap.warnings.push_back(fmt::format(
        "could not read the open files of {} of {} processes (permission denied), so {} sockets "
        "show no owner: run as root (sudo berth scan) to see every owner",
        stats.unreadable, stats.processes, still_wanted));
  }
  return stats;
}

}  // namespace

Result<WalkRecords> CollectBpfWalk(SocketFdIterator& bpf, std::size_t reserve) {
  WalkRecords out;
  out.stats.via = OwnerWalk::kBpf;
  out.stats.threads = 1;
  try {
    out.fds.reserve(reserve);
  } catch (const std::bad_alloc&) {
    // strict overcommit refused the address space: grow as the records come
  }
  std::uint32_t last_pid = 0;
  auto reported = bpf.Read([&](std::span<const SocketFdRecord> batch) {
    for (const SocketFdRecord& r : batch) {
      // The kernel walks task by task: a new pid is a new process (or a thread of its own
      // file table, counted again: rare).
      if (r.pid != last_pid) ++out.stats.processes;
      last_pid = r.pid;
      // A socket record's inode is 32 bits, as the kernel's sock_diag gives it.
      if (r.inode == 0 || r.inode > UINT32_MAX || r.fd > INT32_MAX) continue;
      out.fds.push_back(SocketOwner{static_cast<std::uint32_t>(r.inode), r.pid, static_cast<int>(r.fd)});
    }
  });
  if (!reported) return std::unexpected(std::move(reported.error()));
  out.stats.fds = *reported;
  return out;
}

namespace {

class ProcWalkOnWorkers final : public ProcWalk {
 public:
  Result<void> Start(const OwnerWalkOptions& options) {
    const int proc_fd = ::open(options.proc_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (proc_fd < 0) {
      return std::unexpected(ErrnoError(errno, fmt::format("listing {}", options.proc_root)));
    }
    proc_ = UniqueFd(proc_fd);
    pids_ = BERTH_TRY(ListPids(proc_fd, options.proc_root));
    sh_.proc_fd = proc_fd;
    sh_.pids = &pids_;
    hits_.resize(WalkThreads(options));
    workers_ = StartWorkers(sh_, hits_);
    return {};
  }

  WalkRecords Finish() override {
    WalkRecords out;
    out.stats.via = OwnerWalk::kProc;
    out.stats.processes = pids_.size();
    out.stats.threads = static_cast<unsigned>(workers_.size()) + 1;
    Worker(sh_, hits_[0]);
    Join();
    TakeStats(sh_, out.stats);
    out.fds = Gather(hits_);
    return out;
  }

  // An unfinished walk is left to its workers (they stop when the pids run out).
  ~ProcWalkOnWorkers() override { Join(); }

 private:
  void Join() {
    for (auto& w : workers_) w.join();
    workers_.clear();
  }
  UniqueFd proc_;
  std::vector<int> pids_;
  Shared sh_;
  std::vector<std::vector<Hit>> hits_;
  std::vector<std::thread> workers_;
};

}  // namespace

Result<std::unique_ptr<ProcWalk>> ProcWalk::Start(const OwnerWalkOptions& options) {
  auto walk = std::make_unique<ProcWalkOnWorkers>();
  if (auto started = walk->Start(options); !started) return std::unexpected(std::move(started.error()));
  return walk;
}

Result<OwnerWalkStats> ResolveOwners(HostSnapshot& snap, const OwnerWalkOptions& options,
                                     SocketFdIterator* bpf) {
  if (bpf != nullptr) {
    return ResolveOwners(snap, options, BERTH_TRY(CollectBpfWalk(*bpf, snap.sockets.size())));
  }
  return ResolveOwnersWith(snap, options, nullptr);
}

Result<OwnerWalkStats> ResolveOwners(HostSnapshot& snap, const OwnerWalkOptions& options,
                                     WalkRecords walk) {
  return ResolveOwnersWith(snap, options, &walk);
}

}  // namespace berth
