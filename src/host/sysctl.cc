#include "host/sysctl.h"

#include "base/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include <fmt/core.h>

#include "base/unique_fd.h"

namespace berth {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<int> ParseSysctlInt(std::string_view text) {
  text = Trim(text);
  int v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
    return Fail(ErrorCode::kMalformed, fmt::format("expected an integer, got '{}'", text));
  }
  return v;
}

Result<PortRange> ParseLocalPortRange(std::string_view text) {
  text = Trim(text);
  auto sep = text.find_first_of(" \t");
  if (sep == std::string_view::npos) {
    return Fail(ErrorCode::kMalformed, fmt::format("expected 'LOW HIGH', got '{}'", text));
  }
  auto low = ParseSysctlInt(text.substr(0, sep));
  auto high = ParseSysctlInt(text.substr(sep + 1));
  if (!low || !high || *low < 1 || *high > 65535 || *low > *high) {
    return Fail(ErrorCode::kMalformed,
                fmt::format("expected 'LOW HIGH' with 1 <= LOW <= HIGH <= 65535, got '{}'", text));
  }
  return PortRange{static_cast<Port>(*low), static_cast<Port>(*high)};
}

HostPortConfig ReadHostPortConfig(std::vector<std::string>& warnings, std::string_view proc_sys) {
  HostPortConfig cfg;
  auto read = [&](std::string_view name, auto parse, auto& field) {
    const std::string path = fmt::format("{}/net/ipv4/{}", proc_sys, name);
    auto text = ReadSmallFile(path);
    if (!text) {
      warnings.push_back(fmt::format("{}; using the kernel default", text.error().message));
      return;
    }
    auto value = parse(*text);
    if (!value) {
      warnings.push_back(fmt::format("{}: {}; using the kernel default", path,
                                     value.error().message));
      return;
    }
    field = *value;
  };
  read("ip_local_port_range", ParseLocalPortRange, cfg.ephemeral);
  read("ip_local_reserved_ports", [](std::string_view t) { return PortSet::Parse(t); },
       cfg.reserved);
  read("ip_unprivileged_port_start", ParseSysctlInt, cfg.unprivileged_port_start);
  read("tcp_tw_reuse", ParseSysctlInt, cfg.tcp_tw_reuse);
  read("tcp_timestamps", ParseSysctlInt, cfg.tcp_timestamps);
  return cfg;
}

}  // namespace berth
