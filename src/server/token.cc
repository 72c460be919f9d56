#include "server/token.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <fmt/core.h>

#include "base/file.h"

namespace berth::server {

Result<BearerToken> BearerToken::Load(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Fail(ErrorCode::kNotFound, fmt::format("token file {}: cannot be read", path));
  }
  if ((st.st_mode & S_IROTH) != 0 || (st.st_mode & S_IWOTH) != 0) {
    return Fail(ErrorCode::kPermissionDenied,
                fmt::format("token file {}: other users may read it (mode {:o}); it must be "
                            "readable by its owner only: chmod 600 {}",
                            path, st.st_mode & 0777, path));
  }
  std::string text = BERTH_TRY(ReadSmallFile(path));
  text = text.substr(0, text.find('\n'));
  const auto first = text.find_first_not_of(" \t\r");
  const auto last = text.find_last_not_of(" \t\r");
  text = first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
  if (text.size() < 16 || text.size() > 512) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("token file {}: the token on its first line must be 16 to 512 bytes "
                            "(it is {}); make one with: head -c 32 /dev/urandom | base64",
                            path, text.size()));
  }
  for (char c : text) {
    if (c <= ' ' || c > '~') {
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("token file {}: the token may hold visible ASCII only", path));
    }
  }
  return BearerToken(std::move(text));
}

bool BearerToken::Matches(std::string_view header) const {
  constexpr std::string_view kScheme = "Bearer ";
  // Every byte of the longer of the two is looked at, whatever the content.
  const std::size_t n = std::max(header.size(), kScheme.size() + token_.size());
  unsigned diff = header.size() == kScheme.size() + token_.size() ? 0u : 1u;
  for (std::size_t i = 0; i < n; ++i) {
    const char want = i < kScheme.size() ? kScheme[i]
                      : i - kScheme.size() < token_.size() ? token_[i - kScheme.size()]
                                                           : '\0';
    const char got = i < header.size() ? header[i] : '\0';
    diff |= static_cast<unsigned char>(want) ^ static_cast<unsigned char>(got);
  }
  return diff == 0;
}

}  // namespace berth::server
