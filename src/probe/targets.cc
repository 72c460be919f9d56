// Target expansion: see targets.h.
#include "probe/targets.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <array>
#include <charconv>
#include <fstream>
#include <memory>
#include <sstream>

#include <fmt/core.h>

namespace berth::probe {
namespace {

constexpr std::size_t kMaxListFileWords = 1 << 20;

struct AddrInfoFree {
  void operator()(addrinfo* p) const { ::freeaddrinfo(p); }
};

Result<void> TooMany(std::size_t max) {
  return Fail(ErrorCode::kInvalidArgument,
              fmt::format("more than {} target addresses: narrow the list, or raise --max-targets", max));
}

Result<void> AddCidr(std::string_view word, std::vector<ProbeTarget>& out, std::size_t max) {
  const std::size_t slash = word.find('/');
  const std::string base(word.substr(0, slash));
  const std::string_view bits_text = word.substr(slash + 1);
  unsigned bits = 0;
  auto [p, ec] = std::from_chars(bits_text.data(), bits_text.data() + bits_text.size(), bits);
  std::array<unsigned char, 16> addr{};
  std::size_t len = 0;
  int family = 0;
  if (::inet_pton(AF_INET, base.c_str(), addr.data()) == 1) {
    len = 4;
    family = AF_INET;
  } else if (::inet_pton(AF_INET6, base.c_str(), addr.data()) == 1) {
    len = 16;
    family = AF_INET6;
  }
  if (len == 0 || ec != std::errc{} || p != bits_text.data() + bits_text.size() || bits > len * 8) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("'{}' is not a CIDR block (ADDRESS/BITS, e.g. 192.0.2.0/24)", word));
  }
  const unsigned host_bits = static_cast<unsigned>(len * 8) - bits;
  if (host_bits >= 63 || (std::size_t{1} << host_bits) > max - std::min(max, out.size())) return TooMany(max);
  for (unsigned i = bits; i < len * 8; ++i) addr[i / 8] = static_cast<unsigned char>(addr[i / 8] & ~(0x80u >> (i % 8)));
  const std::size_t count = std::size_t{1} << host_bits;
  char text[INET6_ADDRSTRLEN];
  for (std::size_t n = 0; n < count; ++n) {
    ::inet_ntop(family, addr.data(), text, sizeof text);
    out.push_back({std::string(word), text});
    for (std::size_t k = len; k-- > 0;) {  // big-endian increment
      if (++addr[k] != 0) break;
    }
  }
  return {};
}

Result<void> AddWord(const std::string& word, std::vector<ProbeTarget>& out, std::size_t max) {
  if (word.find('/') != std::string::npos) return AddCidr(word, out, max);
  if (out.size() >= max) return TooMany(max);
  std::array<unsigned char, 16> buf{};
  if (::inet_pton(AF_INET, word.c_str(), buf.data()) == 1 || ::inet_pton(AF_INET6, word.c_str(), buf.data()) == 1) {
    out.push_back({word, word});
    return {};
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo(word.c_str(), nullptr, &hints, &res);
  std::unique_ptr<addrinfo, AddrInfoFree> owned(res);
  if (rc != 0 || res == nullptr) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("target '{}' does not resolve: {}", word, ::gai_strerror(rc)));
  }
  // One address per name, IPv4 first: a mapper answers on each of a host's addresses alike.
  const addrinfo* pick = res;
  for (const addrinfo* a = res; a; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      pick = a;
      break;
    }
  }
  char text[NI_MAXHOST];
  if (::getnameinfo(pick->ai_addr, pick->ai_addrlen, text, sizeof text, nullptr, 0, NI_NUMERICHOST) != 0) {
    return Fail(ErrorCode::kInvalidArgument, fmt::format("target '{}': no usable address", word));
  }
  out.push_back({word, text});
  return {};
}

}  // namespace

Result<std::vector<ProbeTarget>> ExpandTargets(const std::vector<std::string>& words,
                                               const std::string& list_file, std::size_t max_targets) {
  std::vector<std::string> all = words;
  if (!list_file.empty()) {
    std::ifstream in(list_file);
    if (!in) return Fail(ErrorCode::kNotFound, fmt::format("-iL {}: cannot read the file", list_file));
    std::string line;
    while (std::getline(in, line)) {
      if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
      std::istringstream ws(line);
      std::string w;
      while (ws >> w) {
        if (all.size() >= kMaxListFileWords) {
          return Fail(ErrorCode::kInvalidArgument,
                      fmt::format("-iL {}: more than {} entries", list_file, kMaxListFileWords));
        }
        all.push_back(w);
      }
    }
  }
  if (all.empty()) return Fail(ErrorCode::kInvalidArgument, "no targets: give a host, address, CIDR or -iL FILE");
  std::vector<ProbeTarget> out;
  for (const std::string& w : all) BERTH_TRY(AddWord(w, out, max_targets));
  return out;
}

}  // namespace berth::probe
