#include "registry/store.h"

namespace berth::registry {

void ClaimIndex::Add(Protocol slot, Port port, std::string service) {
  claimed[slot == Protocol::kTcp ? 0 : 1].Add(port);
  holders[{slot, port}] = std::move(service);
}

void ClaimIndex::Remove(Protocol slot, Port port) {
  claimed[slot == Protocol::kTcp ? 0 : 1].Subtract(PortRange{port, port});
  holders.erase({slot, port});
}

void ClaimIndex::Clear() {
  claimed[0] = {};
  claimed[1] = {};
  holders.clear();
}

std::vector<Claim> ClaimIndex::At(std::string_view group, Port port) const {
  std::vector<Claim> out;
  for (Protocol slot : {Protocol::kTcp, Protocol::kUdp}) {
    if (auto it = holders.find({slot, port}); it != holders.end()) {
      out.push_back(Claim{std::string(group), slot, port, it->second});
    }
  }
  return out;
}

ClaimIndex& Store::IndexOf(std::string_view group) {
  auto it = claim_indexes_.find(group);
  if (it == claim_indexes_.end()) {
    it = claim_indexes_.emplace(std::string(group), std::make_unique<ClaimIndex>()).first;
  }
  return *it->second;
}

Result<const ClaimIndex*> Store::ClaimedPorts(std::string_view group) {
  ClaimIndex& index = IndexOf(group);
  index.Clear();
  for (Claim& c : BERTH_TRY(ListClaims(group))) index.Add(c.slot, c.port, std::move(c.service));
  return &index;
}

}  // namespace berth::registry
