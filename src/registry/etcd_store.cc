#include "registry/etcd_store.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <tuple>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/text.h"
#include "registry/etcd_records.h"

namespace berth::registry {
namespace {

using etcd::Compare;
using etcd::CompareResult;
using etcd::CompareTarget;
using etcd::KeyValue;
using etcd::Op;
using Clock = std::chrono::steady_clock;

constexpr int kPointerSchema = 1;
constexpr std::int64_t kPageSize = 1000;
constexpr std::int64_t kApplyLeaseTtl = 30;  // seconds; kept alive while apply writes


std::string PointerValue(const std::string& gen) {
  return nlohmann::json{{"schema", kPointerSchema}, {"generation", gen}}.dump();
}

Result<std::string> ParsePointer(std::string_view value, std::string_view key) {
  auto j = nlohmann::json::parse(value.size() <= 4096 ? value : std::string_view(), nullptr, false);
  if (!j.is_object() || !j.contains("schema") || !j["schema"].is_number_integer() ||
      !j.contains("generation") || !j["generation"].is_string()) {
    return Fail(ErrorCode::kMalformed,
                fmt::format("etcd key {} is not a berth registry pointer; berth will not modify "
                            "the registry there: choose another prefix",
                            TerminalSafe(key, 200)),
                {{Remedy::kChooseRegistry}});
  }
  const auto schema = j["schema"].get<std::int64_t>();
  if (schema != kPointerSchema) {
    return Fail(ErrorCode::kMalformed,
                fmt::format("the registry at etcd key {} has schema {}, which this berth does "
                            "not know (it knows {}): upgrade berth",
                            TerminalSafe(key, 200), schema, kPointerSchema),
                {{Remedy::kChooseRegistry}});
  }
  std::string gen = j["generation"].get<std::string>();
  if (gen.empty() || gen.size() > 64 || etcd::KeyPart(gen) != gen) {
    return Fail(ErrorCode::kMalformed,
                fmt::format("etcd key {} names a generation berth never writes", TerminalSafe(key, 200)));
  }
  return gen;
}

Compare Cmp(std::string key, CompareTarget target, CompareResult result, std::int64_t number,
             std::string range_end = {}) {
  Compare c;
  c.key = std::move(key);
  c.range_end = std::move(range_end);
  c.target = target;
  c.result = result;
  c.number = number;
  return c;
}

Op PutOp(std::string key, std::string value, std::int64_t lease = 0) {
  Op op;
  op.kind = Op::Kind::kPut;
  op.key = std::move(key);
  op.value = std::move(value);
  op.lease = lease;
  return op;
}

Op DeleteOp(std::string key, std::string range_end = {}) {
  Op op;
  op.kind = Op::Kind::kDelete;
  op.key = std::move(key);
  op.range_end = std::move(range_end);
  return op;
}

Op RangeOp(std::string key) {
  Op op;
  op.kind = Op::Kind::kRange;
  op.key = std::move(key);
  return op;
}

std::string PortKey(Port p) { return fmt::format("{:05}", p); }

// A claim key: DIR/claims/GROUP/SLOT/PORT, or .../LOW-HIGH for a range claim (one key for the
// whole block, so that a range of any size is one write; docs/etcd-store.md, "Range claims").
std::string ClaimKey(std::string_view dir, std::string_view group, Protocol slot, PortRange ports) {
  return fmt::format("{}claims/{}/{}/{}{}", dir, etcd::KeyPart(group), ProtocolName(slot),
                     PortKey(ports.low), ports.low == ports.high ? "" : "-" + PortKey(ports.high));
}

// A group's range guard, DIR/claims/GROUP/ranges: present once the group has held a range,
// rewritten by every range claim. A one-port claim compares it, so a range claimed meanwhile
// sends it back to look again.
std::string RangesGuard(std::string_view dir, std::string_view group) {
  return fmt::format("{}claims/{}/ranges", dir, etcd::KeyPart(group));
}

// A claim key's last part, "PORT" or "LOW-HIGH"; nullopt for anything berth does not write.
std::optional<PortRange> ParseClaimPorts(std::string_view text) {
  auto port = [](std::string_view digits) -> std::optional<Port> {
    int n = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc() || end != digits.data() + digits.size() || n < 1 || n > 65535) {
      return std::nullopt;
    }
    return static_cast<Port>(n);
  };
  const auto dash = text.find('-');
  if (dash == std::string_view::npos) {
    auto p = port(text);
    if (!p) return std::nullopt;
    return PortRange{*p, *p};
  }
  auto low = port(text.substr(0, dash));
  auto high = port(text.substr(dash + 1));
  if (!low || !high || *low >= *high || std::uint32_t{*high} - *low + 1 > kMaxServiceSize) {
    return std::nullopt;
  }
  return PortRange{*low, *high};
}

// The mark of a group's claims: DIR/claims/GROUP/ (a listing prefix) -> DIR/marks/GROUP; "" for
// any other prefix or key.
std::string MarkOf(std::string_view dir, std::string_view key, std::string_view kind = "marks") {
  const std::string claims = std::string(dir) + "claims/";
  if (!key.starts_with(claims)) return {};
  const std::string_view rest = key.substr(claims.size());
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0) return {};
  return fmt::format("{}{}/{}", dir, kind, rest.substr(0, slash));
}

// The freed mark of a group's claims, DIR/freed/GROUP: put by every commit that deletes one of
// the group's claims, so its mod_revision moves whenever a claim goes (a guide compares it:
// docs/etcd-store.md, "Guided claims"). FreedOf: of a claim key or prefix, "" for others.
std::string FreedKey(std::string_view dir, std::string_view group) {
  return fmt::format("{}freed/{}", dir, etcd::KeyPart(group));
}
std::string FreedOf(std::string_view dir, std::string_view key) { return MarkOf(dir, key, "freed"); }

// A one-port claim key under `prefix` (DIR/claims/GROUP/): its slot directory and port.
std::optional<std::pair<std::string, Port>> ClaimSlotPort(std::string_view prefix, std::string_view key) {
  if (!key.starts_with(prefix)) return std::nullopt;
  const std::string_view rest = key.substr(prefix.size());
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const auto ports = ParseClaimPorts(rest.substr(slash + 1));
  if (!ports || ports->low != ports->high) return std::nullopt;
  return std::pair{std::string(key.substr(0, prefix.size() + slash + 1)), ports->low};
}

// The claims a lost guided claim reads back beyond its port, so that the next try chooses from
// what is taken there without another round trip.
constexpr std::uint32_t kClaimWindow = 64;

// Keys whose answers a store keeps between operations, to start a guided assign without a read
// (the commit compares each): the groups, families, range guards and freed marks. Not services
// (a new name's record is guessed absent) nor claims (the listings keep those).
bool Remembered(std::string_view dir, std::string_view key) {
  if (!key.starts_with(dir)) return false;
  const std::string_view rest = key.substr(dir.size());
  return rest.starts_with("groups/") || rest.starts_with("families/") ||
         rest.starts_with("freed/") || (rest.starts_with("claims/") && rest.ends_with("/ranges"));
}
constexpr std::size_t kRememberedMax = 4096;

}  // namespace

// One optimistic transaction: the snapshot it reads at, what it read, what it will write.
struct EtcdStore::Stm {
  bool started = false;
  std::int64_t rev = 0;          // the snapshot every read is made at
  std::string gen;               // the generation the registry is in
  std::string gen_value;         // the pointer's text as read; "" when there is none yet
  std::int64_t gen_mod = 0;      // the pointer's mod_revision
  // Keys read one by one: each becomes a compare at the commit.
  std::map<std::string, std::optional<KeyValue>> reads;
  // Prefixes listed, with what they held at `rev`. A listing is not compared at the commit: it
  // only guides a choice (a port that looks free), and what the choice relies on is read or
  // created key by key (a claim key created only while absent), so that concurrent assigns in
  // one group do not conflict unless they want the same port.
  std::vector<std::pair<std::string, std::string>> ranges;
  std::map<std::string, KeyValue> listed;
  std::map<std::string, std::optional<std::string>> writes;  // nullopt: delete
  std::map<std::string, std::optional<KeyValue>> prefetch;   // a lost txn's answers
  std::map<std::string, std::int64_t> marks;  // a group's claims prefix -> its mark's version at rev
  std::set<std::string> current;  // prefixes whose listing was brought to `rev` (ClaimedPorts)
  std::set<std::string> guided;   // prefixes whose listing guides (ClaimsToGuide): absent = guessed
  // Started from what the store remembered, without a read (`rev` 0): every answer is a guess
  // the commit checks. A step that needs a read, or ends without a commit, runs again on reads.
  bool speculative = false;
  bool missed = false;         // a speculative step needed a read: run it again
  bool no_speculation = false;
  PrefetchHint hint;           // a speculative step's hint, for its run on reads

  std::string Key(std::string_view kind, std::string_view name) const;
  bool Covered(const std::string& key) const {
    return std::any_of(ranges.begin(), ranges.end(), [&](const auto& r) {
      return key >= r.first && key < r.second;
    });
  }
};

struct EtcdStore::Committed {
  bool succeeded = false;
  std::int64_t revision = 0;
  std::unique_ptr<Stm> retry;  // the next attempt, primed with what the lost txn read
};

EtcdStore::EtcdStore(EtcdOptions options)
    : options_(std::move(options)),
      client_(options_.endpoints, HttpLimits{5000, options_.deadline_ms, etcd::kMaxResponseBytes},
              options_.security) {}

EtcdStore::~EtcdStore() = default;

Result<std::unique_ptr<EtcdStore>> EtcdStore::Open(const EtcdOptions& options, OpenMode) {
  if (options.endpoints.empty() || options.prefix.empty() || options.prefix.front() != '/') {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("{}: an etcd store needs endpoints and a /PREFIX",
                            CommentText(options.url)));
  }
  return std::unique_ptr<EtcdStore>(new EtcdStore(options));
}

std::string EtcdStore::GenKey() const { return options_.prefix + "/gen"; }
std::string EtcdStore::Dir(const std::string& gen) const {
  return options_.prefix + "/g/" + gen + "/";
}

// Each endpoint's own status, 1 s at most each.
std::vector<StoreMember> EtcdStore::Members() {
  std::vector<StoreMember> out;
  for (std::size_t i = 0; i < client_.endpoints().size(); ++i) {
    StoreMember m;
    m.endpoint = client_.endpoints()[i];
    auto st = client_.Status(i, 1000);
    if (st) {
      m.answered = true;
      m.version = st->version;
      m.has_leader = st->leader != 0;
      m.revision = st->revision;
      m.db_size = st->db_size;
    } else {
      m.error = st.error().message;
    }
    out.push_back(std::move(m));
  }
  return out;
}

Error EtcdStore::Explain(Error e, bool write) {
  if (e.code != ErrorCode::kUnavailable && e.code != ErrorCode::kTimeout &&
      e.code != ErrorCode::kInternal) {
    return e;
  }
  const auto all = Members();
  std::size_t answered = 0, with_leader = 0;
  for (const auto& m : all) {
    answered += m.answered ? 1 : 0;
    with_leader += m.answered && m.has_leader ? 1 : 0;
  }
  if (with_leader * 2 > all.size()) return e;
  const std::string leaders = answered == 0        ? std::string()
                              : with_leader == 0   ? std::string(", none with a leader")
                                                   : fmt::format(", {} with a leader", with_leader);
  return Error{ErrorCode::kUnavailable,
               fmt::format("etcd has no quorum ({} of {} members answer{}) at {}: {}; start the "
                           "stopped members, or wait for the cluster to elect a leader, then "
                           "retry (the request: {})",
                           answered, all.size(), leaders, CommentText(options_.url),
                           write ? "nothing was written" : "nothing was read or written",
                           e.message)};
}

Result<std::vector<KeyValue>> EtcdStore::RangeAt(const std::string& key, const std::string& end,
                                                 std::int64_t revision) {
  std::vector<KeyValue> out;
  etcd::RangeRequest req;
  req.key = key;
  req.range_end = end;
  req.revision = revision;
  req.serializable = options_.stale;
  req.limit = kPageSize;
  for (;;) {
    auto page = client_.Range(req);
    if (!page) return std::unexpected(Explain(page.error(), false));
    for (KeyValue& kv : page->kvs) out.push_back(std::move(kv));
    if (!page->more || out.empty()) break;
    req.key = out.back().key + std::string(1, '\0');
  }
  return out;
}

Result<EtcdStore::Listing*> EtcdStore::Refresh(const std::string& prefix, const std::string& end,
                                               std::int64_t revision, std::int64_t mark) {
  auto it = listings_.find(prefix);
  ClaimIndex* index = it == listings_.end() ? nullptr : it->second.index;
  if (it != listings_.end() && it->second.rev <= revision) {
    Listing& l = it->second;
    if (l.rev < revision && mark >= 0 && l.mark == mark) l.rev = revision;  // nothing changed
    if (l.rev == revision) return &l;
    etcd::RangeRequest req;
    req.key = prefix;
    req.range_end = end;
    req.revision = revision;
    req.serializable = options_.stale;
    req.min_mod_revision = l.rev + 1;
    auto page = client_.Range(req);
    if (!page) return std::unexpected(Explain(page.error(), false));
    if (!page->more) {  // else too many changes: list it whole below
      for (KeyValue& kv : page->kvs) {
        if (l.index != nullptr) IndexClaim(*l.index, prefix, kv.key, &kv.value);
        std::string k = kv.key;
        l.kvs[std::move(k)] = std::move(kv);
      }
      etcd::RangeRequest count;
      count.key = prefix;
      count.range_end = end;
      count.revision = revision;
      count.serializable = options_.stale;
      count.count_only = true;
      auto n = client_.Range(count);
      if (!n) return std::unexpected(Explain(n.error(), false));
      if (n->count == static_cast<std::int64_t>(l.kvs.size())) {  // nothing was deleted
        l.rev = revision;
        l.mark = mark;
        return &l;
      }
    }
  }
  std::vector<KeyValue> all = BERTH_TRY(RangeAt(prefix, end, revision));
  Listing fresh;
  fresh.rev = revision;
  fresh.mark = mark;
  for (KeyValue& kv : all) {
    std::string k = kv.key;
    fresh.kvs.emplace(std::move(k), std::move(kv));
  }
  Listing& l = listings_[prefix] = std::move(fresh);
  if (index != nullptr) AttachIndex(l, prefix, *index);
  return &l;
}

Result<std::vector<KeyValue>> EtcdStore::ListAt(const std::string& prefix, const std::string& end,
                                                std::int64_t revision, std::int64_t mark) {
  const Listing* l = BERTH_TRY(Refresh(prefix, end, revision, mark));
  std::vector<KeyValue> out;
  out.reserve(l->kvs.size());
  for (const auto& [k, kv] : l->kvs) out.push_back(kv);
  return out;
}

// A key of a group's claims listing, PREFIX/SLOT/PORT, into the index (`value`: its holder;
// null: the claim is gone). Keys berth never writes are left to 'berth store check'.
void EtcdStore::IndexClaim(ClaimIndex& index, std::string_view prefix, std::string_view key,
                           const std::string* value) {
  if (!key.starts_with(prefix)) return;
  const std::string_view rest = key.substr(prefix.size());
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos) return;
  auto slot = ParseProtocol(rest.substr(0, slash));
  const auto ports = ParseClaimPorts(rest.substr(slash + 1));
  if (!slot || !ports) return;
  for (std::uint32_t p = ports->low; p <= ports->high; ++p) {
    if (value != nullptr) {
      index.Add(*slot, static_cast<Port>(p), *value);
    } else {
      index.Remove(*slot, static_cast<Port>(p));
    }
  }
}

void EtcdStore::AttachIndex(Listing& l, std::string_view prefix, ClaimIndex& index) {
  for (auto& [p, other] : listings_) {
    if (other.index == &index) other.index = nullptr;  // another generation's listing
  }
  l.index = &index;
  index.Clear();
  for (const auto& [k, kv] : l.kvs) IndexClaim(index, prefix, k, &kv.value);
}

Result<const ClaimIndex*> EtcdStore::ClaimedPorts(std::string_view group) {
  return Run<const ClaimIndex*>([&](Stm& t) -> Result<const ClaimIndex*> {
    BERTH_TRY(Begin(t));
    if (t.speculative) return Miss(t);
    const std::string dir = Dir(t.gen);
    const std::string prefix = dir + "claims/" + etcd::KeyPart(group) + "/";
    const auto mark = t.marks.find(prefix);
    Listing* l = BERTH_TRY(Refresh(prefix, etcd::PrefixEnd(prefix), t.rev,
                                   mark == t.marks.end() ? -1 : mark->second));
    // Whole at t.rev: sound with the freed mark read at the same revision, when it was.
    if (auto f = t.prefetch.find(FreedKey(dir, group)); f != t.prefetch.end()) {
      l->freed = f->second ? f->second->mod_revision : 0;
    } else {
      l->freed = -1;
    }
    if (ClaimIndex& index = IndexOf(group); l->index != &index) AttachIndex(*l, prefix, index);
    t.current.insert(prefix);  // Get serves this prefix's keys from the listing
    // This step's own writes are not in the listing until they commit: the caller (the
    // allocator) holds what it claimed itself.
    return static_cast<const ClaimIndex*>(l->index);
  });
}

Result<const ClaimIndex*> EtcdStore::ClaimsToGuide(std::string_view group) {
  if (options_.stale) return ClaimedPorts(group);
  return Run<const ClaimIndex*>([&](Stm& t) -> Result<const ClaimIndex*> {
    BERTH_TRY(Begin(t));
    const std::string dir = Dir(t.gen);
    // A group that holds ranges needs them all: a range over a port is no key of that port.
    if (BERTH_TRY(Get(t, RangesGuard(dir, group)))) return ClaimedPorts(group);
    const std::string prefix = dir + "claims/" + etcd::KeyPart(group) + "/";
    const std::string end = etcd::PrefixEnd(prefix);
    // Compared at the commit: no claim of the group is released meanwhile.
    const auto freed_kv = BERTH_TRY(Get(t, FreedKey(dir, group)));
    const std::int64_t freed = freed_kv ? freed_kv->mod_revision : 0;
    auto it = listings_.find(prefix);
    if (it != listings_.end() && it->second.freed != freed) {
      // A claim was released since the listing was known sound: it may hold it still. Read
      // the group whole once (a store that guides many claims), or start an empty guide.
      if (t.speculative) return Miss(t);
      const bool had = !it->second.kvs.empty();
      listings_.erase(it);
      it = listings_.end();
      if (had) {
        BERTH_TRY(Refresh(prefix, end, t.rev, -1))->freed = freed;
        it = listings_.find(prefix);
      }
    }
    if (it == listings_.end()) {  // nothing known: an empty guide (the claim finds out)
      it = listings_.emplace(prefix, Listing{}).first;
      it->second.freed = freed;
    }
    Listing& l = it->second;
    if (ClaimIndex& index = IndexOf(group); l.index != &index) AttachIndex(l, prefix, index);
    // What this step read of the group at its snapshot (a lost commit's answers and the claims
    // beyond its port): each such claim exists, and a window's absent key does not.
    auto know = [&](const std::string& key, const std::optional<KeyValue>& kv) {
      if (!ClaimSlotPort(prefix, key)) return;
      auto have = l.kvs.find(key);
      if (kv) {
        if (have != l.kvs.end() && have->second.mod_revision == kv->mod_revision) return;
        IndexClaim(*l.index, prefix, key, &kv->value);
        l.kvs[key] = *kv;
      } else if (have != l.kvs.end()) {
        IndexClaim(*l.index, prefix, key, nullptr);
        l.kvs.erase(have);
      } else {
        return;
      }
      l.mark = -1;
    };
    for (const auto& [key, kv] : t.prefetch) know(key, kv);
    for (const auto& [key, kv] : t.reads) know(key, kv);
    for (const auto& [from, to] : t.ranges) {
      if (from < prefix || from >= end) continue;
      std::vector<std::string> gone;
      for (auto k = l.kvs.lower_bound(from); k != l.kvs.end() && k->first < to; ++k) {
        if (!t.listed.contains(k->first)) gone.push_back(k->first);
      }
      for (const std::string& k : gone) know(k, std::nullopt);
      for (auto k = t.listed.lower_bound(from); k != t.listed.end() && k->first < to; ++k) {
        know(k->first, k->second);
      }
    }
    t.guided.insert(prefix);
    return static_cast<const ClaimIndex*>(l.index);
  });
}

void EtcdStore::KnowPointer(const std::string& gen, const std::string& value, std::int64_t mod) {
  if (gen != known_gen_) known_.clear();  // another generation's keys
  known_gen_ = gen;
  known_gen_value_ = value;
  known_gen_mod_ = mod;
}

void EtcdStore::Remember(const std::string& key, const std::optional<KeyValue>& kv) {
  if (known_gen_.empty() || !Remembered(Dir(known_gen_), key)) return;
  if (known_.size() >= kRememberedMax && !known_.contains(key)) known_.clear();
  known_[key] = kv;
}

std::unexpected<Error> EtcdStore::Miss(Stm& t) {
  t.missed = true;
  return Fail(ErrorCode::kInternal, "a speculative step needed a read");
}

bool EtcdStore::Speculate(Stm& t, PrefetchHint& hint, const std::vector<std::string>& keys) {
  if (t.no_speculation || hint.groups.empty() || known_gen_value_.empty()) return false;
  const std::string dir = Dir(known_gen_);
  std::map<std::string, std::optional<KeyValue>> answers;
  for (const std::string& k : keys) {
    if (auto it = known_.find(k); it != known_.end()) {
      answers.emplace(k, it->second);
    } else if (k.starts_with(dir + "services/") || k.starts_with(dir + "families/")) {
      answers.emplace(k, std::nullopt);  // a new name, a name's first label: absent as a rule
    } else {
      return false;
    }
  }
  t.started = true;
  t.speculative = true;
  t.rev = 0;
  t.gen = known_gen_;
  t.gen_value = known_gen_value_;
  t.gen_mod = known_gen_mod_;
  t.prefetch = std::move(answers);
  t.hint = std::move(hint);
  return true;
}

Result<void> EtcdStore::Begin(Stm& t, const std::vector<std::string>& rel) {
  if (t.started) return {};
  PrefetchHint hint = std::move(hint_);
  hint_ = {};
  auto pointer = [&](const std::vector<KeyValue>& kvs) -> Result<void> {
    t.started = true;
    if (kvs.empty()) {
      t.gen = "1";  // the first write creates the pointer
      return {};
    }
    t.gen_value = kvs.front().value;
    t.gen_mod = kvs.front().mod_revision;
    t.gen = BERTH_TRY(ParsePointer(t.gen_value, GenKey()));
    KnowPointer(t.gen, t.gen_value, t.gen_mod);
    return {};
  };
  if (options_.stale) {  // a read-only txn is always linearizable: a serializable range instead
    etcd::RangeRequest req;
    req.key = GenKey();
    req.serializable = true;
    auto r = client_.Range(req);
    if (!r) return std::unexpected(Explain(r.error(), true));
    t.rev = r->revision;
    return pointer(r->kvs);
  }
  // One read-only txn (etcd serves it linearizably, in one round trip): the pointer, the keys
  // the operation will read, in the generation seen last, and each hinted group's range guard,
  // freed mark and mark. An assign into a group this store has seen needs none of it
  // (Speculate): it starts from what the store remembers, and its commit checks each answer.
  const std::string guess = known_gen_.empty() ? "1" : known_gen_;
  const std::string dir = Dir(guess);
  std::vector<std::string> keys;
  for (const std::string& r : rel) keys.push_back(dir + r);
  for (const std::string& n : hint.services) keys.push_back(t.Key(dir + "services/", n));
  for (const std::string& n : hint.groups) {
    keys.push_back(t.Key(dir + "groups/", n));
    keys.push_back(RangesGuard(dir, n));
    keys.push_back(FreedKey(dir, n));
  }
  for (const std::string& n : hint.families) keys.push_back(t.Key(dir + "families/", n));
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  if (Speculate(t, hint, keys)) return {};
  std::vector<Op> ops{RangeOp(GenKey())};
  for (const std::string& k : keys) {
    if (ops.size() + 1 >= etcd::kMaxTxnOps) break;
    ops.push_back(RangeOp(k));
  }
  const std::size_t fetched = ops.size() - 1;
  // Each hinted group's mark, read at the same revision: a listing made later in this
  // operation is current without a read when its mark has the version it expects (Refresh).
  std::vector<std::string> prefixes;
  for (const std::string& g : hint.groups) {
    if (ops.size() + 1 > etcd::kMaxTxnOps) break;
    prefixes.push_back(dir + "claims/" + etcd::KeyPart(g) + "/");
    ops.push_back(RangeOp(MarkOf(dir, prefixes.back())));
  }
  auto txn = client_.Txn({}, ops, {}, /*read_only=*/true);
  if (!txn) return std::unexpected(Explain(txn.error(), true));  // before any write: none made
  if (txn->responses.size() != ops.size()) {
    return Fail(ErrorCode::kMalformed, "etcd answered a read with the wrong number of responses");
  }
  t.rev = txn->revision;
  BERTH_TRY(pointer(txn->responses[0].range.kvs));
  if (t.gen != guess) return {};  // the keys were another generation's: read them again
  for (std::size_t i = 0; i < fetched; ++i) {
    const auto& kvs = txn->responses[i + 1].range.kvs;
    auto& answer = t.prefetch[keys[i]] =
        kvs.empty() ? std::nullopt : std::optional<KeyValue>(kvs.front());
    Remember(keys[i], answer);
  }
  for (std::size_t i = 0; i < prefixes.size(); ++i) {
    const auto& kvs = txn->responses[1 + fetched + i].range.kvs;
    t.marks[prefixes[i]] = kvs.empty() ? 0 : kvs.front().version;
  }
  return {};
}

void EtcdStore::KeepOwnWrites(const Stm& t, std::int64_t revision) {
  // Applies the writes under `prefix` to `l`; true when there were some (`deleted`: a claim).
  auto apply = [&](Listing& l, const std::string& prefix, bool* deleted = nullptr) {
    const std::string end = etcd::PrefixEnd(prefix);
    bool wrote = false;
    for (auto w = t.writes.lower_bound(prefix); w != t.writes.end() && w->first < end; ++w) {
      wrote = true;
      if (l.index != nullptr) IndexClaim(*l.index, prefix, w->first, w->second ? &*w->second : nullptr);
      if (!w->second) {
        if (deleted != nullptr) *deleted = true;
        l.kvs.erase(w->first);
        continue;
      }
      KeyValue& kv = l.kvs[w->first];
      if (kv.key.empty()) {
        kv.key = w->first;
        kv.create_revision = revision;
        kv.version = 0;
      }
      kv.value = *w->second;
      kv.mod_revision = revision;
      ++kv.version;
    }
    return wrote;
  };
  // A guide keeps being one: its keys still exist, and this commit compared the freed mark, so
  // when it released a claim (and put the mark) nobody else had since the guide was sound.
  for (const std::string& prefix : t.guided) {
    auto it = listings_.find(prefix);
    bool deleted = false;
    if (it == listings_.end() || !apply(it->second, prefix, &deleted)) continue;
    it->second.mark = -1;  // no longer counts the group's writes: an exact use asks for changes
    if (deleted) it->second.freed = revision;  // the commit put the freed mark
  }
  for (const auto& [prefix, mark] : t.marks) {
    auto it = listings_.find(prefix);
    // Only a listing current at the snapshot the writes were made on can take them.
    if (t.guided.contains(prefix) || it == listings_.end() || it->second.rev != t.rev ||
        it->second.mark != mark) {
      continue;
    }
    // The listing stays at t.rev: were another writer's changes between t.rev and this
    // commit, the mark is then more than one version further, and the next read asks for
    // every change since t.rev (this commit's included).
    if (apply(it->second, prefix)) ++it->second.mark;
  }
}

Result<std::optional<KeyValue>> EtcdStore::Get(Stm& t, const std::string& key) {
  BERTH_TRY(Begin(t));
  if (auto w = t.writes.find(key); w != t.writes.end()) {
    if (!w->second) return std::optional<KeyValue>{};
    KeyValue kv;
    kv.key = key;
    kv.value = *w->second;
    return std::optional<KeyValue>{std::move(kv)};
  }
  if (auto r = t.reads.find(key); r != t.reads.end()) return r->second;
  std::optional<KeyValue> got;
  if (auto p = t.prefetch.find(key); p != t.prefetch.end()) {
    got = p->second;
  } else if (t.Covered(key)) {  // listed at the same revision: no round trip
    if (auto l = t.listed.find(key); l != t.listed.end()) got = l->second;
  } else if (const Listing* l = CurrentListing(t, key)) {  // indexed at the same revision
    if (auto kv = l->kvs.find(key); kv != l->kvs.end()) got = kv->second;
  } else if (const Listing* g = GuidedListing(t, key)) {  // absent unless known: compared
    if (auto kv = g->kvs.find(key); kv != g->kvs.end()) got = kv->second;
  } else if (t.speculative) {
    return Miss(t);
  } else {
    auto kvs = BERTH_TRY(RangeAt(key, {}, t.rev));
    if (!kvs.empty()) got = std::move(kvs.front());
  }
  t.reads.emplace(key, got);
  return got;
}

const EtcdStore::Listing* EtcdStore::GuidedListing(const Stm& t, const std::string& key) const {
  for (const std::string& prefix : t.guided) {
    if (!ClaimSlotPort(prefix, key)) continue;  // not a one-port claim of this group
    auto it = listings_.find(prefix);
    if (it != listings_.end()) return &it->second;
  }
  return nullptr;
}

const EtcdStore::Listing* EtcdStore::CurrentListing(const Stm& t, const std::string& key) const {
  for (const std::string& prefix : t.current) {
    if (!key.starts_with(prefix)) continue;
    auto it = listings_.find(prefix);
    if (it != listings_.end() && it->second.rev == t.rev) return &it->second;
  }
  return nullptr;
}

Result<std::vector<KeyValue>> EtcdStore::List(Stm& t, const std::string& prefix) {
  BERTH_TRY(Begin(t));
  if (t.speculative) return Miss(t);
  const std::string end = etcd::PrefixEnd(prefix);
  std::map<std::string, KeyValue> merged;
  const auto mark = t.marks.find(prefix);
  for (KeyValue& kv : BERTH_TRY(ListAt(prefix, end, t.rev, mark == t.marks.end() ? -1 : mark->second))) {
    t.listed[kv.key] = kv;
    std::string k = kv.key;
    merged.emplace(std::move(k), std::move(kv));
  }
  t.ranges.emplace_back(prefix, end);
  for (auto it = t.writes.lower_bound(prefix); it != t.writes.end() && it->first < end; ++it) {
    if (!it->second) {
      merged.erase(it->first);
    } else {
      KeyValue kv;
      kv.key = it->first;
      kv.value = *it->second;
      merged[it->first] = std::move(kv);
    }
  }
  std::vector<KeyValue> out;
  out.reserve(merged.size());
  for (auto& [k, kv] : merged) out.push_back(std::move(kv));
  return out;
}

std::string EtcdStore::Stm::Key(std::string_view kind, std::string_view name) const {
  return fmt::format("{}{}", kind, etcd::KeyPart(name));
}

Result<EtcdStore::Committed> EtcdStore::Commit(Stm& t) {
  Committed out;
  const std::string dir = Dir(t.gen);
  std::vector<Compare> cmp;
  std::vector<Op> ops;
  bool registry_write = false;
  for (const auto& [key, value] : t.writes) registry_write = registry_write || key.starts_with(dir);
  // A write to the registry holds only while the generation it read is the live one; a scan's
  // observations (outside the generations) need no pointer and never create one.
  if (t.gen_value.empty()) {
    if (registry_write) {
      cmp.push_back(Cmp(GenKey(), CompareTarget::kCreate, CompareResult::kEqual, 0));
      ops.push_back(PutOp(GenKey(), PointerValue(t.gen)));
    }
  } else if (registry_write || !t.reads.empty()) {
    Compare c = Cmp(GenKey(), CompareTarget::kValue, CompareResult::kEqual, 0);
    c.value = t.gen_value;
    cmp.push_back(std::move(c));
  }
  for (const auto& [key, kv] : t.reads) {
    cmp.push_back(kv ? Cmp(key, CompareTarget::kMod, CompareResult::kEqual, kv->mod_revision)
                     : Cmp(key, CompareTarget::kCreate, CompareResult::kEqual, 0));
  }
  std::set<std::string> marks;
  for (const auto& [key, value] : t.writes) {
    ops.push_back(value ? PutOp(key, *value) : DeleteOp(key));
    if (std::string mark = MarkOf(dir, key); !mark.empty()) marks.insert(std::move(mark));
    // A claim deleted puts its group's freed mark (a guide compares it).
    if (std::string freed = FreedOf(dir, key); !value && !freed.empty() && !key.ends_with("/ranges")) {
      marks.insert(std::move(freed));
    }
  }
  // Every write of a group's claims puts its mark (see Listing).
  for (const std::string& mark : marks) {
    if (!t.writes.contains(mark)) ops.push_back(PutOp(mark, ""));
  }
  // The registry's revision is the etcd revision of its last write (Revision()).
  if (registry_write && !t.writes.contains(dir + "rev")) ops.push_back(PutOp(dir + "rev", ""));
  if (ops.size() > etcd::kMaxTxnOps || cmp.size() > etcd::kMaxTxnOps) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("this change writes {} keys and checks {}, and etcd takes at most {} "
                            "of each in one step: nothing was written; make it in smaller parts "
                            "(fewer names at once), or describe the registry in a file for "
                            "'berth apply', which has no such limit",
                            ops.size(), cmp.size(), etcd::kMaxTxnOps));
  }
  // The failure branch reads back the pointer and every key read, so a lost race is run again
  // on those answers without another round trip (the loser learns the holder at once).
  std::vector<Op> failure{RangeOp(GenKey())};
  std::vector<std::string> fetched;
  for (const auto& [key, kv] : t.reads) {
    if (failure.size() >= etcd::kMaxTxnOps) break;
    failure.push_back(RangeOp(key));
    fetched.push_back(key);
  }
  // A claim chosen by a guide reads the next ports' claims too: a lost claim (the guide lacked
  // its port) chooses again from them without another round trip.
  std::vector<std::pair<std::string, std::string>> windows;
  for (const std::string& prefix : t.guided) {
    const std::string end = etcd::PrefixEnd(prefix);
    for (auto w = t.writes.lower_bound(prefix); w != t.writes.end() && w->first < end; ++w) {
      auto at = ClaimSlotPort(prefix, w->first);
      if (!at || !w->second || failure.size() >= etcd::kMaxTxnOps) continue;
      Op window = RangeOp(w->first);
      window.range_end =
          at->first + fmt::format("{:05}", std::min<std::uint32_t>(at->second + kClaimWindow, 65536));
      windows.emplace_back(window.key, window.range_end);
      failure.push_back(std::move(window));
    }
  }
  auto txn = client_.Txn(cmp, ops, failure);
  if (!txn) return std::unexpected(Explain(txn.error(), true));
  out.revision = txn->revision;
  if (txn->succeeded) {
    out.succeeded = true;
    last_commit_ = txn->revision;
    if (registry_write && t.gen_value.empty()) {
      KnowPointer(t.gen, PointerValue(t.gen), txn->revision);
    }
    KeepOwnWrites(t, txn->revision);
    // What the commit compared held at its revision, and what it wrote holds since.
    for (const auto& [key, kv] : t.reads) {
      if (!t.writes.contains(key)) Remember(key, kv);
    }
    auto put = [&](const std::string& key, const std::string& value) {
      KeyValue kv;
      kv.key = key;
      kv.value = value;
      kv.mod_revision = txn->revision;
      kv.create_revision = txn->revision;  // or earlier: only mod_revision is compared
      Remember(key, kv);
    };
    for (const auto& [key, value] : t.writes) {
      if (value) {
        put(key, *value);
      } else {
        Remember(key, std::nullopt);
      }
    }
    for (const std::string& mark : marks) put(mark, "");  // a freed mark among them
    return out;
  }
  auto next = std::make_unique<Stm>();
  if (txn->responses.size() == failure.size()) {
    next->started = true;
    next->rev = txn->revision;
    const auto& gen = txn->responses[0].range.kvs;
    if (gen.empty()) {
      next->gen = "1";
    } else {
      next->gen_value = gen.front().value;
      next->gen_mod = gen.front().mod_revision;
      next->gen = BERTH_TRY(ParsePointer(next->gen_value, GenKey()));
    }
    if (!next->gen_value.empty()) KnowPointer(next->gen, next->gen_value, next->gen_mod);
    // Answers for keys of another generation would be wrong: only the same one is primed.
    if (next->gen == t.gen) {
      for (std::size_t i = 0; i < fetched.size(); ++i) {
        const auto& kvs = txn->responses[i + 1].range.kvs;
        auto& answer = next->prefetch[fetched[i]] =
            kvs.empty() ? std::nullopt : std::optional<KeyValue>(kvs.front());
        Remember(fetched[i], answer);
      }
      for (std::size_t w = 0; w < windows.size(); ++w) {
        next->ranges.push_back(windows[w]);
        for (const KeyValue& kv : txn->responses[1 + fetched.size() + w].range.kvs) {
          next->listed[kv.key] = kv;
        }
      }
    }
  }
  out.retry = std::move(next);
  return out;
}

template <class T>
Result<T> EtcdStore::Run(const std::function<Result<T>(Stm&)>& body) {
  if (stm_ != nullptr) return body(*stm_);
  const auto deadline = Clock::now() + std::chrono::milliseconds(options_.retry_ms);
  auto t = std::make_unique<Stm>();
  last_commit_ = 0;
  for (int attempt = 0;; ++attempt) {
    stm_ = t.get();
    auto r = body(*t);
    stm_ = nullptr;
    if (t->speculative && (t->missed || !r || t->writes.empty())) {
      // A guess no commit would check (or that needed a read): run the step on reads.
      hint_ = std::move(t->hint);
      t = std::make_unique<Stm>();
      t->no_speculation = true;
      --attempt;
      continue;
    }
    if (!r || t->writes.empty()) return r;
    auto c = BERTH_TRY(Commit(*t));
    if (c.succeeded) {
      if constexpr (std::is_same_v<T, ClaimOutcome>) {
        if (r->status == ClaimStatus::kClaimed) r->record.revision = c.revision;
      }
      return r;
    }
    if (Clock::now() >= deadline || attempt >= 200) {
      return Fail(ErrorCode::kUnavailable,
                  fmt::format("the registry at {} kept changing under this change ({} tries in "
                              "{} s); nothing was written: retry",
                              CommentText(options_.url), attempt + 1, options_.retry_ms / 1000),
                  {{Remedy::kWaitLonger}});
    }
    t = std::move(c.retry);
  }
}

Result<void> EtcdStore::Atomically(const std::function<Result<void>()>& body) {
  return Run<void>([&](Stm&) { return body(); });
}

Result<std::int64_t> EtcdStore::Revision() {
  return Run<std::int64_t>([&](Stm& t) -> Result<std::int64_t> {
    BERTH_TRY(Begin(t));
    if (t.gen_value.empty()) return 0;
    auto rev = BERTH_TRY(Get(t, Dir(t.gen) + "rev"));
    return std::max(t.gen_mod, rev ? rev->mod_revision : 0);
  });
}

namespace {

Result<ServiceRecord> ReadService(const KeyValue& kv) {
  ServiceRecord r = BERTH_TRY(etcd::DecodeService(kv.value, kv.key));
  if (r.revision == 0) r.revision = kv.mod_revision;
  return r;
}

}  // namespace

Result<std::optional<ServiceRecord>> EtcdStore::GetService(std::string_view name) {
  return Run<std::optional<ServiceRecord>>([&](Stm& t) -> Result<std::optional<ServiceRecord>> {
    BERTH_TRY(Begin(t, {"services/" + etcd::KeyPart(name)}));
    auto kv = BERTH_TRY(Get(t, t.Key(Dir(t.gen) + "services/", name)));
    if (!kv) return std::optional<ServiceRecord>{};
    return std::optional<ServiceRecord>{BERTH_TRY(ReadService(*kv))};
  });
}

Result<std::vector<ServiceRecord>> EtcdStore::ListServices() {
  return Run<std::vector<ServiceRecord>>([&](Stm& t) -> Result<std::vector<ServiceRecord>> {
    BERTH_TRY(Begin(t));
    std::vector<ServiceRecord> out;
    for (const KeyValue& kv : BERTH_TRY(List(t, Dir(t.gen) + "services/"))) {
      out.push_back(BERTH_TRY(ReadService(kv)));
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.service.name < b.service.name; });
    return out;
  });
}

Result<std::vector<Claim>> EtcdStore::ListClaims(std::string_view group) {
  return Run<std::vector<Claim>>([&](Stm& t) -> Result<std::vector<Claim>> {
    BERTH_TRY(Begin(t));
    const std::string base = Dir(t.gen) + "claims/";
    const std::string prefix = group.empty() ? base : base + etcd::KeyPart(group) + "/";
    std::vector<Claim> out;
    for (const KeyValue& kv : BERTH_TRY(List(t, prefix))) {
      // claims/GROUP/SLOT/PORT or claims/GROUP/SLOT/LOW-HIGH (one claim per port); claims/GROUP/ranges
      std::string_view rest = std::string_view(kv.key).substr(base.size());
      const auto a = rest.find('/');
      if (a != std::string_view::npos && rest.substr(a + 1) == "ranges") continue;
      const auto b = a == std::string_view::npos ? a : rest.find('/', a + 1);
      auto g = b == std::string_view::npos ? Result<std::string>(Fail(ErrorCode::kMalformed, ""))
                                           : etcd::FromKeyPart(rest.substr(0, a));
      auto slot = b == std::string_view::npos ? Result<Protocol>(Fail(ErrorCode::kMalformed, ""))
                                              : ParseProtocol(rest.substr(a + 1, b - a - 1));
      const auto ports = b == std::string_view::npos ? std::nullopt : ParseClaimPorts(rest.substr(b + 1));
      if (!g || !slot || !ports) {
        return Fail(ErrorCode::kMalformed,
                    fmt::format("etcd key {} is not a claim berth writes: check it with 'berth "
                                "store check'",
                                TerminalSafe(kv.key, 200)));
      }
      const PortRange held = *ports;
      for (std::uint32_t p = held.low; p <= held.high; ++p) {
        out.push_back(Claim{*g, *slot, static_cast<Port>(p), kv.value});
      }
    }
    std::sort(out.begin(), out.end(), [](const Claim& x, const Claim& y) {
      return std::tie(x.group, x.slot, x.port) < std::tie(y.group, y.slot, y.port);
    });
    return out;
  });
}

Result<void> EtcdStore::CheckRanges(Stm& t, const Service& s, bool range) {
  const std::string dir = Dir(t.gen);
  // Read (so compared at the commit): a one-port claim fails there when a range was claimed
  // in the group meanwhile.
  const bool ranges = BERTH_TRY(Get(t, RangesGuard(dir, s.group))).has_value();
  if (!range && !ranges) return {};
  // A range claim compares the group's mark, which every write of the group's claims puts:
  // nothing was claimed in the group since the listing below, so no port of the range was.
  if (range) BERTH_TRY(Get(t, MarkOf(dir, dir + "claims/" + etcd::KeyPart(s.group) + "/")));
  const std::string prefix = dir + "claims/" + etcd::KeyPart(s.group) + "/";
  const PortRange want = PortsOf(s);
  for (const KeyValue& kv : BERTH_TRY(List(t, prefix))) {
    const std::string_view rest = std::string_view(kv.key).substr(prefix.size());
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos) continue;  // the guard
    auto slot = ParseProtocol(rest.substr(0, slash));
    auto held = ParseClaimPorts(rest.substr(slash + 1));
    if (!slot || !held || !Covers(s.proto, *slot) || !held->overlaps(want)) continue;
    return Fail(ErrorCode::kConflict,
                fmt::format("{}/{} in group '{}' is already registered to '{}'",
                            std::max(held->low, want.low), ProtocolName(*slot), s.group,
                            TerminalSafe(kv.value, 200)));
  }
  return {};
}

Result<ClaimOutcome> EtcdStore::ClaimService(const ServiceRecord& record) {
  return Run<ClaimOutcome>([&](Stm& t) -> Result<ClaimOutcome> {
    const Service& s = record.service;
    BERTH_TRY(ValidateServiceSpan(s));
    BERTH_TRY(Begin(t, {"services/" + etcd::KeyPart(s.name), RangesGuard("", s.group)}));
    const std::string dir = Dir(t.gen);
    const std::string key = t.Key(dir + "services/", s.name);
    if (auto existing = BERTH_TRY(Get(t, key))) {
      return ClaimOutcome{ClaimStatus::kExists, BERTH_TRY(ReadService(*existing))};
    }
    const PortRange ports = PortsOf(s);
    const bool range = s.size > 1;
    std::vector<std::string> claims;
    for (Protocol p : {Protocol::kTcp, Protocol::kUdp}) {
      if (!Covers(s.proto, p)) continue;
      std::string ck = ClaimKey(dir, s.group, p, ports);
      // A range key is only ever created by a range claim, which checks the whole group below.
      if (auto holder = range ? std::nullopt : BERTH_TRY(Get(t, ck))) {
        return Fail(ErrorCode::kConflict,
                    fmt::format("{}/{} in group '{}' is already registered to '{}'", s.port,
                                ProtocolName(p), s.group, TerminalSafe(holder->value, 200)));
      }
      claims.push_back(std::move(ck));
    }
    BERTH_TRY(CheckRanges(t, s, range));
    if (range) t.writes[RangesGuard(dir, s.group)] = "";
    ServiceRecord stored = record;
    stored.revision = 0;
    if (stored.service.created == 0) stored.service.created = UnixNow();
    if (stored.service.updated == 0) stored.service.updated = stored.service.created;
    t.writes[key] = etcd::EncodeService(stored);
    for (std::string& ck : claims) t.writes[std::move(ck)] = s.name;
    return ClaimOutcome{ClaimStatus::kClaimed, std::move(stored)};
  });
}

Result<bool> EtcdStore::Release(Stm& t, std::string_view name) {
  BERTH_TRY(Begin(t, {"services/" + etcd::KeyPart(name)}));
  const std::string dir = Dir(t.gen);
  const std::string key = t.Key(dir + "services/", name);
  auto kv = BERTH_TRY(Get(t, key));
  if (!kv) return false;
  const ServiceRecord r = BERTH_TRY(ReadService(*kv));
  t.writes[key] = std::nullopt;
  for (Protocol p : {Protocol::kTcp, Protocol::kUdp}) {
    if (!Covers(r.service.proto, p)) continue;
    const std::string ck = ClaimKey(dir, r.service.group, p, PortsOf(r.service));
    auto holder = BERTH_TRY(Get(t, ck));
    if (holder && holder->value == name) t.writes[ck] = std::nullopt;
  }
  return true;
}

Result<bool> EtcdStore::ReleaseService(std::string_view name) {
  return Run<bool>([&](Stm& t) { return Release(t, name); });
}

Result<bool> EtcdStore::ReleaseServices(std::span<const std::string> names) {
  return Run<bool>([&](Stm& t) -> Result<bool> {
    std::set<std::string_view> seen;
    for (const std::string& name : names) {
      if (!seen.insert(name).second) continue;
      if (!BERTH_TRY(Release(t, name))) {
        t.writes.clear();  // none, as the SQLite store does
        return false;
      }
    }
    return true;
  });
}

Result<std::optional<Group>> EtcdStore::GetGroup(std::string_view name) {
  return Run<std::optional<Group>>([&](Stm& t) -> Result<std::optional<Group>> {
    BERTH_TRY(Begin(t, {"groups/" + etcd::KeyPart(name)}));
    auto kv = BERTH_TRY(Get(t, t.Key(Dir(t.gen) + "groups/", name)));
    if (!kv) return std::optional<Group>{};
    return std::optional<Group>{BERTH_TRY(etcd::DecodeGroup(kv->value, kv->key))};
  });
}

Result<std::vector<Group>> EtcdStore::ListGroups() {
  return Run<std::vector<Group>>([&](Stm& t) -> Result<std::vector<Group>> {
    BERTH_TRY(Begin(t));
    std::vector<Group> out;
    for (const KeyValue& kv : BERTH_TRY(List(t, Dir(t.gen) + "groups/"))) {
      out.push_back(BERTH_TRY(etcd::DecodeGroup(kv.value, kv.key)));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
  });
}

Result<void> EtcdStore::PutGroup(const Group& group) {
  return Run<void>([&](Stm& t) -> Result<void> {
    BERTH_TRY(Begin(t));
    t.writes[t.Key(Dir(t.gen) + "groups/", group.name)] = etcd::EncodeGroup(group);
    return {};
  });
}

Result<std::optional<Family>> EtcdStore::GetFamily(std::string_view name) {
  return Run<std::optional<Family>>([&](Stm& t) -> Result<std::optional<Family>> {
    BERTH_TRY(Begin(t, {"families/" + etcd::KeyPart(name)}));
    auto kv = BERTH_TRY(Get(t, t.Key(Dir(t.gen) + "families/", name)));
    if (!kv) return std::optional<Family>{};
    return std::optional<Family>{BERTH_TRY(etcd::DecodeFamily(kv->value, kv->key))};
  });
}

Result<std::vector<Family>> EtcdStore::ListFamilies() {
  return Run<std::vector<Family>>([&](Stm& t) -> Result<std::vector<Family>> {
    BERTH_TRY(Begin(t));
    std::vector<Family> out;
    for (const KeyValue& kv : BERTH_TRY(List(t, Dir(t.gen) + "families/"))) {
      out.push_back(BERTH_TRY(etcd::DecodeFamily(kv.value, kv.key)));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
  });
}

Result<void> EtcdStore::PutFamily(const Family& family) {
  return Run<void>([&](Stm& t) -> Result<void> {
    BERTH_TRY(Begin(t));
    t.writes[t.Key(Dir(t.gen) + "families/", family.name)] = etcd::EncodeFamily(family);
    return {};
  });
}

Result<ScanRecorded> EtcdStore::RecordScan(std::string_view host, std::int64_t time,
                                           const std::vector<Observation>& seen) {
  return Run<ScanRecorded>([&](Stm& t) -> Result<ScanRecorded> {
    const std::string key = options_.prefix + "/hosts/" + etcd::KeyPart(host);
    etcd::HostScans h;
    if (auto kv = BERTH_TRY(Get(t, key))) h = BERTH_TRY(etcd::DecodeHostScans(kv->value, kv->key));
    ScanRecorded out;
    if (!h.scans.empty()) out.previous = h.scans.back();
    out.time = out.previous && *out.previous >= time ? *out.previous + 1 : time;
    h.scans.push_back(out.time);
    if (h.scans.size() > etcd::kMaxScansKept) {
      h.scans.erase(h.scans.begin(), h.scans.end() - etcd::kMaxScansKept);
    }
    for (const Observation& o : seen) {
      auto it = std::find_if(h.observations.begin(), h.observations.end(), [&](const Observation& x) {
        return x.proto == o.proto && x.port == o.port && x.command == o.command;
      });
      if (it == h.observations.end()) {
        Observation n = o;
        n.host.clear();
        n.first_seen = out.time;
        h.observations.push_back(std::move(n));
        it = h.observations.end() - 1;
      }
      it->service = o.service;
      it->pid = o.pid;
      it->last_seen = out.time;
    }
    if (h.observations.size() > etcd::kMaxObservations) {  // the oldest sightings go first
      std::stable_sort(h.observations.begin(), h.observations.end(),
                       [](const Observation& a, const Observation& b) { return a.last_seen > b.last_seen; });
      h.observations.resize(etcd::kMaxObservations);
    }
    t.writes[key] = etcd::EncodeHostScans(h);
    return out;
  });
}

Result<std::optional<std::int64_t>> EtcdStore::LastScan(std::string_view host) {
  return Run<std::optional<std::int64_t>>([&](Stm& t) -> Result<std::optional<std::int64_t>> {
    auto kv = BERTH_TRY(Get(t, options_.prefix + "/hosts/" + etcd::KeyPart(host)));
    if (!kv) return std::optional<std::int64_t>{};
    const auto h = BERTH_TRY(etcd::DecodeHostScans(kv->value, kv->key));
    if (h.scans.empty()) return std::optional<std::int64_t>{};
    return std::optional<std::int64_t>{h.scans.back()};
  });
}

Result<std::vector<Observation>> EtcdStore::ScanObservations(std::string_view host,
                                                             std::int64_t time) {
  return Run<std::vector<Observation>>([&](Stm& t) -> Result<std::vector<Observation>> {
    std::vector<Observation> out;
    auto kv = BERTH_TRY(Get(t, options_.prefix + "/hosts/" + etcd::KeyPart(host)));
    if (!kv) return out;
    for (Observation& o : BERTH_TRY(etcd::DecodeHostScans(kv->value, kv->key)).observations) {
      if (o.last_seen != time) continue;
      o.host = std::string(host);
      out.push_back(std::move(o));
    }
    std::sort(out.begin(), out.end(), [](const Observation& a, const Observation& b) {
      return std::tuple(ProtocolName(a.proto), a.port, a.command) <
             std::tuple(ProtocolName(b.proto), b.port, b.command);
    });
    return out;
  });
}

Result<std::vector<Observation>> EtcdStore::ServiceObservations(std::string_view service) {
  return Run<std::vector<Observation>>([&](Stm& t) -> Result<std::vector<Observation>> {
    const std::string base = options_.prefix + "/hosts/";
    std::vector<Observation> out;
    for (const KeyValue& kv : BERTH_TRY(List(t, base))) {
      const std::string host = BERTH_TRY(etcd::FromKeyPart(std::string_view(kv.key).substr(base.size())));
      for (Observation& o : BERTH_TRY(etcd::DecodeHostScans(kv.value, kv.key)).observations) {
        if (o.service != service) continue;
        o.host = host;
        out.push_back(std::move(o));
      }
    }
    std::sort(out.begin(), out.end(), [](const Observation& a, const Observation& b) {
      return std::tuple(-a.last_seen, a.host, a.port) < std::tuple(-b.last_seen, b.host, b.port);
    });
    return out;
  });
}

Result<RegistryDoc> EtcdStore::Export() {
  return Run<RegistryDoc>([&](Stm&) -> Result<RegistryDoc> {
    RegistryDoc doc;  // one snapshot: the three lists share the transaction's revision
    doc.groups = BERTH_TRY(ListGroups());
    doc.families = BERTH_TRY(ListFamilies());
    for (ServiceRecord& r : BERTH_TRY(ListServices())) doc.services.push_back(std::move(r.service));
    return doc;
  });
}

Result<std::vector<std::string>> EtcdStore::CheckIntegrity() {
  return Run<std::vector<std::string>>([&](Stm& t) -> Result<std::vector<std::string>> {
    std::vector<std::string> problems;
    BERTH_TRY(Begin(t));
    if (t.gen_value.empty()) return problems;
    const std::string dir = Dir(t.gen);
    std::map<std::string, Service> services;
    for (const KeyValue& kv : BERTH_TRY(List(t, dir + "services/"))) {
      auto r = ReadService(kv);
      if (!r) {
        problems.push_back(r.error().message);
        continue;
      }
      if (kv.key != t.Key(dir + "services/", r->service.name)) {
        problems.push_back(fmt::format("{} holds the service '{}', which belongs under another key",
                                       TerminalSafe(kv.key, 200), TerminalSafe(r->service.name, 100)));
      }
      services.emplace(r->service.name, r->service);
    }
    auto claims = ListClaims("");
    if (!claims) {
      problems.push_back(claims.error().message);
      return problems;
    }
    std::set<std::tuple<std::string, Protocol, Port>> held;
    for (const Claim& c : *claims) {
      held.emplace(c.group, c.slot, c.port);
      auto s = services.find(c.service);
      if (s == services.end() || s->second.group != c.group || !PortsOf(s->second).contains(c.port) ||
          !Covers(s->second.proto, c.slot)) {
        problems.push_back(fmt::format("claim {}/{} in group '{}' names '{}', which does not hold it",
                                       c.port, ProtocolName(c.slot), TerminalSafe(c.group, 100),
                                       TerminalSafe(c.service, 100)));
      }
    }
    for (const auto& [name, s] : services) {
      for (Protocol p : {Protocol::kTcp, Protocol::kUdp}) {
        if (!Covers(s.proto, p)) continue;
        const PortRange ports = PortsOf(s);
        for (std::uint32_t port = ports.low; port <= ports.high; ++port) {
          if (held.contains({s.group, p, static_cast<Port>(port)})) continue;
          problems.push_back(fmt::format("service '{}' has no claim of {}/{} in group '{}'",
                                         TerminalSafe(name, 100), port, ProtocolName(p),
                                         TerminalSafe(s.group, 100)));
          break;
        }
      }
    }
    return problems;
  });
}

Result<void> EtcdStore::Replace(const RegistryDoc& doc, std::string_view reason) {
  // Two services of the file on one slot: refused before anything is written.
  std::set<std::tuple<std::string, Protocol, Port>> slots;
  std::set<std::string> ranged;  // groups with a range claim: they get the range guard
  for (const Service& s : doc.services) {
    BERTH_TRY(ValidateServiceSpan(s));
    if (s.size > 1) ranged.insert(s.group);
    const PortRange ports = PortsOf(s);
    for (Protocol p : {Protocol::kTcp, Protocol::kUdp}) {
      if (!Covers(s.proto, p)) continue;
      for (std::uint32_t port = ports.low; port <= ports.high; ++port) {
        if (slots.emplace(s.group, p, static_cast<Port>(port)).second) continue;
        return Fail(ErrorCode::kConflict,
                    fmt::format("'{}' claims {}/{} in group '{}', which another service of the "
                                "same file claims too",
                                s.name, port, ProtocolName(p), s.group));
      }
    }
  }
  const auto deadline = Clock::now() + std::chrono::milliseconds(std::max(options_.deadline_ms, 60000));
  std::mt19937_64 rng(std::random_device{}());
  for (int attempt = 0; attempt < 5; ++attempt) {
    Stm t;
    BERTH_TRY(Begin(t));
    const std::string old_dir = Dir(t.gen);
    std::map<std::string, ServiceRecord, std::less<>> before;
    if (!t.gen_value.empty()) {
      stm_ = &t;
      auto listed = ListServices();
      stm_ = nullptr;
      if (!listed) return std::unexpected(listed.error());
      for (ServiceRecord& r : *listed) {
        std::string key = r.service.name;
        before.emplace(std::move(key), std::move(r));
      }
    }
    // Generations an apply left half-written (its process killed): their lease is gone.
    for (const KeyValue& kv : BERTH_TRY(RangeAt(options_.prefix + "/gens/",
                                                etcd::PrefixEnd(options_.prefix + "/gens/"), 0))) {
      const std::string g = kv.key.substr(options_.prefix.size() + 6);
      if (g == t.gen || g.empty()) continue;
      const std::string lease_key = options_.prefix + "/leases/" + g;
      (void)client_.Txn({Cmp(lease_key, CompareTarget::kCreate, CompareResult::kEqual, 0)},
                        {DeleteOp(Dir(g), etcd::PrefixEnd(Dir(g))), DeleteOp(kv.key)}, {});
    }
    // The new generation, written beside the live one under a lease.
    const std::string gen = fmt::format("{}-{:016x}", t.rev, rng());
    const std::string dir = Dir(gen);
    const std::string gens_key = options_.prefix + "/gens/" + gen;
    const std::string lease_key = options_.prefix + "/leases/" + gen;
    auto lease = client_.LeaseGrant(kApplyLeaseTtl);
    if (!lease) return std::unexpected(Explain(lease.error(), true));
    auto abandon = [&] {
      (void)client_.Delete(dir, etcd::PrefixEnd(dir));
      (void)client_.Delete(gens_key);
      (void)client_.LeaseRevoke(lease->id);
    };
    {
      auto r = client_.Txn({}, {PutOp(gens_key, "writing"), PutOp(lease_key, "", lease->id)}, {});
      if (!r) return std::unexpected(Explain(r.error(), true));
    }
    std::vector<Op> puts;
    const std::int64_t now = UnixNow();
    for (const Group& g : doc.groups) puts.push_back(PutOp(t.Key(dir + "groups/", g.name), etcd::EncodeGroup(g)));
    for (const Family& f : doc.families) puts.push_back(PutOp(t.Key(dir + "families/", f.name), etcd::EncodeFamily(f)));
    for (const Service& s : doc.services) {
      auto old = before.find(s.name);
      const ServiceRecord rec =
          ReplacedRecord(s, reason, 0, old == before.end() ? nullptr : &old->second, now);
      puts.push_back(PutOp(t.Key(dir + "services/", s.name), etcd::EncodeService(rec)));
      for (Protocol p : {Protocol::kTcp, Protocol::kUdp}) {
        if (Covers(s.proto, p)) puts.push_back(PutOp(ClaimKey(dir, s.group, p, PortsOf(s)), s.name));
      }
    }
    for (const std::string& g : ranged) puts.push_back(PutOp(RangesGuard(dir, g), ""));
    auto last_keepalive = Clock::now();
    const std::vector<Compare> alive{Cmp(lease_key, CompareTarget::kCreate, CompareResult::kGreater, 0)};
    for (std::size_t i = 0; i < puts.size(); i += etcd::kMaxTxnOps) {
      if (Clock::now() >= deadline) {
        abandon();
        return Fail(ErrorCode::kUnavailable,
                    fmt::format("writing the new registry to {} took too long; nothing was "
                                "changed: retry",
                                CommentText(options_.url)));
      }
      if (Clock::now() - last_keepalive > std::chrono::seconds(kApplyLeaseTtl / 3)) {
        (void)client_.LeaseKeepAlive(lease->id);
        last_keepalive = Clock::now();
      }
      std::vector<Op> chunk(puts.begin() + static_cast<std::ptrdiff_t>(i),
                            puts.begin() + static_cast<std::ptrdiff_t>(std::min(puts.size(), i + etcd::kMaxTxnOps)));
      auto r = client_.Txn(alive, chunk, {});
      if (!r || !r->succeeded) {
        abandon();
        if (!r) return std::unexpected(Explain(r.error(), true));
        return Fail(ErrorCode::kUnavailable,
                    fmt::format("the lease of the registry being written to {} expired; nothing "
                                "was changed: retry",
                                CommentText(options_.url)));
      }
    }
    // The switch: one txn, only if the live registry did not change since it was read.
    std::vector<Compare> cmp = alive;
    std::vector<Op> ops{PutOp(GenKey(), PointerValue(gen)), PutOp(dir + "rev", ""),
                        DeleteOp(gens_key), DeleteOp(lease_key)};
    if (t.gen_value.empty()) {
      cmp.push_back(Cmp(GenKey(), CompareTarget::kCreate, CompareResult::kEqual, 0));
    } else {
      Compare c = Cmp(GenKey(), CompareTarget::kValue, CompareResult::kEqual, 0);
      c.value = t.gen_value;
      cmp.push_back(std::move(c));
      cmp.push_back(Cmp(old_dir, CompareTarget::kMod, CompareResult::kLess, t.rev + 1,
                        etcd::PrefixEnd(old_dir)));
      ops.push_back(DeleteOp(old_dir, etcd::PrefixEnd(old_dir)));
    }
    auto sw = client_.Txn(cmp, ops, {});
    if (!sw) {
      // Unknown whether the switch happened: leave the new generation (the next apply's
      // cleanup removes it if it is not the live one once its lease ends).
      return std::unexpected(Explain(sw.error(), true));
    }
    if (sw->succeeded) {
      (void)client_.LeaseRevoke(lease->id);
      return {};
    }
    abandon();  // the registry changed meanwhile: read it again and write it again
  }
  return Fail(ErrorCode::kUnavailable,
              fmt::format("the registry at {} kept changing while the new one was written; "
                          "nothing was changed: retry",
                          CommentText(options_.url)));
}

// ---- The fleet (docs/fleet.md): PREFIX/fleet/presence/HOST under the agent's lease,
// PREFIX/fleet/reports/HOST without one (a down host keeps what it last said).
std::string EtcdStore::FleetKey(std::string_view kind, std::string_view host) const {
  return fmt::format("{}/fleet/{}/{}", options_.prefix, kind, etcd::KeyPart(host));
}

Result<std::int64_t> EtcdStore::GrantLease(std::int64_t ttl) {
  if (ttl < 1) return Fail(ErrorCode::kInvalidArgument, "a lease needs a TTL of at least 1 s");
  auto lease = client_.LeaseGrant(ttl);
  if (!lease) return std::unexpected(Explain(lease.error(), true));
  return lease->id;
}

Result<std::optional<std::int64_t>> EtcdStore::KeepAlive(std::int64_t lease) {
  auto l = client_.LeaseKeepAlive(lease);
  if (!l) return std::unexpected(Explain(l.error(), true));
  if (l->ttl <= 0) return std::optional<std::int64_t>{};
  return std::optional<std::int64_t>{l->ttl};
}

Result<std::optional<std::int64_t>> EtcdStore::LeaseRemaining(std::int64_t lease) {
  auto ttl = client_.LeaseTimeToLive(lease);
  if (!ttl) return std::unexpected(Explain(ttl.error(), false));
  if (*ttl < 0) return std::optional<std::int64_t>{};
  return std::optional<std::int64_t>{*ttl};
}

Result<void> EtcdStore::RevokeLease(std::int64_t lease) {
  auto r = client_.LeaseRevoke(lease);
  if (!r && r.error().message.find("lease not found") != std::string::npos) return {};
  if (!r) return std::unexpected(Explain(r.error(), true));
  return {};
}

Result<void> EtcdStore::PutPresence(const HostPresence& presence) {
  auto txn = client_.Txn({}, {PutOp(FleetKey("presence", presence.host),
                                    etcd::EncodePresence(presence), presence.lease)},
                         {});
  if (!txn && txn.error().message.find("lease not found") != std::string::npos) {
    return Fail(ErrorCode::kNotFound,
                fmt::format("lease {} at {} has expired", presence.lease, CommentText(options_.url)));
  }
  if (!txn) return std::unexpected(Explain(txn.error(), true));
  return {};
}

Result<void> EtcdStore::PutHostReport(const HostReport& report, const std::vector<Finding>& findings) {
  if (findings.size() > etcd::kMaxFindings) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("{} findings for {}: the store keeps at most {}", findings.size(),
                            TerminalSafe(report.host, 200), etcd::kMaxFindings));
  }
  std::string value = etcd::EncodeHostReport(report, findings);
  if (value.size() > etcd::kMaxRecordBytes) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("the report of {} is {} bytes, over the {} a record may hold",
                            TerminalSafe(report.host, 200), value.size(), etcd::kMaxRecordBytes));
  }
  return Run<void>([&](Stm& t) -> Result<void> {
    t.writes[FleetKey("reports", report.host)] = value;
    return {};
  });
}

Result<std::vector<FleetHost>> EtcdStore::ListHosts() {
  std::map<std::string, FleetHost> hosts;
  const std::string reports = options_.prefix + "/fleet/reports/";
  for (const KeyValue& kv : BERTH_TRY(RangeAt(reports, etcd::PrefixEnd(reports), 0))) {
    auto doc = BERTH_TRY(etcd::DecodeHostReport(kv.value, kv.key));
    const std::string host = doc.report.host;
    hosts[host].report = std::move(doc.report);
  }
  const std::string presences = options_.prefix + "/fleet/presence/";
  for (const KeyValue& kv : BERTH_TRY(RangeAt(presences, etcd::PrefixEnd(presences), 0))) {
    HostPresence p = BERTH_TRY(etcd::DecodePresence(kv.value, kv.key));
    FleetHost& h = hosts[p.host];
    h.report.host = p.host;
    h.presence = std::move(p);
  }
  std::vector<FleetHost> out;
  out.reserve(hosts.size());
  for (auto& [name, h] : hosts) out.push_back(std::move(h));
  return out;
}

Result<std::vector<Finding>> EtcdStore::HostFindings(std::string_view host) {
  const auto kvs = BERTH_TRY(RangeAt(FleetKey("reports", host), {}, 0));
  if (kvs.empty()) return std::vector<Finding>{};
  return BERTH_TRY(etcd::DecodeHostReport(kvs.front().value, kvs.front().key)).findings;
}

Result<std::int64_t> EtcdStore::WaitForChange(std::int64_t since, int timeout_ms) {
  if (since <= 0) {
    etcd::RangeRequest req;
    req.key = GenKey();
    req.serializable = options_.stale;
    req.count_only = true;
    auto now = client_.Range(req);
    if (!now) return std::unexpected(Explain(now.error(), false));
    return now->revision;
  }
  const std::string dir = options_.prefix + "/";
  auto changed = client_.Watch(dir, etcd::PrefixEnd(dir), since + 1, timeout_ms);
  if (!changed) return std::unexpected(Explain(changed.error(), false));
  return *changed == 0 ? since : std::max(*changed, since + 1);
}

Result<std::int64_t> EtcdStore::WaitForRegistryChange(std::int64_t since, int timeout_ms) {
  if (since <= 0) return WaitForChange(since, timeout_ms);
  // [PREFIX/g/, PREFIX/gen\0): every generation's keys and the pointer PREFIX/gen, nothing
  // else berth writes ("fleet", "hosts", "leases" and "gens" sort outside it).
  const std::string from = options_.prefix + "/g/";
  const std::string to = GenKey() + std::string(1, '\0');
  auto changed = client_.Watch(from, to, since + 1, timeout_ms);
  if (!changed) return std::unexpected(Explain(changed.error(), false));
  return *changed == 0 ? since : std::max(*changed, since + 1);
}

}  // namespace berth::registry
