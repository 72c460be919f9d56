#include "registry/sqlite_rows.h"

#include <fmt/core.h>

#include <nlohmann/json.hpp>

namespace berth::registry::rows {
namespace {

// Lists are stored as JSON arrays. Text is validated where it enters (ValidateText), so this
// only guards a direct caller: bytes that are not UTF-8 become U+FFFD instead of an exception.
std::string JoinList(const std::vector<std::string>& items) {
  return nlohmann::json(items).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<std::vector<std::string>> SplitList(const std::string& text, std::string_view what) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) {
    return Fail(ErrorCode::kMalformed, fmt::format("registry: stored {} is not a list", what));
  }
  std::vector<std::string> out;
  for (const auto& item : j) {
    if (!item.is_string()) {
      return Fail(ErrorCode::kMalformed, fmt::format("registry: stored {} is not a list", what));
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

Result<PortSet> StoredSet(const std::string& text, std::string_view what) {
  auto set = PortSet::Parse(text);
  if (!set) {
    return Fail(ErrorCode::kMalformed,
                fmt::format("registry: stored {} '{}' is not a port list", what, text));
  }
  return *set;
}

Result<Port> StoredPort(std::int64_t v, std::string_view what) {
  if (v < 0 || v > 65535) {
    return Fail(ErrorCode::kMalformed, fmt::format("registry: stored {} {} is not a port", what, v));
  }
  return static_cast<Port>(v);
}

}  // namespace

Result<ServiceRecord> ReadService(const sql::Stmt& s) {
  ServiceRecord r;
  r.service.name = s.Text(0);
  auto proto = ParseServiceProto(s.Text(1));
  if (!proto) return Fail(ErrorCode::kMalformed, "registry: stored protocol is invalid");
  r.service.proto = *proto;
  r.service.port = BERTH_TRY(StoredPort(s.Int(2), "port"));
  r.service.group = s.Text(3);
  r.service.family = s.Text(4);
  r.service.owner = s.Text(5);
  r.service.description = s.Text(6);
  r.service.tags = BERTH_TRY(SplitList(s.Text(7), "tags"));
  r.service.sources = BERTH_TRY(SplitList(s.Text(8), "sources"));
  r.reason = s.Text(9);
  r.service.created = s.Int(10);
  r.service.updated = s.Int(11);
  r.revision = s.Int(12);
  const std::int64_t size = s.Int(13);
  if (size < 1 || size + r.service.port - 1 > 65535) {
    return Fail(ErrorCode::kMalformed, "registry: stored service size is invalid");
  }
  r.service.size = static_cast<std::uint32_t>(size);
  return r;
}

Result<void> BindService(sql::Stmt& s, const ServiceRecord& r) {
  const Service& v = r.service;
  s.Bind(1, v.name).Bind(2, ServiceProtoName(v.proto)).Bind(3, std::int64_t{v.port})
      .Bind(4, v.group).Bind(5, v.family).Bind(6, v.owner).Bind(7, v.description)
      .Bind(8, JoinList(v.tags)).Bind(9, JoinList(v.sources)).Bind(10, r.reason)
      .Bind(11, v.created).Bind(12, v.updated).Bind(13, r.revision)
      .Bind(14, std::int64_t{v.size});
  return {};
}

Result<Group> ReadGroup(const sql::Stmt& s) {
  Group g;
  g.name = s.Text(0);
  g.description = s.Text(1);
  g.hosts = BERTH_TRY(SplitList(s.Text(2), "hosts"));
  g.ephemeral = BERTH_TRY(StoredSet(s.Text(3), "ephemeral ranges"));
  g.reserved = BERTH_TRY(StoredSet(s.Text(4), "reserved ports"));
  g.range.low = BERTH_TRY(StoredPort(s.Int(5), "range"));
  g.range.high = BERTH_TRY(StoredPort(s.Int(6), "range"));
  if (g.range.low > g.range.high) return Fail(ErrorCode::kMalformed, "registry: stored range is reversed");
  g.allow = BERTH_TRY(StoredSet(s.Text(7), "allowlist"));
  return g;
}

void BindGroup(sql::Stmt& s, const Group& g) {
  s.Bind(1, g.name).Bind(2, g.description).Bind(3, JoinList(g.hosts)).Bind(4, g.ephemeral.Format())
      .Bind(5, g.reserved.Format()).Bind(6, std::int64_t{g.range.low})
      .Bind(7, std::int64_t{g.range.high}).Bind(8, g.allow.Format());
}

Result<Family> ReadFamily(const sql::Stmt& s) {
  Family f;
  f.name = s.Text(0);
  f.description = s.Text(1);
  f.base = BERTH_TRY(StoredPort(s.Int(2), "family base"));
  const std::int64_t size = s.Int(3);
  if (size < 1 || size > 65536) return Fail(ErrorCode::kMalformed, "registry: stored family size is invalid");
  f.size = static_cast<std::uint32_t>(size);
  f.skip = BERTH_TRY(StoredSet(s.Text(4), "family skip list"));
  return f;
}

void BindFamily(sql::Stmt& s, const Family& f) {
  s.Bind(1, f.name).Bind(2, f.description).Bind(3, std::int64_t{f.base})
      .Bind(4, std::int64_t{f.size}).Bind(5, f.skip.Format());
}

Observation ReadObservation(const sql::Stmt& s) {
  Observation o;
  o.host = s.Text(0);
  o.service = s.Text(1);
  o.proto = s.Text(2) == "udp" ? Protocol::kUdp : Protocol::kTcp;
  o.port = static_cast<Port>(std::clamp<std::int64_t>(s.Int(3), 0, 65535));
  o.pid = static_cast<int>(std::clamp<std::int64_t>(s.Int(4), 0, 1 << 30));
  o.command = s.Text(5);
  o.first_seen = s.Int(6);
  o.last_seen = s.Int(7);
  return o;
}

}  // namespace berth::registry::rows
