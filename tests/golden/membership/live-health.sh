set -eu
ctl() { /usr/local/bin/etcdctl --cacert '/etc/etcd/pki/ca.crt' --cert '/etc/etcd/pki/server.crt' --key '/etc/etcd/pki/server.key' --dial-timeout=3s --command-timeout=10s "$@"; }
serving() { [ -n "$1" ] && ctl --endpoints "$1" endpoint status -w fields 2>/dev/null | grep -q '^"Leader" : [1-9]'; }
col() { ctl --endpoints "$1" endpoint status -w table | awk -F'|' -v h="$2" 'NR == 2 { for (i = 1; i <= NF; i++) { x = $i; gsub(/^ +| +$/, "", x); if (x == h) c = i } } NR == 4 && c { v = $c; gsub(/ /, "", v); print v }'; }
while read -r name _peer client; do
  [ -n "$name" ] || continue
  if serving "$client" </dev/null; then
    if [ "$(col "$client" "IS LEADER" </dev/null 2>/dev/null)" = true ]; then echo "live $name serving leader"; else echo "live $name serving"; fi
  else
    echo "live $name down"
  fi
done < '/etc/etcd/etcd-stack.members'
