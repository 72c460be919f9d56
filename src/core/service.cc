#include "core/service.h"

#include <algorithm>
#include <tuple>

#include <fmt/core.h>

#include "base/text.h"

namespace berth {

std::string_view ServiceProtoName(ServiceProto p) {
  switch (p) {
    case ServiceProto::kTcp: return "tcp";
    case ServiceProto::kUdp: return "udp";
    case ServiceProto::kBoth: return "both";
  }
  return "tcp";
}

Result<ServiceProto> ParseServiceProto(std::string_view text) {
  if (text == "tcp") return ServiceProto::kTcp;
  if (text == "udp") return ServiceProto::kUdp;
  if (text == "both") return ServiceProto::kBoth;
  return Fail(ErrorCode::kInvalidArgument,
              fmt::format("unknown protocol '{}': use tcp, udp or both", text));
}

Result<std::vector<const Service*>> SelectServices(std::span<const Service> services,
                                                   std::string_view group) {
  std::vector<const Service*> out;
  for (const Service& s : services) {
    if (!group.empty() && s.group != group) continue;
    BERTH_TRY(ValidateServiceName(s.name));
    BERTH_TRY(ValidateServiceSpan(s));
    out.push_back(&s);
  }
  std::sort(out.begin(), out.end(), [](const Service* a, const Service* b) {
    return std::tie(a->name, a->port) < std::tie(b->name, b->port);
  });
  return out;
}

Result<void> ValidateServiceSpan(const Service& s) {
  if (s.port == 0) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("service '{}' has port 0: a static port is 1-65535", s.name));
  }
  if (s.size < 1 || s.size > kMaxServiceSize) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("service '{}' holds {} ports: a range holds 1-{}", s.name, s.size,
                            kMaxServiceSize));
  }
  if (std::uint32_t{s.port} + s.size - 1 > 65535) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("service '{}': {} ports from {} end past 65535", s.name, s.size, s.port));
  }
  return {};
}

Result<void> ValidateServiceName(std::string_view name) {
  constexpr std::string_view kRule =
      "names are lowercase DNS labels joined by dots (a-z, 0-9 and '-', no '-' at either end "
      "of a label), starting with a letter, 63 characters at most in all, e.g. "
      "'mssql.instance1'";
  auto bad = [&](std::string_view what) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("invalid service name '{}': {}; {}", TerminalSafe(name), what, kRule));
  };
  if (name.empty()) return bad("it is empty");
  // Every export can carry the name: Kubernetes and Consul names (dots as dashes) are at most
  // 63 characters and start with a letter.
  if (name.size() > 63) return bad("it is longer than 63 characters");
  if (name.front() < 'a' || name.front() > 'z') return bad("it does not start with a letter a-z");
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    std::string_view label = name.substr(start, dot - start);
    if (label.empty()) return bad("it has an empty label (two dots, or a dot at an end)");
    if (label.size() > 63) return bad(fmt::format("label '{}' is longer than 63 characters", label));
    if (label.front() == '-' || label.back() == '-') {
      return bad(fmt::format("label '{}' starts or ends with '-'", label));
    }
    for (char c : label) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
        return bad(fmt::format("character {} is not allowed",
                               c >= 0x21 && c < 0x7F ? fmt::format("'{}'", c)
                                                     : fmt::format("0x{:02x}", static_cast<unsigned char>(c))));
      }
    }
    start = dot + 1;
  }
  return {};
}

Result<void> ValidateText(std::string_view field, std::string_view value) {
  auto bad = [&](std::string_view what) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("{} '{}': {}; free text is valid UTF-8 without control characters, "
                            "at most {} bytes",
                            field, TerminalSafe(value, 64), what, kMaxTextBytes));
  };
  if (value.size() > kMaxTextBytes) return bad(fmt::format("it is {} bytes long", value.size()));
  for (std::size_t i = 0; i < value.size();) {
    char32_t cp = 0;
    const std::size_t n = DecodeUtf8(value, i, cp);
    if (n == 0) return bad(fmt::format("byte {} is not valid UTF-8", i + 1));
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029) {
      return bad(fmt::format("it holds the control character U+{:04X}", static_cast<unsigned>(cp)));
    }
    i += n;
  }
  return {};
}

Result<void> ValidateServiceText(const Service& s) {
  BERTH_TRY(ValidateText("owner", s.owner));
  BERTH_TRY(ValidateText("description", s.description));
  for (const std::string& t : s.tags) BERTH_TRY(ValidateText("tag", t));
  return {};
}

std::string RegistryLabel(std::string_view text) {
  std::string out;
  for (char c : text) {
    const char l = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9')) {
      out += l;
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  if (out.size() > 63) out.resize(63);
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

}  // namespace berth
