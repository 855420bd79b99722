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
ctl() { /usr/local/bin/etcdctl --cacert '/etc/etcd/pki/ca.crt' --cert '/etc/etcd/pki/server.crt' --key '/etc/etcd/pki/server.key' --command-timeout=5s "$@"; }
want='lab-1,lab-2,lab-3'
endpoints='https://10.213.0.11:2379,https://10.213.0.12:2379,https://10.213.0.13:2379'
listed() { got=$(ctl --endpoints https://127.0.0.1:2379 member list -w simple 2>/dev/null | awk -F', ' '$2 == "started" {print $3}' | sort | paste -sd, -) && [ "$got" = "$want" ]; }
until listed && ctl --endpoints "$endpoints" endpoint health >/dev/null 2>&1; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    if ! listed; then echo "the cluster lists [$got] as started members, expected [$want] (asked on $(hostname))" >&2; exit 1; fi
    echo "not every member is healthy after 120s (asked on $(hostname)):" >&2
    err=$(ctl --endpoints 'https://10.213.0.11:2379' endpoint health 2>&1) || echo "  - lab-1 (https://10.213.0.11:2379): $(echo "$err" | tail -n1); see journalctl -u etcd.service on lab-1" >&2
    err=$(ctl --endpoints 'https://10.213.0.12:2379' endpoint health 2>&1) || echo "  - lab-2 (https://10.213.0.12:2379): $(echo "$err" | tail -n1); see journalctl -u etcd.service on lab-2" >&2
    err=$(ctl --endpoints 'https://10.213.0.13:2379' endpoint health 2>&1) || echo "  - lab-3 (https://10.213.0.13:2379): $(echo "$err" | tail -n1); see journalctl -u etcd.service on lab-3" >&2
    exit 1
  fi
  sleep 0.2
done
echo "healthy: every member of [$got] answers (asked on $(hostname))"
