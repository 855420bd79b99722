set -eu
if [ -f '/etc/etcd/etcd.conf.yml' ] && ! grep -qxF 'name: "lab-1"' '/etc/etcd/etcd.conf.yml'; then
  echo "lab-1: this host's etcd config names $(sed -n 's/^name: //p' '/etc/etcd/etcd.conf.yml' | head -n 1), not lab-1: its unit, files and data are left alone"
  exit 0
fi
systemctl disable --now etcd.service >/dev/null 2>&1 || true
rm -f /etc/systemd/system/etcd.service '/etc/etcd/etcd-stack.applied'
systemctl daemon-reload
systemctl reset-failed etcd.service >/dev/null 2>&1 || true
