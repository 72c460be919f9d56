#!/usr/bin/env bash
# Usage: samba_ad_dc.sh NETNS DIR [SMB.CONF LINES...]
# Provisions a throwaway Samba AD DC under DIR (samba-tool --targetdir: /etc/samba is not
# touched), keeps only the rpc service, moves every state path under DIR, appends the extra
# smb.conf lines given, and prints the command that runs it in the foreground (the caller
# starts it inside NETNS). Provisioning takes about 5 s.
set -euo pipefail
ns=$1 d=$2
shift 2
if [ ! -f "$d/dc/etc/smb.conf.orig" ]; then
  mkdir -p "$d"
  ip netns exec "$ns" samba-tool domain provision --targetdir="$d/dc" --realm=BERTHPROBE.LAN \
    --domain=BERTHPROBE --server-role=dc --dns-backend=NONE --adminpass='Berth-Probe-1!' \
    --host-ip=127.0.0.1 --option="interfaces=lo" --option="bind interfaces only=yes" >"$d/provision.log" 2>&1
  cp "$d/dc/etc/smb.conf" "$d/dc/etc/smb.conf.orig"
fi
mkdir -p "$d/dc/pid" "$d/dc/ncalrpc" "$d/dc/winbindd"
{
  sed -e '/^\tserver services = /d' -e '/^\tlog file = /d' "$d/dc/etc/smb.conf.orig" |
    sed -e "s|^\[global\]|[global]\n\tserver services = rpc\n\tpid directory = $d/dc/pid\n\tncalrpc dir = $d/dc/ncalrpc\n\twinbindd socket directory = $d/dc/winbindd\n\tlog file = $d/dc/log.%m|"
} >"$d/dc/etc/smb.conf"
for line in "$@"; do
  sed -i "s|^\[global\]|[global]\n\t$line|" "$d/dc/etc/smb.conf"
done
echo samba -F --no-process-group --debug-stdout -s "$d/dc/etc/smb.conf"
