// Error and Result<T>: the one error type of libberth.
// A failure is a code from a short fixed list plus a message naming what failed and
// where (path, peer, netlink family). Values are plain data: safe to copy across threads.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

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

struct Error {
  ErrorCode code;
  std::string message;
};

template <class T>
using Result = std::expected<T, Error>;

// The code's stable lower-case name ("not found", "permission denied", ...).
std::string_view CodeName(ErrorCode code);

inline std::unexpected<Error> Fail(ErrorCode code, std::string message) {
  return std::unexpected(Error{code, std::move(message)});
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
