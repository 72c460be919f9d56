// berth serve over the etcd store: a real three-member cluster on loopback
// (tests/etcd/etcd_cluster.h), fleet records written through the Store API as agents write
// them, the API and the event stream over real sockets. Two members stopped: every host turns
// stale and the documents say why; the members back: up again, nothing lost.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "etcd/etcd_cluster.h"
#include "server/serve_process.h"

namespace berth::test {
namespace {

using json = nlohmann::json;

json Hosts(const ServeProcess& s) {
  return json::parse(s.Get("/api/v1/hosts").body, nullptr, false);
}

bool AllIn(const json& doc, const std::string& state) {
  if (!doc.contains("hosts") || doc["hosts"].empty()) return false;
  for (const json& h : doc["hosts"]) {
    if (h["state"] != state) return false;
  }
  return true;
}

TEST(ServeEtcd, FleetLiveAndStaleWithoutAQuorum) {
  std::string why;
  auto cluster = EtcdCluster::Start(why);
  if (!cluster) BERTH_MISSING_PEER(why);
  ServeProcess serve;
  serve.UseStore(EtcdCluster::Url("/serve-test"));
  ASSERT_EQ(RunBerth({"assign", "web", "--store", serve.store_url()}).exit_code, 0);
  serve.Fixture({"host", "alpha"});
  serve.Fixture({"host", "bravo"});
  ASSERT_TRUE(serve.Start()) << serve.error();

  json doc = Hosts(serve);
  ASSERT_EQ(doc["hosts"].size(), 2u) << doc.dump();
  EXPECT_TRUE(AllIn(doc, "up")) << doc.dump();
  EXPECT_TRUE(doc["stale"].is_null());

  // A report written while the server runs reaches it through the etcd watch.
  serve.Fixture({"finding", "bravo", "41000"});
  EXPECT_TRUE(UntilChanged(serve.port(), [&] {
    const json f = json::parse(serve.Get("/api/v1/hosts/bravo/findings").body, nullptr, false);
    return f["findings"].size() == 1;
  }));

  cluster->StopMember(1);
  cluster->StopMember(2);
  EXPECT_TRUE(UntilChanged(serve.port(), [&] {
    doc = Hosts(serve);
    return AllIn(doc, "stale");
  })) << doc.dump();
  const std::string reason = doc["hosts"][0]["reason"];
  EXPECT_TRUE(reason.find("store") != std::string::npos) << reason;
  EXPECT_EQ(doc["hosts"].size(), 2u) << "what the store said before is still served";
  const HttpReply metrics = serve.Get("/metrics");
  EXPECT_TRUE(metrics.body.find("berth_store_up 0") != std::string::npos ||
              metrics.body.find("berth_store_stale 1") != std::string::npos)
      << metrics.body.substr(0, 600);

  cluster->StartMember(1);
  cluster->StartMember(2);
  ASSERT_TRUE(cluster->WaitForLeader(0));
  EXPECT_TRUE(UntilChanged(serve.port(), [&] {
    doc = Hosts(serve);
    return AllIn(doc, "up") && doc["stale"].is_null();
  })) << doc.dump();
  EXPECT_EQ(json::parse(serve.Get("/api/v1/hosts/bravo/findings").body)["findings"].size(), 1u);
  EXPECT_EQ(serve.Stop(), 0) << serve.Stderr();
}

}  // namespace
}  // namespace berth::test
