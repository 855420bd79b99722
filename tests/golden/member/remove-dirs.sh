set -eu
if [ -f '/etc/etcd/etcd.conf.yml' ] && ! grep -qxF 'name: "lab-1"' '/etc/etcd/etcd.conf.yml'; then
  echo "lab-1: this host's etcd config names $(sed -n 's/^name: //p' '/etc/etcd/etcd.conf.yml' | head -n 1), not lab-1: its unit, files and data are left alone"
  exit 0
fi
rmdir '/etc/etcd/pki' 2>/dev/null || true
rmdir '/etc/etcd' 2>/dev/null || true
rm -rf '/var/tmp/etcd-stack'
echo "data dir /var/lib/etcd kept (purgeDataOnDestroy is false)"
