// The request bodies `berth serve` accepts (docs/api.md): POST /api/v1/assign and
// POST /api/v1/release. Untrusted bytes: the size and nesting are checked before the JSON
// parser runs, every field is checked for type and length, and an unknown field is an error
// (a misspelt field must not be ignored). Messages never quote the body. Pure; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "core/service.h"

namespace berth::server {

inline constexpr std::size_t kMaxRequestBody = 64 * 1024;
inline constexpr int kMaxRequestDepth = 4;
inline constexpr std::size_t kMaxFieldBytes = 1024;
inline constexpr std::size_t kMaxReleaseNames = 256;

struct AssignBody {
  std::string name;                   // checked: ValidateServiceName
  std::string group;                  // "" = default
  std::optional<ServiceProto> proto;  // default tcp
  std::uint32_t size = 1;             // > 1: a range claim of that many ports (1-kMaxServiceSize)
  std::optional<Port> port;           // explicit: checked against every rule (1-65535)
  bool allow_iana = false;            // an explicit port IANA assigns to another service
  std::string owner, description;
};

struct ReleaseBody {
  std::vector<std::string> names;  // at least one, each checked: ValidateServiceName
};

// Failure: kMalformed (not JSON, too deep, too large: "request body: ...") or
// kInvalidArgument (a field missing, unknown, of the wrong type or too long; a bad name).
[[nodiscard]] Result<AssignBody> ParseAssignBody(std::string_view body);
[[nodiscard]] Result<ReleaseBody> ParseReleaseBody(std::string_view body);

}  // namespace berth::server
