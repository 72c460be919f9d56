#include "host/firewall_apply.h"

#include <gtest/gtest.h>

#include <thread>

#include "base/file.h"
#include "support/test_support.h"

namespace berth {
namespace {

TEST(RunTool, CapturesOutputAndExitCode) {
  auto r = RunTool({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  auto missing = RunTool({"berth-no-such-tool-xyz"});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST(RunTool, StdinFromFile) {
  char tmpl[] = "/tmp/berth-apply-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  ASSERT_TRUE(WriteFileAtomic(dir + "/in", "hello"));
  auto r = RunTool({"cat"}, dir + "/in");
  (void)test::Run({"rm", "-rf", dir});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->out, "hello");
}

TEST(FirewallApply, RollbackWithoutSavedRules) {
  ApplyOptions o;
  o.state_dir = "/nonexistent/berth-state";
  auto r = RollbackFirewall(RulesTool::kNft, o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find("nothing to roll back"), std::string::npos);
}

TEST(FirewallApply, RefusedRulesAreNotLoaded) {
  BERTH_REQUIRE_ROOT();
  auto ns = test::Netns::Create("fwapply");
  ASSERT_TRUE(ns);
  char tmpl[] = "/tmp/berth-apply-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  // ApplyFirewall acts on the calling thread's namespace: run it on a thread inside ns.
  Result<void> r;
  std::thread t([&] {
    if (!ns->EnterThread()) return;
    ApplyOptions o;
    o.state_dir = dir + "/state";
    r = ApplyFirewall(RulesTool::kNft, "table inet berth { chain c { bogus } }\n", o);
  });
  t.join();
  (void)test::Run({"rm", "-rf", dir});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kMalformed);
  EXPECT_EQ(ns->Exec({"nft", "list", "tables"}).out, "");
}

}  // namespace
}  // namespace berth
