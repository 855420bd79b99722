set -eu
[ -d '/var/tmp/etcd-stack' ] || install -d -m 0700 '/var/tmp/etcd-stack'
tmp=$(mktemp /var/tmp/etcd-stack/.release.XXXXXX); work=""
trap 'rm -f "$tmp"; [ -z "$work" ] || rm -rf "$work"' EXIT
cat > "$tmp"
echo 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb''  '"$tmp" | sha256sum -c --quiet - >/dev/null 2>&1 || { echo 'checksum mismatch for the release from the operator'"'"'s machine: want bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'", got $(sha256sum < "$tmp" | cut -c1-64)" >&2; exit 1; }
work=$(mktemp -d /var/tmp/etcd-stack/unpack.XXXXXX)
tar -xzf "$tmp" -C "$work" --strip-components=1
[ -f "$work/etcd" ] || { echo "the release has no etcd" >&2; exit 1; }
[ -f "$work/etcdctl" ] || { echo "the release has no etcdctl" >&2; exit 1; }
[ -f "$work/etcdutl" ] || { echo "the release has no etcdutl" >&2; exit 1; }
chmod 0755 "$work"; mv -f "$tmp" '/var/tmp/etcd-stack/etcd.tar.gz'; rm -rf '/var/tmp/etcd-stack/etcd.tar.gz.d'; mv "$work" '/var/tmp/etcd-stack/etcd.tar.gz.d'; work=""
{ echo 'tarball bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'; (cd '/var/tmp/etcd-stack/etcd.tar.gz.d' && sha256sum etcd etcdctl etcdutl); } > '/var/tmp/etcd-stack/etcd.tar.gz.sha256sums'.new && mv -f '/var/tmp/etcd-stack/etcd.tar.gz.sha256sums'.new '/var/tmp/etcd-stack/etcd.tar.gz.sha256sums'
echo "staged /var/tmp/etcd-stack/etcd.tar.gz"
