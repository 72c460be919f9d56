#include "registry/store_url.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "registry/registry_test_util.h"

namespace berth::registry {
namespace {

using ::testing::HasSubstr;

// Sets an environment variable for one test and puts it back.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) ::setenv(name, value, 1); else ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_, old_->c_str(), 1); else ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(StoreUrl, SqliteUrlNamesTheFile) {
  auto loc = ParseStoreUrl("sqlite:///var/tmp/r.db");
  ASSERT_TRUE(loc) << loc.error().message;
  EXPECT_EQ(loc->kind, StoreKind::kSqlite);
  EXPECT_EQ(loc->path, "/var/tmp/r.db");
  EXPECT_TRUE(loc->chosen);
}

TEST(StoreUrl, UnknownSchemeAndEmptyPathAreRefusedWithTheAcceptedForms) {
  for (const char* bad : {"mysql://x", "/plain/path", "sqlite://", ""}) {
    auto loc = ParseStoreUrl(bad);
    ASSERT_FALSE(loc) << bad;
    EXPECT_EQ(loc.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(loc.error().message, HasSubstr("sqlite:///PATH")) << bad;
  }
}

TEST(StoreUrl, FlagsBeatTheEnvironmentAndBothFlagsAreAnError) {
  ScopedEnv store("BERTH_STORE", "sqlite:///from/env.db");
  ScopedEnv db("BERTH_DB", "/from/berth_db.db");
  auto env = ResolveStore("", "");
  ASSERT_TRUE(env) << env.error().message;
  EXPECT_EQ(env->path, "/from/env.db");
  auto flag = ResolveStore("sqlite:///flag.db", "");
  ASSERT_TRUE(flag) << flag.error().message;
  EXPECT_EQ(flag->path, "/flag.db");
  auto dbflag = ResolveStore("", "/db/flag.db");
  ASSERT_TRUE(dbflag) << dbflag.error().message;
  EXPECT_EQ(dbflag->path, "/db/flag.db");
  auto both = ResolveStore("sqlite:///a.db", "/b.db");
  ASSERT_FALSE(both);
  EXPECT_THAT(both.error().message, HasSubstr("give one"));
}

TEST(StoreUrl, BerthDbStillWorksWithoutBerthStore) {
  ScopedEnv store("BERTH_STORE", nullptr);
  ScopedEnv db("BERTH_DB", "/from/berth_db.db");
  auto loc = ResolveStore("", "");
  ASSERT_TRUE(loc) << loc.error().message;
  EXPECT_EQ(loc->path, "/from/berth_db.db");
  EXPECT_TRUE(loc->chosen);
}

TEST(StoreUrl, ABadBerthStoreSaysItCameFromTheEnvironment) {
  ScopedEnv store("BERTH_STORE", "nosuch://x");
  auto loc = ResolveStore("", "");
  ASSERT_FALSE(loc);
  EXPECT_THAT(loc.error().message, HasSubstr("BERTH_STORE"));
}

TEST(StoreUrl, EtcdUrlNamesEndpointsAndPrefix) {
  auto loc = ParseStoreUrl("etcd://127.0.0.1:2379,[::1]:2381,etcd-b:2379/fleet/berth");
  ASSERT_TRUE(loc) << loc.error().message;
  EXPECT_EQ(loc->kind, StoreKind::kEtcd);
  EXPECT_EQ(loc->endpoints, (std::vector<std::string>{"127.0.0.1:2379", "[::1]:2381", "etcd-b:2379"}));
  EXPECT_EQ(loc->prefix, "/fleet/berth");
  auto store = OpenStore(*loc, OpenMode::kRead);  // connects lazily
  ASSERT_TRUE(store) << store.error().message;
  ASSERT_NE(*store, nullptr);
  EXPECT_EQ((*store)->Location(), loc->url);
}

TEST(StoreUrl, BadEtcdUrlsSayWhatIsWrong) {
  for (const char* url : {"etcd://127.0.0.1:2379", "etcd://127.0.0.1:2379/", "etcd://h/berth",
                          "etcd://h:0/berth", "etcd://h:2379,/berth", "etcd://h:2379/a b",
                          "etcd://u@h:2379/berth", "etcd://h:2379//x"}) {
    auto loc = ParseStoreUrl(url);
    ASSERT_FALSE(loc) << url;
    EXPECT_EQ(loc.error().code, ErrorCode::kInvalidArgument) << url;
    EXPECT_THAT(loc.error().message, HasSubstr("etcd://HOST:PORT")) << url;
  }
  auto tls = ParseStoreUrl("etcds://127.0.0.1:2379/berth");
  ASSERT_TRUE(tls) << tls.error().message;
  EXPECT_TRUE(tls->security.tls);
  EXPECT_FALSE(ParseStoreUrl("etcd://127.0.0.1:2379/berth")->security.tls);
  // TLS files are read before anything is sent: a missing CA file is named.
  tls->security.files.ca_file = "/nonexistent/ca.pem";
  auto store = OpenStore(*tls, OpenMode::kRead);
  ASSERT_FALSE(store);
  EXPECT_THAT(store.error().message, HasSubstr("/nonexistent/ca.pem"));
}

TEST(StoreUrl, OpenIfPresentCreatesOnlyAChosenStore) {
  test::TempDir dir;
  StoreLocation by_default{StoreKind::kSqlite, "sqlite://" + dir.File("d.db"), dir.File("d.db"), false, {}, {}};
  auto none = OpenStoreIfPresent(by_default);
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_EQ(*none, nullptr);
  EXPECT_FALSE(std::filesystem::exists(dir.File("d.db")));
  StoreLocation chosen = by_default;
  chosen.chosen = true;
  auto made = OpenStoreIfPresent(chosen);
  ASSERT_TRUE(made) << made.error().message;
  ASSERT_NE(*made, nullptr);
  EXPECT_EQ((*made)->Location(), dir.File("d.db"));
  EXPECT_TRUE(std::filesystem::exists(dir.File("d.db")));
}

}  // namespace
}  // namespace berth::registry
