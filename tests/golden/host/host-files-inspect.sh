set -eu
if [ -e '/etc/etcd/pki/server.key' ]; then echo "file /etc/etcd/pki/server.key $(sha256sum < '/etc/etcd/pki/server.key' | cut -c1-64) $(stat -c '%a %U:%G' '/etc/etcd/pki/server.key')"; else echo "file /etc/etcd/pki/server.key missing"; fi
if [ -e '/etc/etcd/etcd.conf.yml' ]; then echo "file /etc/etcd/etcd.conf.yml $(sed -e 's|^initial-cluster-state: .*|initial-cluster-state: "@@initial-cluster-state@@"|;s|^initial-cluster: .*|initial-cluster: "@@initial-cluster@@"|' '/etc/etcd/etcd.conf.yml' | sha256sum | cut -c1-64) $(stat -c '%a %U:%G' '/etc/etcd/etcd.conf.yml')"; else echo "file /etc/etcd/etcd.conf.yml missing"; fi
if [ -e '/etc/etcd/etcd-stack.members' ]; then echo "file /etc/etcd/etcd-stack.members $(sha256sum < '/etc/etcd/etcd-stack.members' | cut -c1-64) $(stat -c '%a %U:%G' '/etc/etcd/etcd-stack.members')"; else echo "file /etc/etcd/etcd-stack.members missing"; fi
echo "unit $(systemctl is-enabled 'etcd.service' 2>/dev/null || true) $(systemctl is-active 'etcd.service' 2>/dev/null || true)"
if ! [ "$(head -n1 '/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz.sha256sums' 2>/dev/null)" = 'tarball bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' ] && [ -f '/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz' ] && echo 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb''  ''/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz' | sha256sum -c --quiet - 2>/dev/null; then
  unpacked=$(mktemp -d /var/lib/etcd-stack/releases/sums.XXXXXX)
  if tar -xzf '/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz' -C "$unpacked" --strip-components=1; then { echo 'tarball bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'; (cd "$unpacked" && sha256sum etcd etcdctl etcdutl); } > '/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz.sha256sums'.new && mv -f '/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz.sha256sums'.new '/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz.sha256sums'; fi
  rm -rf "$unpacked"
fi
if [ "$(head -n1 '/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz.sha256sums' 2>/dev/null)" = 'tarball bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' ]; then
  want=$(awk '$2 == "etcd" { print $1 }' '/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz.sha256sums')
  if [ ! -e '/usr/local/bin/etcd' ]; then state=missing; elif cmp -s '/usr/local/bin/etcd' '/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz.d/etcd' || [ "$(sha256sum < '/usr/local/bin/etcd' | cut -c1-64)" = "$want" ]; then state=same; else state=differs; fi
  echo "binary etcd $state"
  want=$(awk '$2 == "etcdctl" { print $1 }' '/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz.sha256sums')
  if [ ! -e '/usr/local/bin/etcdctl' ]; then state=missing; elif cmp -s '/usr/local/bin/etcdctl' '/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz.d/etcdctl' || [ "$(sha256sum < '/usr/local/bin/etcdctl' | cut -c1-64)" = "$want" ]; then state=same; else state=differs; fi
  echo "binary etcdctl $state"
  want=$(awk '$2 == "etcdutl" { print $1 }' '/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz.sha256sums')
  if [ ! -e '/usr/local/bin/etcdutl' ]; then state=missing; elif cmp -s '/usr/local/bin/etcdutl' '/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz.d/etcdutl' || [ "$(sha256sum < '/usr/local/bin/etcdutl' | cut -c1-64)" = "$want" ]; then state=same; else state=differs; fi
  echo "binary etcdutl $state"
else
  echo "binary etcd no-staged-release"
  echo "binary etcdctl no-staged-release"
  echo "binary etcdutl no-staged-release"
fi
