#include "app/registry_ops.h"

#include <algorithm>

#include <fmt/core.h>

namespace berth::app {

Steps<registry::Assignment> Assign(registry::Store& store, registry::HostView host,
                                   std::span<const registry::AssignRequest> requests) {
  Steps<registry::Assignment> out;
  store.Prefetch(registry::HintFor(requests));
  // One transaction: a failing name undoes the names before it. The body starts afresh each
  // time it runs (etcd runs it again after a lost race).
  registry::Allocator alloc(store, std::move(host));
  auto all = store.Atomically([&]() -> Result<void> {
    alloc.Reload();
    out.done.clear();
    for (const registry::AssignRequest& req : requests) {
      out.done.push_back(BERTH_TRY(alloc.Assign(req)));
    }
    return {};
  });
  if (!all) {
    out.done.clear();
    out.failed = std::move(all.error());
    return out;
  }
  // etcd learns the revision of what it claimed at the commit, after the body ran.
  std::optional<std::int64_t> revision;
  for (registry::Assignment& a : out.done) {
    if (a.record.revision != 0) continue;
    if (!revision) {
      const std::int64_t committed = store.CommittedRevision();
      revision = committed != 0 ? committed : store.Revision().value_or(0);
    }
    a.record.revision = *revision;
  }
  return out;
}

Steps<registry::ServiceRecord> Release(registry::Store& store, std::span<const std::string> names,
                                       bool missing_ok) {
  Steps<registry::ServiceRecord> out;
  std::vector<std::string> present;
  for (const std::string& name : names) {
    auto before = store.GetService(name);
    if (!before) {
      out.done.clear();
      out.failed = std::move(before.error());
      return out;
    }
    if (!*before) {
      if (missing_ok) continue;
      out.done.clear();
      out.failed = Error{ErrorCode::kNotFound,
                         fmt::format("'{}' is not registered in {}; nothing was released", name,
                                     store.Location())};
      return out;
    }
    if (std::find(present.begin(), present.end(), name) != present.end()) continue;
    present.push_back(name);
    out.done.push_back(std::move(**before));
  }
  if (present.empty()) return out;
  auto gone = store.ReleaseServices(present);
  if (!gone || !*gone) {
    out.done.clear();
    out.failed = gone ? Error{ErrorCode::kConflict,
                              fmt::format("the registry {} changed while releasing (another "
                                          "process released one of the names); nothing was "
                                          "released: retry",
                                          store.Location())}
                      : std::move(gone.error());
  }
  return out;
}

bool Matches(const ServiceFilter& f, const Service& s) {
  if (!f.group.empty() && s.group != f.group) return false;
  if (!f.family.empty() && s.family != f.family) return false;
  if (!f.owner.empty() && s.owner != f.owner) return false;
  if (!f.proto.empty()) {
    auto p = ParseProtocol(f.proto);
    if (p ? !Covers(s.proto, *p) : ServiceProtoName(s.proto) != f.proto) return false;
  }
  if (!f.tag.empty() && std::find(s.tags.begin(), s.tags.end(), f.tag) == s.tags.end()) return false;
  return true;
}

Result<ServiceList> ListServices(registry::Store& store, const ServiceFilter& filter) {
  ServiceList out;
  auto services = BERTH_TRY(store.ListServices());
  out.revision = BERTH_TRY(store.Revision());
  for (registry::ServiceRecord& r : services) {
    if (Matches(filter, r.service)) out.services.push_back(std::move(r));
  }
  return out;
}

Result<ServiceDetail> ShowService(registry::Store& store, std::string_view name) {
  auto rec = BERTH_TRY(store.GetService(name));
  if (!rec) {
    return Fail(ErrorCode::kNotFound,
                fmt::format("'{}' is not registered in {}", name, store.Location()));
  }
  ServiceDetail out{std::move(*rec), {}};
  out.observations = BERTH_TRY(store.ServiceObservations(name));
  return out;
}

Result<registry::Group> AddToGroup(registry::Store& store, const GroupEdit& edit) {
  if (auto v = ValidateServiceName(edit.name); !v) {
    return Fail(v.error().code, "group " + v.error().message);
  }
  BERTH_TRY(ValidateText("group description", edit.description));
  for (const auto& h : edit.hosts) BERTH_TRY(ValidateText("host", h));
  if (edit.range && edit.range->low == 0) {
    return Fail(ErrorCode::kInvalidArgument, "a group's range starts at port 1 or above");
  }
  registry::Group g = BERTH_TRY(store.GetGroup(edit.name)).value_or(registry::Group{});
  g.name = edit.name;
  if (!edit.description.empty()) g.description = edit.description;
  for (const auto& h : edit.hosts) {
    if (std::find(g.hosts.begin(), g.hosts.end(), h) == g.hosts.end()) g.hosts.push_back(h);
  }
  g.ephemeral.Add(edit.ephemeral);
  g.reserved.Add(edit.reserved);
  g.allow.Add(edit.allow);
  if (edit.range) g.range = *edit.range;
  BERTH_TRY(store.PutGroup(g));
  return g;
}

Result<void> AddFamily(registry::Store& store, const registry::Family& family) {
  if (auto v = ValidateServiceName(family.name); !v) {
    return Fail(v.error().code, "family " + v.error().message);
  }
  BERTH_TRY(ValidateText("family description", family.description));
  if (family.name.find('.') != std::string::npos) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("family '{}': a family name is one label (no dots), since "
                            "'{}.instance1' names its instances",
                            family.name, family.name));
  }
  if (family.base == 0 || family.size == 0 || family.size > 65535) {
    return Fail(ErrorCode::kInvalidArgument, "a family needs a base port 1-65535 and a size 1-65535");
  }
  if (std::uint32_t{family.base} + family.size - 1 > 65535) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("family '{}': a block of {} ports from {} would end at {}, past port "
                            "65535; at most {} fit from that base",
                            family.name, family.size, family.base,
                            std::uint32_t{family.base} + family.size - 1, 65536 - family.base));
  }
  return store.PutFamily(family);
}

}  // namespace berth::app
