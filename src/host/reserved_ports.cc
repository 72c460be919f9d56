#include "host/reserved_ports.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/core.h>

#include "base/file.h"
#include "base/unique_fd.h"

namespace berth {

Result<PortSet> ReadReservedPorts() {
  const std::string text = BERTH_TRY(ReadSmallFile(kReservedPortsPath));
  auto set = PortSet::Parse(text);
  if (!set) return Fail(ErrorCode::kMalformed, fmt::format("{}: {}", kReservedPortsPath, set.error().message));
  return set;
}

bool CanSetReservedPorts() { return ::access(kReservedPortsPath, W_OK) == 0; }

Result<PortSet> SetReservedPorts(const PortSet& value) {
  const std::string text = value.Format() + "\n";
  UniqueFd fd(::open(kReservedPortsPath, O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return std::unexpected(ErrnoError(errno, fmt::format("cannot set {} (needs root)", kReservedPortsPath)));
  }
  const ssize_t n = ::write(fd.get(), text.data(), text.size());
  if (n != static_cast<ssize_t>(text.size())) {
    return std::unexpected(ErrnoError(errno, fmt::format("cannot set {}", kReservedPortsPath)));
  }
  fd.Reset();
  auto back = ReadSmallFile(kReservedPortsPath);
  auto back_set = back ? PortSet::Parse(*back) : Result<PortSet>(std::unexpected(back.error()));
  if (!back_set || back_set->Intersect(value) != value) {
    return Fail(ErrorCode::kInternal, fmt::format("{} did not take the value: it reads back as '{}'",
                                                  kReservedPortsPath, back ? *back : std::string("?")));
  }
  return back_set;
}

}  // namespace berth
