#include "lint/probe_json_parse.h"

#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "base/json_text.h"

namespace berth::lint {
namespace {

using json = nlohmann::json;

constexpr std::size_t kMaxText = 1024;  // a target, address or instance name

const json* Field(const json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

// A string field no longer than kMaxText; "" when absent or null.
Result<std::string> Text(std::string_view source, const json& object, std::string_view key,
                         const std::string& at) {
  const json* v = Field(object, key);
  if (v == nullptr || v->is_null()) return std::string();
  if (!v->is_string() || v->get_ref<const std::string&>().size() > kMaxText) {
    return Fail(ErrorCode::kMalformed,
                fmt::format("{}: {}.{} is not a string of at most {} bytes", source, at, key, kMaxText));
  }
  return v->get<std::string>();
}

Result<Port> PortField(std::string_view source, const json& object, std::string_view key,
                       const std::string& at) {
  const json* v = Field(object, key);
  if (v == nullptr || !v->is_number_unsigned() || v->get<std::uint64_t>() > 65535) {
    return Fail(ErrorCode::kMalformed,
                fmt::format("{}: {}.{} is not a port number (0-65535)", source, at, key));
  }
  return static_cast<Port>(v->get<std::uint64_t>());
}

Result<std::vector<ProbedInstance>> Read(std::string_view source, const json& root) {
  const json* schema = Field(root, "schema");
  if (schema == nullptr || !schema->is_string() || *schema != "berth.probe/1") {
    return Fail(ErrorCode::kMalformed,
                fmt::format("{}: not a berth probe --json document (schema berth.probe/1)", source));
  }
  const json* hosts = Field(root, "hosts");
  if (hosts == nullptr || !hosts->is_array()) {
    return Fail(ErrorCode::kMalformed, fmt::format("{}: hosts is not a list", source));
  }
  std::vector<ProbedInstance> out;
  for (std::size_t h = 0; h < hosts->size(); ++h) {
    const json& host = (*hosts)[h];
    const std::string hat = fmt::format("hosts[{}]", h);
    const std::string target = BERTH_TRY(Text(source, host, "target", hat));
    const std::string address = BERTH_TRY(Text(source, host, "address", hat));
    const json* services = Field(host, "services");
    if (services == nullptr) continue;
    if (!services->is_array()) {
      return Fail(ErrorCode::kMalformed, fmt::format("{}: {}.services is not a list", source, hat));
    }
    for (std::size_t s = 0; s < services->size(); ++s) {
      const json& svc = (*services)[s];
      const std::string at = fmt::format("{}.services[{}]", hat, s);
      if (BERTH_TRY(Text(source, svc, "protocol", at)) != "mssql") continue;
      if (BERTH_TRY(Text(source, svc, "transport", at)) != "tcp") continue;
      ProbedInstance p;
      p.target = target;
      p.address = address;
      p.instance = BERTH_TRY(Text(source, svc, "instance", at));
      p.server_name = BERTH_TRY(Text(source, svc, "server_name", at));
      p.port = BERTH_TRY(PortField(source, svc, "port", at));
      if (p.instance.empty() || p.port == 0) continue;
      const json* dynamic = Field(svc, "dynamic");
      if (dynamic == nullptr || !dynamic->is_boolean()) {
        return Fail(ErrorCode::kMalformed, fmt::format("{}: {}.dynamic is not true or false", source, at));
      }
      p.dynamic = dynamic->get<bool>();
      if (const json* st = Field(svc, "static"); st != nullptr && !st->is_null()) {
        const std::string sat = at + ".static";
        if (BERTH_TRY(Text(source, *st, "state", sat)) == "registered") {
          p.registered = BERTH_TRY(PortField(source, *st, "port", sat));
        }
      }
      if (out.size() >= kProbeJsonMaxInstances) {
        return Fail(ErrorCode::kMalformed,
                    fmt::format("{}: more than {} SQL Server instances", source, kProbeJsonMaxInstances));
      }
      out.push_back(std::move(p));
    }
  }
  return out;
}

}  // namespace

Result<std::vector<ProbedInstance>> ParseProbeInstances(std::string_view text, std::string_view source) {
  if (text.size() > kProbeJsonMaxBytes) {
    return Fail(ErrorCode::kMalformed, fmt::format("{}: {} bytes, more than the {} MiB allowed",
                                                   source, text.size(), kProbeJsonMaxBytes >> 20));
  }
  BERTH_TRY(CheckJsonDepth(text, kProbeJsonMaxDepth, source));
  // nlohmann reports errors by exception; none may leave this function.
  try {
    return Read(source, json::parse(text));
  } catch (const json::exception& e) {
    return Fail(ErrorCode::kMalformed, fmt::format("{}: not valid JSON: {}", source, e.what()));
  } catch (const std::bad_alloc&) {
    return Fail(ErrorCode::kMalformed, fmt::format("{}: too large to hold in memory", source));
  }
}

}  // namespace berth::lint
