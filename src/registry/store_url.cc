#include "registry/store_url.h"

#include <sys/stat.h>

#include <cstdlib>

#include <fmt/core.h>

#include "base/text.h"
#include "registry/db_path.h"
#include "registry/sqlite_store.h"

namespace berth::registry {
namespace {

constexpr std::string_view kForms =
    "use sqlite:///PATH (a registry file) or etcd://HOST:PORT[,HOST:PORT...]/PREFIX";

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
    return Fail(ErrorCode::kUnavailable,
                fmt::format("{}: this berth has no etcd store yet; use a sqlite:// registry",
                            CommentText(where.url)));
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
