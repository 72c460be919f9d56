// berth adopt NAME --port LO --size N (a range a running program already uses) through the
// real binary, on both stores: a SQLite file and a real three-member etcd cluster on loopback
// (etcd/etcd_cluster.h). The listeners are this test's own sockets, in the private network
// namespace the test enters (PrivateLoopback), so berth sees exactly them.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "base/unique_fd.h"
#include "etcd/etcd_cluster.h"

namespace berth::test {
namespace {

using ::testing::HasSubstr;

enum class Kind { kSqlite, kEtcd };

class AdoptRangeCli : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    std::string why;
    if (GetParam() == Kind::kEtcd) {
      cluster_ = EtcdCluster::Start(why);
      if (!cluster_) BERTH_MISSING_PEER(why);
      url_ = EtcdCluster::Url("/adopt");
    } else {
      if (!PrivateLoopback(why)) BERTH_MISSING_PEER(why);
      url_ = "sqlite://" + dir_.File("r.db");
    }
  }

  CommandResult Berth(std::vector<std::string> args) {
    args.insert(args.end(), {"--store", url_});
    return RunBerth(args);
  }

  // A TCP listener on 127.0.0.1:port, held by this test process until the test ends.
  void Listen(int port) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(fd.valid());
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    ASSERT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << port;
    ASSERT_EQ(::listen(fd.get(), 4), 0);
    listeners_.push_back(std::move(fd));
  }

  std::unique_ptr<EtcdCluster> cluster_;
  TempDir dir_;
  std::string url_;
  std::vector<UniqueFd> listeners_;
};

INSTANTIATE_TEST_SUITE_P(BothStores, AdoptRangeCli, ::testing::Values(Kind::kSqlite, Kind::kEtcd),
                         [](const auto& p) { return p.param == Kind::kEtcd ? "etcd" : "sqlite"; });

// 10300-10363 holds no IANA port and lies below every Linux ephemeral range berth knows.
TEST_P(AdoptRangeCli, ARangeAProgramUsesIsAdoptedUnderTheRulesOfAssignSize) {
  // Nothing listens in the range: refused, with the assign --size that claims it as new.
  auto idle = Berth({"adopt", "app.rpc", "--port", "10300", "--size", "64"});
  EXPECT_EQ(idle.exit_code, 2);
  EXPECT_THAT(idle.err, HasSubstr("nothing listens on 10300-10363/tcp"));
  EXPECT_THAT(idle.err, HasSubstr("berth assign app.rpc --port 10300 --size 64 --proto tcp"));

  Listen(10310);
  Listen(10341);
  // assign --size refuses the ports the program holds, and names adopt --size as the fix.
  auto assigned = Berth({"assign", "app.rpc", "--port", "10300", "--size", "64"});
  EXPECT_EQ(assigned.exit_code, 2);
  EXPECT_THAT(assigned.err, HasSubstr("berth adopt app.rpc --port 10300 --size 64 --proto tcp"));
  // The listener must be the program named.
  auto other = Berth({"adopt", "app.rpc", "--port", "10300", "--size", "64", "--process", "nginx"});
  EXPECT_EQ(other.exit_code, 2);
  EXPECT_THAT(other.err, HasSubstr("10300-10363/tcp is not held by process 'nginx'"));

  auto r = Berth({"adopt", "app.rpc", "--port", "10300", "--size", "64", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc.at("service").at("port"), 10300);
  EXPECT_EQ(doc.at("service").at("size"), 64);
  EXPECT_EQ(doc.at("service").at("created_now"), true);
  std::vector<std::string> endpoints;
  for (const auto& l : doc.at("listeners")) endpoints.push_back(l.at("endpoint").get<std::string>());
  EXPECT_EQ(endpoints, (std::vector<std::string>{"127.0.0.1:10310", "127.0.0.1:10341"}));
  // Again: a no-op; the text names the range.
  auto again = Berth({"adopt", "app.rpc", "--port", "10300", "--size", "64"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("app.rpc was already registered on 10300-10363/tcp"));

  // The range overlaps no claim afterwards, single port or range, adopted or assigned.
  Listen(10370);
  auto inside = Berth({"assign", "web", "--port", "10363"});
  EXPECT_EQ(inside.exit_code, 2);
  EXPECT_THAT(inside.err, HasSubstr("already registered to 'app.rpc'"));
  auto across = Berth({"adopt", "b.rpc", "--port", "10360", "--size", "16"});
  EXPECT_EQ(across.exit_code, 2);
  EXPECT_THAT(across.err, HasSubstr("already registered to 'app.rpc'"));
  EXPECT_EQ(Berth({"show", "b.rpc"}).exit_code, 2);
  ASSERT_EQ(Berth({"adopt", "b.rpc", "--port", "10364", "--size", "16"}).exit_code, 0);  // adjacent
  auto check = Berth({"store", "check"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

// A range keeps every rule of assign --size that adopting a single port relaxes: never inside
// an ephemeral range (a single port there is a warning), never an IANA port such as 1434
// without --allow-iana.
TEST_P(AdoptRangeCli, ARangeInAnEphemeralRangeOrOn1434IsRefused) {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int lo = 0, hi = 0;
  in >> lo >> hi;
  ASSERT_GT(lo, 1024);
  Listen(lo + 5);
  // --allow-iana: IANA names ports there too; only the ephemeral rule is at stake.
  auto eph = Berth({"adopt", "eph.rpc", "--port", std::to_string(lo), "--size", "16", "--allow-iana"});
  EXPECT_EQ(eph.exit_code, 2);
  EXPECT_THAT(eph.err, HasSubstr("16 ports of the range"));
  EXPECT_THAT(eph.err, HasSubstr("is inside"));
  auto single = Berth({"adopt", "eph.one", "--port", std::to_string(lo + 5), "--allow-iana"});
  EXPECT_EQ(single.exit_code, 0) << single.err;  // one port: registered, with a warning
  EXPECT_THAT(single.err, HasSubstr("warning"));

  Listen(1450);
  auto browser = Berth({"adopt", "sql.rpc", "--port", "1400", "--size", "64"});
  EXPECT_EQ(browser.exit_code, 2);
  EXPECT_THAT(browser.err, HasSubstr("IANA assigns"));
  EXPECT_THAT(browser.err, HasSubstr("--allow-iana"));
  EXPECT_EQ(Berth({"show", "sql.rpc"}).exit_code, 2);
  EXPECT_EQ(Berth({"show", "eph.rpc"}).exit_code, 2);
}

}  // namespace
}  // namespace berth::test
