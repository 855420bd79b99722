set -eu
me='lab-2'
my_peer='https://10.213.0.12:2380'
ctl() { /usr/local/bin/etcdctl --cacert '/etc/etcd/pki/ca.crt' --cert '/etc/etcd/pki/server.crt' --key '/etc/etcd/pki/server.key' --dial-timeout=3s --command-timeout=10s "$@"; }
others=$(awk -v me="$me" '$1 != me { printf "%s%s", sep, $3; sep = "," }' '/etc/etcd/etcd-stack.members')
if grep -qx 'initial-cluster-state=new' '/etc/etcd/etcd-stack.join' 2>/dev/null; then echo "$me bootstrapped the cluster: a voting member"; exit 0; fi
promoted() {
  mine=$(ctl --endpoints "$others" member list -w simple 2>/dev/null | awk -F', ' -v u="$my_peer" '$4 == u') || true
  case "$mine" in
    *", false") echo "$me is a voting member"; return 0 ;;
    *", true") out=$(ctl --endpoints "$others" member promote "$(echo "$mine" | awk -F', ' '{print $1}')" 2>&1) && { echo "$me promoted from learner to voting member"; return 0; } ;;
    *) out="not in the member list" ;;
  esac
  return 1
}
deadline=$(( $(date +%s) + 120 ))
until promoted; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "$me could not be promoted within 120s: $out; last journal lines:" >&2
    journalctl -u etcd.service -n 40 --no-pager >&2 || true
    exit 1
  fi
  sleep 1
done
