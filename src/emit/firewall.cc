#include "emit/firewall.h"

#include <algorithm>

#include <fmt/core.h>

#include "emit/json_writer.h"

#include "emit/firewall_quote.h"

namespace berth {
namespace {

constexpr std::string_view kFormatNames[] = {"nft", "iptables", "ip6tables",
                                             "firewalld", "ufw", "powershell"};

}  // namespace

std::string_view FirewallFormatName(FirewallFormat f) {
  return kFormatNames[static_cast<std::size_t>(f)];
}

Result<FirewallFormat> ParseFirewallFormat(std::string_view text) {
  for (std::size_t i = 0; i < std::size(kFormatNames); ++i) {
    if (text == kFormatNames[i]) return static_cast<FirewallFormat>(i);
  }
  return Fail(ErrorCode::kInvalidArgument,
              fmt::format("unknown firewall format '{}': use nft, iptables, ip6tables, "
                          "firewalld, ufw or powershell",
                          CommentText(text)));
}

Result<FirewallPlan> PlanFirewall(std::span<const Service> services,
                                  const FirewallOptions& options) {
  FirewallPlan plan;
  plan.group = options.group;
  plan.allow = options.allow;
  plan.any[static_cast<std::size_t>(Protocol::kTcp)].Add(options.allow);
  plan.any[static_cast<std::size_t>(Protocol::kUdp)].Add(options.allow);
  plan.services = BERTH_TRY(SelectServices(services, options.group));
  for (const Service* service : plan.services) {
    const Service& s = *service;
    for (Protocol p : {Protocol::kTcp, Protocol::kUdp}) {
      if (!Covers(s.proto, p)) continue;
      const auto i = static_cast<std::size_t>(p);
      if (s.sources.empty()) plan.any[i].Add(PortsOf(s));
      for (const std::string& src : s.sources) {
        auto cidr = ParseCidr(src);
        if (!cidr) {
          return Fail(ErrorCode::kInvalidArgument,
                      fmt::format("service '{}': {}", s.name, cidr.error().message));
        }
        auto& by_source = cidr->family == 4 ? plan.v4_sources[i] : plan.v6_sources[i];
        by_source[cidr->text].Add(PortsOf(s));
      }
    }
  }
  if (plan.services.empty() && plan.allow.empty()) {
    return Fail(ErrorCode::kNotFound,
                options.group.empty()
                    ? std::string("no services are registered: nothing to open")
                    : fmt::format("group '{}' has no services: nothing to open",
                                  CommentText(options.group)));
  }
  return plan;
}

Result<void> RenderFirewall(FirewallFormat format, std::span<const Service> services,
                            const FirewallOptions& options, const Sink& sink) {
  const FirewallPlan plan = BERTH_TRY(PlanFirewall(services, options));
  switch (format) {
    case FirewallFormat::kNft: RenderNft(plan, options, sink); break;
    case FirewallFormat::kIptables: RenderIptables(plan, options, 4, sink); break;
    case FirewallFormat::kIp6tables: RenderIptables(plan, options, 6, sink); break;
    case FirewallFormat::kFirewalld: RenderFirewalld(plan, options, sink); break;
    case FirewallFormat::kUfw: RenderUfw(plan, options, sink); break;
    case FirewallFormat::kPowershell: RenderPowershell(plan, options, sink); break;
  }
  return {};
}

std::string ServiceSummary(const Service& s) {
  std::string out = fmt::format("{} {}/{} group={}", s.name, ServiceProtoName(s.proto), FormatRange(PortsOf(s)),
                                CommentText(s.group));
  if (!s.owner.empty()) out += " owner=" + CommentText(s.owner);
  if (!s.sources.empty()) {
    out += " sources=";
    for (std::size_t i = 0; i < s.sources.size(); ++i) {
      out += (i ? "," : "") + CommentText(s.sources[i]);
    }
  }
  if (!s.description.empty()) out += " description=" + CommentText(s.description);
  for (const std::string& t : s.tags) out += " tag=" + CommentText(t);
  return out;
}

std::string AllowSummary(const FirewallPlan& plan) {
  if (plan.allow.empty()) return "";
  return fmt::format("allow={} (group allow list, tcp and udp)", plan.allow.Format());
}

void RenderFirewallResultJson(const FirewallResultView& v, const Sink& sink) {
  JsonWriter j(JsonLayout::kPretty);
  j.BeginObject();
  j.Field("action", v.action);
  j.Field("applied", v.applied);
  j.Key("confirm_within_seconds");
  if (v.confirm_within_seconds > 0) j.Int(v.confirm_within_seconds); else j.Null();
  j.Field("format", v.format);
  j.Key("restored");
  if (v.restored.empty()) j.Null(); else j.String(v.restored);
  j.Key("rules");
  if (v.rules != nullptr) j.String(*v.rules); else j.Null();
  j.Field("schema", kFirewallSchema);
  j.Key("watchdog_pid");
  if (v.watchdog_pid > 0) j.Int(v.watchdog_pid); else j.Null();
  j.Key("written");
  if (v.written.empty()) j.Null(); else j.String(v.written);
  j.EndObject();
  j.buffer() += '\n';
  sink(j.Take());
}

}  // namespace berth
