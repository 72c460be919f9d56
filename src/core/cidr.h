// Source CIDRs ("10.0.0.0/8", "2001:db8::/32"): parsed into a canonical form. Used where
// sources enter the registry (berth.toml) and where firewall rules are written. Pure;
// thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"

namespace berth {

struct Cidr {
  int family = 4;    // 4 or 6
  std::string text;  // canonical: network address (host bits cleared) "/" prefix length
};

// "10.0.0.0/8", "192.0.2.7" (= /32), "2001:db8::/32". Failure: kInvalidArgument naming the
// input and what is allowed.
[[nodiscard]] Result<Cidr> ParseCidr(std::string_view text);

}  // namespace berth
