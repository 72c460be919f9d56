// Where an etcd location's TLS files and user come from (registry/store_security.h): the
// credentials file's format and mode, the environment, and what is refused before anything
// is sent. The real server is in tests/etcd/etcd_tls_test.cc.
#include "registry/store_security.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "registry/registry_test_util.h"
#include "registry/store_url.h"

namespace berth::registry {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Write(const test::TempDir& dir, const std::string& name, const std::string& text,
                  mode_t mode) {
  const std::string path = dir.File(name);
  std::ofstream(path, std::ios::binary) << text;
  ::chmod(path.c_str(), mode);
  return path;
}

StoreLocation Etcds() {
  auto loc = ParseStoreUrl("etcds://127.0.0.1:2379/berth");
  EXPECT_TRUE(loc);
  return *loc;
}

TEST(StoreSecurity, CredentialsAreOneLineUserColonPassword) {
  auto c = ParseCredentials("berth:pa:ss\n", "f");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->user, "berth");
  EXPECT_EQ(c->password, "pa:ss");
  auto crlf = ParseCredentials("berth:pw\r\n", "f");
  ASSERT_TRUE(crlf);
  EXPECT_EQ(crlf->password, "pw");
  for (const char* bad : {"", "berth", ":pw", "berth:", "berth:pw\nsecond:line", "berth:pw\n\n"}) {
    auto r = ParseCredentials(bad, "/etc/berth/etcd-user");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(r.error().message, HasSubstr("/etc/berth/etcd-user"));
    EXPECT_THAT(r.error().message, HasSubstr("USER:PASSWORD"));
  }
  // The text is never quoted: it holds the password.
  auto r = ParseCredentials("secret-no-colon", "f");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, Not(HasSubstr("secret")));
}

TEST(StoreSecurity, AFileOthersCanReadOrWriteIsRefused) {
  test::TempDir dir;
  StoreLocation loc = Etcds();
  const std::string open = Write(dir, "open", "berth:pw\n", 0644);
  auto r = AddStoreSecurity(loc, {"", "", "", open});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_THAT(r.error().message, HasSubstr("can be read by every user (mode 0644)"));
  EXPECT_THAT(r.error().message, HasSubstr("chmod 600 " + open));
  const std::string writable = Write(dir, "writable", "berth:pw\n", 0602);
  auto w = AddStoreSecurity(loc, {"", "", "", writable});
  ASSERT_FALSE(w);
  EXPECT_THAT(w.error().message, HasSubstr("written by every user"));
  // Its group may read it (a service's group).
  const std::string group = Write(dir, "group", "berth:pw\n", 0640);
  ASSERT_TRUE(AddStoreSecurity(loc, {"", "", "", group}));
  ASSERT_TRUE(loc.security.credentials);
  EXPECT_EQ(loc.security.credentials->user, "berth");
  EXPECT_EQ(loc.security.credentials->password, "pw");
  // Not a regular file, too large, missing.
  EXPECT_FALSE(AddStoreSecurity(loc, {"", "", "", dir.path()}));
  const std::string big = Write(dir, "big", "berth:" + std::string(kMaxCredentialsFile, 'x'), 0600);
  EXPECT_FALSE(AddStoreSecurity(loc, {"", "", "", big}));
  auto missing = AddStoreSecurity(loc, {"", "", "", dir.File("none")});
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, HasSubstr(dir.File("none")));
}

TEST(StoreSecurity, TlsFilesNeedEtcdsAndSqliteIsLeftAlone) {
  auto plain = ParseStoreUrl("etcd://127.0.0.1:2379/berth");
  ASSERT_TRUE(plain);
  auto r = AddStoreSecurity(*plain, {"/ca.pem", "", "", ""});
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("etcds://"));
  auto sqlite = ParseStoreUrl("sqlite:///tmp/x.db");
  ASSERT_TRUE(sqlite);
  EXPECT_TRUE(AddStoreSecurity(*sqlite, {"/ca.pem", "", "", ""}));
  EXPECT_TRUE(sqlite->security.files.ca_file.empty());
}

TEST(StoreSecurity, TheEnvironmentFillsWhatTheCallerLeftEmpty) {
  ::setenv("BERTH_ETCD_CACERT", "/env/ca.pem", 1);
  ::setenv("BERTH_ETCD_USER", "envuser", 1);
  ::unsetenv("BERTH_ETCD_PASSWORD");
  StoreLocation half = Etcds();
  auto r = AddStoreSecurity(half, {});
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("BERTH_ETCD_USER is set without BERTH_ETCD_PASSWORD"));
  ::setenv("BERTH_ETCD_PASSWORD", "envpw", 1);
  StoreLocation loc = Etcds();
  ASSERT_TRUE(AddStoreSecurity(loc, {"/flag/ca.pem", "", "", ""}));
  EXPECT_EQ(loc.security.files.ca_file, "/flag/ca.pem");  // the caller's first
  ASSERT_TRUE(loc.security.credentials);
  EXPECT_EQ(loc.security.credentials->user, "envuser");
  EXPECT_EQ(loc.security.credentials->password, "envpw");
  StoreLocation from_env = Etcds();
  ASSERT_TRUE(AddStoreSecurity(from_env, {}));
  EXPECT_EQ(from_env.security.files.ca_file, "/env/ca.pem");
  for (const char* name : {"BERTH_ETCD_CACERT", "BERTH_ETCD_USER", "BERTH_ETCD_PASSWORD"}) {
    ::unsetenv(name);
  }
}

}  // namespace
}  // namespace berth::registry
