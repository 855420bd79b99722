set -eu
me='lab-2'
id='dddddddddddd'
if grep -qx "$id" '/etc/etcd/etcd-stack.restored' 2>/dev/null; then echo "$me: snapshot $id already restored here"; exit 0; fi
echo 'dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd  /var/tmp/etcd-stack/restore-dddddddddddd.db' | sha256sum -c --quiet - >/dev/null 2>&1 || { echo "$me: the staged snapshot does not match sha256 dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd" >&2; exit 1; }
out=$(/usr/local/bin/etcdutl snapshot status '/var/tmp/etcd-stack/restore-dddddddddddd.db' -w simple 2>&1) || { echo "$me: /var/tmp/etcd-stack/restore-dddddddddddd.db is not a valid etcd snapshot: $(echo "$out" | tail -n 2)" >&2; exit 1; }
systemctl stop etcd.service
rm -rf '/var/lib/etcd/restore-dddddddddddd.tmp'
out=$(/usr/local/bin/etcdutl snapshot restore '/var/tmp/etcd-stack/restore-dddddddddddd.db' --name "$me" --data-dir '/var/lib/etcd/restore-dddddddddddd.tmp' --initial-cluster 'lab-1=https://10.213.0.11:2380,lab-2=https://10.213.0.12:2380,lab-3=https://10.213.0.13:2380' --initial-advertise-peer-urls 'https://10.213.0.12:2380' --initial-cluster-token 'lab-0123456789abcdef-dddddddddddd' --bump-revision 1000000000 --mark-compacted 2>&1) || { echo "$me: etcdutl snapshot restore failed: $(echo "$out" | tail -n 3)" >&2; exit 1; }
if [ -d '/var/lib/etcd'/member ]; then aside=member.before-restore-$id-$(date +%s); mv '/var/lib/etcd'/member '/var/lib/etcd'/$aside; echo "$me: previous data moved aside to /var/lib/etcd/$aside"; fi
mv '/var/lib/etcd/restore-dddddddddddd.tmp/member' '/var/lib/etcd'/member; rmdir '/var/lib/etcd/restore-dddddddddddd.tmp'
chown -R etcd:etcd '/var/lib/etcd'
echo "$id" >> '/etc/etcd/etcd-stack.restored'
rm -f '/var/tmp/etcd-stack/restore-dddddddddddd.db'
echo "$me: restored from snapshot $id"
