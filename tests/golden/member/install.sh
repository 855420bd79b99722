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
  if [ "$hM.$hm" = 3.5 ] && [ "$wm" -eq 6 ] && [ "$hp" -lt 32 ]; then refuse "3.5 members must run 3.5.32 or later before 3.6 (etcd's upgrade guide)"; fi
  if [ "$hM.$hm" = 3.5 ] && [ "$wm" -eq 6 ]; then
    v2=$(/usr/local/bin/etcdutl check v2store --data-dir '/var/lib/etcd' 2>&1) || refuse "etcdutl check v2store found data etcd 3.6 cannot start with (etcd's upgrade guide, V2 Store): $(echo "$v2" | tail -n 5)"
  fi
  ctl() { /usr/local/bin/etcdctl --cacert '/etc/etcd/pki/ca.crt' --cert '/etc/etcd/pki/server.crt' --key '/etc/etcd/pki/server.key' --command-timeout=10s --endpoints https://127.0.0.1:2379 "$@"; }
  health=$(ctl endpoint health --cluster 2>&1) || refuse "not every member is healthy: $(echo "$health" | grep -v '^{' | grep -v 'is healthy' | head -n 3)"
  install -d -m 0700 -o root -g root '/var/backups/etcd'
  snap="/var/backups/etcd/pre-upgrade-$have-to-$want-$(date -u +%Y%m%dT%H%M%SZ).db"
  ctl snapshot save "$snap" >/dev/null 2>&1 || refuse "the snapshot before the upgrade failed"
  /usr/local/bin/etcdutl snapshot status "$snap" >/dev/null 2>&1 || refuse "the snapshot $snap does not check out"
  echo "upgrading etcd $have -> $want; snapshot taken first: $snap"
fi
for d in '/var/lib/etcd-stack' '/var/lib/etcd-stack/releases'; do
  [ -e "$d" ] || [ -L "$d" ] || continue
  if [ -L "$d" ] || [ ! -d "$d" ]; then why="is a symlink or not a directory"
  elif [ "$(stat -c %u "$d")" != "$(id -u)" ]; then why="is owned by uid $(stat -c %u "$d"), not $(id -u)"
  elif [ $((0$(stat -c %a "$d") & 022)) != 0 ]; then why="is writable by group or others (mode $(stat -c %a "$d"))"
  else continue; fi
  echo "refusing to use $d for etcd releases: it $why; root installs what is staged there. Remove it (or make it root's, mode 0700) and run pulumi up again" >&2; exit 1
done
[ -f '/var/lib/etcd-stack/releases/etcd.tar.gz' ] || { echo "no release staged at /var/lib/etcd-stack/releases/etcd.tar.gz (the tarball step stages it)" >&2; exit 1; }
work=$(mktemp -d /var/lib/etcd-stack/releases/install.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp '/var/lib/etcd-stack/releases/etcd.tar.gz' "$work/release.tar.gz"
got=$(sha256sum < "$work/release.tar.gz" | cut -c1-64)
[ "$got" = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' ] || { echo "refusing to install from /var/lib/etcd-stack/releases/etcd.tar.gz: its sha256 is $got, not the staged release's bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb; nothing was installed. It changed after it was staged: pulumi refresh shows it, pulumi up stages it again" >&2; exit 1; }
mkdir "$work/release"; tar -xzf "$work/release.tar.gz" -C "$work/release" --strip-components=1
[ -f "$work/release/etcd" ] || { echo "the release at /var/lib/etcd-stack/releases/etcd.tar.gz has no etcd; nothing was installed" >&2; exit 1; }
[ -f "$work/release/etcdctl" ] || { echo "the release at /var/lib/etcd-stack/releases/etcd.tar.gz has no etcdctl; nothing was installed" >&2; exit 1; }
[ -f "$work/release/etcdutl" ] || { echo "the release at /var/lib/etcd-stack/releases/etcd.tar.gz has no etcdutl; nothing was installed" >&2; exit 1; }
install -m 0755 -o root -g root "$work/release/etcd" /usr/local/bin/etcd.new && mv /usr/local/bin/etcd.new /usr/local/bin/etcd
install -m 0755 -o root -g root "$work/release/etcdctl" /usr/local/bin/etcdctl.new && mv /usr/local/bin/etcdctl.new /usr/local/bin/etcdctl
install -m 0755 -o root -g root "$work/release/etcdutl" /usr/local/bin/etcdutl.new && mv /usr/local/bin/etcdutl.new /usr/local/bin/etcdutl
installed || { echo "installed binaries do not all report version $want: $(/usr/local/bin/etcd --version 2>&1 | head -n1)" >&2; exit 1; }
echo "installed etcd, etcdctl and etcdutl $want"
