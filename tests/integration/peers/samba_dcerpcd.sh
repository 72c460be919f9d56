#!/usr/bin/env bash
# Usage: samba_dcerpcd.sh DIR
# Writes DIR/smb.conf for a standalone samba-dcerpcd whose state lives under DIR (nothing
# touches /etc/samba or /var/lib/samba) and prints the command line to start it in the
# foreground. The caller runs it inside its namespace (protocols.md §4c).
set -euo pipefail
d=$1
mkdir -p "$d"/{lock,state,cache,pid,private,ncalrpc,log}
cat > "$d/smb.conf" <<CONF
[global]
  server role = standalone server
  workgroup = BERTHTEST
  netbios name = BERTHPROBE
  rpc start on demand helpers = no
  interfaces = lo
  bind interfaces only = yes
  lock directory = $d/lock
  state directory = $d/state
  cache directory = $d/cache
  pid directory = $d/pid
  private dir = $d/private
  ncalrpc dir = $d/ncalrpc
  log file = $d/log/%m.log
  disable spoolss = yes
CONF
echo /usr/libexec/samba/samba-dcerpcd -F --no-process-group --debug-stdout --libexec-rpcds "--configfile=$d/smb.conf"
