#include "core/conventional_ports.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <tuple>

#include "core/iana.h"

namespace berth {
namespace {

using ::testing::HasSubstr;

TEST(ConventionalPorts, TheTableIsSortedAndEveryEntryHasASourceAndAProduct) {
  const auto table = ConventionalPorts();
  ASSERT_FALSE(table.empty());
  for (std::size_t i = 0; i < table.size(); ++i) {
    const ConventionalPort& c = table[i];
    EXPECT_TRUE(c.source.starts_with("https://")) << c.port << " " << c.product;
    EXPECT_FALSE(c.product.empty()) << c.port;
    EXPECT_FALSE(c.use.empty()) << c.port;
    EXPECT_EQ(c.names.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789 "),
              std::string_view::npos) << c.names;
    if (i > 0) {
      EXPECT_LE(std::tuple(table[i - 1].port, table[i - 1].proto), std::tuple(c.port, c.proto));
    }
    // The table holds conventions, not assignments: IANA gives none of these ports to the
    // product itself (then the IANA table would already say it).
    const std::string_view first = c.names.substr(0, c.names.find(' '));
    if (auto e = IanaLookup(c.port, c.proto); e && !first.empty()) {
      EXPECT_EQ(e->service.find(first), std::string_view::npos) << c.port;
    }
  }
}

TEST(ConventionalPorts, SeveralProductsShareAPortAndAProductIsAtHomeOnIt) {
  EXPECT_EQ(ConventionalAt(9090, Protocol::kTcp).size(), 2u);
  EXPECT_TRUE(ConventionalAt(9090, Protocol::kUdp).empty());
  EXPECT_TRUE(ConventionalAt(22, Protocol::kTcp).empty());
  EXPECT_EQ(ConventionalAt(50051, Protocol::kTcp).size(), 1u);
  // Prometheus on 9090 is at home: Cockpit is not mentioned either.
  EXPECT_TRUE(ConventionalOthers(9090, Protocol::kTcp, "prometheus").empty());
  EXPECT_TRUE(ConventionalOthers(9090, Protocol::kTcp, "cockpit-ws").empty());
  EXPECT_TRUE(ConventionalOthers(9100, Protocol::kTcp, "node_exporter").empty());
  EXPECT_TRUE(ConventionalOthers(3000, Protocol::kTcp, "Grafana-Server").empty());
  EXPECT_TRUE(ConventionalOthers(9200, Protocol::kTcp, "elasticsearch.service").empty());
  EXPECT_EQ(ConventionalOthers(9090, Protocol::kTcp, "billing").size(), 2u);
  EXPECT_EQ(ConventionalOthers(9090, Protocol::kTcp, "").size(), 2u);
  // No product owns gRPC's example port: every service there copied it.
  EXPECT_EQ(ConventionalOthers(50051, Protocol::kTcp, "grpc").size(), 1u);
}

TEST(ConventionalPorts, TheSentenceNamesTheProductsAndWhatIanaSays) {
  EXPECT_EQ(ConventionalText(ConventionalAt(9090, Protocol::kTcp)),
            "9090/tcp is where Prometheus (server: web UI, API) and Cockpit (web console) listen "
            "by convention (IANA gives it to websm)");
  EXPECT_THAT(ConventionalText(ConventionalAt(50051, Protocol::kTcp)),
              HasSubstr("gRPC (the examples' server, copied by many services) listens by "
                        "convention (IANA gives it to no service)"));
  EXPECT_EQ(ConventionalText({}), "");
}

}  // namespace
}  // namespace berth
