#include "registry/db_path.h"

#include <unistd.h>

#include <cstdlib>

namespace berth::registry {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

}  // namespace

bool DbPathExplicit(const std::string& flag) { return !flag.empty() || !Env("BERTH_DB").empty(); }

Result<std::string> ResolveDbPath(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (std::string env = Env("BERTH_DB"); !env.empty()) return env;
  if (::geteuid() == 0) return std::string("/var/lib/berth/registry.db");
  if (std::string state = Env("XDG_STATE_HOME"); !state.empty() && state.front() == '/') {
    return state + "/berth/registry.db";
  }
  if (std::string home = Env("HOME"); !home.empty()) return home + "/.local/state/berth/registry.db";
  return Fail(ErrorCode::kNotFound,
              "cannot place the registry: neither XDG_STATE_HOME nor HOME is set",
              {{Remedy::kChooseRegistry}});
}

}  // namespace berth::registry
