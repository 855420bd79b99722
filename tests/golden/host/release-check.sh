set -eu
for d in '/var/lib/etcd-stack' '/var/lib/etcd-stack/releases'; do
  [ -e "$d" ] || [ -L "$d" ] || continue
  if [ -L "$d" ] || [ ! -d "$d" ]; then why="is a symlink or not a directory"
  elif [ "$(stat -c %u "$d")" != "$(id -u)" ]; then why="is owned by uid $(stat -c %u "$d"), not $(id -u)"
  elif [ $((0$(stat -c %a "$d") & 022)) != 0 ]; then why="is writable by group or others (mode $(stat -c %a "$d"))"
  else continue; fi
  echo "refusing to use $d for etcd releases: it $why; root installs what is staged there. Remove it (or make it root's, mode 0700) and run pulumi up again" >&2; exit 1
done
if [ ! -f '/var/lib/etcd-stack/releases/etcd.tar.gz' ]; then echo "tarball missing"
elif [ "$(sha256sum < '/var/lib/etcd-stack/releases/etcd.tar.gz' | cut -c1-64)" != 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' ]; then echo "tarball differs"
elif [ "$(head -n1 '/var/lib/etcd-stack/releases/etcd.tar.gz.sha256sums' 2>/dev/null)" != 'tarball bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' ]; then echo "not unpacked"
elif ! (cd '/var/lib/etcd-stack/releases/etcd.tar.gz.d' 2>/dev/null && tail -n +2 '/var/lib/etcd-stack/releases/etcd.tar.gz.sha256sums' | sha256sum -c --quiet - >/dev/null 2>&1); then echo "unpacked binaries differ"
else echo staged; fi
