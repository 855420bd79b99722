set -eu
host='lab-1'
problems=""
fail() { problems="$problems
  - $1"; }
[ "$(uname -s)" = Linux ] || fail "not Linux: $(uname -s)"
case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch=""; fail "unsupported CPU architecture $(uname -m)" ;; esac
[ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] || fail "systemd is not PID 1"
command -v systemctl >/dev/null || fail "systemctl not found"
command -v tar >/dev/null || fail "tar not found"
command -v sha256sum >/dev/null || fail "sha256sum not found"
for port in 2379 2380 2381; do
  holder=$(ss -Htlnp "sport = :$port" 2>/dev/null | sed -n 's/.*users:(("\([^"]*\)".*/\1/p' | head -n1)
  if [ -n "$holder" ] && [ "$holder" != etcd ]; then fail "port $port is in use by $holder"; fi
done
now=$(date -u +%s)
not_before=$(date -u -d '2026-11-23T08:00:00Z' +%s)
if [ $((not_before - now)) -gt 30 ]; then fail "clock is $((not_before - now))s behind the operator (certificates would not be valid yet; tolerance 30s)"; fi
data_parent='/var/lib/etcd'
while [ ! -d "$data_parent" ]; do data_parent=$(dirname "$data_parent"); done
free_mib=$(df -Pm "$data_parent" | awk 'NR==2 {print $4}')
[ "$free_mib" -ge 1024 ] || fail "only ${free_mib} MiB free under $data_parent (need 1024 MiB)"
if [ ! -s '/etc/etcd/etcd-stack.join' ]; then
  systemctl cat 'etcd-legacy.service' >/dev/null 2>&1 || fail "adopt: no systemd unit etcd-legacy.service on this host"
  [ -d '/var/lib/etcd-legacy/member' ] || [ -d '/var/lib/etcd/member' ] || fail "adopt: no etcd data in /var/lib/etcd-legacy (no member/ directory)"
fi
self='10.213.0.11'
peer() {
  out=$(LC_ALL=C timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$2" "$3" 2>&1) && return 0
  rc=$?
  case $out in *"Connection refused"*) return 0 ;; esac
  if [ $rc -eq 124 ]; then why="no answer within 3s (packets dropped)"; else why=$(printf '%s\n' "$out" | tail -n 1 | sed 's/.*: //'); fi
  echo "$1's peer port $4 is not reachable from $host ($self): $why; most likely a firewall on $1's host or between the two; etcd's members must reach each other's peer port"
}
if command -v bash >/dev/null && command -v timeout >/dev/null; then
  unreachable=$(
    peer 'lab-2' '10.213.0.12' 2380 '10.213.0.12:2380' &
    peer 'lab-3' '10.213.0.13' 2380 '10.213.0.13:2380' &
    wait
  )
  while IFS= read -r line; do [ -z "$line" ] || fail "$line"; done <<EOF
$unreachable
EOF
else fail "bash and timeout are needed to check the other members' peer ports"; fi
if fsync_file=$(mktemp "$data_parent/.etcd-stack-fsync.XXXXXX" 2>/dev/null); then
  trap 'rm -f "$fsync_file"' EXIT; trap 'exit 1' HUP INT TERM
  t0=$(date +%s%N)
  dd_out=$(LC_ALL=C timeout -k 2 -s INT 3 dd if=/dev/zero of="$fsync_file" bs=2300 count=200 oflag=dsync 2>&1) || true
  t1=$(date +%s%N)
  rm -f "$fsync_file"
  writes=$(printf '%s\n' "$dd_out" | sed -n 's/^\([0-9][0-9]*\)+[0-9]* records out$/\1/p' | tail -n 1)
  us=$(((t1 - t0) / 1000))
  if [ "${writes:-0}" -eq 0 ]; then echo "warning: slow disk: no synchronous write to $data_parent completed within 3s; etcd's guide asks for p99 WAL fsync under 10 ms"
  elif [ $((us / writes)) -gt 10000 ]; then
    mean=$((us / writes))
    echo "warning: slow disk: mean $((mean / 1000)).$((mean % 1000 / 100)) ms per synchronous write to $data_parent (dd oflag=dsync: each 2300-byte write waits for the disk, as an fsync; $writes in $((us / 1000)) ms); etcd's guide asks for p99 WAL fsync under 10 ms, this stack warns above 10 ms (fsyncWarnMs)"
  fi
else echo "warning: disk not timed: no temp file could be made in $data_parent"; fi
if [ -n "$problems" ]; then printf 'preflight failed on %s:%b\n' "$host" "$problems" >&2; exit 1; fi
echo "arch=$arch"
