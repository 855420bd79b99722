set -eu
restart=0; reload=0; tmp=""; rs=""
trap 'rm -f "$tmp" "$rs"' EXIT
started=0
if systemctl is-active --quiet 'etcd.service'; then
  at=$(systemctl show -p ActiveEnterTimestamp --value 'etcd.service')
  [ -z "$at" ] || started=$(date -d "$at" +%s)
fi
IFS= read -r last; IFS= read -r content
tmp=$(mktemp "$(dirname '/etc/etcd/pki/server.key')/.etcd-stack.XXXXXX")
chmod 0600 "$tmp"
printf '%s' "$content" | base64 -d > "$tmp"
chown etcd:etcd "$tmp"
if [ "$last" != - ] && [ -e '/etc/etcd/pki/server.key' ] && [ "$(sha256sum < '/etc/etcd/pki/server.key' | cut -c1-64)" != "$last" ] && [ "$(stat -c %Y '/etc/etcd/pki/server.key')" -le "$started" ]; then
  echo "/etc/etcd/pki/server.key was changed by hand and etcd has started with it since" >&2; restart=1
fi
if cmp -s "$tmp" '/etc/etcd/pki/server.key' && [ "$(stat -c '%a %U:%G' "$tmp")" = "$(stat -c '%a %U:%G' '/etc/etcd/pki/server.key')" ]; then rm -f "$tmp"; else mv -f "$tmp" '/etc/etcd/pki/server.key'; fi
if [ -e '/etc/etcd/pki/server.key' ]; then echo "file /etc/etcd/pki/server.key $(sha256sum < '/etc/etcd/pki/server.key' | cut -c1-64) $(stat -c '%a %U:%G' '/etc/etcd/pki/server.key')"; else echo "file /etc/etcd/pki/server.key missing"; fi
IFS= read -r last; IFS= read -r content
tmp=$(mktemp "$(dirname '/etc/etcd/etcd.conf.yml')/.etcd-stack.XXXXXX")
chmod 0644 "$tmp"
printf '%s' "$content" | base64 -d > "$tmp"
state=$(sed -n 's/^initial-cluster-state=//p' '/etc/etcd/etcd-stack.join'); cluster=$(sed -n 's/^initial-cluster=//p' '/etc/etcd/etcd-stack.join')
[ -n "$state" ] && [ -n "$cluster" ] || { echo "no join decision in /etc/etcd/etcd-stack.join: the join step must run first" >&2; exit 1; }
sed -i "s|@@initial-cluster-state@@|$state|; s|@@initial-cluster@@|$cluster|" "$tmp"
chown root:root "$tmp"
if [ "$last" != - ] && [ -e '/etc/etcd/etcd.conf.yml' ] && [ "$(sed -e 's|^initial-cluster-state: .*|initial-cluster-state: "@@initial-cluster-state@@"|;s|^initial-cluster: .*|initial-cluster: "@@initial-cluster@@"|' '/etc/etcd/etcd.conf.yml' | sha256sum | cut -c1-64)" != "$last" ] && [ "$(stat -c %Y '/etc/etcd/etcd.conf.yml')" -le "$started" ]; then
  echo "/etc/etcd/etcd.conf.yml was changed by hand and etcd has started with it since" >&2; restart=1
fi
if cmp -s "$tmp" '/etc/etcd/etcd.conf.yml' && [ "$(stat -c '%a %U:%G' "$tmp")" = "$(stat -c '%a %U:%G' '/etc/etcd/etcd.conf.yml')" ]; then rm -f "$tmp"; else mv -f "$tmp" '/etc/etcd/etcd.conf.yml'; fi
if [ -e '/etc/etcd/etcd.conf.yml' ]; then echo "file /etc/etcd/etcd.conf.yml $(sed -e 's|^initial-cluster-state: .*|initial-cluster-state: "@@initial-cluster-state@@"|;s|^initial-cluster: .*|initial-cluster: "@@initial-cluster@@"|' '/etc/etcd/etcd.conf.yml' | sha256sum | cut -c1-64) $(stat -c '%a %U:%G' '/etc/etcd/etcd.conf.yml')"; else echo "file /etc/etcd/etcd.conf.yml missing"; fi
IFS= read -r last; IFS= read -r content
tmp=$(mktemp "$(dirname '/etc/etcd/etcd-stack.members')/.etcd-stack.XXXXXX")
chmod 0644 "$tmp"
printf '%s' "$content" | base64 -d > "$tmp"
chown root:root "$tmp"
if cmp -s "$tmp" '/etc/etcd/etcd-stack.members' && [ "$(stat -c '%a %U:%G' "$tmp")" = "$(stat -c '%a %U:%G' '/etc/etcd/etcd-stack.members')" ]; then rm -f "$tmp"; else mv -f "$tmp" '/etc/etcd/etcd-stack.members'; fi
if [ -e '/etc/etcd/etcd-stack.members' ]; then echo "file /etc/etcd/etcd-stack.members $(sha256sum < '/etc/etcd/etcd-stack.members' | cut -c1-64) $(stat -c '%a %U:%G' '/etc/etcd/etcd-stack.members')"; else echo "file /etc/etcd/etcd-stack.members missing"; fi
[ "$reload" = 0 ] || systemctl daemon-reload
if ! [ "$(head -n1 '/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz.sha256sums' 2>/dev/null)" = 'tarball bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' ] && [ -f '/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz' ] && echo 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb''  ''/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz' | sha256sum -c --quiet - 2>/dev/null; then
  unpacked=$(mktemp -d /var/lib/etcd-stack/releases/sums.XXXXXX)
  if tar -xzf '/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz' -C "$unpacked" --strip-components=1; then { echo 'tarball bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'; (cd "$unpacked" && sha256sum etcd etcdctl etcdutl); } > '/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz.sha256sums'.new && mv -f '/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz.sha256sums'.new '/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz.sha256sums'; fi
  rm -rf "$unpacked"
fi
if [ "$(head -n1 '/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz.sha256sums' 2>/dev/null)" = 'tarball bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' ]; then
  want=$(awk '$2 == "etcd" { print $1 }' '/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz.sha256sums')
  if [ ! -e '/usr/local/bin/etcd' ]; then state=missing; elif cmp -s '/usr/local/bin/etcd' '/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz.d/etcd' || [ "$(sha256sum < '/usr/local/bin/etcd' | cut -c1-64)" = "$want" ]; then state=same; else state=differs; fi
  if [ "$state" != same ]; then
    [ "$state" = differs ] && [ "$(stat -c %Y '/usr/local/bin/etcd')" -le "$started" ] && restart=1
    tar -xzOf '/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz' --wildcards '*/etcd' > '/usr/local/bin/etcd'.new
    [ "$(sha256sum < '/usr/local/bin/etcd'.new | cut -c1-64)" = "$want" ] || { rm -f '/usr/local/bin/etcd'.new; echo "/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz no longer holds the etcd its sums name; not repaired" >&2; exit 1; }
    chmod 0755 '/usr/local/bin/etcd'.new && chown root:root '/usr/local/bin/etcd'.new && mv -f '/usr/local/bin/etcd'.new '/usr/local/bin/etcd'
    echo "repaired /usr/local/bin/etcd ($state) from the staged release" >&2
  fi
  want=$(awk '$2 == "etcdctl" { print $1 }' '/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz.sha256sums')
  if [ ! -e '/usr/local/bin/etcdctl' ]; then state=missing; elif cmp -s '/usr/local/bin/etcdctl' '/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz.d/etcdctl' || [ "$(sha256sum < '/usr/local/bin/etcdctl' | cut -c1-64)" = "$want" ]; then state=same; else state=differs; fi
  if [ "$state" != same ]; then
    tar -xzOf '/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz' --wildcards '*/etcdctl' > '/usr/local/bin/etcdctl'.new
    [ "$(sha256sum < '/usr/local/bin/etcdctl'.new | cut -c1-64)" = "$want" ] || { rm -f '/usr/local/bin/etcdctl'.new; echo "/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz no longer holds the etcdctl its sums name; not repaired" >&2; exit 1; }
    chmod 0755 '/usr/local/bin/etcdctl'.new && chown root:root '/usr/local/bin/etcdctl'.new && mv -f '/usr/local/bin/etcdctl'.new '/usr/local/bin/etcdctl'
    echo "repaired /usr/local/bin/etcdctl ($state) from the staged release" >&2
  fi
  want=$(awk '$2 == "etcdutl" { print $1 }' '/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz.sha256sums')
  if [ ! -e '/usr/local/bin/etcdutl' ]; then state=missing; elif cmp -s '/usr/local/bin/etcdutl' '/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz.d/etcdutl' || [ "$(sha256sum < '/usr/local/bin/etcdutl' | cut -c1-64)" = "$want" ]; then state=same; else state=differs; fi
  if [ "$state" != same ]; then
    tar -xzOf '/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz' --wildcards '*/etcdutl' > '/usr/local/bin/etcdutl'.new
    [ "$(sha256sum < '/usr/local/bin/etcdutl'.new | cut -c1-64)" = "$want" ] || { rm -f '/usr/local/bin/etcdutl'.new; echo "/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz no longer holds the etcdutl its sums name; not repaired" >&2; exit 1; }
    chmod 0755 '/usr/local/bin/etcdutl'.new && chown root:root '/usr/local/bin/etcdutl'.new && mv -f '/usr/local/bin/etcdutl'.new '/usr/local/bin/etcdutl'
    echo "repaired /usr/local/bin/etcdutl ($state) from the staged release" >&2
  fi
else
  echo "no staged release at /var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz to check the binaries against" >&2
fi
if ! systemctl is-enabled --quiet 'etcd.service'; then systemctl enable 'etcd.service' >/dev/null 2>&1; echo "enabled etcd.service again" >&2; fi
systemctl is-active --quiet 'etcd.service' || { echo "etcd.service was not running" >&2; restart=1; }
if [ "$restart" = 1 ]; then
  rs=$(mktemp)
  cat > "$rs" <<'ETCD_STACK_RESTART'
set -eu
me='lab-1'
local_ep=https://127.0.0.1:2379
ctl() { /usr/local/bin/etcdctl --cacert '/etc/etcd/pki/ca.crt' --cert '/etc/etcd/pki/server.crt' --key '/etc/etcd/pki/server.key' --command-timeout=5s "$@"; }
col() { ctl --endpoints "$1" endpoint status -w table | awk -F'|' -v h="$2" 'NR == 2 { for (i = 1; i <= NF; i++) { x = $i; gsub(/^ +| +$/, "", x); if (x == h) c = i } } NR == 4 && c { v = $c; gsub(/ /, "", v); print v }'; }
serving() { [ -n "$1" ] && ctl --endpoints "$1" endpoint status -w fields 2>/dev/null | grep -q '^"Leader" : [1-9]'; }
systemctl daemon-reload
systemctl enable etcd.service >/dev/null 2>&1
other_clients=$(awk -v me="$me" '$1 != me { printf "%s%s", sep, $3; sep = "," }' '/etc/etcd/etcd-stack.members' 2>/dev/null || true)
list=""; [ -z "$other_clients" ] || list=$(ctl --endpoints "$other_clients" member list -w simple 2>/dev/null) || true
if [ -n "$list" ] && [ -z "$(echo "$list" | awk -F', ' -v u='https://10.213.0.11:2380' -v n="$me" '$4 == u || $3 == n')" ]; then
  echo "$me is not a member of the cluster (removed by hand?): not restarted; pulumi up --refresh adds it back (the cluster's membership step)"
  exit 0
fi
if [ -n "$list" ] && [ ! -d '/var/lib/etcd'/member ] && [ -n "$(echo "$list" | awk -F', ' -v u='https://10.213.0.11:2380' '$4 == u && $5 != ""')" ]; then
  echo "$me has no data on this host, but the cluster lists it as started (data dir wiped?): not restarted; pulumi up --refresh adds it back as a new member (the cluster's membership step)"
  exit 0
fi
old_pid=$(systemctl show -p MainPID --value etcd.service)
[ -n "$list" ] || list=$(ctl --endpoints "$local_ep" member list -w simple 2>/dev/null) || true
voters=0; up=0; named=""
for row in $(echo "$list" | awk -F', ' '$1 != "" && $6 != "true" { print ($3 == "" ? "(unstarted)" : $3) "|" $4 "|" $5 }'); do
  name=${row%%|*}; rest=${row#*|}; peer=${rest%%|*}; client=${rest#*|}
  voters=$((voters + 1))
  if [ "$name" = "$me" ] || [ "$peer" = 'https://10.213.0.11:2380' ]; then state="this member"; elif serving "$client"; then state=up; up=$((up + 1)); else state=down; fi
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
[ -z "$nospace" ] || echo "warning: $me serves, and the cluster's NOSPACE alarm is still raised: once every member has the new quota, disarm it (npm run maintenance)"
echo "restarted etcd.service on $me (pid $old_pid -> $pid); healthy"
ETCD_STACK_RESTART
  sh "$rs" >&2 </dev/null
  echo "restarted"
fi
