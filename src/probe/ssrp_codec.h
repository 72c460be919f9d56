// SQL Server Resolution Protocol ([MC-SQLR]) on the wire: the unicast requests
// (CLNT_UCAST_EX 0x03, CLNT_UCAST_INST 0x04, CLNT_UCAST_DAC 0x0F 0x01, and CLNT_BCAST_EX
// 0x02), SVR_RESP (0x05, le16 size of the data) parsed in any key order, and the DAC reply
// (whose size counts the whole 6-byte packet). Pure; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "core/port.h"

namespace berth::probe {

inline constexpr Port kSsrpPort = 1434;
inline constexpr std::size_t kMaxSsrpReply = 3 + 65535;
inline constexpr std::size_t kMaxSsrpInstances = 1024;
inline constexpr std::size_t kMaxSsrpInstanceName = 32;  // [MC-SQLR] 2.2.3, without the NUL

std::vector<std::byte> EncodeSsrpUcastEx();
std::vector<std::byte> EncodeSsrpBcastEx();
// Failure (kInvalidArgument): empty, longer than 32 bytes, or containing a NUL or ';'.
[[nodiscard]] Result<std::vector<std::byte>> EncodeSsrpInst(std::string_view instance);
[[nodiscard]] Result<std::vector<std::byte>> EncodeSsrpDac(std::string_view instance);

struct SqlInstance {
  std::string server_name;
  std::string instance_name;
  std::string is_clustered;
  std::string version;
  std::optional<Port> tcp_port;  // nullopt: no tcp item (or an unparsable one)
  std::string np;                // named pipe, "" if none
  std::vector<std::pair<std::string, std::string>> other;  // via, rpc, spx, adsp, bv items
  friend bool operator==(const SqlInstance&, const SqlInstance&) = default;
};

// A SVR_RESP datagram. Failure (kMalformed): not type 0x05, a RESP_SIZE that disagrees
// with the datagram, a field over 255 bytes, more than kMaxSsrpInstances records, or a
// record without InstanceName.
[[nodiscard]] Result<std::vector<SqlInstance>> DecodeSsrpResponse(std::span<const std::byte> datagram);

// A DAC SVR_RESP: 05, size le16 = 6, version 01, port le16. Failure (kMalformed) otherwise.
[[nodiscard]] Result<Port> DecodeSsrpDacResponse(std::span<const std::byte> datagram);

}  // namespace berth::probe
