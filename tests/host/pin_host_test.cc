// The pure parts of berth pin's host mechanics: the bind program and the pin cgroup's name.
#include <netinet/in.h>

#include <gtest/gtest.h>

#include "host/bind_bpf.h"
#include "host/pin_cgroup.h"

namespace berth {
namespace {

// The immediates the program stores into user_port, in program order.
std::vector<std::int32_t> StoredPorts(const std::vector<bpf_insn>& prog) {
  std::vector<std::int32_t> out;
  for (const bpf_insn& i : prog) {
    if (i.code == (BPF_ST | BPF_W | BPF_MEM) && i.dst_reg == 6) {
      EXPECT_EQ(i.off, static_cast<std::int16_t>(offsetof(bpf_sock_addr, user_port)));
      out.push_back(i.imm);
    }
  }
  return out;
}

// Every jump lands inside the program, forward (the verifier refuses loops we never write).
void ExpectJumpsInRange(const std::vector<bpf_insn>& prog) {
  for (std::size_t at = 0; at < prog.size(); ++at) {
    const bpf_insn& i = prog[at];
    if (BPF_CLASS(i.code) == BPF_JMP && BPF_OP(i.code) != BPF_EXIT && BPF_OP(i.code) != BPF_CALL) {
      const auto target = static_cast<std::ptrdiff_t>(at) + 1 + i.off;
      EXPECT_GT(target, static_cast<std::ptrdiff_t>(at)) << "at " << at;
      EXPECT_LT(target, static_cast<std::ptrdiff_t>(prog.size())) << "at " << at;
    }
  }
}

BindRewrite Rewrite(std::vector<Port> tcp, std::vector<Port> udp, PortSet from = {}) {
  return BindRewrite{.tcp = std::move(tcp), .udp = std::move(udp), .from = std::move(from)};
}

TEST(BindProgram, StoresTheStaticPortInNetworkOrderAndEndsWithAllow) {
  auto prog = BuildBindProgram(Rewrite({18123}, {}));
  ASSERT_TRUE(prog.has_value()) << prog.error().message;
  EXPECT_EQ(StoredPorts(*prog), std::vector<std::int32_t>{htons(18123)});
  ASSERT_GE(prog->size(), 2U);
  EXPECT_EQ(prog->back().code, BPF_JMP | BPF_EXIT);
  const bpf_insn& r0 = (*prog)[prog->size() - 2];
  EXPECT_EQ(r0.code, BPF_ALU64 | BPF_MOV | BPF_K);
  EXPECT_EQ(r0.imm, 1) << "the bind always goes on";
  ExpectJumpsInRange(*prog);
  for (const bpf_insn& i : *prog) EXPECT_NE(i.code, BPF_JMP | BPF_CALL) << "one port needs no map";
}

TEST(BindProgram, ComparesOnlyThePinnedProtocols) {
  auto compares_proto = [](const BindRewrite& rw, std::int32_t proto) {
    auto prog = BuildBindProgram(rw);
    EXPECT_TRUE(prog.has_value());
    for (const bpf_insn& i : *prog) {
      if (i.code == (BPF_JMP | BPF_JEQ | BPF_K) && i.src_reg == 0 && i.dst_reg == 2 && i.imm == proto) return true;
    }
    return false;
  };
  EXPECT_TRUE(compares_proto(Rewrite({1000}, {}), IPPROTO_TCP));
  EXPECT_FALSE(compares_proto(Rewrite({1000}, {}), IPPROTO_UDP));
  EXPECT_TRUE(compares_proto(Rewrite({}, {1000}), IPPROTO_UDP));
  EXPECT_FALSE(compares_proto(Rewrite({}, {1000}), IPPROTO_TCP));
  EXPECT_TRUE(compares_proto(Rewrite({1000}, {1000}), IPPROTO_TCP));
  EXPECT_TRUE(compares_proto(Rewrite({1000}, {1000}), IPPROTO_UDP));
}

TEST(BindProgram, SeveralPortsCountBindsInTheMapSlotOfTheHooksFamily) {
  const BindRewrite rw = Rewrite({1000, 1001, 1002}, {2000});
  auto needs_map = BuildBindProgram(rw);
  EXPECT_FALSE(needs_map.has_value()) << "several ports without the counter map";
  for (const BindFamily family : {BindFamily::kInet4, BindFamily::kInet6}) {
    auto prog = BuildBindProgram(rw, family, BindMaps{.counter = 7});
    ASSERT_TRUE(prog.has_value()) << prog.error().message;
    ExpectJumpsInRange(*prog);
    // The TCP ports in rank order, the last once more past them, then UDP's one.
    EXPECT_EQ(StoredPorts(*prog), (std::vector<std::int32_t>{htons(1000), htons(1001), htons(1002), htons(2000)}));
    int map_loads = 0, fetch_adds = 0;
    std::vector<std::int32_t> keys;
    for (std::size_t at = 0; at < prog->size(); ++at) {
      const bpf_insn& i = (*prog)[at];
      if (i.code == (BPF_LD | BPF_DW | BPF_IMM) && i.src_reg == BPF_PSEUDO_MAP_FD) {
        ++map_loads;
        EXPECT_EQ(i.imm, 7);
      }
      if (i.code == (BPF_STX | BPF_W | BPF_ATOMIC)) {
        ++fetch_adds;
        EXPECT_EQ(i.imm, BPF_ADD | BPF_FETCH);
      }
      if (i.code == (BPF_ST | BPF_W | BPF_MEM) && i.dst_reg == 10 && i.off == -4) keys.push_back(i.imm);
    }
    EXPECT_EQ(map_loads, 2) << "each protocol counts its binds";
    EXPECT_EQ(fetch_adds, 2);
    EXPECT_EQ(keys, (std::vector<std::int32_t>{CounterSlot(Protocol::kTcp, family),
                                               CounterSlot(Protocol::kUdp, family)}));
  }
}

TEST(BindProgram, TellsOfBindsPastTheLastPortThroughTheRingBuffer) {
  const BindRewrite rw = Rewrite({1000}, {2000, 2001});
  EXPECT_FALSE(BuildBindProgram(rw, BindFamily::kInet6, BindMaps{.overflow = 9}).has_value())
      << "the ring buffer needs the counter";
  auto prog = BuildBindProgram(rw, BindFamily::kInet6, BindMaps{.counter = 7, .overflow = 9});
  ASSERT_TRUE(prog.has_value()) << prog.error().message;
  ExpectJumpsInRange(*prog);
  EXPECT_EQ(StoredPorts(*prog), (std::vector<std::int32_t>{htons(1000), htons(2000), htons(2001)}));
  int ring_loads = 0, outputs = 0;
  std::vector<std::int32_t> slots;
  for (const bpf_insn& i : *prog) {
    if (i.code == (BPF_LD | BPF_DW | BPF_IMM) && i.src_reg == BPF_PSEUDO_MAP_FD && i.imm == 9) ++ring_loads;
    if (i.code == (BPF_JMP | BPF_CALL) && i.imm == BPF_FUNC_ringbuf_output) ++outputs;
    if (i.code == (BPF_ST | BPF_W | BPF_MEM) && i.dst_reg == 10 && i.off == -16) slots.push_back(i.imm);
  }
  EXPECT_EQ(ring_loads, 2) << "one event per protocol";
  EXPECT_EQ(outputs, 2);
  EXPECT_EQ(slots, (std::vector<std::int32_t>{CounterSlot(Protocol::kTcp, BindFamily::kInet6),
                                              CounterSlot(Protocol::kUdp, BindFamily::kInet6)}));
}

// The sizes docs/pin.md gives, for the program as BindBpf::Attach loads it (both maps).
TEST(BindProgram, ItsSizeIsTheOneDocsPinMdGives) {
  const BindMaps maps{.counter = 7, .overflow = 9};
  auto size = [&](const BindRewrite& rw) {
    auto prog = BuildBindProgram(rw, BindFamily::kInet4, maps);
    EXPECT_TRUE(prog.has_value());
    return prog ? prog->size() : 0;
  };
  EXPECT_EQ(size(Rewrite({1000}, {})), 32U) << "one tcp (or udp) service";
  EXPECT_EQ(size(Rewrite({}, {1000})), 32U);
  EXPECT_EQ(size(Rewrite({1000}, {1000})), 55U) << "one service of both protocols";
  EXPECT_EQ(size(Rewrite({1000, 1001, 1002}, {})), 32U + 2 * 3) << "three per further --ports port";
  EXPECT_EQ(size(Rewrite({1000}, {}, PortSet{{5000, 5010}, {6000, 6000}})), 32U + 2 * 2)
      << "two per --from range";
}

TEST(BindProgram, RefusesWhatItCannotExpress) {
  EXPECT_FALSE(BuildBindProgram(Rewrite({}, {})).has_value());
  EXPECT_FALSE(BuildBindProgram(Rewrite({0}, {})).has_value());
  std::vector<Port> seventeen;
  for (Port p = 1000; p < 1017; ++p) seventeen.push_back(p);
  EXPECT_FALSE(BuildBindProgram(Rewrite(seventeen, {}), BindFamily::kInet4, BindMaps{.counter = 3}).has_value());
  seventeen.pop_back();
  EXPECT_TRUE(BuildBindProgram(Rewrite(seventeen, {}), BindFamily::kInet4, BindMaps{.counter = 3}).has_value());
  BindRewrite many = Rewrite({1000}, {});
  for (Port p = 2000; p < 2000 + 2 * 65; p += 2) many.from.Add(p);
  EXPECT_FALSE(BuildBindProgram(many).has_value());
  many.from = PortSet{{2000, 2010}, {3000, 3000}};
  EXPECT_TRUE(BuildBindProgram(many).has_value());
}

TEST(BindRewriteMatches, PortZeroAndTheListedPortsOfItsProtocols) {
  const BindRewrite rw = Rewrite({1000}, {}, PortSet{{5000, 5010}});
  EXPECT_TRUE(rw.Matches(Protocol::kTcp, 0));
  EXPECT_TRUE(rw.Matches(Protocol::kTcp, 5005));
  EXPECT_FALSE(rw.Matches(Protocol::kTcp, 5011));
  EXPECT_FALSE(rw.Matches(Protocol::kUdp, 0));
}

TEST(BindRewritePortFor, TheRanksPortAndTheLastPastThem) {
  const BindRewrite rw = Rewrite({1000, 1001}, {2000});
  EXPECT_EQ(rw.PortFor(Protocol::kTcp, 0), 1000);
  EXPECT_EQ(rw.PortFor(Protocol::kTcp, 1), 1001);
  EXPECT_EQ(rw.PortFor(Protocol::kTcp, 5), 1001);
  EXPECT_EQ(rw.PortFor(Protocol::kUdp, 0), 2000);
  EXPECT_EQ(rw.PortFor(Protocol::kUdp, 1), 2000);
}

TEST(PinCgroupName, ParsesOwnerAndReservation) {
  auto a = ParsePinCgroupName("berth-pin.123");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->owner, 123);
  EXPECT_TRUE(a->reserved.empty());
  auto b = ParsePinCgroupName("berth-pin.45.r8080");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->owner, 45);
  EXPECT_EQ(b->reserved, (PortSet{{8080, 8080}}));
  EXPECT_FALSE(b->netns.has_value());
  auto c = ParsePinCgroupName("berth-pin.45.n4026531840.r8080");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->owner, 45);
  EXPECT_EQ(c->netns, std::uint64_t{4026531840});
  EXPECT_EQ(c->reserved, (PortSet{{8080, 8080}}));
  auto d = ParsePinCgroupName("berth-pin.45.n4026531840");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->netns, std::uint64_t{4026531840});
  EXPECT_TRUE(d->reserved.empty());
  auto e = ParsePinCgroupName("berth-pin.45.n4026531840.r8080,8090-8091");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->reserved, (PortSet{{8080, 8080}, {8090, 8091}}));
  for (const char* bad : {"berth-pin.", "berth-pin.x", "berth-pin.0", "berth-pin.12.r0",
                          "berth-pin.12.n", "berth-pin.12.n0", "berth-pin.12.nx.r80",
                          "berth-pin.12.r80.n5",
                          "berth-pin.12.r70000", "berth-pin.12.x80", "berth-pin.12.r80x",
                          "berth-pin.12.r", "berth-pin.12.r0,80", "berth-pin.12.r80 81",
                          "other.12", "berth-pin.-3"}) {
    EXPECT_FALSE(ParsePinCgroupName(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace berth
