set -eu
want='3.6.16'
if [ -x /usr/local/bin/etcd ] && /usr/local/bin/etcd --version 2>/dev/null | grep -q "^etcd Version: $want$"; then echo "etcd $want already installed"; exit 0; fi
echo 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb''  ''/var/tmp/etcd-stack/etcd.tar.gz' | sha256sum -c --quiet - || { echo "checksum mismatch for /var/tmp/etcd-stack/etcd.tar.gz" >&2; exit 1; }
work=$(mktemp -d /var/tmp/etcd-stack/unpack.XXXXXX)
trap 'rm -rf "$work"' EXIT
tar -xzf '/var/tmp/etcd-stack/etcd.tar.gz' -C "$work" --strip-components=1
install -m 0755 -o root -g root "$work/etcd" /usr/local/bin/etcd.new && mv /usr/local/bin/etcd.new /usr/local/bin/etcd
install -m 0755 -o root -g root "$work/etcdctl" /usr/local/bin/etcdctl.new && mv /usr/local/bin/etcdctl.new /usr/local/bin/etcdctl
install -m 0755 -o root -g root "$work/etcdutl" /usr/local/bin/etcdutl.new && mv /usr/local/bin/etcdutl.new /usr/local/bin/etcdutl
got=$(/usr/local/bin/etcd --version | sed -n 's/^etcd Version: //p')
[ "$got" = "$want" ] || { echo "installed etcd reports version $got, expected $want" >&2; exit 1; }
echo "installed etcd $got"
