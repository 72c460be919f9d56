// The bearer token that allows writes through `berth serve` (POST /api/v1/assign, release):
// read once from a file only its owner (and group) may read, compared in constant time.
// Thread-safe after loading (read-only).
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"

namespace berth::server {

class BearerToken {
 public:
  // Reads the token: the file's first line, without surrounding blanks; 16 to 512 bytes of
  // visible ASCII. Failure: kPermissionDenied when others may read the file (the message
  // says which mode to set), kInvalidArgument for an empty, short or odd token, the file's
  // own error when it cannot be read.
  [[nodiscard]] static Result<BearerToken> Load(const std::string& path);

  // True when `header` (an Authorization header value) is "Bearer " and this token. The
  // time taken does not depend on where the header and the token first differ.
  bool Matches(std::string_view header) const;

 private:
  explicit BearerToken(std::string token) : token_(std::move(token)) {}
  std::string token_;
};

}  // namespace berth::server
