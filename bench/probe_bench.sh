#!/usr/bin/env bash
# berth probe vs nmap (rpcinfo, ms-sql-info) over the same targets, in a private namespace.
# Usage: bench/probe_bench.sh BUILD_DIR [TARGETS] [TIMEOUT_S]
#   TARGETS: a power of two (default 4096) addresses in 127.1.0.0/N, or several separated by
#   commas ("1,16,256"), timed one after the other in the same namespace; 1 target is the
#   answering 127.1.0.1. TIMEOUT_S default 1.
#   PROBE_BENCH_BASELINE=PATH also times another berth binary (an older build) the same way,
#   right before this one, for a before/after figure from one run. PROBE_BENCH_NMAP=0 skips
#   nmap (its 4,096-target runs take about 40 minutes).
# Inside a fresh network + mount namespace (nothing leaves it): rpcbind with rpc.statd and
# rpc.mountd, and the test SSRP responder, answer on 127.1.0.1 and 127.1.0.2; an nft rule drops
# every packet to the other targets. berth's time should be about one timeout plus the
# answering hosts' work, not a multiple of the target count. Prints times, findings and ratios
# (figures go to docs/benchmarks.md). Needs root, rpcbind, nfs-kernel-server, nmap, python3, nft.
set -euo pipefail
build=$(cd "${1:?usage: probe_bench.sh BUILD_DIR [TARGETS] [TIMEOUT_S]}" && pwd)
sizes=${2:-4096}
timeout_s=${3:-1}
here=$(cd "$(dirname "$0")/.." && pwd)
berth=$build/berth
baseline=${PROBE_BENCH_BASELINE:-}
[ -z "$baseline" ] || [ -x "$baseline" ] || { echo "probe_bench: PROBE_BENCH_BASELINE=$baseline is not executable" >&2; exit 2; }
block() {  # the CIDR block of N targets
  local n=$1 bits=0
  while [ $((1 << bits)) -lt "$n" ]; do bits=$((bits + 1)); done
  [ $((1 << bits)) -eq "$n" ] || { echo "probe_bench: TARGETS must be powers of two" >&2; return 2; }
  [ "$n" -le 65536 ] || { echo "probe_bench: at most 65536 targets (127.1.0.0/16)" >&2; return 2; }
  if [ "$n" -eq 1 ]; then echo 127.1.0.1/32; else echo "127.1.0.0/$((32 - bits))"; fi
}
for n in ${sizes//,/ }; do block "$n" >/dev/null || exit 2; done
for p in rpcbind rpc.statd rpc.mountd nmap nft python3 nsenter; do
  command -v "$p" >/dev/null || { echo "probe_bench: $p missing: run scripts/install-deps bench" >&2; exit 2; }
done

ns=berth-bench-probe-$$
dir=/tmp/$ns
pids=()
holder=
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.2
  [ -n "$holder" ] && kill "$holder" 2>/dev/null || true
  [ -f "$dir/holder.pid" ] && kill "$(cat "$dir/holder.pid")" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  [ -n "${PROBE_BENCH_KEEP:-}" ] && cp -r "$dir" "$PROBE_BENCH_KEEP"
  rm -rf "$dir"
}
# bash runs the EXIT trap on a signal only when the signal itself is trapped.
trap cleanup EXIT
trap 'exit 143' TERM INT HUP
holder=$("$here/tests/integration/peers/private_run_ns.sh" "$ns" "$dir")
in_ns() { nsenter -t "$holder" -m -n "$@"; }
# Starts a daemon in the namespaces; nsenter execs it, so $! is the daemon's own pid.
bg_ns() { nsenter -t "$holder" -m -n "$@" & pids+=($!); }

bg_ns rpcbind -w -f
for _ in $(seq 50); do in_ns rpcinfo -p 127.0.0.1 >/dev/null 2>&1 && break; sleep 0.1; done
bg_ns rpc.statd -F -L >/dev/null 2>&1
bg_ns rpc.mountd -F >/dev/null 2>&1
bg_ns python3 "$here/tests/integration/peers/ssrp_responder.py" "$here/tests/fixtures/probe" 127.1.0.2 --tcp-first --listen >/dev/null
sleep 1
# Only 127.1.0.1 and 127.1.0.2 answer; everything else in the block is dropped silently.
in_ns nft -f - <<NFT
table inet berth_bench {
  chain input {
    type filter hook input priority 0; policy accept;
    ip daddr 127.1.0.0/16 ip daddr != { 127.1.0.1, 127.1.0.2 } drop
  }
}
NFT

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }

protos=${PROBE_BENCH_PROTOS:-rpc mssql}
nmap_common=(-n -Pn --max-rtt-timeout "${timeout_s}s" --initial-rtt-timeout "${timeout_s}s" --max-retries 1 -T4)
count_berth() {  # hosts whose mapper answered, services listed
  python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
print(sum(1 for h in d["hosts"] for m in h["mappers"] if m["protocol"]==sys.argv[2] and m["state"]=="answered"),
      d["summary"]["services"])' "$1" "$2"
}
count_nmap() {  # hosts with output from the script
  python3 -c '
import sys, xml.etree.ElementTree as ET
print(sum(1 for h in ET.parse(sys.argv[1]).getroot().iter("host")
          if any(s.get("id")==sys.argv[2] for s in h.iter("script"))))' "$1" "$2"
}
# ms-sql-info prints an instance only after a TDS exchange with its TCP port, and no TDS
# server exists here (the SSRP responder's listeners only accept): count instead the hosts
# whose SSRP reply nmap parsed, from its -d2 log ("MSSQL-SSRP: SSRP Data:").
count_nmap_ssrp() {
  # The tag is "[ms-sql-info M:ID HOST]" for one target and "[... HOST:1434]" for several.
  { grep -o '\[ms-sql-info [^ ]* [0-9.]*\(:[0-9]*\)\?\] MSSQL-SSRP: SSRP Data:' "$1" || true; } |
    awk '{sub(/:[0-9]*\]$|\]$/, "", $3); print $3}' | sort -u | wc -l
}
timing() {  # berth's summary.timing, when it has one (an older build has not)
  python3 -c '
import json,sys
t=json.load(open(sys.argv[1]))["summary"].get("timing")
print("" if t is None else "; waits: %d timeouts, %d shortened, %d-%d ms; %d rtt samples, srtt %.2f ms, max %.2f ms" % (
  t["timeouts"], t["shortened"], t["shortest_wait_ms"], t["longest_wait_ms"], t["rtt_samples"], t["srtt_ms"], t["max_rtt_ms"]))' "$1"
}
for n in ${sizes//,/ }; do
cidr=$(block "$n")
answering=2
[ "$n" -eq 1 ] && answering=1
[ "$n" -eq 2 ] && answering=1  # 127.1.0.0/31 holds only .1 of the two
echo "probe bench: $n targets in $cidr, $answering answering, timeout ${timeout_s}s, $(nproc) cores, protocols: $protos"
total_b=0 total_n=0
for proto in $protos; do
  case $proto in
    rpc) flag=--rpc script=rpcinfo nmap_args=(-p111) ;;
    # nmap's SSRP socket timeout is fixed at 5 s in mssql.lua (no option changes it), so its
    # silent hosts cost 5 s each, however --max-rtt-timeout is set.
    mssql) flag=--mssql script=ms-sql-info nmap_args=(-sU -p1434 -d2) ;;
    *) echo "probe_bench: unknown protocol $proto" >&2; exit 2 ;;
  esac
  if [ -n "$baseline" ]; then
    t0=$(now)
    in_ns "$baseline" probe "$flag" --json --timeout "$timeout_s" --retries 1 --rate 20000 \
      --concurrency "$((n + 64))" "$cidr" >"$dir/baseline_$proto.json" || true
    t1=$(now)
    echo "$proto: baseline $baseline $(elapsed "$t0" "$t1") s (answering hosts, services: $(count_berth "$dir/baseline_$proto.json" "$proto"))"
  fi
  t0=$(now)
  in_ns "$berth" probe "$flag" --json --timeout "$timeout_s" --retries 1 --rate 20000 \
    --concurrency "$((n + 64))" "$cidr" >"$dir/berth_$proto.json" || true
  t1=$(now)
  b=$(elapsed "$t0" "$t1")
  echo "$proto: berth probe $flag ${b} s (answering hosts, services: $(count_berth "$dir/berth_$proto.json" "$proto")$(timing "$dir/berth_$proto.json"))"
  if [ "${PROBE_BENCH_NMAP:-1}" = 0 ]; then continue; fi
  t0=$(now)
  in_ns nmap "${nmap_common[@]}" "${nmap_args[@]}" --script "$script" -oX "$dir/nmap_$proto.xml" "$cidr" \
    >"$dir/nmap_$proto.log" 2>&1
  t1=$(now)
  m=$(elapsed "$t0" "$t1")
  if [ "$proto" = mssql ]; then
    found="hosts whose SSRP reply it parsed: $(count_nmap_ssrp "$dir/nmap_$proto.log")"
  else
    found="hosts with script output: $(count_nmap "$dir/nmap_$proto.xml" "$script")"
  fi
  echo "$proto: nmap --script $script ${m} s ($found)"
  echo "$proto: ratio nmap/berth $(echo "scale=1; $m / $b" | bc)x"
  total_b=$(echo "$total_b + $b" | bc) total_n=$(echo "$total_n + $m" | bc)
done
[ "${PROBE_BENCH_NMAP:-1}" = 0 ] ||
  echo "all ($n targets): berth ${total_b} s, nmap ${total_n} s, ratio $(echo "scale=1; $total_n / $total_b" | bc)x"
done
