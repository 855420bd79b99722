#!/bin/sh
# Managed by etcd-stack: a scheduled snapshot of this member (run by etcd-snapshot.timer).
set -eu
install -d -m 0700 -o root -g root '/var/backups/etcd'
file='/var/backups/etcd'/scheduled-$(hostname)-$(date -u +%Y%m%dT%H%M%SZ).db
trap 'rm -f "$file.part" "$file.part.part"' EXIT
trap 'exit 1' HUP INT TERM
ctl() { /usr/local/bin/etcdctl --endpoints https://127.0.0.1:2379 --cacert '/etc/etcd/pki/ca.crt' --cert '/etc/etcd/pki/snapshot.crt' --key '/etc/etcd/pki/snapshot.key' "$@"; }
ctl --command-timeout=5s endpoint health >/dev/null 2>&1 || { echo "no snapshot: etcd on $(hostname) is not healthy" >&2; exit 1; }
ctl --command-timeout=5m snapshot save "$file.part" >/dev/null
/usr/local/bin/etcdutl snapshot status "$file.part" >/dev/null
mv "$file.part" "$file"
find '/var/backups/etcd' -maxdepth 1 -name 'scheduled-*.db' -mtime +6 -delete
ls -1t '/var/backups/etcd'/scheduled-*.db 2>/dev/null | tail -n +49 | while read -r old; do rm -f "$old"; done
echo "snapshot $file ($(stat -c %s "$file") bytes) checked; $(ls -1 '/var/backups/etcd'/scheduled-*.db | wc -l) kept"
