set -eu
dir=$(dirname '/etc/etcd/pki/server.key')
tmp=$(mktemp "$dir/.etcd-stack.XXXXXX")
trap 'rm -f "$tmp"' EXIT
chmod 0600 "$tmp"
cat > "$tmp"
chown etcd:etcd "$tmp"
mv -f "$tmp" '/etc/etcd/pki/server.key'
trap - EXIT
