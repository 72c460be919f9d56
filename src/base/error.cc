#include "base/error.h"

#include <cerrno>
#include <cstring>

#include <fmt/core.h>

namespace berth {

std::string_view CodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kMalformed: return "malformed";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kTimeout: return "timeout";
    case ErrorCode::kPermissionDenied: return "permission denied";
    case ErrorCode::kConflict: return "conflict";
    case ErrorCode::kInternal: return "internal";
  }
  return "internal";
}

Error ErrnoError(int err, std::string_view what) {
  ErrorCode code = ErrorCode::kInternal;
  switch (err) {
    case ENOENT: case ESRCH: case ENXIO: code = ErrorCode::kNotFound; break;
    case EACCES: case EPERM: case EROFS: code = ErrorCode::kPermissionDenied; break;
    case EINVAL: case ENOTDIR: case ENAMETOOLONG: code = ErrorCode::kInvalidArgument; break;
    case ETIMEDOUT: code = ErrorCode::kTimeout; break;
    case EAGAIN: case EBUSY: case ECONNREFUSED: case ENETUNREACH: case EHOSTUNREACH:
    case EPROTONOSUPPORT: case EAFNOSUPPORT: case ENOMEM: case ENOBUFS:
      code = ErrorCode::kUnavailable; break;
    case EEXIST: case EADDRINUSE: code = ErrorCode::kConflict; break;
    default: break;
  }
  return Error{code, fmt::format("{}: {}", what, std::strerror(err))};
}

}  // namespace berth
