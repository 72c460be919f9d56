#include "host/proc_parse.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <vector>

namespace berth {

std::optional<std::uint64_t> ParseSocketLink(std::string_view link) {
  constexpr std::string_view kPrefix = "socket:[";
  if (!link.starts_with(kPrefix) || !link.ends_with(']')) return std::nullopt;
  std::string_view digits = link.substr(kPrefix.size(), link.size() - kPrefix.size() - 1);
  if (digits.empty() || digits.size() > 20) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    const std::uint64_t next = v * 10 + static_cast<std::uint64_t>(c - '0');
    if (next / 10 != v) return std::nullopt;  // overflow
    v = next;
  }
  return v;
}

namespace {

bool IsHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string ContainerId(std::string_view component) {
  if (IsHex64(component)) return std::string(component);
  if (component.starts_with("lxc.payload.")) {
    return "lxc:" + std::string(component.substr(12));
  }
  constexpr std::array<std::string_view, 5> kPrefixes{"docker-", "cri-containerd-", "crio-",
                                                       "libpod-", "containerd-"};
  for (std::string_view p : kPrefixes) {
    if (!component.starts_with(p)) continue;
    std::string_view rest = component.substr(p.size());
    if (rest.ends_with(".scope")) rest.remove_suffix(6);
    if (IsHex64(rest)) return std::string(rest);
  }
  return {};
}

std::string_view PathOf(std::string_view text) {
  std::string_view v1_systemd;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    auto c1 = line.find(':');
    if (c1 == std::string_view::npos) continue;
    auto c2 = line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    std::string_view id = line.substr(0, c1);
    std::string_view controllers = line.substr(c1 + 1, c2 - c1 - 1);
    std::string_view path = line.substr(c2 + 1);
    if (id == "0" && controllers.empty()) return path;
    if (controllers == "name=systemd") v1_systemd = path;
  }
  return v1_systemd;
}

}  // namespace

CgroupInfo ParseCgroup(std::string_view text) {
  CgroupInfo info;
  std::string_view path = PathOf(text);
  std::string_view last_service, last_scope;
  while (!path.empty()) {
    auto slash = path.find('/');
    std::string_view comp = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
    if (comp.empty()) continue;
    if (std::string id = ContainerId(comp); !id.empty()) {
      info.container = std::move(id);
      continue;
    }
    if (comp.ends_with(".service")) last_service = comp;
    if (comp.ends_with(".scope")) last_scope = comp;
  }
  info.unit = std::string(!last_service.empty() ? last_service : last_scope);
  return info;
}

namespace {

// The number after `key` on the line that starts with `label` ("TCP: inuse 5 ..."), or 0.
std::size_t SockstatField(std::string_view text, std::string_view label, std::string_view key) {
  for (std::size_t at = 0; at < text.size();) {
    std::size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(at, end - at);
    at = end + 1;
    if (!line.starts_with(label)) continue;
    line.remove_prefix(label.size());
    for (std::size_t k = line.find(key); k != std::string_view::npos; k = line.find(key, k + 1)) {
      // a whole word: preceded by a space and followed by one
      if (k == 0 || line[k - 1] != ' ' || k + key.size() >= line.size() || line[k + key.size()] != ' ') continue;
      std::size_t n = 0;
      const char* first = line.data() + k + key.size() + 1;
      const char* last = line.data() + line.size();
      auto [ptr, ec] = std::from_chars(first, last, n);
      if (ec != std::errc() || ptr == first) return 0;
      return std::min<std::size_t>(n, std::size_t{1} << 26);
    }
    return 0;
  }
  return 0;
}

}  // namespace

std::size_t SockstatSockets(std::string_view sockstat, std::string_view sockstat6, bool tcp, bool udp) {
  std::size_t n = 0;
  if (tcp) {
    n += SockstatField(sockstat, "TCP:", "inuse") + SockstatField(sockstat, "TCP:", "tw") +
         SockstatField(sockstat6, "TCP6:", "inuse");
  }
  if (udp) n += SockstatField(sockstat, "UDP:", "inuse") + SockstatField(sockstat6, "UDP6:", "inuse");
  return n;
}

std::optional<std::int32_t> ParseStatusTgid(std::string_view status) {
  constexpr std::string_view kLabel = "Tgid:";
  std::optional<std::int32_t> found;
  std::size_t at = 0;
  while (at < status.size()) {
    std::size_t end = status.find('\n', at);
    if (end == std::string_view::npos) end = status.size();
    std::string_view line = status.substr(at, end - at);
    at = end + 1;
    if (!line.starts_with(kLabel)) continue;
    if (found) return std::nullopt;  // twice: the kernel writes one
    line.remove_prefix(kLabel.size());
    const std::size_t digits = line.find_first_not_of(" \t");
    if (digits == std::string_view::npos) return std::nullopt;
    line.remove_prefix(digits);
    if (line.empty() || line.size() > 10) return std::nullopt;
    std::int64_t v = 0;
    for (char c : line) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + (c - '0');
    }
    if (v < 1 || v > INT32_MAX) return std::nullopt;
    found = static_cast<std::int32_t>(v);
  }
  return found;
}

}  // namespace berth
