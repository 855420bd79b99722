#!/bin/sh
# Managed by etcd-stack: copies a checked snapshot of lab-1 to etcdbackup@backup.example.internal:/srv/etcd-snapshots/lab-1/ (run by /usr/local/sbin/etcd-snapshot).
set -eu
file=$1
name=$(basename "$file")
case "$name" in scheduled-*.db) ;; *) echo "not a scheduled snapshot: $file" >&2; exit 1 ;; esac
case "$file" in *[!A-Za-z0-9._/-]*) echo "unexpected characters in $file" >&2; exit 1 ;; esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 1' HUP INT TERM
copy() { timeout -k 10s 1800s sftp -b "$1" -F none -P 2222 -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile='/etc/etcd/pki/snapshot-copy.known_hosts' -o GlobalKnownHostsFile=/dev/null -o HostKeyAlias=etcd-snapshot-copy -o CheckHostIP=no -o UpdateHostKeys=no -o IdentityFile='/etc/etcd/pki/snapshot-copy.key' -o IdentitiesOnly=yes -o ConnectTimeout=15 -o ServerAliveInterval=15 -o ServerAliveCountMax=4 'etcdbackup@backup.example.internal' > "$work/out" 2> "$work/err"; }
fail() { cat "$work/err" >&2; echo "$1; the snapshot stays on this host: $file" >&2; exit 1; }
cat > "$work/put" <<EOF
-mkdir /srv/etcd-snapshots/lab-1
put $file /srv/etcd-snapshots/lab-1/$name.part
rename /srv/etcd-snapshots/lab-1/$name.part /srv/etcd-snapshots/lab-1/$name
ls -1 /srv/etcd-snapshots/lab-1
EOF
copy "$work/put" || fail "snapshot $name not copied to etcdbackup@backup.example.internal:/srv/etcd-snapshots/lab-1/ (sftp exit $?)"
grep -v '^sftp>' "$work/out" | sed 's#.*/##' > "$work/names" || true
grep -E '^scheduled-[A-Za-z0-9._-]*-[0-9]{8}T[0-9]{6}Z\.db$' "$work/names" | sed -E 's/^(.*-([0-9]{8}T[0-9]{6}Z)\.db)$/\2 \1/' | sort | cut -d' ' -f2 > "$work/copies" || true
grep -qx "$name" "$work/copies" || fail "snapshot $name copied to etcdbackup@backup.example.internal:/srv/etcd-snapshots/lab-1/ but not listed there after the rename"
total=$(wc -l < "$work/copies")
{ grep -E '^scheduled-[A-Za-z0-9._-]*\.db\.part$' "$work/names" || true; [ "$total" -le 3 ] || head -n $((total - 3)) "$work/copies"; } | sed 's#^#rm /srv/etcd-snapshots/lab-1/#' > "$work/prune"
[ ! -s "$work/prune" ] || copy "$work/prune" || fail "snapshot $name copied to etcdbackup@backup.example.internal:/srv/etcd-snapshots/lab-1/, but the old copies there were not removed (sftp exit $?)"
[ "$total" -le 3 ] || total=3
echo "copied $name to etcdbackup@backup.example.internal:/srv/etcd-snapshots/lab-1/ ($(stat -c %s "$file") bytes); $total kept there"
