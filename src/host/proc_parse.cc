#include "host/proc_parse.h"

#include <array>
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

}  // namespace berth
