// What a renderer wrote, as one string: for the emit tests.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/sink.h"
#include "emit/firewall.h"

namespace berth::test {

inline std::string Collect(const std::function<void(const Sink&)>& render) {
  std::string out;
  render([&out](std::string_view s) { out += s; });
  return out;
}

// The rules RenderFirewall writes for `services` (a failure to render fails the test).
inline std::string FirewallText(FirewallFormat f, const std::vector<Service>& services,
                                FirewallOptions o = {}) {
  std::string out;
  auto r = RenderFirewall(f, services, o, [&out](std::string_view s) { out += s; });
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return out;
}

}  // namespace berth::test
