set -eu
systemctl daemon-reload
systemctl enable etcd.service >/dev/null 2>&1
systemctl start --no-block etcd.service
echo "started etcd.service on $(hostname)"
