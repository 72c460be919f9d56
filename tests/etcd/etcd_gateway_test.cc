// The etcd gateway codec against a real three-member etcd cluster on loopback: every request
// shape the codec builds is accepted as meant (etcd ignores misspelt fields silently, so only
// the real server can tell), and the claim txn of docs/etcd-store.md has exactly one winner.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "etcd/etcd_cluster.h"
#include "registry/etcd_client.h"
#include "registry/etcd_codec.h"

namespace berth::test {
namespace {

namespace etcd = registry::etcd;

// One test, one cluster: the members' ports are fixed, so two tests starting clusters under
// ctest -j2 would collide.
void ThirtyConcurrentClaimsOfOnePortHaveOneWinnerAndTheLosersLearnIt() {
  const std::string claim = "/berth-test/g/1/claims/default/tcp/20480";
  constexpr int kClients = 30;
  std::vector<std::string> winners(kClients), holders(kClients), errors(kClients);
  std::vector<std::thread> threads;
  std::atomic<int> go{0};
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      const std::string me = fmt::format("svc{}", i);
      auto body = etcd::EncodeTxn(
          {{claim, "", etcd::CompareTarget::kCreate, etcd::CompareResult::kEqual, 0, ""}},
          {{etcd::Op::Kind::kPut, claim, "", me, 0, false, 0, false}},
          {{etcd::Op::Kind::kRange, claim, "", "", 0, false, 0, false}});
      if (!body) {
        errors[static_cast<std::size_t>(i)] = body.error().message;
        return;
      }
      go.fetch_add(1);
      while (go.load() < kClients) std::this_thread::yield();  // all at once, not a sleep
      auto res = EtcdCluster::Post(i % EtcdCluster::kMembers, "/v3/kv/txn", *body);
      if (!res) {
        errors[static_cast<std::size_t>(i)] = httplib::to_string(res.error());
        return;
      }
      auto txn = etcd::DecodeTxn(res->body, res->status);
      if (!txn) {
        errors[static_cast<std::size_t>(i)] = txn.error().message;
        return;
      }
      if (txn->succeeded) {
        winners[static_cast<std::size_t>(i)] = me;
      } else if (txn->responses.size() == 1 && txn->responses[0].range.kvs.size() == 1) {
        holders[static_cast<std::size_t>(i)] = txn->responses[0].range.kvs[0].value;
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<std::string> won;
  for (int i = 0; i < kClients; ++i) {
    EXPECT_EQ(errors[static_cast<std::size_t>(i)], "") << "client " << i;
    if (!winners[static_cast<std::size_t>(i)].empty()) won.push_back(winners[static_cast<std::size_t>(i)]);
  }
  ASSERT_EQ(won.size(), 1u) << "one port, one winner";
  for (int i = 0; i < kClients; ++i) {
    if (winners[static_cast<std::size_t>(i)].empty()) {
      EXPECT_EQ(holders[static_cast<std::size_t>(i)], won[0]) << "client " << i << " did not learn the holder";
    }
  }
  // Every member agrees, in a linearizable read through the codec's range request.
  for (int m = 0; m < EtcdCluster::kMembers; ++m) {
    auto res = EtcdCluster::Post(m, "/v3/kv/range", etcd::EncodeRange({claim, "", 0, false, 0}));
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    auto range = etcd::DecodeRange(res->body, res->status);
    ASSERT_TRUE(range) << range.error().message;
    ASSERT_EQ(range->kvs.size(), 1u);
    EXPECT_EQ(range->kvs[0].value, won[0]);
    EXPECT_EQ(range->kvs[0].version, 1) << "written once";
  }
}

void PrefixRangesDeletesAndRangeComparesMeanWhatTheCodecSays() {
  const std::string prefix = "/berth-test/g/2/claims/";
  for (int port : {20001, 20002, 20003}) {
    auto res = EtcdCluster::Post(0, "/v3/kv/put", etcd::EncodePut(prefix + std::to_string(port), "s"));
    ASSERT_TRUE(res);
    ASSERT_TRUE(etcd::DecodePut(res->body, res->status));
  }
  auto listed = EtcdCluster::Post(1, "/v3/kv/range",
                                  etcd::EncodeRange({prefix, etcd::PrefixEnd(prefix), 0, false, 0}));  // linearizable: sees the puts
  ASSERT_TRUE(listed);
  auto range = etcd::DecodeRange(listed->body, listed->status);
  ASSERT_TRUE(range) << range.error().message;
  ASSERT_EQ(range->kvs.size(), 3u);
  EXPECT_EQ(range->count, 3);
  // A compare over the whole range (mod_revision < R + 1 for every key): true now, false once
  // a key of the range changed after R. What Atomically's commit relies on.
  const std::int64_t r = range->revision;
  auto unchanged = [&] {
    auto body = etcd::EncodeTxn({{prefix, etcd::PrefixEnd(prefix), etcd::CompareTarget::kMod,
                                  etcd::CompareResult::kLess, r + 1, ""}},
                                {}, {});
    EXPECT_TRUE(body);
    auto res = EtcdCluster::Post(2, "/v3/kv/txn", body ? *body : "");
    EXPECT_TRUE(res);
    auto txn = res ? etcd::DecodeTxn(res->body, res->status) : Result<etcd::TxnResult>(std::unexpected(Error{}));
    EXPECT_TRUE(txn) << (txn ? "" : txn.error().message);
    return txn && txn->succeeded;
  };
  EXPECT_TRUE(unchanged());
  // Through the client, which moves past a member that is briefly without a leader under load.
  etcd::Client client({EtcdCluster::Endpoint(0), EtcdCluster::Endpoint(1), EtcdCluster::Endpoint(2)},
                      HttpLimits{3000, 10000, 1 << 20});
  auto put_rev = client.Put(prefix + "20002", "other");
  ASSERT_TRUE(put_rev) << put_rev.error().message;
  ASSERT_GT(*put_rev, r) << "the put must come after the range was read";
  EXPECT_FALSE(unchanged()) << "range read at " << r << ", key rewritten at " << *put_rev;
  auto del = EtcdCluster::Post(0, "/v3/kv/deleterange", etcd::EncodeDelete(prefix, etcd::PrefixEnd(prefix)));
  ASSERT_TRUE(del);
  auto deleted = etcd::DecodeDelete(del->body, del->status);
  ASSERT_TRUE(deleted) << deleted.error().message;
  EXPECT_EQ(*deleted, 3);
}

// Successive requests to one member go over one connection (base/http.h's HttpSession):
// writes, reads and a txn whose compare fails (a 200 like any answer).
void ClientReusesOneConnectionPerMember() {
  etcd::Client client({EtcdCluster::Endpoint(1)}, HttpLimits{3000, 10000, 1 << 20});
  for (int i = 0; i < 20; ++i) {
    const std::string key = fmt::format("/berth-test/keepalive/{}", i);
    auto put = client.Put(key, "v");
    ASSERT_TRUE(put) << put.error().message;
    auto read = client.Range({key, "", 0, false, 0});
    ASSERT_TRUE(read) << read.error().message;
    ASSERT_EQ(read->kvs.size(), 1u);
    auto txn = client.Txn({{key, "", etcd::CompareTarget::kCreate, etcd::CompareResult::kEqual, 0, ""}},
                          {{etcd::Op::Kind::kPut, key, "", "w", 0, false, 0, false}}, {});
    ASSERT_TRUE(txn) << txn.error().message;
    EXPECT_FALSE(txn->succeeded);
  }
  EXPECT_EQ(client.connections_opened(), 1u);
}

// A watch that stays silent for longer than one read's timeout is silence (0), not an error:
// etcd sends its "created" message, then nothing, and the read times out.
void SilentWatchLongerThanAReadTimeoutIsNoChange() {
  etcd::Client client({EtcdCluster::Endpoint(0)}, HttpLimits{500, 10000, 1 << 20});
  auto rev = client.Put("/berth-test/silent/a", "v");
  ASSERT_TRUE(rev) << rev.error().message;
  auto changed = client.Watch("/berth-test/silent/", etcd::PrefixEnd("/berth-test/silent/"), *rev + 1, 1500);
  ASSERT_TRUE(changed) << changed.error().message;
  EXPECT_EQ(*changed, 0);
}

// The client moves past an endpoint where nothing listens and past a stopped member, within
// its deadline; with every endpoint down it names each one and says nothing was done.
void ClientFailsOverToTheNextEndpoint(EtcdCluster& cluster) {
  const HttpLimits limits{2000, 8000, 1 << 20};
  etcd::Client client({"127.0.0.1:22390", EtcdCluster::Endpoint(0), EtcdCluster::Endpoint(1),
                       EtcdCluster::Endpoint(2)},
                      limits);
  auto put = client.Put("/berth-test/failover", "one");
  ASSERT_TRUE(put) << put.error().message;
  EXPECT_EQ(client.current(), EtcdCluster::Endpoint(0)) << "22390 has no listener";
  // Member 0 closes the client's kept connection as it stops: the next request finds it
  // closed before writing, cannot connect again, and goes on to member 1.
  cluster.StopMember(0);
  auto read = client.Range({"/berth-test/failover", "", 0, false, 0});
  ASSERT_TRUE(read) << read.error().message;  // two of three members: still a quorum
  ASSERT_EQ(read->kvs.size(), 1u);
  EXPECT_EQ(read->kvs[0].value, "one");
  EXPECT_NE(client.current(), EtcdCluster::Endpoint(0));
  etcd::Client none({"127.0.0.1:22390", EtcdCluster::Endpoint(0)}, limits);
  auto down = none.Put("/berth-test/failover", "two");
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(down.error().message, ::testing::HasSubstr("no etcd endpoint answered"));
  EXPECT_THAT(down.error().message, ::testing::HasSubstr("127.0.0.1:22390 (unreachable"));
  EXPECT_THAT(down.error().message, ::testing::HasSubstr(EtcdCluster::Endpoint(0) + " (unreachable"));
}

TEST(EtcdGateway, ClaimsRangesDeletesAndComparesOnARealThreeMemberCluster) {
  std::string why;
  auto cluster = EtcdCluster::Start(why);
  if (!cluster) BERTH_MISSING_PEER(why);
  ASSERT_TRUE(cluster);
  {
    SCOPED_TRACE("claims");
    ThirtyConcurrentClaimsOfOnePortHaveOneWinnerAndTheLosersLearnIt();
  }
  {
    SCOPED_TRACE("ranges");
    PrefixRangesDeletesAndRangeComparesMeanWhatTheCodecSays();
  }
  {
    SCOPED_TRACE("keep-alive");
    ClientReusesOneConnectionPerMember();
  }
  {
    SCOPED_TRACE("silent watch");
    SilentWatchLongerThanAReadTimeoutIsNoChange();
  }
  {
    SCOPED_TRACE("failover");  // last: it stops a member
    ClientFailsOverToTheNextEndpoint(*cluster);
  }
}

}  // namespace
}  // namespace berth::test
