set -eu
me='lab-2'
my_peer='https://10.213.0.12:2380'
ctl() { /usr/local/bin/etcdctl --cacert '/etc/etcd/pki/ca.crt' --cert '/etc/etcd/pki/server.crt' --key '/etc/etcd/pki/server.key' --dial-timeout=3s --command-timeout=10s "$@"; }
others=$(awk -v me="$me" '$1 != me { printf "%s%s", sep, $3; sep = "," }' '/etc/etcd/etcd-stack.members')
tmp=""; js=""
trap 'rm -f "$tmp" "$js"' EXIT
list=$(ctl --endpoints "$others" member list -w simple) || { echo "$me: no other member answers (at $others): cannot add it back" >&2; exit 1; }
mine=$(echo "$list" | awk -F', ' -v u="$my_peer" '$4 == u')
if [ -n "$mine" ] && [ ! -d '/var/lib/etcd'/member ] && [ -n "$(echo "$mine" | awk -F', ' '{print $5}')" ]; then
  echo "$me has no data on its host but the cluster lists it as started (data dir wiped?): adding it back as a new member"
  mine=""
elif [ -z "$mine" ]; then
  echo "$me is not a member of the cluster (removed by hand?): adding it back as a new member"
fi
if [ -z "$mine" ]; then
  systemctl stop etcd.service || true
  if [ -d '/var/lib/etcd'/member ]; then mv '/var/lib/etcd'/member '/var/lib/etcd'/member.removed-$(date +%s); echo "$me: moved the removed member's data aside" >&2; fi
  rm -f '/etc/etcd/etcd-stack.join'
  js=$(mktemp)
  cat > "$js" <<'ETCD_STACK_JOIN'
set -eu
me='lab-2'
my_peer='https://10.213.0.12:2380'
run=existing
ctl() { /usr/local/bin/etcdctl --cacert '/etc/etcd/pki/ca.crt' --cert '/etc/etcd/pki/server.crt' --key '/etc/etcd/pki/server.key' --dial-timeout=3s --command-timeout=10s "$@"; }
if [ -s '/etc/etcd/etcd-stack.join' ]; then cat '/etc/etcd/etcd-stack.join'; exit 0; fi
decide() { printf 'initial-cluster-state=%s\ninitial-cluster=%s\n%s' "$1" "$2" "${3:-}" > '/etc/etcd/etcd-stack.join'.tmp; mv '/etc/etcd/etcd-stack.join'.tmp '/etc/etcd/etcd-stack.join'; cat '/etc/etcd/etcd-stack.join'; }
data_dir='/var/lib/etcd'
kept=0; if [ -d "$data_dir/member" ]; then kept=$(find "$data_dir/member" -type f \( -path "$data_dir/member/wal/*" -o -path "$data_dir/member/snap/*" \) | wc -l); kept=$((kept)); fi
if [ "$run" = new ] && [ "$kept" -gt 0 ]; then
  echo "$me: refusing to start etcd: this stack is new (its first up), but $data_dir holds $kept files of an earlier etcd (member/wal, member/snap): etcd would start from them, bringing back an earlier cluster (its members and keys) instead of a new one; nothing was started." \
    "To bring those keys back, restore them from a snapshot taken before (scheduled ones stay in /var/backups/etcd on the members' hosts): pulumi config set --path etcd:restore.snapshot <file>, then pulumi up (README \"Restore from a snapshot\"); this data is then moved aside." \
    "If the data is not wanted: mv $data_dir/member $data_dir/member.old on this host, then pulumi up." >&2
  exit 1
fi
others=$(awk -v me="$me" '$1 != me { printf "%s%s", sep, $3; sep = " " }' '/etc/etcd/etcd-stack.members')
answers=$(mktemp -d); n=0
for url in $others; do
  n=$((n + 1)); (
    hp=${url#https://}; h=${hp%:*}; h=${h#[}; h=${h%]}; p=${hp##*:}
    if command -v bash >/dev/null; then if timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' sh "$h" "$p" 2>/dev/null; then :; else [ $? -ne 1 ] || exit 0; fi; fi
    if ! st=$(ctl --endpoints "$url" --dial-timeout=1s --command-timeout=1s endpoint status -w fields 2>&1); then
      case "$st" in *"waiting for connections to become ready"*) exit 0 ;; esac
      st=$(ctl --endpoints "$url" --dial-timeout=2s --command-timeout=3s endpoint status -w fields 2>/dev/null) || exit 0
    fi
    echo "$st" | grep -q '^"Leader" : [1-9]' && echo "$url" > "$answers/$n"
  ) &
done
wait
endpoint=$(cat "$answers"/* 2>/dev/null | head -n 1); rm -rf "$answers"
if [ -z "$endpoint" ]; then
  if [ "$run" = existing ]; then
    if [ "$kept" -gt 0 ]; then held=" ($data_dir holds $kept files of etcd data)"; else held=""; fi
    echo "$me: refusing to bootstrap a new cluster: no other member answers with a leader, and this stack is not new (its first up was earlier)$held;" \
      "bootstrapping would start a second cluster behind the same endpoints; nothing was started." \
      "Bring the cluster's other members back until a quorum answers, then pulumi up again; if the cluster is lost, restore it from a snapshot:" \
      "pulumi config set --path etcd:restore.snapshot <file>, then pulumi up (README \"Restore from a snapshot\")." >&2
    exit 1
  fi
  if [ "$run" != new ] && [ "$kept" -gt 0 ]; then
    echo "$me: refusing to bootstrap a new cluster: no other member answers with a leader, and $data_dir holds $kept files of an earlier etcd (member/wal, member/snap): etcd would start from them; nothing was started." \
      "Bring the cluster's other members back until a quorum answers, then pulumi up again; if the cluster is lost, restore it from a snapshot:" \
      "pulumi config set --path etcd:restore.snapshot <file>, then pulumi up (README \"Restore from a snapshot\")." >&2
    exit 1
  fi
  echo "$me: no other member answers: bootstrapping a new cluster" >&2
  decide new "$(awk '{ printf "%s%s=%s", sep, $1, $2; sep = "," } END { print "" }' '/etc/etcd/etcd-stack.members')"
  exit 0
fi
old=$(ctl --endpoints "$endpoint" member list -w simple | awk -F', ' -v n="$me" -v u="$my_peer" '$3 == n && $4 != u')
if [ -n "$old" ]; then
  old_id=$(echo "$old" | awk -F', ' '{print $1}'); old_peer=$(echo "$old" | awk -F', ' '{print $4}'); old_client=$(echo "$old" | awk -F', ' '{print $5}')
  if [ -n "$old_client" ] && ctl --endpoints "$old_client" endpoint health >/dev/null 2>&1; then old_state="still healthy"; else old_state="down"; fi
  voters=0; voters_up=0
  for row in $(ctl --endpoints "$endpoint" member list -w simple | awk -F', ' -v id="$old_id" '$1 != id && $6 != "true" {print $1 "|" $5}'); do
    voters=$((voters + 1)); if [ -n "${row#*|}" ] && ctl --endpoints "${row#*|}" endpoint health >/dev/null 2>&1; then voters_up=$((voters_up + 1)); fi
  done
  if [ "$voters_up" -lt $(( voters / 2 + 1 )) ]; then
    echo "refusing to replace $me (registered at $old_peer, $old_state): only $voters_up of the $voters other voting members are healthy (quorum $(( voters / 2 + 1 ))); nothing was changed" >&2
    exit 1
  fi
  ctl --endpoints "$endpoint" member remove "$old_id" >/dev/null
  echo "$me moved from $old_peer ($old_state) to $my_peer: removed its old registration $old_id" >&2
fi
mine=$(ctl --endpoints "$endpoint" member list -w simple | awk -F', ' -v u="$my_peer" '$4 == u')
if [ -n "$mine" ] && [ -n "$(echo "$mine" | awk -F', ' '{print $5}')" ] && [ ! -d '/var/lib/etcd'/member ]; then
  id=$(echo "$mine" | awk -F', ' '{print $1}')
  echo "$me: registered as $id and once started, but this host has no data: removing the stale registration" >&2
  ctl --endpoints "$endpoint" member remove "$id" >&2
  mine=""
fi
if [ -z "$mine" ]; then
  if [ -d '/var/lib/etcd'/member ]; then mv '/var/lib/etcd'/member '/var/lib/etcd'/member.removed-$(date +%s); echo "$me: moved old data aside" >&2; fi
  deadline=$(( $(date +%s) + 120 ))
  while ! out=$(ctl --endpoints "$endpoint" member add "$me" --peer-urls="$my_peer" --learner 2>&1); do
    case "$out" in *"unhealthy cluster"*) if [ "$(date +%s)" -lt "$deadline" ]; then sleep 1; continue; fi ;; esac
    echo "member add of $me (as a learner) failed: $(echo "$out" | grep -v '^{"level"')" >&2
    case "$out" in *"too many learner"*)
      learners=$(ctl --endpoints "$endpoint" member list -w simple 2>/dev/null | awk -F', ' 'NR == FNR { split($0, f, " "); known[f[2]] = f[1]; next } $6 == "true" { printf "%s%s (ID %s, %s, %s)", sep, ($3 == "" ? $4 : $3), $1, ($3 == "" ? "never started" : "started, not caught up yet"), (($4 in known) ? "member " known[$4] " of this stack" : "not in this stack"); sep = "; " }' '/etc/etcd/etcd-stack.members' -)
      echo "etcd allows one learner at a time (by default) and the cluster has: ${learners:-another learner (etcdctl member list shows it)}." >&2
      echo "What to do: a learner of this stack is promoted by its own promote step once it has caught up (check journalctl -u etcd.service on its host), so run pulumi up again; a learner not in this stack is removed with etcdctl member remove <ID>, then run pulumi up again." >&2 ;;
    esac
    exit 1
  done
  echo "$me: added as a learner through $endpoint" >&2
  decide existing "$(echo "$out" | sed -n 's/^ETCD_INITIAL_CLUSTER="\(.*\)"$/\1/p')"
  exit 0
fi
echo "$me: already registered in the running cluster" >&2
decide existing "$(ctl --endpoints "$endpoint" member list -w simple | awk -F', ' 'NR == FNR { split($0, f, " "); known[f[2]] = f[1]; next } { name = $3; if (name == "") name = known[$4]; if (name == "") name = "member-" $1; printf "%s%s=%s", sep, name, $4; sep = "," } END { print "" }' '/etc/etcd/etcd-stack.members' -)"
ETCD_STACK_JOIN
  sh "$js" >/dev/null </dev/null
fi
tmp=$(mktemp "$(dirname '/etc/etcd/etcd.conf.yml')/.etcd-stack.XXXXXX")
sed -e 's|^initial-cluster-state: .*|initial-cluster-state: "@@initial-cluster-state@@"|;s|^initial-cluster: .*|initial-cluster: "@@initial-cluster@@"|' '/etc/etcd/etcd.conf.yml' > "$tmp"
state=$(sed -n 's/^initial-cluster-state=//p' '/etc/etcd/etcd-stack.join'); cluster=$(sed -n 's/^initial-cluster=//p' '/etc/etcd/etcd-stack.join')
[ -n "$state" ] && [ -n "$cluster" ] || { echo "no join decision in /etc/etcd/etcd-stack.join: the join step must run first" >&2; exit 1; }
sed -i "s|@@initial-cluster-state@@|$state|; s|@@initial-cluster@@|$cluster|" "$tmp"
chmod --reference='/etc/etcd/etcd.conf.yml' "$tmp"; chown --reference='/etc/etcd/etcd.conf.yml' "$tmp"
if cmp -s "$tmp" '/etc/etcd/etcd.conf.yml'; then rm -f "$tmp"; else mv -f "$tmp" '/etc/etcd/etcd.conf.yml'; fi
if ! systemctl is-active --quiet etcd.service; then
  systemctl reset-failed etcd.service >/dev/null 2>&1 || true
  systemctl start --no-block etcd.service
  echo "$me: etcd started as a learner"
fi
