#include "registry/store_security.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include <fmt/core.h>

#include "base/http.h"
#include "base/text.h"
#include "base/unique_fd.h"
#include "registry/store_url.h"

namespace berth::registry {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

std::string Or(const std::string& given, const char* env) { return given.empty() ? Env(env) : given; }

// Reads the credentials file through one descriptor, so the mode checked is the mode of the
// file read: a regular file, at most kMaxCredentialsFile bytes, with no permission for
// "others" (a group may read it: a service's group, like /etc/ssl/private's ssl-cert).
Result<std::string> ReadCredentialsFile(const std::string& path) {
  const std::string where = CommentText(path);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd.valid()) {
    return std::unexpected(ErrnoError(errno, fmt::format("cannot read the etcd credentials file {}", where)));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return std::unexpected(ErrnoError(errno, fmt::format("cannot read the etcd credentials file {}", where)));
  }
  if (!S_ISREG(st.st_mode)) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("the etcd credentials file {} is not a regular file", where));
  }
  if ((st.st_mode & 0007) != 0) {
    return Fail(ErrorCode::kPermissionDenied,
                fmt::format("the etcd credentials file {} can be {} by every user (mode {:04o}): "
                            "berth does not use a password others can see; make it private "
                            "with 'chmod 600 {}' (then change the password if others could read it)",
                            where, (st.st_mode & 0002) != 0 ? "written" : "read",
                            st.st_mode & 07777, where));
  }
  if (st.st_size > static_cast<off_t>(kMaxCredentialsFile)) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("the etcd credentials file {} is {} bytes; it holds one line, "
                            "USER:PASSWORD (at most {} bytes)",
                            where, st.st_size, kMaxCredentialsFile));
  }
  std::string text(kMaxCredentialsFile + 1, '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return std::unexpected(ErrnoError(errno, fmt::format("cannot read the etcd credentials file {}", where)));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got > kMaxCredentialsFile) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("the etcd credentials file {} is over {} bytes", where, kMaxCredentialsFile));
  }
  text.resize(got);
  return text;
}

}  // namespace

Result<etcd::Credentials> ParseCredentials(std::string_view text, std::string_view path) {
  auto bad = [&](std::string_view why) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("the etcd credentials file {} {}: it holds one line, USER:PASSWORD",
                            CommentText(path), why));
  };
  if (text.ends_with("\n")) text.remove_suffix(1);
  if (text.ends_with("\r")) text.remove_suffix(1);
  if (text.find_first_of("\r\n") != std::string_view::npos) return bad("holds more than one line");
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return bad("has no ':' between the user and the password");
  if (colon == 0) return bad("names no user");
  if (colon + 1 == text.size()) return bad("holds no password");
  etcd::Credentials c;
  c.user = std::string(text.substr(0, colon));
  c.password = std::string(text.substr(colon + 1));
  return c;
}

Result<void> AddStoreSecurity(StoreLocation& where, const SecuritySources& sources) {
  if (where.kind != StoreKind::kEtcd) return {};
  etcd::Security& s = where.security;
  s.files.ca_file = Or(sources.ca_file, "BERTH_ETCD_CACERT");
  s.files.cert_file = Or(sources.cert_file, "BERTH_ETCD_CERT");
  s.files.key_file = Or(sources.key_file, "BERTH_ETCD_KEY");
  const bool files = !s.files.ca_file.empty() || !s.files.cert_file.empty() || !s.files.key_file.empty();
  if (files && !s.tls) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("TLS certificates are given for {}, which is plain HTTP: write the URL "
                            "etcds://... for TLS",
                            CommentText(where.url)));
  }
  const std::string user_file = Or(sources.user_file, "BERTH_ETCD_USER_FILE");
  if (!user_file.empty()) {
    const std::string text = BERTH_TRY(ReadCredentialsFile(user_file));
    s.credentials = BERTH_TRY(ParseCredentials(text, user_file));
    return {};
  }
  const std::string user = Env("BERTH_ETCD_USER");
  const std::string password = Env("BERTH_ETCD_PASSWORD");
  if (user.empty() != password.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                user.empty() ? std::string("BERTH_ETCD_PASSWORD is set without BERTH_ETCD_USER: set both")
                             : std::string("BERTH_ETCD_USER is set without BERTH_ETCD_PASSWORD: set both"));
  }
  if (!user.empty()) s.credentials = etcd::Credentials{user, password};
  return {};
}

}  // namespace berth::registry
