#include "emit/plan_render.h"

#include "emit/json_writer.h"

namespace berth {
namespace {

std::string_view KindName(registry::Change::Kind k) {
  switch (k) {
    case registry::Change::Kind::kAdd: return "add";
    case registry::Change::Kind::kChange: return "change";
    case registry::Change::Kind::kRemove: return "remove";
  }
  return "change";
}

std::string_view OutcomeName(PlanOutcome o) {
  switch (o) {
    case PlanOutcome::kPlanned: return "planned";
    case PlanOutcome::kApplied: return "applied";
    case PlanOutcome::kRefused: return "refused";
  }
  return "planned";
}

}  // namespace

void RenderPlanJson(std::span<const registry::Change> changes,
                    const std::vector<std::string>& warnings, PlanOutcome outcome,
                    const Sink& sink) {
  JsonWriter j(JsonLayout::kPretty);
  j.BeginObject().Key("changes").BeginArray();
  for (const registry::Change& c : changes) {
    j.BeginObject()
        .Field("detail", c.detail)
        .Field("kind", KindName(c.kind))
        .Field("name", c.name)
        .Field("what", c.what)
        .EndObject();
  }
  j.EndArray().Field("schema", kPlanSchema).Field("status", OutcomeName(outcome));
  j.StringArray("warnings", warnings).EndObject();
  j.buffer() += '\n';
  sink(j.Take());
}

}  // namespace berth
