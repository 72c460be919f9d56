#include "host/socket_fds.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include "base/file.h"
#include "base/text.h"
#include "base/unique_fd.h"

namespace berth::bpf {
extern const unsigned char kSocketFdsObject[];
extern const std::size_t kSocketFdsObjectSize;
}  // namespace berth::bpf

namespace berth {
namespace {

// libbpf's messages go here instead of stderr, for the error of a failed load (last 2 KiB).
thread_local std::string libbpf_log;

int KeepLibbpfLog(libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char line[512];
  const int n = std::vsnprintf(line, sizeof line, format, args);
  if (n > 0) libbpf_log.append(line, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof line - 1));
  if (libbpf_log.size() > 2048) libbpf_log.erase(0, libbpf_log.size() - 2048);
  return 0;
}

// Sets libbpf's printer for one scope and puts the previous one back.
class LibbpfLogScope {
 public:
  LibbpfLogScope() : previous_(libbpf_set_print(KeepLibbpfLog)) { libbpf_log.clear(); }
  ~LibbpfLogScope() { libbpf_set_print(previous_); }
  LibbpfLogScope(const LibbpfLogScope&) = delete;
  LibbpfLogScope& operator=(const LibbpfLogScope&) = delete;

 private:
  libbpf_print_fn_t previous_;
};

Error LoadError(int err, std::string_view step) {
  std::string log = libbpf_log;
  while (!log.empty() && log.back() == '\n') log.pop_back();
  const std::string detail = log.empty() ? "" : fmt::format(" (libbpf: {})", TerminalSafe(log, 300));
  if (err == EPERM || err == EACCES) {
    return Error{ErrorCode::kPermissionDenied,
                 fmt::format("{} the BPF owner walk: permission denied: it needs CAP_BPF and "
                             "CAP_PERFMON (or CAP_SYS_ADMIN){}",
                             step, detail)};
  }
  return Error{ErrorCode::kUnavailable,
               fmt::format("{} the BPF owner walk: {}{}", step, std::strerror(err), detail)};
}

}  // namespace

std::string SocketFdIteratorBlocker() {
  // NSpid lists the pid in each namespace from the initial one down: more than one means a
  // child namespace, where the iterator's pids would not be the ones /proc shows.
  if (auto status = ReadSmallFile("/proc/self/status")) {
    const std::size_t at = status->find("\nNSpid:");
    if (at != std::string::npos) {
      const std::string_view line =
          std::string_view(*status).substr(at + 7, status->find('\n', at + 7) - (at + 7));
      std::size_t fields = 0;
      bool in_field = false;
      for (char c : line) {
        const bool digit = c >= '0' && c <= '9';
        if (digit && !in_field) ++fields;
        in_field = digit;
      }
      if (fields > 1) {
        return "berth runs in a child PID namespace, where the kernel's pids are not the ones "
               "/proc shows";
      }
    }
  }
  if (auto status = ReadSmallFile("/proc/self/status")) {
    const std::size_t at = status->find("CapEff:");
    if (at != std::string::npos) {
      const std::uint64_t caps = std::strtoull(status->c_str() + at + 7, nullptr, 16);
      auto has = [caps](int cap) { return ((caps >> cap) & 1U) != 0; };
      constexpr int kSysAdmin = 21, kPerfmon = 38, kBpf = 39;
      if (!has(kSysAdmin) && !(has(kBpf) && has(kPerfmon))) {
        return "loading the BPF owner walk needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN): "
               "run as root";
      }
    }
  }
  if (::access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
    return "the kernel has no BTF (/sys/kernel/btf/vmlinux: CONFIG_DEBUG_INFO_BTF)";
  }
  return "";
}

Result<SocketFdIterator> SocketFdIterator::Load() {
  LibbpfLogScope log;
  LIBBPF_OPTS(bpf_object_open_opts, open_opts, .object_name = "berth_socket_fds");
  bpf_object* object = bpf_object__open_mem(bpf::kSocketFdsObject, bpf::kSocketFdsObjectSize, &open_opts);
  if (object == nullptr) return std::unexpected(LoadError(errno, "opening"));
  SocketFdIterator it(object, nullptr);  // owns the object from here
  if (int err = bpf_object__load(object); err != 0) return std::unexpected(LoadError(-err, "loading"));
  bpf_program* program = bpf_object__find_program_by_name(object, "berth_socket_fds");
  if (program == nullptr) return std::unexpected(LoadError(ENOENT, "finding"));
  it.link_ = bpf_program__attach_iter(program, nullptr);
  if (it.link_ == nullptr) return std::unexpected(LoadError(errno, "attaching"));
  return it;
}

Result<std::size_t> SocketFdIterator::Read(
    const std::function<void(std::span<const SocketFdRecord>)>& each) {
  if (link_ == nullptr) return Fail(ErrorCode::kInternal, "the BPF owner walk was not loaded");
  const int fd = bpf_iter_create(bpf_link__fd(link_));
  if (fd < 0) return std::unexpected(ErrnoError(errno, "starting the BPF owner walk"));
  UniqueFd iter(fd);
  // The kernel fills one seq_file page run (32 KiB) per read; a record never straddles two
  // reads in practice, but a remainder is carried over all the same.
  std::vector<SocketFdRecord> buf(4096);
  std::size_t carried = 0;  // bytes of a partial record at the start of buf
  std::size_t total = 0;
  auto* bytes = reinterpret_cast<char*>(buf.data());
  const std::size_t capacity = buf.size() * sizeof(SocketFdRecord);
  for (;;) {
    const ssize_t n = ::read(fd, bytes + carried, capacity - carried);
    if (n < 0) {
      if (errno == EINTR) continue;
      // EAGAIN/ERESTART: the walk was cut short (a process exited under it); the records
      // read so far stand, and the caller's fallback decides.
      return std::unexpected(ErrnoError(errno, "reading the BPF owner walk"));
    }
    if (n == 0) break;
    const std::size_t have = carried + static_cast<std::size_t>(n);
    const std::size_t whole = have / sizeof(SocketFdRecord);
    each(std::span<const SocketFdRecord>(buf.data(), whole));
    total += whole;
    carried = have % sizeof(SocketFdRecord);
    std::memmove(bytes, bytes + whole * sizeof(SocketFdRecord), carried);
  }
  if (carried != 0) {
    return Fail(ErrorCode::kMalformed,
                fmt::format("the BPF owner walk ended inside a record ({} stray bytes)", carried));
  }
  return total;
}

SocketFdIterator::SocketFdIterator(SocketFdIterator&& other) noexcept
    : object_(std::exchange(other.object_, nullptr)), link_(std::exchange(other.link_, nullptr)) {}

SocketFdIterator& SocketFdIterator::operator=(SocketFdIterator&& other) noexcept {
  if (this != &other) {
    this->~SocketFdIterator();
    object_ = std::exchange(other.object_, nullptr);
    link_ = std::exchange(other.link_, nullptr);
  }
  return *this;
}

SocketFdIterator::~SocketFdIterator() {
  if (link_ != nullptr) bpf_link__destroy(link_);
  if (object_ != nullptr) bpf_object__close(object_);
}

}  // namespace berth
