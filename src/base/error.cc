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

std::string_view RemedyName(Remedy remedy) {
  switch (remedy) {
    case Remedy::kAllowIana: return "allow_iana";
    case Remedy::kWidenGroupRange: return "widen_group_range";
    case Remedy::kCreateGroup: return "create_group";
    case Remedy::kUseDefaultGroup: return "use_default_group";
    case Remedy::kWidenFamily: return "widen_family";
    case Remedy::kCreateFamily: return "create_family";
    case Remedy::kReleaseFirst: return "release_first";
    case Remedy::kWaitLonger: return "wait_longer";
    case Remedy::kChooseRegistry: return "choose_registry";
    case Remedy::kUseBroadcast: return "use_broadcast";
    case Remedy::kTagMetrics: return "tag_metrics";
    case Remedy::kReservePorts: return "reserve_ports";
    case Remedy::kAdoptListener: return "adopt_listener";
    case Remedy::kAssignInstead: return "assign_instead";
    case Remedy::kSeeAllProcesses: return "see_all_processes";
    case Remedy::kAssignFirst: return "assign_first";
    case Remedy::kGiveStoreCredentials: return "give_store_credentials";
    case Remedy::kTrustServerCa: return "trust_server_ca";
    case Remedy::kGiveClientCertificate: return "give_client_certificate";
  }
  return "unknown";
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
