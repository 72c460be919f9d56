// A host that answers with whatever snapshot it was last given (a recorded host in memory)
// and remembers what it was asked: for the use-case tests.
#pragma once

#include "core/host_source.h"

namespace berth::test {

class FixedHost final : public HostSource {
 public:
  Result<HostSnapshot> Take(const HostQuery& query) override {
    ++takes;
    last_query = query;
    return snap;
  }
  HostSnapshot snap;
  HostQuery last_query;
  int takes = 0;
};

}  // namespace berth::test
