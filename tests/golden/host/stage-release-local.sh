set -eu
for d in '/var/lib/etcd-stack' '/var/lib/etcd-stack/releases'; do
  [ -e "$d" ] || [ -L "$d" ] || mkdir -m 0700 "$d"
  if [ -L "$d" ] || [ ! -d "$d" ]; then why="is a symlink or not a directory"
  elif [ "$(stat -c %u "$d")" != "$(id -u)" ]; then why="is owned by uid $(stat -c %u "$d"), not $(id -u)"
  elif [ $((0$(stat -c %a "$d") & 022)) != 0 ]; then why="is writable by group or others (mode $(stat -c %a "$d"))"
  else continue; fi
  echo "refusing to use $d for etcd releases: it $why; root installs what is staged there. Remove it (or make it root's, mode 0700) and run pulumi up again" >&2; exit 1
done
tmp=$(mktemp /var/lib/etcd-stack/releases/.release.XXXXXX); work=""
trap 'rm -f "$tmp"; [ -z "$work" ] || rm -rf "$work"' EXIT
cat > "$tmp"
echo 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb''  '"$tmp" | sha256sum -c --quiet - >/dev/null 2>&1 || { echo 'checksum mismatch for the release from the operator'"'"'s machine: want bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'", got $(sha256sum < "$tmp" | cut -c1-64)" >&2; exit 1; }
work=$(mktemp -d /var/lib/etcd-stack/releases/unpack.XXXXXX)
tar -xzf "$tmp" -C "$work" --strip-components=1
[ -f "$work/etcd" ] || { echo "the release has no etcd" >&2; exit 1; }
[ -f "$work/etcdctl" ] || { echo "the release has no etcdctl" >&2; exit 1; }
[ -f "$work/etcdutl" ] || { echo "the release has no etcdutl" >&2; exit 1; }
chmod 0755 "$work"; mv -f "$tmp" '/var/lib/etcd-stack/releases/etcd.tar.gz'; rm -rf '/var/lib/etcd-stack/releases/etcd.tar.gz.d'; mv "$work" '/var/lib/etcd-stack/releases/etcd.tar.gz.d'; work=""
{ echo 'tarball bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'; (cd '/var/lib/etcd-stack/releases/etcd.tar.gz.d' && sha256sum etcd etcdctl etcdutl); } > '/var/lib/etcd-stack/releases/etcd.tar.gz.sha256sums'.new && mv -f '/var/lib/etcd-stack/releases/etcd.tar.gz.sha256sums'.new '/var/lib/etcd-stack/releases/etcd.tar.gz.sha256sums'
echo "staged /var/lib/etcd-stack/releases/etcd.tar.gz"
