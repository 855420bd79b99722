set -eu
rmdir '/etc/etcd/pki' 2>/dev/null || true
rmdir '/etc/etcd' 2>/dev/null || true
echo "data dir /var/lib/etcd kept (purgeDataOnDestroy is false)"
