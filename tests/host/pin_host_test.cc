// The pure parts of berth pin's host mechanics: the bind program and the pin cgroup's name.
#include <netinet/in.h>

#include <gtest/gtest.h>

#include "host/bind_bpf.h"
#include "host/pin_cgroup.h"

namespace berth {
namespace {

// The immediate the program stores into user_port, if it has one store.
std::optional<std::int32_t> StoredPort(const std::vector<bpf_insn>& prog) {
  std::optional<std::int32_t> out;
  for (const bpf_insn& i : prog) {
    if (i.code == (BPF_ST | BPF_W | BPF_MEM)) {
      EXPECT_FALSE(out.has_value()) << "one store only";
      EXPECT_EQ(i.off, static_cast<std::int16_t>(offsetof(bpf_sock_addr, user_port)));
      out = i.imm;
    }
  }
  return out;
}

TEST(BindProgram, StoresTheStaticPortInNetworkOrderAndEndsWithAllow) {
  BindRewrite rw;
  rw.to = 18123;
  auto prog = BuildBindProgram(rw);
  ASSERT_TRUE(prog.has_value()) << prog.error().message;
  EXPECT_EQ(StoredPort(*prog), htons(18123));
  ASSERT_GE(prog->size(), 2U);
  EXPECT_EQ(prog->back().code, BPF_JMP | BPF_EXIT);
  const bpf_insn& r0 = (*prog)[prog->size() - 2];
  EXPECT_EQ(r0.code, BPF_ALU64 | BPF_MOV | BPF_K);
  EXPECT_EQ(r0.imm, 1) << "the bind always goes on";
  // Every jump lands inside the program.
  for (std::size_t at = 0; at < prog->size(); ++at) {
    const bpf_insn& i = (*prog)[at];
    if (BPF_CLASS(i.code) == BPF_JMP && BPF_OP(i.code) != BPF_EXIT) {
      const auto target = static_cast<std::ptrdiff_t>(at) + 1 + i.off;
      EXPECT_GT(target, static_cast<std::ptrdiff_t>(at));
      EXPECT_LT(target, static_cast<std::ptrdiff_t>(prog->size()));
    }
  }
}

TEST(BindProgram, ChecksTheProtocolUnlessBoth) {
  auto compares_proto = [](const BindRewrite& rw, std::int32_t proto) {
    auto prog = BuildBindProgram(rw);
    EXPECT_TRUE(prog.has_value());
    for (const bpf_insn& i : *prog) {
      if (i.code == (BPF_JMP | BPF_JNE | BPF_K) && i.imm == proto) return true;
    }
    return false;
  };
  BindRewrite tcp{.to = 1000, .from = {}, .tcp = true, .udp = false};
  BindRewrite udp{.to = 1000, .from = {}, .tcp = false, .udp = true};
  BindRewrite both{.to = 1000, .from = {}, .tcp = true, .udp = true};
  EXPECT_TRUE(compares_proto(tcp, IPPROTO_TCP));
  EXPECT_TRUE(compares_proto(udp, IPPROTO_UDP));
  EXPECT_FALSE(compares_proto(both, IPPROTO_TCP));
  EXPECT_FALSE(compares_proto(both, IPPROTO_UDP));
}

TEST(BindProgram, RefusesWhatItCannotExpress) {
  BindRewrite zero;
  EXPECT_FALSE(BuildBindProgram(zero).has_value());
  BindRewrite none{.to = 1000, .from = {}, .tcp = false, .udp = false};
  EXPECT_FALSE(BuildBindProgram(none).has_value());
  BindRewrite many;
  many.to = 1000;
  for (Port p = 2000; p < 2000 + 2 * 65; p += 2) many.from.Add(p);
  EXPECT_FALSE(BuildBindProgram(many).has_value());
  many.from = PortSet{{2000, 2010}, {3000, 3000}};
  EXPECT_TRUE(BuildBindProgram(many).has_value());
}

TEST(BindRewriteMatches, PortZeroAndTheListedPortsOfItsProtocols) {
  BindRewrite rw{.to = 1000, .from = PortSet{{5000, 5010}}, .tcp = true, .udp = false};
  EXPECT_TRUE(rw.Matches(Protocol::kTcp, 0));
  EXPECT_TRUE(rw.Matches(Protocol::kTcp, 5005));
  EXPECT_FALSE(rw.Matches(Protocol::kTcp, 5011));
  EXPECT_FALSE(rw.Matches(Protocol::kUdp, 0));
}

TEST(PinCgroupName, ParsesOwnerAndReservation) {
  auto a = ParsePinCgroupName("berth-pin.123");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->owner, 123);
  EXPECT_FALSE(a->reserved.has_value());
  auto b = ParsePinCgroupName("berth-pin.45.r8080");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->owner, 45);
  EXPECT_EQ(b->reserved, Port{8080});
  EXPECT_FALSE(b->netns.has_value());
  auto c = ParsePinCgroupName("berth-pin.45.n4026531840.r8080");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->owner, 45);
  EXPECT_EQ(c->netns, std::uint64_t{4026531840});
  EXPECT_EQ(c->reserved, Port{8080});
  auto d = ParsePinCgroupName("berth-pin.45.n4026531840");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->netns, std::uint64_t{4026531840});
  EXPECT_FALSE(d->reserved.has_value());
  for (const char* bad : {"berth-pin.", "berth-pin.x", "berth-pin.0", "berth-pin.12.r0",
                          "berth-pin.12.n", "berth-pin.12.n0", "berth-pin.12.nx.r80",
                          "berth-pin.12.r80.n5",
                          "berth-pin.12.r70000", "berth-pin.12.x80", "berth-pin.12.r80x",
                          "other.12", "berth-pin.-3"}) {
    EXPECT_FALSE(ParsePinCgroupName(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace berth
