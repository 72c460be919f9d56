// SSRP codec: see ssrp_codec.h.
#include "probe/ssrp_codec.h"

#include <charconv>

#include <fmt/core.h>

#include "base/byte_reader.h"

namespace berth::probe {
namespace {

constexpr std::size_t kMaxField = 255;
constexpr std::size_t kMaxTokens = 65536;

bool KeyIs(std::string_view token, std::string_view key) {
  if (token.size() != key.size()) return false;
  for (std::size_t i = 0; i < key.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(token[i]) != lower(key[i])) return false;
  }
  return true;
}

Result<std::vector<std::byte>> NamedRequest(std::initializer_list<std::uint8_t> head, std::string_view instance) {
  if (instance.empty() || instance.size() > kMaxSsrpInstanceName ||
      instance.find_first_of(std::string_view("\0;", 2)) != std::string_view::npos) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("SQL Server instance name '{}' must be 1..32 bytes without NUL or ';'", instance));
  }
  std::vector<std::byte> out;
  for (std::uint8_t b : head) out.push_back(std::byte{b});
  for (char c : instance) out.push_back(static_cast<std::byte>(c));
  out.push_back(std::byte{0});
  return out;
}

}  // namespace

std::vector<std::byte> EncodeSsrpUcastEx() { return {std::byte{0x03}}; }
std::vector<std::byte> EncodeSsrpBcastEx() { return {std::byte{0x02}}; }
Result<std::vector<std::byte>> EncodeSsrpInst(std::string_view instance) { return NamedRequest({0x04}, instance); }
Result<std::vector<std::byte>> EncodeSsrpDac(std::string_view instance) { return NamedRequest({0x0f, 0x01}, instance); }

Result<std::vector<SqlInstance>> DecodeSsrpResponse(std::span<const std::byte> datagram) {
  ByteReader r(datagram, "SSRP reply");
  const std::uint8_t type = BERTH_TRY(r.U8("SVR_RESP type"));
  if (type != 0x05) return Fail(ErrorCode::kMalformed, fmt::format("SSRP reply: type 0x{:02x}, not SVR_RESP 0x05", type));
  const std::uint16_t size = BERTH_TRY(r.U16Le("RESP_SIZE"));
  if (size != r.remaining()) {
    return Fail(ErrorCode::kMalformed,
                fmt::format("SSRP reply: RESP_SIZE {} but {} bytes of data follow", size, r.remaining()));
  }
  auto data = BERTH_TRY(r.Bytes(size, "RESP_DATA"));
  // RESP_DATA is MBCS text without a NUL; keep it as bytes (Latin-1) and split at ';'.
  std::vector<std::string_view> tokens;
  std::string text;
  text.reserve(data.size());
  for (std::byte b : data) text.push_back(static_cast<char>(b));
  std::string_view rest = text;
  while (true) {
    if (tokens.size() >= kMaxTokens) return Fail(ErrorCode::kMalformed, "SSRP reply: too many fields");
    const std::size_t semi = rest.find(';');
    tokens.push_back(rest.substr(0, semi));
    if (semi == std::string_view::npos) break;
    rest = rest.substr(semi + 1);
  }
  std::vector<SqlInstance> out;
  SqlInstance* cur = nullptr;
  const auto value = [&](std::size_t i, std::string_view key) -> Result<std::string> {
    if (i >= tokens.size()) return Fail(ErrorCode::kMalformed, fmt::format("SSRP reply: {} has no value", key));
    if (tokens[i].size() > kMaxField) {
      return Fail(ErrorCode::kMalformed, fmt::format("SSRP reply: {} value longer than {} bytes", key, kMaxField));
    }
    return std::string(tokens[i]);
  };
  std::size_t i = 0;
  while (i < tokens.size()) {
    const std::string_view key = tokens[i];
    if (key.empty()) {  // ";;" ends a record; stray empties are harmless
      ++i;
      continue;
    }
    if (KeyIs(key, "ServerName")) {
      if (out.size() >= kMaxSsrpInstances) {
        return Fail(ErrorCode::kMalformed, fmt::format("SSRP reply: more than {} instances", kMaxSsrpInstances));
      }
      out.emplace_back();
      cur = &out.back();
      cur->server_name = BERTH_TRY(value(i + 1, key));
      i += 2;
      continue;
    }
    if (cur == nullptr) {
      return Fail(ErrorCode::kMalformed, fmt::format("SSRP reply: '{}' before any ServerName", key.substr(0, 32)));
    }
    const std::size_t values = KeyIs(key, "bv") ? 3 : 1;
    std::string v = BERTH_TRY(value(i + 1, key));
    for (std::size_t k = 1; k < values; ++k) v += ";" + BERTH_TRY(value(i + 1 + k, key));
    if (KeyIs(key, "InstanceName")) cur->instance_name = std::move(v);
    else if (KeyIs(key, "IsClustered")) cur->is_clustered = std::move(v);
    else if (KeyIs(key, "Version")) cur->version = std::move(v);
    else if (KeyIs(key, "np")) cur->np = std::move(v);
    else if (KeyIs(key, "tcp")) {
      unsigned port = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), port);
      if (ec == std::errc{} && p == v.data() + v.size() && port > 0 && port <= 0xffff) {
        cur->tcp_port = static_cast<Port>(port);
      }
    } else {
      if (cur->other.size() >= 64) return Fail(ErrorCode::kMalformed, "SSRP reply: too many protocol items");
      cur->other.emplace_back(std::string(key.substr(0, kMaxField)), std::move(v));
    }
    i += 1 + values;
  }
  for (const SqlInstance& s : out) {
    if (s.instance_name.empty()) {
      return Fail(ErrorCode::kMalformed, fmt::format("SSRP reply: a record of server '{}' has no InstanceName", s.server_name));
    }
  }
  return out;
}

Result<Port> DecodeSsrpDacResponse(std::span<const std::byte> datagram) {
  ByteReader r(datagram, "SSRP DAC reply");
  const std::uint8_t type = BERTH_TRY(r.U8("SVR_RESP type"));
  const std::uint16_t size = BERTH_TRY(r.U16Le("RESP_SIZE"));
  const std::uint8_t version = BERTH_TRY(r.U8("PROTOCOLVERSION"));
  const std::uint16_t port = BERTH_TRY(r.U16Le("TCP_DAC_PORT"));
  // Here RESP_SIZE counts the whole packet ([MC-SQLR] 2.2.6).
  if (type != 0x05 || size != 6 || version != 1 || !r.empty() || port == 0) {
    return Fail(ErrorCode::kMalformed,
                fmt::format("SSRP DAC reply: expected 05 06 00 01 <port>, got type 0x{:02x} size {} "
                            "version {} and {} bytes", type, size, version, datagram.size()));
  }
  return port;
}

}  // namespace berth::probe
