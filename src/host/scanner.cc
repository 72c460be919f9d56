#include "host/scanner.h"

#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

#include <fmt/core.h>

#include "base/file.h"
#include "base/two_threads.h"
#include "host/proc_parse.h"
#include "host/sock_diag.h"
#include "host/socket_fds.h"
#include "host/sysctl.h"
#include "base/unique_fd.h"

namespace berth {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Below this many open files on the host (fs.file-nr) the /proc walk beats loading the BPF
// iterator: loading costs about 20 ms and 11 MiB (libbpf reads the kernel's BTF), the /proc
// walk about 4.5 us a file. Measured: 315 open files, 9.3 ms against 30.5 ms for the scan.
constexpr std::size_t kBpfWalkFromOpenFiles = 10000;

// From this many sockets the sort runs on two threads (a thread costs tens of microseconds).
constexpr std::size_t kSortBesideFrom = 65536;

// The host's open files (the first field of /proc/sys/fs/file-nr); unknown counts as many.
std::size_t OpenFiles() {
  auto text = ReadSmallFile("/proc/sys/fs/file-nr");
  std::size_t n = 0;
  if (!text || std::from_chars(text->data(), text->data() + text->size(), n).ec != std::errc()) {
    return kBpfWalkFromOpenFiles;
  }
  return n;
}

Result<void> EnterNetns(const std::string& spec) {
  const std::string path = NetnsPath(spec);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) {
      return Fail(ErrorCode::kNotFound,
                  fmt::format("no network namespace '{}' ({} does not exist): 'ip netns list' "
                              "shows the names; a path such as /proc/PID/ns/net works too",
                              spec, path));
    }
    return std::unexpected(ErrnoError(err, fmt::format("opening network namespace {}", path)));
  }
  UniqueFd owned(fd);
  if (::setns(fd, CLONE_NEWNET) != 0) {
    const int err = errno;
    if (err == EPERM) {
      return Fail(ErrorCode::kPermissionDenied,
                  fmt::format("entering network namespace {} needs CAP_SYS_ADMIN: run as root",
                              path));
    }
    if (err == EINVAL) {
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("{} is not a network namespace", path));
    }
    return std::unexpected(ErrnoError(err, fmt::format("entering network namespace {}", path)));
  }
  return {};
}

// The dump of (family, proto) on two threads: local ports below 32768 here, the rest on a
// second netlink socket on another thread (the kernel runs one dump per socket), each reply
// decoded into `snap` in turn. When the second thread or socket cannot start, or either half
// fails, what the halves added is dropped and one dump runs instead.
Result<DiagBatch> SplitDump(SockDiag& diag, int family, Protocol proto, std::uint32_t states,
                            HostSnapshot& snap) {
  const std::size_t before = snap.sockets.size();
  if (auto second = SockDiag::Open()) {
    std::mutex lock;
    Result<DiagBatch> high = Fail(ErrorCode::kUnavailable, "not run");
    std::thread t;
    try {
      t = std::thread([&] {
        high = second->Dump(family, proto, states, snap, nullptr, PortRange{32768, 65535}, &lock);
      });
    } catch (const std::system_error&) {
      // no second thread: one dump below
    }
    if (t.joinable()) {
      auto low = diag.Dump(family, proto, states, snap, nullptr, PortRange{0, 32767}, &lock);
      t.join();
      if (low && high) {
        DiagBatch both;
        both.done = true;
        both.interrupted = low->interrupted || high->interrupted;
        both.messages = low->messages + high->messages;
        return both;
      }
      snap.sockets.erase(snap.sockets.begin() + static_cast<std::ptrdiff_t>(before), snap.sockets.end());
    }
  }
  return diag.Dump(family, proto, states, snap);
}

// Everything that must run inside the namespace: sysctls, the dumps, interface names.
Result<void> ReadNamespace(const ScanOptions& opt, HostSnapshot& snap) {
  snap.config = ReadHostPortConfig(snap.warnings);
  if (opt.capture != nullptr) {
    for (std::string_view name : kPortSysctlNames) {
      if (auto text = ReadSmallFile(fmt::format("/proc/sys/net/ipv4/{}", name))) {
        opt.capture->sysctls.emplace_back(name, std::move(*text));
      }
    }
  }
  auto diag = SockDiag::Open();
  if (!diag) {
    return Fail(ErrorCode::kUnavailable,
                fmt::format("{} (is the kernel built without CONFIG_INET_DIAG?)",
                            diag.error().message));
  }
  bool split = false;
  if (opt.all_states) {
    // Sized once from the namespace's counts: growing by doubling would hold up to three times
    // a million sockets' records at the moment of a copy.
    const auto stat = ReadSmallFile("/proc/net/sockstat");
    const auto stat6 = ReadSmallFile("/proc/net/sockstat6");
    const std::size_t expected =
        SockstatSockets(stat ? *stat : "", stat6 ? *stat6 : "", opt.tcp, opt.udp);
    snap.sockets.reserve(expected + expected / 32 + 256);
    // A recording keeps one dump's replies in order: never split then; nor on one core, where
    // the halves' second walk of the kernel's table would only add time.
    split = opt.capture == nullptr && expected >= opt.split_dump_at &&
            std::thread::hardware_concurrency() >= 2;
  }
  const std::uint32_t tcp_states = opt.all_states ? kAllStates : 1u << 10;  // LISTEN
  const std::uint32_t udp_states =
      opt.all_states ? kAllStates : 1u << static_cast<int>(SocketState::kClose);
  struct Table {
    bool on;
    int family;
    Protocol proto;
    std::uint32_t states;
    const char* name;
  };
  // TCP's two families in one dump first: the kernel walks its socket tables once, not once
  // per family (at a million sockets each walk is about 0.2 s of the kernel's time). A kernel
  // that refuses that older request (TCPDIAG_GETSOCK) gets the two requests by family.
  bool tcp_per_family = false;
  if (opt.tcp) {
    const std::size_t before = snap.sockets.size();
    std::vector<std::byte>* raw = opt.capture != nullptr ? &opt.capture->tcp_diag : nullptr;
    const std::size_t raw_before = raw != nullptr ? raw->size() : 0;
    auto r = split ? SplitDump(*diag, AF_UNSPEC, Protocol::kTcp, tcp_states, snap)
                   : diag->Dump(AF_UNSPEC, Protocol::kTcp, tcp_states, snap, raw);
    if (!r) {
      tcp_per_family = true;
      snap.sockets.erase(snap.sockets.begin() + static_cast<std::ptrdiff_t>(before), snap.sockets.end());
      if (raw != nullptr) raw->resize(raw_before);
    } else if (r->interrupted) {
      snap.partial = true;
      snap.warnings.push_back(
          "the TCP socket table changed during the dump: a socket may be missing; run again");
    }
  }
  const Table tables[] = {
      {tcp_per_family, AF_INET, Protocol::kTcp, tcp_states, "TCP/IPv4"},
      {tcp_per_family, AF_INET6, Protocol::kTcp, tcp_states, "TCP/IPv6"},
      {opt.udp, AF_INET, Protocol::kUdp, udp_states, "UDP/IPv4"},
      {opt.udp, AF_INET6, Protocol::kUdp, udp_states, "UDP/IPv6"},
  };
  for (const Table& t : tables) {
    if (!t.on) continue;
    std::vector<std::byte>* raw = nullptr;
    if (opt.capture != nullptr) {
      raw = t.proto == Protocol::kTcp ? &opt.capture->tcp_diag : &opt.capture->udp_diag;
    }
    auto r = diag->Dump(t.family, t.proto, t.states, snap, raw);
    if (!r) {
      snap.partial = true;
      snap.warnings.push_back(
          fmt::format("{} sockets could not be listed: {}{}", t.name, r.error().message,
                      r.error().code == ErrorCode::kNotFound
                          ? " (load the diag module: modprobe udp_diag / inet_diag)"
                          : ""));
      continue;
    }
    if (r->interrupted) {
      snap.partial = true;
      snap.warnings.push_back(fmt::format(
          "the {} socket table changed during the dump: a socket may be missing; run again",
          t.name));
    }
  }
  for (auto& [ifindex, ifname] : snap.interfaces) {  // the devices the decoder met
    char name[IF_NAMESIZE] = {};
    ifname = ::if_indextoname(ifindex, name) ? name : std::to_string(ifindex);
  }
  return {};
}

}  // namespace

void SortSockets(HostSnapshot& snap) {
  const AddressTable& addr = snap.addresses;
  const auto less = [&addr](const SocketRecord& a, const SocketRecord& b) {
    if (a.proto != b.proto) return a.proto < b.proto;
    if (a.local_port != b.local_port) return a.local_port < b.local_port;
    if (a.local != b.local) return addr[a.local] < addr[b.local];
    if (a.remote != b.remote) return addr[a.remote] < addr[b.remote];
    return std::tie(a.remote_port, a.inode) < std::tie(b.remote_port, b.inode);
  };
  std::vector<SocketRecord>& all = snap.sockets;
  if (all.size() < kSortBesideFrom || std::thread::hardware_concurrency() < 2) {
    std::sort(all.begin(), all.end(), less);
    return;
  }
  // The order starts with (protocol, local port): count the sockets of each and cut where half
  // of them lie below, then sort the two sides at once (a million sockets: about 130 ms on
  // one core, half that on two).
  const auto key = [](const SocketRecord& s) {
    return static_cast<std::uint32_t>(s.proto) << 16 | s.local_port;
  };
  std::vector<std::uint32_t> count(2u << 16);
  for (const SocketRecord& s : all) ++count[key(s)];
  std::uint32_t cut = 0;
  for (std::size_t below = 0; cut < count.size() && below + count[cut] <= all.size() / 2; ++cut) {
    below += count[cut];
  }
  SortBesideEachOther(all.begin(), all.end(), [&](const SocketRecord& s) { return key(s) < cut; }, less);
}

std::string NetnsPath(const std::string& spec) {
  if (spec.find('/') != std::string::npos) return spec;
  return "/run/netns/" + spec;
}

Result<HostSnapshot> ScanHost(const ScanOptions& opt, ScanStats* stats) {
  HostSnapshot snap;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) == 0) snap.hostname = host;
  snap.netns = opt.netns;

  auto t0 = std::chrono::steady_clock::now();
  // The BPF owner walk is loaded before the dump: libbpf's copy of the kernel BTF is freed
  // before the sockets take their memory.
  std::optional<SocketFdIterator> bpf;
  std::string bpf_fallback;
  if (opt.resolve_owners && opt.walk.via != OwnerWalk::kProc) {
    Result<SocketFdIterator> loaded = Fail(ErrorCode::kUnavailable, "");
    if (opt.walk.proc_root != "/proc") {
      loaded = Fail(ErrorCode::kUnavailable, fmt::format("the owners are read from {}, not /proc",
                                                         opt.walk.proc_root));
    } else if (std::string blocker = SocketFdIteratorBlocker(); !blocker.empty()) {
      loaded = Fail(ErrorCode::kUnavailable, blocker);
    } else if (opt.walk.via == OwnerWalk::kAuto && OpenFiles() < kBpfWalkFromOpenFiles) {
      loaded = Fail(ErrorCode::kUnavailable, "");  // a small host: /proc is faster, no fallback to say
    } else {
      loaded = SocketFdIterator::Load();
    }
    if (!loaded && loaded.error().message.empty()) {
      // the /proc walk, chosen
    } else if (loaded) {
      bpf.emplace(std::move(*loaded));
    } else if (opt.walk.via == OwnerWalk::kBpf) {
      return std::unexpected(std::move(loaded.error()));
    } else {
      bpf_fallback = loaded.error().message;
    }
  }
  const double bpf_load_seconds = SecondsSince(t0);

  // A walk needs nothing from the sockets until its inodes are matched: it runs while they
  // are dumped and sorted. The BPF walk on a second thread; its records get room for every
  // open file of the host at once (address space: pages cost memory only when written). The
  // /proc walk, when every state is dumped (a long dump), on its workers (one core less than
  // the machine has), and this thread joins it after the dump. For listeners alone the dump
  // is short and the /proc walk stays after it, where it can stop once every listener has
  // its owner.
  std::optional<Result<WalkRecords>> early_walk;
  double early_walk_seconds = 0;
  std::thread walker;
  std::unique_ptr<ProcWalk> proc_walk;
  const auto walk_start = std::chrono::steady_clock::now();
  if (!bpf && opt.resolve_owners && opt.all_states) {
    if (auto started = ProcWalk::Start(opt.walk)) proc_walk = std::move(*started);
    // else: the walk after the dump meets the same error and says it
  }
  if (bpf) {
    try {
      walker = std::thread([&] {
        const auto start = std::chrono::steady_clock::now();
        early_walk = CollectBpfWalk(*bpf, std::min<std::size_t>(OpenFiles(), 1u << 26) + 65536);
        early_walk_seconds = SecondsSince(start);
      });
    } catch (const std::system_error&) {
      // no second thread: the walk runs after the dump
    }
  }
  struct JoinOnReturn {
    std::thread& t;
    ~JoinOnReturn() {
      if (t.joinable()) t.join();
    }
  } join_walker{walker};

  t0 = std::chrono::steady_clock::now();
  Result<void> read_result;
  if (opt.netns.empty()) {
    read_result = ReadNamespace(opt, snap);
  } else {
    if (opt.netns.empty() || opt.netns == "." || opt.netns == "..") {
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("'{}' is not a network namespace name", opt.netns));
    }
    // setns() moves only the calling thread: do the namespace's work on a thread of its own.
    try {
      std::thread worker([&] {
        read_result = EnterNetns(opt.netns);
        if (read_result) read_result = ReadNamespace(opt, snap);
      });
      worker.join();
    } catch (const std::system_error& e) {
      return Fail(ErrorCode::kUnavailable,
                  fmt::format("cannot start the thread that enters network namespace '{}' ({}): the "
                              "process limit (ulimit -u) or memory is exhausted; raise it, or stop "
                              "other processes, and try again",
                              opt.netns, e.what()));
    }
  }
  if (!read_result) return std::unexpected(std::move(read_result.error()));
  if (stats) stats->netlink_seconds = SecondsSince(t0);

  SortSockets(snap);

  if (opt.resolve_owners) {
    t0 = std::chrono::steady_clock::now();
    double waited = 0;
    if (walker.joinable()) {
      walker.join();
      waited = SecondsSince(t0);
    } else if (proc_walk) {
      early_walk = proc_walk->Finish();
      waited = SecondsSince(t0);
      early_walk_seconds = SecondsSince(walk_start);
    }
    auto walk = early_walk ? (*early_walk ? ResolveOwners(snap, opt.walk, std::move(**early_walk))
                                          : Result<OwnerWalkStats>(std::unexpected(early_walk->error())))
                           : ResolveOwners(snap, opt.walk, bpf ? &*bpf : nullptr);
    if (!walk && bpf && opt.walk.via == OwnerWalk::kAuto) {
      // The iterator failed mid-walk: the /proc walk gives the same owners.
      bpf_fallback = walk.error().message;
      walk = ResolveOwners(snap, opt.walk);
    }
    snap.owners_walk_fallback = bpf_fallback;
    if (walk) walk->bpf_fallback = bpf_fallback;
    if (!walk) {
      snap.partial = true;
      snap.warnings.push_back(fmt::format("process owners unknown: {}", walk.error().message));
    } else if (stats) {
      stats->walk = *walk;
    }
    if (stats) {
      stats->owners_seconds = bpf_load_seconds + SecondsSince(t0);
      if (early_walk) {
        stats->owners_beside_dump = true;
        stats->owners_waited_seconds = waited;
        stats->owners_seconds += early_walk_seconds - waited;
      }
    }
  }
  return snap;
}

}  // namespace berth
