#!/bin/sh
# Managed by etcd-stack: defragments every member in turn, the leader last (run by etcd-defrag.timer).
set -eu
ctl() { /usr/local/bin/etcdctl --cacert '/etc/etcd/pki/ca.crt' --cert '/etc/etcd/pki/defrag.crt' --key '/etc/etcd/pki/defrag.key' --command-timeout=10s "$@"; }
col() { ctl --endpoints "$1" endpoint status -w table | awk -F'|' -v h="$2" 'NR == 2 { for (i = 1; i <= NF; i++) { x = $i; gsub(/^ +| +$/, "", x); if (x == h) c = i } } NR == 4 && c { v = $c; gsub(/ /, "", v); print v }'; }
order=""; last=""
for ep in 'https://10.213.0.11:2379' 'https://10.213.0.12:2379' 'https://10.213.0.13:2379'; do
  leader=$(col "$ep" "IS LEADER" 2>/dev/null || true)
  [ -n "$leader" ] || { echo "no defragmentation: $ep does not answer (every member must, so that only one at a time is out)" >&2; exit 1; }
  if [ "$leader" = true ]; then last=$ep; else order="$order $ep"; fi
done
for ep in $order $last; do
  before=$(col "$ep" "DB SIZE")
  ctl --endpoints "$ep" --command-timeout=5m defrag >/dev/null || { echo "defragmentation of $ep failed; the members after it were not touched" >&2; exit 1; }
  i=0
  until ctl --endpoints "$ep" endpoint status >/dev/null 2>&1; do
    i=$((i + 1)); [ "$i" -lt 60 ] || { echo "$ep does not answer 60 s after its defragmentation; the members after it were not touched" >&2; exit 1; }
    sleep 1
  done
  echo "defragmented $ep$( [ "$ep" = "$last" ] && echo ' (leader)'): $before -> $(col "$ep" "DB SIZE")"
done
