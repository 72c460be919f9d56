#include "server/request_parse.h"

#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "base/json_text.h"

namespace berth::server {
namespace {

using json = nlohmann::json;

constexpr std::string_view kSource = "request body";

// The body as a JSON object. nlohmann reports errors by exception (with the bytes it last
// read, which may be hostile): none leaves here, and the message gives only the offset.
Result<json> ParseObject(std::string_view body) {
  if (body.size() > kMaxRequestBody) {
    return Fail(ErrorCode::kMalformed, fmt::format("{}: {} bytes, more than the {} allowed",
                                                   kSource, body.size(), kMaxRequestBody));
  }
  BERTH_TRY(CheckJsonDepth(body, kMaxRequestDepth, kSource));
  json doc;
  try {
    doc = json::parse(body);
  } catch (const json::parse_error& e) {
    return Fail(ErrorCode::kMalformed,
                fmt::format("{}: not valid JSON (at byte {})", kSource, e.byte));
  } catch (const json::exception&) {
    return Fail(ErrorCode::kMalformed, fmt::format("{}: not valid JSON", kSource));
  }
  if (!doc.is_object()) {
    return Fail(ErrorCode::kInvalidArgument, fmt::format("{}: expected a JSON object", kSource));
  }
  return doc;
}

Result<void> OnlyKnownFields(const json& doc, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : doc.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string allowed;
      for (std::string_view k : known) allowed += (allowed.empty() ? "" : ", ") + std::string(k);
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("{}: unknown field (the fields are: {})", kSource, allowed));
    }
  }
  return {};
}

// doc[key] as a string of at most kMaxFieldBytes; "" when absent and not `required`.
Result<std::string> StringField(const json& doc, std::string_view key, bool required) {
  const auto it = doc.find(key);
  if (it == doc.end()) {
    if (!required) return std::string();
    return Fail(ErrorCode::kInvalidArgument, fmt::format("{}: \"{}\" is missing", kSource, key));
  }
  if (!it->is_string()) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("{}: \"{}\" must be a string", kSource, key));
  }
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > kMaxFieldBytes) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("{}: \"{}\" is longer than {} bytes", kSource, key, kMaxFieldBytes));
  }
  return s;
}

Result<std::string> ServiceName(std::string name) {
  if (auto ok = ValidateServiceName(name); !ok) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("{}: \"name\" is not a service name (lowercase DNS labels joined by "
                            "dots, such as web or mssql.instance1)",
                            kSource));
  }
  return name;
}

}  // namespace

Result<AssignBody> ParseAssignBody(std::string_view body) {
  const json doc = BERTH_TRY(ParseObject(body));
  BERTH_TRY(OnlyKnownFields(
      doc, {"name", "group", "proto", "size", "port", "allow_iana", "owner", "description"}));
  AssignBody out;
  std::string name = BERTH_TRY(StringField(doc, "name", true));
  out.name = BERTH_TRY(ServiceName(std::move(name)));
  out.group = BERTH_TRY(StringField(doc, "group", false));
  out.owner = BERTH_TRY(StringField(doc, "owner", false));
  out.description = BERTH_TRY(StringField(doc, "description", false));
  const std::string proto = BERTH_TRY(StringField(doc, "proto", false));
  if (!proto.empty()) {
    auto p = ParseServiceProto(proto);
    if (!p) {
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("{}: \"proto\" must be tcp, udp or both", kSource));
    }
    out.proto = *p;
  }
  if (auto it = doc.find("size"); it != doc.end()) {
    if (!it->is_number_unsigned() || it->get<std::uint64_t>() < 1 ||
        it->get<std::uint64_t>() > kMaxServiceSize) {
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("{}: \"size\" must be a whole number of ports 1-{}", kSource,
                              kMaxServiceSize));
    }
    out.size = static_cast<std::uint32_t>(it->get<std::uint64_t>());
  }
  if (auto it = doc.find("port"); it != doc.end()) {
    if (!it->is_number_unsigned() || it->get<std::uint64_t>() < 1 ||
        it->get<std::uint64_t>() > 65535) {
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("{}: \"port\" must be a whole number 1-65535", kSource));
    }
    out.port = static_cast<Port>(it->get<std::uint64_t>());
  }
  if (auto it = doc.find("allow_iana"); it != doc.end()) {
    if (!it->is_boolean()) {
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("{}: \"allow_iana\" must be true or false", kSource));
    }
    out.allow_iana = it->get<bool>();
  }
  return out;
}

Result<ReleaseBody> ParseReleaseBody(std::string_view body) {
  const json doc = BERTH_TRY(ParseObject(body));
  BERTH_TRY(OnlyKnownFields(doc, {"name", "names"}));
  ReleaseBody out;
  if (doc.contains("name")) out.names.push_back(BERTH_TRY(StringField(doc, "name", true)));
  if (const auto it = doc.find("names"); it != doc.end()) {
    if (!it->is_array() || it->size() > kMaxReleaseNames) {
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("{}: \"names\" must be an array of at most {} strings", kSource,
                              kMaxReleaseNames));
    }
    for (const json& n : *it) {
      if (!n.is_string() || n.get_ref<const std::string&>().size() > kMaxFieldBytes) {
        return Fail(ErrorCode::kInvalidArgument,
                    fmt::format("{}: \"names\" must hold strings of at most {} bytes", kSource,
                                kMaxFieldBytes));
      }
      out.names.push_back(n.get<std::string>());
    }
  }
  if (out.names.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("{}: give \"name\" or \"names\" (the services to release)", kSource));
  }
  for (std::string& n : out.names) n = BERTH_TRY(ServiceName(std::move(n)));
  return out;
}

}  // namespace berth::server
