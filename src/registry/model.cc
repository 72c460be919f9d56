#include "registry/model.h"

namespace berth::registry {

std::string_view ReportSourceName(ReportSource source) {
  switch (source) {
    case ReportSource::kAgent: return "agent";
    case ReportSource::kCollected: return "collected";
  }
  return "agent";
}

std::optional<ReportSource> ParseReportSource(std::string_view text) {
  if (text == "agent") return ReportSource::kAgent;
  if (text == "collected") return ReportSource::kCollected;
  return std::nullopt;
}

bool SameService(const Service& a, const Service& b) {
  return a.name == b.name && a.proto == b.proto && a.port == b.port && a.size == b.size && a.group == b.group &&
         a.family == b.family && a.owner == b.owner && a.description == b.description &&
         a.tags == b.tags && a.sources == b.sources;
}

ServiceRecord ReplacedRecord(const Service& s, std::string_view reason, std::int64_t revision,
                             const ServiceRecord* old, std::int64_t now) {
  ServiceRecord rec{s, std::string(reason), revision};
  if (old != nullptr && SameService(old->service, s)) {
    rec.reason = old->reason;
    rec.revision = old->revision;
    rec.service.created = old->service.created;
    rec.service.updated = old->service.updated;
  } else if (old != nullptr && rec.service.created == 0) {
    rec.service.created = old->service.created;
  }
  if (rec.service.created == 0) rec.service.created = now;
  if (rec.service.updated == 0) rec.service.updated = now;
  return rec;
}

}  // namespace berth::registry
