#include "base/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

#include <fmt/core.h>

#include "base/unique_fd.h"

namespace berth {

Result<bool> NotifySystemd(std::string_view state) {
  const char* env = std::getenv("NOTIFY_SOCKET");
  if (env == nullptr || *env == '\0') return false;
  const std::string path = env;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if ((path[0] != '/' && path[0] != '@') || path.size() >= sizeof addr.sun_path) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("NOTIFY_SOCKET '{}' is not an AF_UNIX socket path (/path or @name)", path));
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return std::unexpected(ErrnoError(errno, "socket(AF_UNIX) for NOTIFY_SOCKET"));
  if (::sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL,
               reinterpret_cast<const sockaddr*>(&addr), len) < 0) {
    return std::unexpected(ErrnoError(errno, fmt::format("sending '{}' to NOTIFY_SOCKET {}", state, path)));
  }
  return true;
}

}  // namespace berth
