#include "registry/model.h"

namespace berth::registry {

bool SameService(const Service& a, const Service& b) {
  return a.name == b.name && a.proto == b.proto && a.port == b.port && a.group == b.group &&
         a.family == b.family && a.owner == b.owner && a.description == b.description &&
         a.tags == b.tags && a.sources == b.sources;
}

}  // namespace berth::registry
