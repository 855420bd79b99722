set -eu
systemctl daemon-reload
systemctl enable etcd.service >/dev/null 2>&1
systemctl restart --no-block etcd.service
deadline=$(( $(date +%s) + 120 ))
until /usr/local/bin/etcdctl --endpoints https://127.0.0.1:2379 --cacert '/etc/etcd/pki/ca.crt' --cert '/etc/etcd/pki/server.crt' --key '/etc/etcd/pki/server.key' --command-timeout=5s endpoint health >/dev/null 2>&1; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "member $(hostname) not healthy after 120s; last journal lines:" >&2
    journalctl -u etcd.service -n 40 --no-pager >&2 || true
    exit 1
  fi
  sleep 1
done
echo "restarted etcd.service on $(hostname); healthy"
