set -eu
systemctl disable --now etcd.service >/dev/null 2>&1 || true
rm -f /etc/systemd/system/etcd.service
systemctl daemon-reload
systemctl reset-failed etcd.service >/dev/null 2>&1 || true
echo "data dir /var/lib/etcd kept (purgeDataOnDestroy is false)"
