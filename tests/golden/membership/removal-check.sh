set -eu
ctl() { /usr/local/bin/etcdctl --cacert '/etc/etcd/pki/ca.crt' --cert '/etc/etcd/pki/server.crt' --key '/etc/etcd/pki/server.key' --dial-timeout=3s --command-timeout=10s "$@"; }
local_ep=https://127.0.0.1:2379
ctl --endpoints "$local_ep" endpoint health >/dev/null 2>&1 || { echo "the etcd on this host does not answer with a quorum at $local_ep" >&2; exit 3; }
desired='https://10.213.0.11:2380 https://10.213.0.12:2380 https://10.213.0.13:2380'
listed() { ctl --endpoints "$local_ep" member list -w simple; }
is_desired() { case " $desired " in *" $1 "*) return 0 ;; esac; return 1; }
serving() { [ -n "$1" ] && ctl --endpoints "$1" endpoint status -w fields 2>/dev/null | grep -q '^"Leader" : [1-9]'; }
col() { ctl --endpoints "$1" endpoint status -w table | awk -F'|' -v h="$2" 'NR == 2 { for (i = 1; i <= NF; i++) { x = $i; gsub(/^ +| +$/, "", x); if (x == h) c = i } } NR == 4 && c { v = $c; gsub(/ /, "", v); print v }'; }
staying=0; staying_up=0; leaving_down=""; leaving_up=""
for row in $(listed | awk -F', ' '{print $1 "|" ($3 == "" ? "(unstarted)" : $3) "|" $4 "|" $5 "|" $6}'); do
  id=${row%%|*}; rest=${row#*|}; name=${rest%%|*}; rest=${rest#*|}; peer=${rest%%|*}; rest=${rest#*|}; client=${rest%%|*}; learner=${rest#*|}
  if is_desired "$peer"; then
    [ "$learner" != true ] || continue
    staying=$((staying + 1)); if serving "$client"; then staying_up=$((staying_up + 1)); fi
  elif serving "$client"; then leaving_up="$leaving_up $id|$name|$client"
  else leaving_down="$leaving_down $id|$name|"; fi
done
if [ -z "$leaving_down$leaving_up" ]; then echo "membership matches the stack ($staying voting members)"; exit 0; fi
quorum=$(( staying / 2 + 1 ))
if [ "$staying_up" -lt "$quorum" ]; then
  echo "refusing to remove$(for m in $leaving_down $leaving_up; do r=${m#*|}; printf ' %s' "${r%%|*}"; done): only $staying_up of the $staying voting members that stay are up (quorum $quorum); nothing was changed" >&2
  exit 1
fi
echo "removing$(for m in $leaving_down $leaving_up; do r=${m#*|}; printf ' %s' "${r%%|*}"; done) keeps a quorum: $staying_up of the $staying voting members that stay are up (quorum $quorum)"
