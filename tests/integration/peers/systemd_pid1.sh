#!/bin/sh
# Usage: systemd_pid1.sh CGROUP NETNS_PATH UNIT_DIR LOG MACHINE_ID
# Runs Debian's systemd as PID 1 of new PID, mount and cgroup namespaces, inside the network
# namespace NETNS_PATH, rooted at the cgroup v2 directory CGROUP (which the caller made and
# removes): a service manager that berth pin's tests start and stop units under, touching
# nothing of the host's. The mount namespace has its own /run (tmpfs), /proc, a cgroup2 mount
# of the namespace's root at /sys/fs/cgroup, and MACHINE_ID bound over /etc/machine-id (so
# systemd never takes this for a first boot, which would write presets into /etc). Units come
# from UNIT_DIR only ($SYSTEMD_UNIT_PATH); the manager starts berth-test.target, which pulls in
# nothing. systemd logs to LOG. This process becomes `unshare --kill-child`: killing its PID
# kills systemd, and with it the whole PID namespace.
set -eu
cgroup=$1 netns=$2 units=$3 log=$4 machine_id=$5
echo $$ > "$cgroup/cgroup.procs"
exec nsenter --net="$netns" unshare --mount --pid --fork --cgroup --kill-child --propagation private \
  sh -c '
    mount -t tmpfs tmpfs /run
    mount -t proc proc /proc
    mount -t cgroup2 cgroup2 /sys/fs/cgroup
    mount --bind "$1" /etc/machine-id
    export container=berth-test SYSTEMD_UNIT_PATH="$2"
    exec /lib/systemd/systemd --system --unit=berth-test.target --log-target=console \
      </dev/null >"$3" 2>&1' sh "$machine_id" "$units" "$log"
