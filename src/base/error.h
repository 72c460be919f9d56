// Error and Result<T>: the one error type of libberth.
// A failure is a code from a short fixed list plus a message naming what failed and
// where (path, peer, netlink family). Values are plain data: safe to copy across threads.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth {

enum class ErrorCode {
  kNotFound,
  kInvalidArgument,
  kMalformed,
  kUnavailable,
  kTimeout,
  kPermissionDenied,
  kConflict,
  kInternal,
};

// What would get past a failure, as data. The layer that fails knows what would help; the
// front end words it (the CLI as a flag or a command to run, a server as an API field), so no
// library message names a command-line flag.
enum class Remedy {
  kAllowIana,        // take an IANA-assigned port anyway
  kWidenGroupRange,  // subject: the group
  kCreateGroup,      // subject: the group
  kUseDefaultGroup,  // leave the group out
  kWidenFamily,      // subject: the family, detail: its base port
  kCreateFamily,     // subject: the family
  kReleaseFirst,     // subject: the service, to be released before it can move
  kWaitLonger,       // a lock is held: wait longer for it
  kChooseRegistry,   // name another registry location
  kUseBroadcast,     // subject: the broadcast address to probe as such
  kTagMetrics,       // tag the services that serve metrics
  kReservePorts,     // reserve the registry's ports in the kernel; subject: the group
  kAdoptListener,    // the listener is the service: adopt its port; subject: the service,
                     // detail: "PORT/PROTO" (proto tcp, udp or both)
  kAssignInstead,    // nothing listens: register the port as new; subject: the service,
                     // detail: "PORT/PROTO"
  kSeeAllProcesses,  // a listener's process is hidden from this user: run as root
  kAssignFirst,      // the service is not registered: claim a port for it; subject: the service
  kGiveStoreCredentials,   // the store (etcd) wants a user and password, or others than given
  kTrustServerCa,          // a TLS server's certificate is not trusted: name the CA that signed it
  kGiveClientCertificate,  // a TLS server refused this client's certificate, or wants one
};

struct Hint {
  Remedy remedy;
  std::string subject = {};
  std::string detail = {};
  bool operator==(const Hint&) const = default;
};

struct Error {
  ErrorCode code;
  std::string message;  // what happened and where, without the remedies
  std::vector<Hint> hints = {};
};

template <class T>
using Result = std::expected<T, Error>;

// The code's stable lower-case name ("not found", "permission denied", ...).
std::string_view CodeName(ErrorCode code);
// The remedy's stable snake_case name ("allow_iana", ...), for JSON.
std::string_view RemedyName(Remedy remedy);

inline std::unexpected<Error> Fail(ErrorCode code, std::string message,
                                   std::vector<Hint> hints = {}) {
  return std::unexpected(Error{code, std::move(message), std::move(hints)});
}

// `e` with its message set in context ("<prefix><message><suffix>"); code and hints kept.
inline Error Wrap(Error e, std::string_view prefix, std::string_view suffix = {}) {
  e.message = std::string(prefix) + e.message + std::string(suffix);
  return e;
}

// Maps an errno value to an Error: "<what>: <strerror>". The one place errno becomes an Error.
Error ErrnoError(int err, std::string_view what);

namespace detail {
template <class T>
T TakeValue(std::expected<T, Error>&& r) { return std::move(*r); }
inline void TakeValue(std::expected<void, Error>&&) {}
}  // namespace detail

}  // namespace berth

// Propagates the error of a Result-returning expression, or yields its value.
// (A GNU statement expression: g++ and clang both accept it.)
#define BERTH_TRY(expr)                                      \
  ({                                                         \
    auto berth_try_r_ = (expr);                              \
    if (!berth_try_r_) return std::unexpected(std::move(berth_try_r_.error())); \
    ::berth::detail::TakeValue(std::move(berth_try_r_));     \
  })
