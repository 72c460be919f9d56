// Opening the registry by URL: `sqlite:///path/registry.db` (the embedded store, the default)
// and `etcd://HOST:PORT[,HOST:PORT...]/PREFIX`, `etcds://...` over TLS (docs/etcd-store.md;
// its certificates and user: registry/store_security.h). The location comes from --store URL,
// else --db PATH (a SQLite file), else $BERTH_STORE, else $BERTH_DB, else the default SQLite
// file (registry/db_path.h). Thread-safe (no shared state); each Store is used by one thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>
#include <string_view>

#include "base/error.h"
#include "registry/etcd_client.h"
#include "registry/store.h"

namespace berth::registry {

enum class OpenMode : std::uint8_t {
  kRead,   // never creates anything: a missing SQLite file reads as an empty registry
  kWrite,  // a missing SQLite file is created (and its directory, for the default location)
};

enum class StoreKind : std::uint8_t { kSqlite, kEtcd };

struct StoreLocation {
  StoreKind kind = StoreKind::kSqlite;
  std::string url;       // canonical: "sqlite:///abs/or/relative/path"
  std::string path;      // kSqlite: the file
  bool chosen = false;   // named by a flag or the environment, not the default
  std::vector<std::string> endpoints;  // kEtcd: "HOST:PORT" each
  std::string prefix;                  // kEtcd: "/berth"
  bool stale = false;                  // kEtcd: serializable reads (any member, maybe stale)
  etcd::Security security = {};        // kEtcd: TLS (etcds://), its files, the user (AddStoreSecurity)
};

// Resolves the registry's location. `store_flag` is --store ("" when not given), `db_flag`
// --db. Failure: kInvalidArgument for both flags at once, an unknown scheme or an empty path
// (the message lists the accepted forms); kNotFound when no default location can be placed.
[[nodiscard]] Result<StoreLocation> ResolveStore(std::string_view store_flag,
                                                 std::string_view db_flag);

// Parses one URL. Failure: kInvalidArgument as above.
[[nodiscard]] Result<StoreLocation> ParseStoreUrl(std::string_view url);

// Opens the store. Failure: the store's own (see SqliteStore::Open, EtcdStore::Open);
// for etcds://, kInvalidArgument for a TLS file that cannot be used (base/tls.h CheckTlsFiles).
// `lock_wait`: how long a write waits for another process's lock (then kUnavailable naming
// the holder). A chosen SQLite location gets its file created, never missing directories.
[[nodiscard]] Result<std::unique_ptr<Store>> OpenStore(
    const StoreLocation& where, OpenMode mode,
    std::chrono::milliseconds lock_wait = std::chrono::milliseconds(5000));

// For commands that use the registry only when there is one (`berth scan`): opens it for
// writing when it was chosen explicitly or already exists; nullptr when the default one does
// not exist yet (it is then not created).
[[nodiscard]] Result<std::unique_ptr<Store>> OpenStoreIfPresent(const StoreLocation& where);

}  // namespace berth::registry
