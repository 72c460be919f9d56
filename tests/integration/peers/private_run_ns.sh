#!/usr/bin/env bash
# Usage: private_run_ns.sh NETNS DIR
# Creates network namespace NETNS (loopback up) and, inside it, a holder process in a private
# mount namespace with a tmpfs /run and private copies of /var/lib/nfs and /etc/nfs.conf
# (rpcbind's /run/rpcbind.sock is not scoped to a network namespace). Prints the holder's PID:
# enter with `nsenter -t PID -m -n CMD`. The caller kills the PID and deletes NETNS.
set -euo pipefail
ns=$1 dir=$2
mkdir -p "$dir/varlibnfs" "$dir/etc"
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
cp /etc/nfs.conf "$dir/etc/nfs.conf" 2>/dev/null || : > "$dir/etc/nfs.conf"
cp -a /var/lib/nfs/. "$dir/varlibnfs/" 2>/dev/null || true
setsid ip netns exec "$ns" unshare -m --propagation private bash -c "
  mount -t tmpfs tmpfs /run
  mkdir -p /run/rpcbind /run/lock /run/netns
  chown _rpc:root /run/rpcbind 2>/dev/null || true
  mount --bind '$dir/varlibnfs' /var/lib/nfs
  mount --bind '$dir/etc/nfs.conf' /etc/nfs.conf
  echo \$\$ > '$dir/holder.pid'
  exec sleep 3600" </dev/null >/dev/null 2>&1 &
for _ in $(seq 50); do
  [ -s "$dir/holder.pid" ] && { cat "$dir/holder.pid"; exit 0; }
  sleep 0.1
done
echo "private_run_ns: holder did not start" >&2
exit 1
