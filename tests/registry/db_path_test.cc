#include "registry/db_path.h"

#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace berth::registry {
namespace {

// Sets or clears an environment variable for the life of the object.
class EnvGuard {
 public:
  EnvGuard(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~EnvGuard() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(RegistryDbPath, FlagThenEnvironmentThenDefault) {
  EnvGuard db("BERTH_DB", "/tmp/from-env.db");
  EnvGuard state("XDG_STATE_HOME", "/tmp/state");
  EXPECT_EQ(*ResolveDbPath("/tmp/flag.db"), "/tmp/flag.db");
  EXPECT_TRUE(DbPathExplicit("/tmp/flag.db"));
  EXPECT_EQ(*ResolveDbPath(""), "/tmp/from-env.db");
  EXPECT_TRUE(DbPathExplicit(""));
  {
    EnvGuard none("BERTH_DB", nullptr);
    EXPECT_FALSE(DbPathExplicit(""));
    const std::string expected = ::geteuid() == 0 ? "/var/lib/berth/registry.db"
                                                  : "/tmp/state/berth/registry.db";
    EXPECT_EQ(*ResolveDbPath(""), expected);
    if (::geteuid() != 0) {
      EnvGuard no_state("XDG_STATE_HOME", nullptr);
      EnvGuard home("HOME", "/home/u");
      EXPECT_EQ(*ResolveDbPath(""), "/home/u/.local/state/berth/registry.db");
    }
  }
}

}  // namespace
}  // namespace berth::registry
