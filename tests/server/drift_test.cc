// FindDrift (GET /api/v1/drift) on snapshots built in memory: a range claim's listeners inside
// its block are where it belongs, one outside is drift, and an idle block is not "not
// listening" (its ports are taken on demand).
#include "server/drift.h"

#include <gtest/gtest.h>

namespace berth::server {
namespace {

registry::Observation Seen(std::string service, Port port) {
  registry::Observation o;
  o.host = "alpha";
  o.service = std::move(service);
  o.port = port;
  return o;
}

TEST(FindDrift, ARangeClaimDriftsOnlyOutsideItsBlockAndIsNeverIdleDrift) {
  FleetSnapshot snap;
  registry::FleetHost alpha;
  alpha.report.host = "alpha";
  snap.hosts.push_back(alpha);
  registry::ServiceRecord rpc;
  rpc.service.name = "rpc.dynamic";
  rpc.service.port = 5000;
  rpc.service.size = 256;
  registry::ServiceRecord web;
  web.service.name = "web";
  web.service.port = 8080;
  snap.services = {rpc, web};
  // Nothing listens: the single port is not listening, the block is idle, which is fine.
  snap.observations["alpha"] = {};
  std::vector<Drift> drift = FindDrift(snap);
  ASSERT_EQ(drift.size(), 1u);
  EXPECT_EQ(drift[0].service, "web");
  EXPECT_EQ(drift[0].kind, DriftKind::kNotListening);
  // Inside the block, at its last port: no drift; one port past it: drift.
  snap.observations["alpha"] = {Seen("rpc.dynamic", 5255), Seen("web", 8080)};
  EXPECT_TRUE(FindDrift(snap).empty());
  snap.observations["alpha"].push_back(Seen("rpc.dynamic", 5256));
  drift = FindDrift(snap);
  ASSERT_EQ(drift.size(), 1u);
  EXPECT_EQ(drift[0].kind, DriftKind::kOtherPort);
  EXPECT_EQ(drift[0].seen, 5256);
}

}  // namespace
}  // namespace berth::server
