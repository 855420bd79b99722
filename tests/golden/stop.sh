set -eu
systemctl disable --now etcd.service >/dev/null 2>&1 || true
rm -f /etc/systemd/system/etcd.service '/etc/etcd/etcd-stack.applied'
systemctl daemon-reload
systemctl reset-failed etcd.service >/dev/null 2>&1 || true
