set -eu
ctl() { /usr/local/bin/etcdctl --cacert '/etc/etcd/pki/ca.crt' --cert '/etc/etcd/pki/server.crt' --key '/etc/etcd/pki/server.key' --dial-timeout=3s --command-timeout=10s "$@"; }
local_ep=https://127.0.0.1:2379
all=$(awk '{ printf "%s%s", sep, $3; sep = "," }' '/etc/etcd/etcd-stack.members')
read -r wait || wait=0
deadline=$(( $(date +%s) + wait ))
while :; do
  if out=$(ctl --endpoints "$local_ep" member list -w simple 2>/dev/null); then echo "answered-by local"; break; fi
  if out=$(ctl --endpoints "$all" member list -w simple 2>/dev/null); then echo "answered-by others"; break; fi
  [ "$(date +%s)" -lt "$deadline" ] || { echo "no member of the cluster answers, at $local_ep or at $all" >&2; exit 3; }
  sleep 0.5
done
printf '%s\n' "$out" | sed 's/^/member /'
