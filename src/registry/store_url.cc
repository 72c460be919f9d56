#include "registry/store_url.h"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include <fmt/core.h>

#include "base/text.h"
#include "base/tls.h"
#include "registry/db_path.h"
#include "registry/etcd_store.h"
#include "registry/sqlite_store.h"

namespace berth::registry {
namespace {

constexpr std::string_view kForms =
    "use sqlite:///PATH (a registry file) or etcd://HOST:PORT[,HOST:PORT...]/PREFIX (etcds:// "
    "for TLS)";

std::string_view Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string_view(v) : std::string_view();
}

}  // namespace

Result<StoreLocation> ParseStoreUrl(std::string_view url) {
  if (url.starts_with("sqlite://")) {
    std::string_view path = url.substr(9);
    if (path.empty()) {
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("store URL '{}' names no file: {}", CommentText(url), kForms));
    }
    StoreLocation loc;
    loc.kind = StoreKind::kSqlite;
    loc.path = std::string(path);
    loc.url = fmt::format("sqlite://{}", path);
    loc.chosen = true;
    return loc;
  }
  if (url.starts_with("etcd://") || url.starts_with("etcds://")) {
    StoreLocation loc;
    loc.kind = StoreKind::kEtcd;
    loc.url = std::string(url);
    loc.chosen = true;
    loc.security.tls = url.starts_with("etcds://");
    std::string_view rest = url.substr(url.find("://") + 3);
    const auto slash = rest.find('/');
    const std::string_view hosts = rest.substr(0, slash);
    const std::string_view prefix = slash == std::string_view::npos ? "" : rest.substr(slash);
    auto bad = [&](std::string_view why) {
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("store URL '{}': {}: {}", CommentText(url), why, kForms));
    };
    if (prefix.size() < 2 || prefix.back() == '/' || prefix.find("//") != std::string_view::npos) {
      return bad("it names no key prefix (etcd://HOST:PORT/berth keeps the registry under /berth)");
    }
    for (char c : prefix) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '/' || c == '.' || c == '_' || c == '-';
      if (!ok) return bad("a key prefix is letters, digits and . _ - /");
    }
    std::size_t start = 0;
    while (start <= hosts.size()) {
      const auto comma = hosts.find(',', start);
      const std::string_view ep = hosts.substr(start, comma == std::string_view::npos ? comma : comma - start);
      const auto colon = ep.rfind(':');
      int port = 0;
      const bool has_port = colon != std::string_view::npos && colon + 1 < ep.size();
      if (has_port) {
        auto [end, ec] = std::from_chars(ep.data() + colon + 1, ep.data() + ep.size(), port);
        if (ec != std::errc() || end != ep.data() + ep.size()) port = 0;
      }
      if (!has_port || colon == 0 || port < 1 || port > 65535 ||
          ep.find_first_of(" /@?#") != std::string_view::npos) {
        return bad(fmt::format("'{}' is not HOST:PORT", CommentText(ep)));
      }
      loc.endpoints.emplace_back(ep);
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    loc.prefix = std::string(prefix);
    return loc;
  }
  return Fail(ErrorCode::kInvalidArgument,
              fmt::format("store URL '{}' is not one berth knows: {}", CommentText(url), kForms));
}

Result<StoreLocation> ResolveStore(std::string_view store_flag, std::string_view db_flag) {
  if (!store_flag.empty() && !db_flag.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("both a store URL ({}) and a registry path ({}) name the registry: "
                            "give one (a path P is short for sqlite://P)",
                            CommentText(store_flag), CommentText(db_flag)));
  }
  if (!store_flag.empty()) return ParseStoreUrl(store_flag);
  if (db_flag.empty()) {
    if (std::string_view env = Env("BERTH_STORE"); !env.empty()) {
      auto loc = ParseStoreUrl(env);
      if (!loc) return Fail(ErrorCode::kInvalidArgument, "BERTH_STORE: " + loc.error().message);
      return loc;
    }
  }
  // --db, BERTH_DB or the default file, exactly as before stores had URLs.
  StoreLocation loc;
  loc.kind = StoreKind::kSqlite;
  loc.path = BERTH_TRY(ResolveDbPath(std::string(db_flag)));
  loc.url = "sqlite://" + loc.path;
  loc.chosen = DbPathExplicit(std::string(db_flag));
  return loc;
}

Result<std::unique_ptr<Store>> OpenStore(const StoreLocation& where, OpenMode mode,
                                         std::chrono::milliseconds lock_wait) {
  if (where.kind == StoreKind::kEtcd) {
    if (where.security.tls) BERTH_TRY(CheckTlsFiles(where.security.files));
    EtcdOptions options;
    options.endpoints = where.endpoints;
    options.prefix = where.prefix;
    options.url = where.url;
    options.stale = where.stale && mode == OpenMode::kRead;
    options.security = where.security;
    // --wait: how long lost races are run again (at least 30 s: 16 writers on two cores).
    options.retry_ms = static_cast<int>(std::max<std::int64_t>(30000, lock_wait.count()));
    auto store = BERTH_TRY(EtcdStore::Open(options, mode));
    return std::unique_ptr<Store>(std::move(store));
  }
  OpenOptions options;
  options.mode = mode;
  options.create_directories = !where.chosen;
  options.lock_wait = lock_wait;
  auto store = BERTH_TRY(SqliteStore::Open(where.path, options));
  return std::unique_ptr<Store>(std::move(store));
}

Result<std::unique_ptr<Store>> OpenStoreIfPresent(const StoreLocation& where) {
  if (where.kind == StoreKind::kSqlite && !where.chosen) {
    struct stat st {};
    if (::stat(where.path.c_str(), &st) != 0) return std::unique_ptr<Store>();
  }
  return OpenStore(where, OpenMode::kWrite);
}

}  // namespace berth::registry
