// What an etcd store location needs besides its URL (docs/etcd-store.md, "TLS and
// authentication"): the TLS files and the etcd user with its password. Each comes from the
// caller (the command line's files) or else the environment; the password only ever from a
// file or the environment, so that no process listing shows it. Thread-safe (no shared state;
// reads the environment).
#pragma once

#include <string>

#include "base/error.h"
#include "registry/etcd_client.h"

namespace berth::registry {

struct StoreLocation;

// Paths given by the caller; an empty one falls back to the environment:
// $BERTH_ETCD_CACERT, $BERTH_ETCD_CERT, $BERTH_ETCD_KEY, $BERTH_ETCD_USER_FILE.
struct SecuritySources {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string user_file;  // one line: USER:PASSWORD
};

// The largest credentials file read.
inline constexpr std::size_t kMaxCredentialsFile = 4096;

// Fills `where.security` for an etcd location (a SQLite location is left alone): the TLS
// files, and the credentials from the user file, else $BERTH_ETCD_USER with
// $BERTH_ETCD_PASSWORD. Failure (nothing is sent anywhere): kInvalidArgument for TLS files
// with a plain etcd:// URL, a user without a password (or the reverse), a malformed
// credentials file; kPermissionDenied for a credentials file that every user may read or
// write (its mode is named, with what to do); the file's errno Error when it cannot be read.
[[nodiscard]] Result<void> AddStoreSecurity(StoreLocation& where, const SecuritySources& sources);

// Parses a credentials file's text: "USER:PASSWORD" on one line (the password is everything
// after the first ':'; one final newline, LF or CRLF, is dropped). Failure: kInvalidArgument
// naming `path` and what is wrong, never quoting the text (it holds the password).
[[nodiscard]] Result<etcd::Credentials> ParseCredentials(std::string_view text, std::string_view path);

}  // namespace berth::registry
