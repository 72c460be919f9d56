#include "core/port.h"

#include <algorithm>
#include <charconv>

#include <fmt/core.h>

namespace berth {

std::string_view ProtocolName(Protocol p) { return p == Protocol::kTcp ? "tcp" : "udp"; }

Result<Protocol> ParseProtocol(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (lower == "tcp") return Protocol::kTcp;
  if (lower == "udp") return Protocol::kUdp;
  return Fail(ErrorCode::kInvalidArgument,
              fmt::format("unknown protocol '{}': use tcp or udp", text));
}

namespace {

Result<Port> ParsePort(std::string_view text, std::string_view whole) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value > 65535) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("'{}' is not a port: use a number 0-65535 or a range LOW-HIGH", whole));
  }
  return static_cast<Port>(value);
}

}  // namespace

Result<PortRange> ParsePortRange(std::string_view text) {
  auto dash = text.find('-');
  if (dash == std::string_view::npos) {
    Port p = BERTH_TRY(ParsePort(text, text));
    return PortRange{p, p};
  }
  Port low = BERTH_TRY(ParsePort(text.substr(0, dash), text));
  Port high = BERTH_TRY(ParsePort(text.substr(dash + 1), text));
  if (low > high) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("'{}' is reversed: write the lower port first", text));
  }
  return PortRange{low, high};
}

PortSet::PortSet(std::initializer_list<PortRange> ranges) {
  for (PortRange r : ranges) Add(r);
}

Result<PortSet> PortSet::Parse(std::string_view text) {
  PortSet set;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ',' || text[i] == ' ' || text[i] == '\t' ||
                               text[i] == '\n')) {
      ++i;
    }
    std::size_t j = i;
    while (j < text.size() && text[j] != ',' && text[j] != ' ' && text[j] != '\t' &&
           text[j] != '\n') {
      ++j;
    }
    if (j > i) set.Add(BERTH_TRY(ParsePortRange(text.substr(i, j - i))));
    i = j;
  }
  return set;
}

void PortSet::Add(PortRange r) {
  // Find the first range that ends at or after r.low - 1 (adjacent ranges merge).
  auto it = std::lower_bound(ranges_.begin(), ranges_.end(), r, [](PortRange a, PortRange b) {
    return std::uint32_t{a.high} + 1 < b.low;
  });
  auto last = it;
  while (last != ranges_.end() && last->low <= std::uint32_t{r.high} + 1) {
    r.low = std::min(r.low, last->low);
    r.high = std::max(r.high, last->high);
    ++last;
  }
  it = ranges_.erase(it, last);
  ranges_.insert(it, r);
}

void PortSet::Add(const PortSet& other) {
  for (PortRange r : other.ranges_) Add(r);
}

void PortSet::Subtract(PortRange cut) {
  std::vector<PortRange> out;
  out.reserve(ranges_.size() + 1);
  for (PortRange r : ranges_) {
    if (!r.overlaps(cut)) {
      out.push_back(r);
      continue;
    }
    if (r.low < cut.low) out.push_back({r.low, static_cast<Port>(cut.low - 1)});
    if (r.high > cut.high) out.push_back({static_cast<Port>(cut.high + 1), r.high});
  }
  ranges_ = std::move(out);
}

void PortSet::Subtract(const PortSet& other) {
  for (PortRange r : other.ranges_) Subtract(r);
}

PortSet PortSet::Intersect(PortRange r) const {
  PortSet out;
  for (PortRange a : ranges_) {
    if (a.overlaps(r)) out.ranges_.push_back({std::max(a.low, r.low), std::min(a.high, r.high)});
  }
  return out;
}

PortSet PortSet::Intersect(const PortSet& other) const {
  PortSet out;
  for (PortRange r : other.ranges_) out.Add(Intersect(r));
  return out;
}

bool PortSet::contains(Port p) const {
  auto it = std::lower_bound(ranges_.begin(), ranges_.end(), p,
                             [](PortRange a, Port v) { return a.high < v; });
  return it != ranges_.end() && it->low <= p;
}

std::uint32_t PortSet::count() const {
  std::uint32_t n = 0;
  for (PortRange r : ranges_) n += r.size();
  return n;
}

std::string PortSet::Format() const {
  std::string out;
  for (PortRange r : ranges_) {
    if (!out.empty()) out += ',';
    out += FormatRange(r);
  }
  return out;
}

std::string FormatRange(PortRange r, char sep) {
  return r.low == r.high ? fmt::format("{}", r.low) : fmt::format("{}{}{}", r.low, sep, r.high);
}

}  // namespace berth
