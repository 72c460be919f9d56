// berth on etcd with TLS and authentication (etcds://, docs/etcd-store.md): real berth
// processes against a real etcd started with --client-cert-auth and auth enabled
// (etcd/etcd_tls.h; one member: TLS and auth do not depend on the member count). Every
// refusal (wrong CA, expired certificates, a host the certificate does not name, wrong or
// missing credentials, a credentials file others can read) exits 2 with what happened, where
// and what to do, writes nothing, and never shows the password. A long-lived client
// authenticates again when etcd refuses its token.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "base/unique_fd.h"
#include "etcd/etcd_tls.h"
#include "registry/etcd_client.h"
#include "registry/store_security.h"
#include "registry/store_url.h"

namespace berth::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Sets an environment variable for one scope (berth children inherit it), then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class EtcdTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    etcd_ = TlsEtcd::Start(why_).release();
  }
  static void TearDownTestSuite() {
    delete etcd_;
    etcd_ = nullptr;
  }
  void SetUp() override {
    if (etcd_ == nullptr) BERTH_MISSING_PEER(why_);
  }

  // The good TLS files and `user_file` (none when empty).
  static std::vector<std::string> Secure(std::vector<std::string> args, const std::string& url,
                                         const std::string& user_file,
                                         const std::string& ca = "ca.crt",
                                         const std::string& cert = "client") {
    args.insert(args.end(), {"--store", url, "--cacert", etcd_->File(ca), "--cert",
                             etcd_->File(cert + ".crt"), "--key", etcd_->File(cert + ".key")});
    if (!user_file.empty()) args.insert(args.end(), {"--etcd-user-file", user_file});
    return args;
  }

  static std::string GoodUserFile() {
    return etcd_->CredentialsFile("user", fmt::format("{}:{}\n", TlsEtcd::kUser, TlsEtcd::kPassword),
                                  0600);
  }

  // A refusal: exit 2, says `what`, nothing under `prefix`, no password anywhere.
  static void ExpectRefused(const CommandResult& r, const std::string& prefix,
                            const std::vector<std::string>& says) {
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    for (const auto& s : says) EXPECT_THAT(r.err, HasSubstr(s));
    EXPECT_THAT(r.err + r.out, Not(HasSubstr(TlsEtcd::kPassword)));
    EXPECT_EQ(etcd_->CountKeys(prefix), 0) << "a refused command wrote under " << prefix;
  }

  static TlsEtcd* etcd_;
  static std::string why_;
};

TlsEtcd* EtcdTls::etcd_ = nullptr;
std::string EtcdTls::why_;

TEST_F(EtcdTls, AssignAndListOverTlsWithAUserFromAFileOrTheEnvironment) {
  const std::string url = TlsEtcd::Url("/berth/ok");
  auto assign = RunBerth(Secure({"assign", "web", "api"}, url, GoodUserFile()));
  ASSERT_EQ(assign.exit_code, 0) << assign.err;
  EXPECT_GT(etcd_->CountKeys("/berth/ok/"), 0);

  // The same registry through the environment only: TLS files and user.
  ScopedEnv store("BERTH_STORE", url), ca("BERTH_ETCD_CACERT", etcd_->File("ca.crt")),
      cert("BERTH_ETCD_CERT", etcd_->File("client.crt")),
      key("BERTH_ETCD_KEY", etcd_->File("client.key")), user("BERTH_ETCD_USER", TlsEtcd::kUser),
      password("BERTH_ETCD_PASSWORD", TlsEtcd::kPassword);
  auto list = RunBerth({"list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  const auto doc = nlohmann::json::parse(list.out);
  ASSERT_EQ(doc["services"].size(), 2u) << list.out;
  EXPECT_EQ(doc["services"][0]["name"], "api");
  EXPECT_EQ(doc["services"][1]["name"], "web");
  auto status = RunBerth({"store", "status"});
  EXPECT_EQ(status.exit_code, 0) << status.out << status.err;
  EXPECT_THAT(status.out, HasSubstr("3.4.23"));
}

TEST_F(EtcdTls, AServerCertificateFromAnotherCaIsRefused) {
  auto r = RunBerth(Secure({"assign", "web"}, TlsEtcd::Url("/berth/wrongca"), GoodUserFile(),
                           "other-ca.crt"));
  ExpectRefused(r, "/berth/wrongca/",
                {"etcd at 127.0.0.1:22411", "certificate is not trusted", "other-ca.crt",
                 "--cacert FILE"});
}

TEST_F(EtcdTls, AnExpiredServerCertificateIsRefused) {
  auto r = RunBerth(Secure({"assign", "web"},
                           TlsEtcd::Url("/berth/expired", TlsEtcd::kExpiredPort), GoodUserFile()));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("etcd at 127.0.0.1:22413"));
  EXPECT_THAT(r.err, HasSubstr("certificate has expired"));
  // Nothing written there: every key counted by a client that does not verify the expired
  // certificate (that server has no authentication).
  auto read = etcd_->GoodClient(TlsEtcd::kExpiredPort)
                  .Post("/v3/kv/range",
                        nlohmann::json{{"key", registry::etcd::Base64Encode(std::string(1, '\0'))},
                                       {"range_end", registry::etcd::Base64Encode(std::string(1, '\0'))},
                                       {"count_only", true}}
                            .dump(),
                        "application/json");
  ASSERT_TRUE(read);
  EXPECT_EQ(read->body.find("\"count\""), std::string::npos) << read->body;
}

TEST_F(EtcdTls, AnExpiredClientCertificateIsRefusedBeforeConnecting) {
  auto r = RunBerth(Secure({"assign", "web"}, TlsEtcd::Url("/berth/clientexp"), GoodUserFile(),
                           "ca.crt", "client-expired"));
  ExpectRefused(r, "/berth/clientexp/", {"client-expired.crt", "expired on", "2020", "renew it"});
}

TEST_F(EtcdTls, AHostTheCertificateDoesNotNameIsRefused) {
  auto r = RunBerth(Secure({"assign", "web"}, "etcds://localhost:22411/berth/host", GoodUserFile()));
  ExpectRefused(r, "/berth/host/", {"does not name localhost", "IP subjectAltName"});
}

TEST_F(EtcdTls, WithoutAClientCertificateTheServerRefusesTheHandshake) {
  auto r = RunBerth({"assign", "web", "--store", TlsEtcd::Url("/berth/nocert"), "--cacert",
                     etcd_->File("ca.crt"), "--etcd-user-file", GoodUserFile()});
  ExpectRefused(r, "/berth/nocert/", {"etcd at 127.0.0.1:22411", "TLS handshake", "--cert FILE"});
}

TEST_F(EtcdTls, AWrongPasswordIsRefusedAndNeverShown) {
  const std::string file = etcd_->CredentialsFile("wrong", "berth:not-the-password\n", 0600);
  auto r = RunBerth(Secure({"assign", "web"}, TlsEtcd::Url("/berth/wrongpw"), file));
  ExpectRefused(r, "/berth/wrongpw/",
                {"refused user 'berth'", "wrong user name or password", "--etcd-user-file"});
  EXPECT_THAT(r.err, Not(HasSubstr("not-the-password")));
}

TEST_F(EtcdTls, MissingCredentialsSayWhatToGive) {
  auto r = RunBerth(Secure({"assign", "web"}, TlsEtcd::Url("/berth/nouser"), ""));
  ExpectRefused(r, "/berth/nouser/",
                {"authentication enabled", "no etcd user", "--etcd-user-file FILE",
                 "BERTH_ETCD_PASSWORD"});
}

TEST_F(EtcdTls, ACredentialsFileOthersCanReadIsRefused) {
  const std::string file = etcd_->CredentialsFile(
      "open", fmt::format("{}:{}\n", TlsEtcd::kUser, TlsEtcd::kPassword), 0644);
  auto r = RunBerth(Secure({"assign", "web"}, TlsEtcd::Url("/berth/open"), file));
  ExpectRefused(r, "/berth/open/", {"can be read by every user", "mode 0644", "chmod 600"});
  ScopedEnv only_user("BERTH_ETCD_USER", TlsEtcd::kUser);
  auto half = RunBerth(Secure({"list"}, TlsEtcd::Url("/berth/open"), ""));
  EXPECT_EQ(half.exit_code, 2);
  EXPECT_THAT(half.err, HasSubstr("BERTH_ETCD_USER is set without BERTH_ETCD_PASSWORD"));
}

TEST_F(EtcdTls, AClientCertificateWithACommonNameIsExplained) {
  auto r = RunBerth(Secure({"assign", "web"}, TlsEtcd::Url("/berth/cn"), GoodUserFile(), "ca.crt",
                           "client-cn"));
  ExpectRefused(r, "/berth/cn/", {"Common Name", "no CN"});
}

TEST_F(EtcdTls, TlsFilesNeedEtcdsAndAnEtcdStore) {
  auto plain = RunBerth({"list", "--store", "etcd://127.0.0.1:22411/berth", "--cacert",
                         etcd_->File("ca.crt")});
  EXPECT_EQ(plain.exit_code, 2);
  EXPECT_THAT(plain.err, HasSubstr("etcds://"));
  TempDir dir;
  auto sqlite = RunBerth({"list", "--db", dir.File("r.db"), "--cacert", etcd_->File("ca.crt")});
  EXPECT_EQ(sqlite.exit_code, 2);
  EXPECT_THAT(sqlite.err, HasSubstr("are for an etcd store"));
  auto half = RunBerth({"list", "--store", TlsEtcd::Url("/berth/x"), "--cert", etcd_->File("client.crt")});
  EXPECT_EQ(half.exit_code, 2);
  EXPECT_THAT(half.err, HasSubstr("without its key"));
  auto other_key = RunBerth({"list", "--store", TlsEtcd::Url("/berth/x"), "--cert",
                             etcd_->File("client.crt"), "--key", etcd_->File("client-cn.key")});
  EXPECT_EQ(other_key.exit_code, 2);
  EXPECT_THAT(other_key.err, HasSubstr("is not the key of the certificate"));
}

// The password is in no process's command line: berth is run against a listener that never
// answers, and its /proc/PID/cmdline read while it waits.
TEST_F(EtcdTls, ThePasswordIsNotInTheCommandLine) {
  UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(listener.valid());
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener.get(), 4), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string url = fmt::format("etcds://127.0.0.1:{}/berth/argv", ntohs(addr.sin_port));
  std::vector<std::string> argv{BerthBinary()};
  for (auto& a : Secure({"assign", "web"}, url, GoodUserFile())) argv.push_back(a);
  Child berth = Child::Exec(argv);
  std::string cmdline;
  const bool seen = probe::test::WaitFor([&] {
    std::ifstream in(fmt::format("/proc/{}/cmdline", berth.pid()), std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    cmdline = s.str();
    return cmdline.find("--etcd-user-file") != std::string::npos;  // berth itself, exec'd
  }, 10);
  berth.Kill();
  ASSERT_TRUE(seen) << "berth's command line never showed up";
  EXPECT_THAT(cmdline, Not(HasSubstr(TlsEtcd::kPassword)));
  EXPECT_THAT(cmdline, Not(HasSubstr("p4ss")));
}

// etcd refuses a token once it is revoked (here: the user's password set again, which drops
// every token of the user) or once the auth store changed after it was issued (a user
// added): a long-lived store and client authenticate again and carry on, without a sleep.
TEST_F(EtcdTls, ALongLivedStoreAuthenticatesAgainWhenItsTokenIsRefused) {
  auto where = registry::ParseStoreUrl(TlsEtcd::Url("/berth/renew"));
  ASSERT_TRUE(where);
  {
    ScopedEnv user("BERTH_ETCD_USER", TlsEtcd::kUser), password("BERTH_ETCD_PASSWORD", TlsEtcd::kPassword);
    ASSERT_TRUE(registry::AddStoreSecurity(
        *where, {etcd_->File("ca.crt"), etcd_->File("client.crt"), etcd_->File("client.key"), ""}));
  }
  auto store = registry::OpenStore(*where, registry::OpenMode::kWrite);
  ASSERT_TRUE(store) << store.error().message;
  registry::etcd::Client probe({TlsEtcd::Endpoint()}, HttpLimits{5000, 8000, 1 << 20},
                               where->security);
  ASSERT_TRUE(probe.Authenticate());
  const std::string old_token = probe.token();
  ASSERT_FALSE(old_token.empty());

  registry::ServiceRecord web;
  web.service.name = "web";
  web.service.port = 24100;
  web.service.group = "default";
  web.reason = "test";
  auto first = (*store)->ClaimService(web);
  ASSERT_TRUE(first) << first.error().message;

  // Revoke every token of the user, and wait until etcd refuses the old one.
  auto [status, body] = etcd_->Admin("/v3/auth/user/changepw",
                                     {{"name", TlsEtcd::kUser}, {"password", TlsEtcd::kPassword}});
  ASSERT_EQ(status, 200) << body;
  const auto refused = [&] {
    httplib::Headers h{{"Authorization", old_token}};
    auto r = etcd_->GoodClient(TlsEtcd::kPort)
                 .Post("/v3/kv/range", h, R"({"key":"L2JlcnRo"})", "application/json");
    return r && r->status == 401;
  };
  ASSERT_TRUE(probe::test::WaitFor(refused, 10)) << "etcd still takes the revoked token";

  registry::ServiceRecord api = web;
  api.service.name = "api";
  api.service.port = 24101;
  auto second = (*store)->ClaimService(api);
  ASSERT_TRUE(second) << second.error().message;
  registry::etcd::RangeRequest gen;
  gen.key = "/berth/renew/gen";
  auto range = probe.Range(gen);
  ASSERT_TRUE(range) << range.error().message;
  EXPECT_NE(probe.token(), old_token) << "the client kept a refused token";

  // The auth store changes (a user is added): tokens issued before are "old revision".
  ASSERT_EQ(etcd_->Admin("/v3/auth/user/add", {{"name", "someone"}, {"password", "x"}}).first, 200);
  auto services = (*store)->ListServices();
  ASSERT_TRUE(services) << services.error().message;
  EXPECT_EQ(services->size(), 2u);
}

}  // namespace
}  // namespace berth::test
