set -eu
if [ ! -f '/var/tmp/etcd-stack/etcd.tar.gz' ]; then echo "tarball missing"
elif [ "$(head -n1 '/var/tmp/etcd-stack/etcd.tar.gz.sha256sums' 2>/dev/null)" != 'tarball bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' ]; then echo "not unpacked"
elif ! (cd '/var/tmp/etcd-stack/etcd.tar.gz.d' 2>/dev/null && tail -n +2 '/var/tmp/etcd-stack/etcd.tar.gz.sha256sums' | sha256sum -c --quiet - >/dev/null 2>&1); then echo "unpacked binaries differ"
else echo staged; fi
