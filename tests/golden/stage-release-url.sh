set -eu
[ -d '/var/tmp/etcd-stack' ] || install -d -m 0700 '/var/tmp/etcd-stack'
tmp=$(mktemp /var/tmp/etcd-stack/.release.XXXXXX); work=""
trap 'rm -f "$tmp"; [ -z "$work" ] || rm -rf "$work"' EXIT
curl -fsSL --retry 3 -o "$tmp" 'https://mirror.example/etcd-v3.6.16-linux-amd64.tar.gz' || wget -q -O "$tmp" 'https://mirror.example/etcd-v3.6.16-linux-amd64.tar.gz'
echo 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa''  '"$tmp" | sha256sum -c --quiet - >/dev/null 2>&1 || { echo 'checksum mismatch for the release from https://mirror.example/etcd-v3.6.16-linux-amd64.tar.gz: want aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'", got $(sha256sum < "$tmp" | cut -c1-64)" >&2; exit 1; }
work=$(mktemp -d /var/tmp/etcd-stack/unpack.XXXXXX)
tar -xzf "$tmp" -C "$work" --strip-components=1
[ -f "$work/etcd" ] || { echo "the release has no etcd" >&2; exit 1; }
[ -f "$work/etcdctl" ] || { echo "the release has no etcdctl" >&2; exit 1; }
[ -f "$work/etcdutl" ] || { echo "the release has no etcdutl" >&2; exit 1; }
chmod 0755 "$work"; mv -f "$tmp" '/var/tmp/etcd-stack/etcd-v3.6.16.tar.gz'; rm -rf '/var/tmp/etcd-stack/etcd-v3.6.16.tar.gz.d'; mv "$work" '/var/tmp/etcd-stack/etcd-v3.6.16.tar.gz.d'; work=""
{ echo 'tarball aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'; (cd '/var/tmp/etcd-stack/etcd-v3.6.16.tar.gz.d' && sha256sum etcd etcdctl etcdutl); } > '/var/tmp/etcd-stack/etcd-v3.6.16.tar.gz.sha256sums'.new && mv -f '/var/tmp/etcd-stack/etcd-v3.6.16.tar.gz.sha256sums'.new '/var/tmp/etcd-stack/etcd-v3.6.16.tar.gz.sha256sums'
echo "staged /var/tmp/etcd-stack/etcd-v3.6.16.tar.gz"
