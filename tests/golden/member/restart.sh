set -eu
me='lab-2'
digest='dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd'
local_ep=https://127.0.0.1:2379
ctl() { /usr/local/bin/etcdctl --cacert '/etc/etcd/pki/ca.crt' --cert '/etc/etcd/pki/server.crt' --key '/etc/etcd/pki/server.key' --command-timeout=5s "$@"; }
col() { ctl --endpoints "$1" endpoint status -w table | awk -F'|' -v h="$2" 'NR == 2 { for (i = 1; i <= NF; i++) { x = $i; gsub(/^ +| +$/, "", x); if (x == h) c = i } } NR == 4 && c { v = $c; gsub(/ /, "", v); print v }'; }
serving() { [ -n "$1" ] && ctl --endpoints "$1" endpoint status -w fields 2>/dev/null | grep -q '^"Leader" : [1-9]'; }
systemctl daemon-reload
systemctl enable etcd.service >/dev/null 2>&1
if systemctl is-active --quiet etcd.service && [ "$(cat '/etc/etcd/etcd-stack.applied' 2>/dev/null)" = "$digest" ]; then
  echo "$me: etcd already runs with these inputs; not restarted"
  exit 0
fi
if [ ! -s '/etc/etcd/etcd-stack.applied' ] && ! systemctl is-active --quiet etcd.service; then
  systemctl start --no-block etcd.service
  echo "$digest" > '/etc/etcd/etcd-stack.applied'
  echo "$me: first start of etcd.service on this host"
  exit 0
fi
other_clients=$(awk -v me="$me" '$1 != me { printf "%s%s", sep, $3; sep = "," }' '/etc/etcd/etcd-stack.members' 2>/dev/null || true)
list=""; [ -z "$other_clients" ] || list=$(ctl --endpoints "$other_clients" member list -w simple 2>/dev/null) || true
if [ -n "$list" ] && [ -z "$(echo "$list" | awk -F', ' -v u='https://10.213.0.12:2380' -v n="$me" '$4 == u || $3 == n')" ]; then
  echo "$me is not a member of the cluster (removed by hand?): not restarted; pulumi up --refresh adds it back (the cluster's membership step)"
  exit 0
fi
if [ -n "$list" ] && [ ! -d '/var/lib/etcd'/member ] && [ -n "$(echo "$list" | awk -F', ' -v u='https://10.213.0.12:2380' '$4 == u && $5 != ""')" ]; then
  echo "$me has no data on this host, but the cluster lists it as started (data dir wiped?): not restarted; pulumi up --refresh adds it back as a new member (the cluster's membership step)"
  exit 0
fi
old_pid=$(systemctl show -p MainPID --value etcd.service)
[ -n "$list" ] || list=$(ctl --endpoints "$local_ep" member list -w simple 2>/dev/null) || true
voters=0; up=0; named=""
for row in $(echo "$list" | awk -F', ' '$1 != "" && $6 != "true" { print ($3 == "" ? "(unstarted)" : $3) "|" $4 "|" $5 }'); do
  name=${row%%|*}; rest=${row#*|}; peer=${rest%%|*}; client=${rest#*|}
  voters=$((voters + 1))
  if [ "$name" = "$me" ] || [ "$peer" = 'https://10.213.0.12:2380' ]; then state="this member"; elif serving "$client"; then state=up; up=$((up + 1)); else state=down; fi
  named="${named:+$named, }$name ($state)"
done
quorum=$(( voters / 2 + 1 ))
if [ "$voters" = 0 ] || [ "$up" -lt "$quorum" ]; then
  if [ "$voters" = 0 ]; then why="no member answers (asked $local_ep${other_clients:+,$other_clients}), so its voters cannot be counted"; else why="with $me stopped, $up of its $voters voters would be up (a quorum is $quorum); voters: $named"; fi
  if [ "$old_pid" != 0 ]; then echo "refusing to restart $me: $why; nothing was stopped" >&2; exit 1; fi
  echo "warning: $why; $me's etcd is not running, so starting it takes no vote away"
else
  case "$named" in *"(down)"*) echo "warning: voters: $named; a quorum holds while $me restarts" ;; esac
fi
if [ "$(col "$local_ep" "IS LEADER" 2>/dev/null)" = true ]; then
  for to in $(awk -v me="$me" '{ n[NR] = $1; if ($1 == me) i = NR } END { for (k = NR; k > i; k--) print n[k]; for (k = i - 1; k >= 1; k--) print n[k] }' '/etc/etcd/etcd-stack.members'); do
    line=$(echo "$list" | awk -F', ' -v n="$to" '$3 == n && $2 == "started" && $6 != "true" { print $1 " " $5 }')
    [ -n "$line" ] || continue
    serving "${line#* }" || continue
    if ctl --endpoints "$local_ep" move-leader "${line%% *}" >/dev/null 2>&1; then echo "$me: handed leadership to $to"; break; fi
  done
fi
systemctl restart --no-block etcd.service
deadline=$(( $(date +%s) + 120 ))
until pid=$(systemctl show -p MainPID --value etcd.service) && [ "$pid" != 0 ] && [ "$pid" != "$old_pid" ]; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "member $me did not start a new etcd process within 120s; last journal lines:" >&2
    journalctl -u etcd.service -n 40 --no-pager >&2 || true
    exit 1
  fi
  sleep 0.2
done
only_nospace() { a=$(ctl --endpoints "$local_ep" alarm list 2>/dev/null) && [ -n "$a" ] && ! echo "$a" | grep -qv 'alarm:NOSPACE'; }
nospace=""
until ctl --endpoints "$local_ep" endpoint health >/dev/null 2>&1 || { serving "$local_ep" && only_nospace && nospace=yes; }; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "member $me not healthy after 120s; last journal lines:" >&2
    journalctl -u etcd.service -n 40 --no-pager >&2 || true
    exit 1
  fi
  sleep 0.2
done
echo "$digest" > '/etc/etcd/etcd-stack.applied'
[ -z "$nospace" ] || echo "warning: $me serves, and the cluster's NOSPACE alarm is still raised: once every member has the new quota, disarm it (npm run maintenance)"
echo "restarted etcd.service on $me (pid $old_pid -> $pid); healthy"
