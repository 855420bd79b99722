set -eu
restart=0; reload=0; tmp=""; rs=""
trap 'rm -f "$tmp" "$rs"' EXIT
started=0
if systemctl is-active --quiet 'etcd.service'; then
  at=$(systemctl show -p ActiveEnterTimestamp --value 'etcd.service')
  [ -z "$at" ] || started=$(date -d "$at" +%s)
fi
IFS= read -r last; IFS= read -r content
tmp=$(mktemp "$(dirname '/etc/etcd/pki/server.key')/.etcd-stack.XXXXXX")
chmod 0600 "$tmp"
printf '%s' "$content" | base64 -d > "$tmp"
chown etcd:etcd "$tmp"
if cmp -s "$tmp" '/etc/etcd/pki/server.key' && [ "$(stat -c '%a %U:%G' "$tmp")" = "$(stat -c '%a %U:%G' '/etc/etcd/pki/server.key')" ]; then rm -f "$tmp"; else mv -f "$tmp" '/etc/etcd/pki/server.key'; fi
if [ -e '/etc/etcd/pki/server.key' ]; then echo "file /etc/etcd/pki/server.key $(sha256sum < '/etc/etcd/pki/server.key' | cut -c1-64) $(stat -c '%a %U:%G' '/etc/etcd/pki/server.key')"; else echo "file /etc/etcd/pki/server.key missing"; fi
IFS= read -r last; IFS= read -r content
tmp=$(mktemp "$(dirname '/etc/etcd/etcd.conf.yml')/.etcd-stack.XXXXXX")
chmod 0644 "$tmp"
printf '%s' "$content" | base64 -d > "$tmp"
state=$(sed -n 's/^initial-cluster-state=//p' '/etc/etcd/etcd-stack.join'); cluster=$(sed -n 's/^initial-cluster=//p' '/etc/etcd/etcd-stack.join')
[ -n "$state" ] && [ -n "$cluster" ] || { echo "no join decision in /etc/etcd/etcd-stack.join: the join step must run first" >&2; exit 1; }
sed -i "s|@@initial-cluster-state@@|$state|; s|@@initial-cluster@@|$cluster|" "$tmp"
chown root:root "$tmp"
if cmp -s "$tmp" '/etc/etcd/etcd.conf.yml' && [ "$(stat -c '%a %U:%G' "$tmp")" = "$(stat -c '%a %U:%G' '/etc/etcd/etcd.conf.yml')" ]; then rm -f "$tmp"; else mv -f "$tmp" '/etc/etcd/etcd.conf.yml'; fi
if [ -e '/etc/etcd/etcd.conf.yml' ]; then echo "file /etc/etcd/etcd.conf.yml $(sed -e 's|^initial-cluster-state: .*|initial-cluster-state: "@@initial-cluster-state@@"|;s|^initial-cluster: .*|initial-cluster: "@@initial-cluster@@"|' '/etc/etcd/etcd.conf.yml' | sha256sum | cut -c1-64) $(stat -c '%a %U:%G' '/etc/etcd/etcd.conf.yml')"; else echo "file /etc/etcd/etcd.conf.yml missing"; fi
IFS= read -r last; IFS= read -r content
tmp=$(mktemp "$(dirname '/etc/etcd/etcd-stack.members')/.etcd-stack.XXXXXX")
chmod 0644 "$tmp"
printf '%s' "$content" | base64 -d > "$tmp"
chown root:root "$tmp"
if cmp -s "$tmp" '/etc/etcd/etcd-stack.members' && [ "$(stat -c '%a %U:%G' "$tmp")" = "$(stat -c '%a %U:%G' '/etc/etcd/etcd-stack.members')" ]; then rm -f "$tmp"; else mv -f "$tmp" '/etc/etcd/etcd-stack.members'; fi
if [ -e '/etc/etcd/etcd-stack.members' ]; then echo "file /etc/etcd/etcd-stack.members $(sha256sum < '/etc/etcd/etcd-stack.members' | cut -c1-64) $(stat -c '%a %U:%G' '/etc/etcd/etcd-stack.members')"; else echo "file /etc/etcd/etcd-stack.members missing"; fi
[ "$reload" = 0 ] || systemctl daemon-reload
