set -eu
getent group etcd >/dev/null || groupadd --system etcd
getent passwd etcd >/dev/null || useradd --system --gid etcd --home-dir '/var/lib/etcd' --no-create-home --shell /usr/sbin/nologin etcd
install -d -m 0700 -o etcd -g etcd '/var/lib/etcd'
install -d -m 0755 -o root -g root '/etc/etcd'
install -d -m 0700 -o etcd -g etcd '/etc/etcd/pki'
install -d -m 0700 -o "${SUDO_USER:-root}" '/var/tmp/etcd-stack'
