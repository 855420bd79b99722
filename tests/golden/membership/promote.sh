set -eu
me='lab-2'
my_peer='https://10.213.0.12:2380'
ctl() { /usr/local/bin/etcdctl --cacert '/etc/etcd/pki/ca.crt' --cert '/etc/etcd/pki/server.crt' --key '/etc/etcd/pki/server.key' --dial-timeout=3s --command-timeout=10s "$@"; }
others=$(awk -v me="$me" '$1 != me { printf "%s%s", sep, $3; sep = "," }' '/etc/etcd/etcd-stack.members')
if grep -qx 'initial-cluster-state=new' '/etc/etcd/etcd-stack.join' 2>/dev/null; then echo "$me bootstrapped the cluster: a voting member"; exit 0; fi
if grep -q '^adopted-from=' '/etc/etcd/etcd-stack.join' 2>/dev/null; then
  local_ep=https://127.0.0.1:2379
  col() { ctl --endpoints "$1" endpoint status -w table | awk -F'|' -v h="$2" 'NR == 2 { for (i = 1; i <= NF; i++) { x = $i; gsub(/^ +| +$/, "", x); if (x == h) c = i } } NR == 4 && c { v = $c; gsub(/ /, "", v); print v }'; }
  deadline=$(( $(date +%s) + 120 ))
  until ctl --endpoints "$local_ep" endpoint health >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "$me (adopted) not healthy after 120s; last journal lines:" >&2
      journalctl -u etcd.service -n 40 --no-pager >&2 || true
      exit 1
    fi
    sleep 0.2
  done
  id=$(col "$local_ep" ID)
  peer=$(ctl --endpoints "$local_ep" member list -w simple | awk -F', ' -v id="$id" '$1 == id {print $4}')
  if [ "$peer" != "$my_peer" ]; then
    ctl --endpoints "$local_ep" member update "$id" --peer-urls="$my_peer" >/dev/null
    echo "$me (adopted) now reached by its peers at $my_peer (was $peer)"
  else echo "$me (adopted) is a voting member at $my_peer"; fi
  exit 0
fi
promoted() {
  list=$(ctl --endpoints "$others" member list -w simple 2>/dev/null) || list=""
  mine=$(echo "$list" | awk -F', ' -v u="$my_peer" '$4 == u')
  case "$mine" in
    *", false") echo "$me is a voting member"; return 0 ;;
    *", true") id=$(echo "$mine" | awk -F', ' '{print $1}'); out=$(ctl --endpoints "$others" member promote "$id" 2>&1) && { echo "$me promoted from learner to voting member"; return 0; }
      next="$me is still a learner (ID $id): it has not caught up with the leader. Check its journal (below), its disk and its network to the other members, then run pulumi up again; to give up on it, take it out of etcd:members and run pulumi up (that removes it from the cluster)" ;;
    *) [ -z "$list" ] || { echo "$me is not in the member list (removed by hand?): not promoted; the cluster's membership step adds it back (pulumi up --refresh)"; return 0; }
      out="no other member answers (at $others)"; next="" ;;
  esac
  return 1
}
deadline=$(( $(date +%s) + 120 ))
next=""
until promoted; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "$me could not be promoted within 120s: $out${next:+. $next}; last journal lines:" >&2
    journalctl -u etcd.service -n 40 --no-pager >&2 || true
    exit 1
  fi
  sleep 0.2
done
