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
IFS= read -r operator_time || true
now=$(date -u +%s)
{ [ -n "$operator_time" ] && not_before=$(date -u -d "$operator_time" +%s 2>/dev/null); } || { fail "no operator time given to check the clock against"; not_before=$now; }
if [ $((not_before - now)) -gt 30 ]; then fail "clock is $((not_before - now))s behind the operator (certificates would not be valid yet; tolerance 30s)"; fi
data_parent='/var/lib/etcd'
while [ ! -d "$data_parent" ]; do data_parent=$(dirname "$data_parent"); done
free_mib=$(df -Pm "$data_parent" | awk 'NR==2 {print $4}')
[ "$free_mib" -ge 1024 ] || fail "only ${free_mib} MiB free under $data_parent (need 1024 MiB)"
if [ -n "$problems" ]; then printf 'preflight failed on %s:%b\n' "$host" "$problems" >&2; exit 1; fi
echo "arch=$arch"
