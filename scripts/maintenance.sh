#!/usr/bin/env bash
# Maintenance of a stack's cluster, one member at a time, never all at once. Run it in the
# project directory:
#   bash scripts/maintenance.sh [--lab] [stack]        (or: npm run maintenance -- [stack])
# 1. lists the cluster's alarms;
# 2. with a NOSPACE alarm raised (the backend reached etcd:tuning.quotaBackendBytes), compacts
#    the history up to the current revision: old revisions are what fills the quota;
# 3. defragments each member in turn, followers first and the leader last, waiting until each
#    answers again before the next (a member does not serve while it defragments; `endpoint
#    health` stays false while an alarm is raised, so "answers" is its status);
# 4. disarms NOSPACE once it was raised and every member is below the quota again, and checks
#    that a write goes through.
# Credentials come from the stack's outputs, read with the operator's own `pulumi` and login (see
# scripts/lib/stackClient.sh; the stack defaults to the selected one; `--lab` or ETCD_STACK_LAB=1:
# the lab's environment, stack `lab`).
set -euo pipefail
if [[ ${1:-} == --lab ]]; then export ETCD_STACK_LAB=1; shift; fi
stack=${1:-}
. "$(dirname "${BASH_SOURCE[0]}")/lib/stackClient.sh"

# endpoint status as "endpoint leader? dbsize revision" lines (table columns, to stay version-proof).
status_lines() {
  ctl --endpoints "$endpoints" --command-timeout=10s endpoint status -w table 2>/dev/null | awk -F'|' '
    NR == 2 { for (i = 1; i <= NF; i++) { h = $i; gsub(/^ +| +$/, "", h); col[h] = i } }
    NR > 3 && NF > 5 { e = $col["ENDPOINT"]; l = $col["IS LEADER"]; d = $col["DB SIZE"]; gsub(/ /, "", e); gsub(/ /, "", l); gsub(/^ +| +$/, "", d); print e, l, d }'
}
alarms=$(ctl --endpoints "$endpoints" --command-timeout=10s alarm list) || die "cannot list alarms of '$stack'"
echo "alarms: ${alarms:-none}"
nospace=false
case "$alarms" in *NOSPACE*) nospace=true ;; esac

if $nospace; then
  rev=$(ctl --endpoints "$endpoints" --command-timeout=10s get maintenance-probe -w fields | sed -n 's/^"Revision" : //p')
  [[ -n $rev ]] || die "cannot read the current revision"
  ctl --endpoints "$endpoints" --command-timeout=60s compact "$rev" --physical >/dev/null
  echo "compacted history up to revision $rev"
fi

order=$(status_lines | sort -k2,2 | awk '{ print $1 }')   # "false" sorts before "true": the leader last
[[ -n $order ]] || die "no member of '$stack' answers"
for ep in $order; do
  before=$(status_lines | awk -v e="$ep" '$1 == e { $1 = ""; $2 = ""; sub(/^ +/, ""); print }')
  ctl --endpoints "$ep" --command-timeout=5m defrag >/dev/null || die "defrag of $ep failed"
  for _ in $(seq 60); do ctl --endpoints "$ep" --command-timeout=5s endpoint status >/dev/null 2>&1 && break; sleep 1; done
  ctl --endpoints "$ep" --command-timeout=5s endpoint status >/dev/null 2>&1 || die "$ep does not answer after its defrag"
  after=$(status_lines | awk -v e="$ep" '$1 == e { $1 = ""; $2 = ""; sub(/^ +/, ""); print }')
  echo "defragmented $ep: $before -> $after"
done

if $nospace; then
  ctl --endpoints "$endpoints" --command-timeout=10s alarm disarm >/dev/null
  left=$(ctl --endpoints "$endpoints" --command-timeout=10s alarm list)
  [[ -z $left ]] || die "alarms still raised after disarm: $left (the data itself exceeds the quota: raise etcd:tuning.quotaBackendBytes)"
  echo "NOSPACE disarmed"
fi
# Every member applies the disarm through raft: give the slowest a few seconds to catch up.
ok=false
for _ in $(seq 15); do
  if ctl --endpoints "$endpoints" --command-timeout=10s put maintenance-probe "$(date -u +%FT%TZ)" >/dev/null 2>&1 &&
     ctl --endpoints "$endpoints" --command-timeout=10s endpoint health >/dev/null 2>&1; then ok=true; break; fi
  sleep 1
done
$ok || die "writes still fail, or a member is not healthy, 15 s after the maintenance"
ctl --endpoints "$endpoints" --command-timeout=10s del maintenance-probe >/dev/null
echo "writes go through; every member healthy"
