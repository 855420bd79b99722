set -eu
systemctl daemon-reload
systemctl enable etcd.service >/dev/null 2>&1
systemctl start --no-block etcd.service
echo 'dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd' > '/etc/etcd/etcd-stack.applied'
echo "started etcd.service on $(hostname)"
