// berth probe's argument errors: exit code 2 and a message that says what to do. None of
// these sends a packet (targets are refused before the engine starts), and every address
// named is loopback, so even a regression could not send traffic off this machine.
#include <gtest/gtest.h>

#include "support/test_support.h"

namespace berth::probe {
namespace {

using berth::test::RunBerth;

TEST(ProbeCli, RefusesTooManyTargetsUnlessRaised) {
  auto r = RunBerth({"probe", "--rpc", "127.0.0.0/8"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--max-targets"), std::string::npos) << r.err;
}

TEST(ProbeCli, BadArgumentsExitTwo) {
  for (std::vector<std::string> args : {std::vector<std::string>{"probe"},
                                        {"probe", "127.0.0.0/40"},
                                        {"probe", "--timeout", "0", "127.0.0.1"},
                                        {"probe", "--ephemeral-range", "9-1", "127.0.0.1"},
                                        {"probe", "-iL", "/nonexistent/berth-targets"},
                                        // lo has no IFF_BROADCAST: never a --broadcast address
                                        {"probe", "--broadcast", "127.255.255.255"},
                                        {"probe", "--broadcast", "127.0.0.1", "127.0.0.1"}}) {
    auto r = RunBerth(args);
    EXPECT_EQ(r.exit_code, 2) << args.back() << ": " << r.err;
    EXPECT_NE(r.err.find("berth: error:"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace berth::probe
