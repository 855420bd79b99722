#!/usr/bin/env bash
# The README's test command (`npm test`): type-check, then one mocha run over the unit tests
# (mocked engine, seconds), the engine tests (the real Pulumi engine, no hosts) and the lab
# tests (real hosts, minutes).
# Lab tests skip with a printed reason when this machine cannot run them.
#
# Three lab lanes (issue 26): where the lab can run and no arguments narrow the run, the lab files
# in LANE2 and LANE3 below run at the same time in mocha processes of their own, each inside its
# lane's network namespace against that lane's hosts (tests/lab/lab.sh: the same names and
# addresses, a bridge of their own). Their output is printed after the first process's, each with
# its own time table; the exit code fails if any failed. ETCD_STACK_LAB_LANES=1 runs everything in
# one process, as before.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc --noEmit -p .
# Types were just checked: ts-node only transpiles the test files (loading them took about twice
# as long with its own type-check, 48 s against 21 s on a busy 2-core machine).
export TS_NODE_TRANSPILE_ONLY=1
all=('tests/unit/**/*.test.ts' 'tests/engine/**/*.test.ts' 'tests/lab/**/*.test.ts')

# The lab files that run beside the first process, in lanes 2 and 3 (about a third of the lab's time
# each; tests/README.md's table) and CI's chaos seed; none needs lane 1: the team backend's
# PostgreSQL listens on the VM's loopback, which the lanes' namespaces do not share.
LANE2=(tests/lab/drift.test.ts tests/lab/faults.test.ts tests/lab/failures.test.ts tests/lab/membershipRecovery.test.ts
       tests/lab/caRotation.test.ts tests/lab/adopt.test.ts tests/lab/restore.test.ts tests/lab/maintenance.test.ts)
LANE3=(tests/lab/membership.test.ts tests/lab/consumer.test.ts tests/lab/chaos.test.ts tests/lab/disasterRecovery.test.ts
       tests/lab/snapshotCopy.test.ts)

lane_netns() { # lane $1's namespace (made here), or nothing when lanes cannot or should not run
  [[ $# -eq 1 && ${ETCD_STACK_LAB_LANES:-3} != 1 && $(id -u) == 0 ]] || return 0
  command -v nsenter >/dev/null && command -v systemd-nspawn >/dev/null || return 0
  ETCD_STACK_LAB_LANE=$1 bash tests/lab/lab.sh netns 2>/dev/null || true
}
netns2=""; netns3=""
if [[ $# -eq 0 ]]; then netns2=$(lane_netns 2); netns3=$(lane_netns 3); fi
if [[ -z $netns2 || -z $netns3 ]]; then
  exec npx mocha --reporter tests/summary-reporter.js "${all[@]}" "$@"
fi

# The hosts' base rootfs, one per Debian release (tests/lab/releases.test.ts boots all three), from
# the VM's network namespace (debootstrap needs the Debian mirror), before the lanes start inside
# their own: on a new machine they would be first to need one.
bash tests/lab/lab.sh base all
log=$(mktemp /tmp/etcd-stack-lanes.XXXXXX.log)
started=$SECONDS
# run_lane N NETNS FILES...: a mocha process in lane N, its output in $log.N, "exit seconds" in $log.N.end.
run_lane() {
  local lane=$1 ns=$2 rc=0; shift 2
  ETCD_STACK_LAB_LANE=$lane nsenter --net="$ns" npx mocha --reporter tests/summary-reporter.js "$@" >"$log.$lane" 2>&1 || rc=$?
  echo "$rc $((SECONDS - started))" >"$log.$lane.end"
}
run_lane 2 "$netns2" "${LANE2[@]}" & lane2=$!
run_lane 3 "$netns3" "${LANE3[@]}" & lane3=$!
ignore=(); for f in "${LANE2[@]}" "${LANE3[@]}"; do ignore+=(--ignore "$f"); done
rc1=0; npx mocha --reporter tests/summary-reporter.js "${all[@]}" "${ignore[@]}" | tee "$log.1" || rc1=$?
lane1_s=$((SECONDS - started))
wait "$lane2" "$lane3" || true
summary="the first process $lane1_s s (exit $rc1)"; rcs=$rc1
for lane in 2 3; do
  read -r rc lane_s <"$log.$lane.end" || { rc=1; lane_s=?; }
  files=LANE$lane[@]; files=("${!files}")
  printf '\n\n== lab lane %s (%s), run at the same time as the above: its own output and time table\n\n' "$lane" "${files[*]##*/}"
  cat "$log.$lane"
  summary+=", lane $lane $lane_s s (exit $rc)"; ((rc == 0)) || rcs=1
done
printf '\n\n== lanes: %s; all together:\n' "$summary"
# The closing line CI reads (tests/README.md), summed over the processes; a process that ended
# without its own closing line counts as one failure.
tail -n 1 "$log.1" "$log.2" "$log.3" 2>/dev/null | awk '
  /^==>/ { files++; next }
  /^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$/ { p += $1; f += $3; s += $5; seen++ }
  END { if (seen < files) f += files - seen; printf "%d passed, %d failed, %d skipped", p, f, s }'
rm -f "$log" "$log".*
((rcs == 0))
