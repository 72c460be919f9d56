#include "base/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include <fmt/core.h>

#include "base/unique_fd.h"

namespace berth {
namespace {

std::string DirName(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Result<void> WriteAll(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(ErrnoError(errno, "write " + what));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

}  // namespace

namespace {

std::string_view FileKind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

std::string SizeText(std::size_t bytes) {
  return bytes % (1 << 20) == 0 ? fmt::format("{} MiB", bytes >> 20) : fmt::format("{} bytes", bytes);
}

// The one bounded reader: opens without blocking (a FIFO with no writer would block open()),
// refuses anything but a regular file, and stops past `max_bytes`.
Result<std::string> ReadBounded(const std::string& path, std::size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd.valid()) return std::unexpected(ErrnoError(errno, fmt::format("cannot read {}", path)));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return std::unexpected(ErrnoError(errno, fmt::format("cannot read {}", path)));
  }
  if (!S_ISREG(st.st_mode)) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("cannot read {}: it is {}, not a regular file; give the path of a "
                            "file", path, FileKind(st.st_mode)));
  }
  auto too_large = [&] {
    return Fail(ErrorCode::kMalformed,
                fmt::format("cannot read {}: it is larger than {}, the most berth reads from one "
                            "file", path, SizeText(max_bytes)));
  };
  if (st.st_size > 0 && static_cast<std::uint64_t>(st.st_size) > max_bytes) return too_large();
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(ErrnoError(errno, fmt::format("cannot read {}", path)));
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > max_bytes) return too_large();  // a file that grows while read
  }
  return out;
}

}  // namespace

Result<std::string> ReadWholeFile(const std::string& path) { return ReadBounded(path, kMaxUserFile); }

Result<std::string> ReadSmallFile(const std::string& path) { return ReadBounded(path, kMaxSmallFile); }

Result<void> WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode) {
  if (path.empty() || path.back() == '/') {
    return Fail(ErrorCode::kInvalidArgument, "write: '" + path + "' is not a file path");
  }
  std::string tmpl = path + ".berth-XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  UniqueFd fd(::mkostemp(name.data(), O_CLOEXEC));
  if (!fd.valid()) return std::unexpected(ErrnoError(errno, "create a temporary file next to " + path));
  const std::string tmp(name.data());
  auto fail = [&](int err, const std::string& what) {
    ::unlink(tmp.c_str());
    return std::unexpected(ErrnoError(err, what));
  };
  if (::fchmod(fd.get(), mode) != 0) return fail(errno, "chmod " + tmp);
  if (auto w = WriteAll(fd.get(), data, tmp); !w) {
    ::unlink(tmp.c_str());
    return w;
  }
  if (::fsync(fd.get()) != 0) return fail(errno, "fsync " + tmp);
  fd.Reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(errno, "rename to " + path);
  // The rename is durable once the directory entry is on disk.
  UniqueFd dir(::open(DirName(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.valid()) (void)::fsync(dir.get());
  return {};
}

}  // namespace berth
