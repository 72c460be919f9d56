#include "core/classify.h"

namespace berth {

Rfc6335Class ClassifyRfc6335(Port p) {
  if (p <= kIanaSystemRange.high) return Rfc6335Class::kSystem;
  if (p <= kIanaUserRange.high) return Rfc6335Class::kUser;
  return Rfc6335Class::kDynamic;
}

std::string_view Rfc6335Name(Rfc6335Class c) {
  switch (c) {
    case Rfc6335Class::kSystem: return "system";
    case Rfc6335Class::kUser: return "user";
    case Rfc6335Class::kDynamic: return "dynamic";
  }
  return "user";
}

std::uint32_t HostPortConfig::usable_ephemeral() const {
  return ephemeral.size() - reserved.Intersect(ephemeral).count();
}

PortClass ClassifyPort(Port p, Protocol proto, const HostPortConfig& config) {
  return PortClass{ClassifyRfc6335(p), config.ephemeral.contains(p), config.reserved.contains(p),
                   IanaLookup(p, proto)};
}

void AppendClassLabel(std::string& out, const PortClass& c) {
  out += Rfc6335Name(c.rfc6335);
  if (c.ephemeral) out += ",ephemeral";
  if (c.reserved) out += ",reserved";
}

std::size_t ClassLabelWidth(const PortClass& c) {
  return Rfc6335Name(c.rfc6335).size() + (c.ephemeral ? std::string_view(",ephemeral").size() : 0) +
         (c.reserved ? std::string_view(",reserved").size() : 0);
}

std::string ClassLabel(const PortClass& c) {
  std::string out;
  AppendClassLabel(out, c);
  return out;
}

}  // namespace berth
