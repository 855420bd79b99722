set -eu
want='3.6.16'
installed() {
  /usr/local/bin/etcd --version 2>/dev/null | grep -qx "etcd Version: $want" &&
  /usr/local/bin/etcdctl version 2>/dev/null | grep -qx "etcdctl version: $want" &&
  /usr/local/bin/etcdutl version 2>/dev/null | grep -qx "etcdutl version: $want"
}
if installed; then echo "etcd, etcdctl and etcdutl $want already installed"; exit 0; fi
have=$(/usr/local/bin/etcd --version 2>/dev/null | sed -n 's/^etcd Version: //p' || true)
if [ -n "$have" ] && [ "$have" != "$want" ]; then
  refuse() { echo "refusing to change etcd $have to $want on $(hostname): $1; nothing was changed" >&2; exit 1; }
  set -- $(echo "$have" | tr . ' '); hM=$1; hm=$2; hp=$3
  set -- $(echo "$want" | tr . ' '); wM=$1; wm=$2; wp=$3
  if [ "$wM" -ne "$hM" ] || [ "$wm" -lt "$hm" ] || { [ "$wm" -eq "$hm" ] && [ "$wp" -lt "$hp" ]; }; then refuse "a downgrade is not supported"; fi
  if [ "$wm" -gt $((hm + 1)) ]; then refuse "upgrades go one minor version at a time (to $hM.$((hm + 1)) first)"; fi
  if [ "$hM.$hm" = 3.5 ] && [ "$wm" -eq 6 ] && [ "$hp" -lt 26 ]; then refuse "3.5 members must run 3.5.26 or later before 3.6"; fi
  ctl() { /usr/local/bin/etcdctl --cacert '/etc/etcd/pki/ca.crt' --cert '/etc/etcd/pki/server.crt' --key '/etc/etcd/pki/server.key' --command-timeout=10s --endpoints https://127.0.0.1:2379 "$@"; }
  health=$(ctl endpoint health --cluster 2>&1) || refuse "not every member is healthy: $(echo "$health" | grep -v '^{' | grep -v 'is healthy' | head -n 3)"
  install -d -m 0700 -o root -g root '/var/backups/etcd'
  snap="/var/backups/etcd/pre-upgrade-$have-to-$want-$(date -u +%Y%m%dT%H%M%SZ).db"
  ctl snapshot save "$snap" >/dev/null 2>&1 || refuse "the snapshot before the upgrade failed"
  /usr/local/bin/etcdutl snapshot status "$snap" >/dev/null 2>&1 || refuse "the snapshot $snap does not check out"
  echo "upgrading etcd $have -> $want; snapshot taken first: $snap"
fi
[ -d '/var/tmp/etcd-stack/etcd.tar.gz.d' ] || { echo "no release unpacked at /var/tmp/etcd-stack/etcd.tar.gz.d (the tarball step stages it)" >&2; exit 1; }
install -m 0755 -o root -g root '/var/tmp/etcd-stack/etcd.tar.gz.d/etcd' /usr/local/bin/etcd.new && mv /usr/local/bin/etcd.new /usr/local/bin/etcd
install -m 0755 -o root -g root '/var/tmp/etcd-stack/etcd.tar.gz.d/etcdctl' /usr/local/bin/etcdctl.new && mv /usr/local/bin/etcdctl.new /usr/local/bin/etcdctl
install -m 0755 -o root -g root '/var/tmp/etcd-stack/etcd.tar.gz.d/etcdutl' /usr/local/bin/etcdutl.new && mv /usr/local/bin/etcdutl.new /usr/local/bin/etcdutl
installed || { echo "installed binaries do not all report version $want: $(/usr/local/bin/etcd --version 2>&1 | head -n1)" >&2; exit 1; }
echo "installed etcd, etcdctl and etcdutl $want"
