#include "core/cidr.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>

#include <fmt/core.h>

#include "base/text.h"  // CommentText

namespace berth {

Result<Cidr> ParseCidr(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("invalid source '{}': {}; use an address or a CIDR such as "
                            "10.0.0.0/8 or 2001:db8::/32",
                            CommentText(text), why));
  };
  if (text.empty() || text.size() > 64) return bad("empty or too long");
  const std::size_t slash = text.find('/');
  const std::string addr(text.substr(0, slash));
  Cidr out;
  std::array<unsigned char, 16> bytes{};
  int max_prefix = 32;
  if (::inet_pton(AF_INET, addr.c_str(), bytes.data()) == 1) {
    out.family = 4;
  } else if (::inet_pton(AF_INET6, addr.c_str(), bytes.data()) == 1) {
    out.family = 6;
    max_prefix = 128;
  } else {
    return bad("not an IPv4 or IPv6 address");
  }
  int prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string_view p = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (p.empty() || ec != std::errc() || end != p.data() + p.size() || prefix < 0 ||
        prefix > max_prefix) {
      return bad(fmt::format("the prefix length must be 0-{}", max_prefix));
    }
  }
  const int nbytes = max_prefix / 8;
  for (int b = 0; b < nbytes; ++b) {
    const int keep = std::min(8, std::max(0, prefix - b * 8));
    const unsigned mask = keep == 0 ? 0u : (0xFFu << (8 - keep)) & 0xFFu;
    bytes[static_cast<std::size_t>(b)] &= static_cast<unsigned char>(mask);
  }
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(out.family == 4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf);
  out.text = fmt::format("{}/{}", buf, prefix);
  return out;
}

}  // namespace berth
