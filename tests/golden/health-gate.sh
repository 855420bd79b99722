set -eu
deadline=$(( $(date +%s) + 120 ))
until /usr/local/bin/etcdctl --endpoints https://127.0.0.1:2379 --cacert '/etc/etcd/pki/ca.crt' --cert '/etc/etcd/pki/server.crt' --key '/etc/etcd/pki/server.key' --command-timeout=5s endpoint health >/dev/null 2>&1; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "member $(hostname) not healthy after 120s; last journal lines:" >&2
    journalctl -u etcd.service -n 40 --no-pager >&2 || true
    exit 1
  fi
  sleep 0.2
done
want='lab-1,lab-2,lab-3'
until got=$(/usr/local/bin/etcdctl --endpoints https://127.0.0.1:2379 --cacert '/etc/etcd/pki/ca.crt' --cert '/etc/etcd/pki/server.crt' --key '/etc/etcd/pki/server.key' --command-timeout=5s member list -w simple 2>/dev/null | awk -F', ' '$2 == "started" {print $3}' | sort | paste -sd, -) && [ "$got" = "$want" ]; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "member list on $(hostname) is [$got], expected [$want]; last journal lines:" >&2
    journalctl -u etcd.service -n 40 --no-pager >&2 || true
    exit 1
  fi
  sleep 0.2
done
echo "healthy: $(hostname) sees members [$got]"
