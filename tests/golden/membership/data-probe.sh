set -eu
if [ -d '/var/lib/etcd'/member ]; then echo "data present"; else echo "data missing"; fi
