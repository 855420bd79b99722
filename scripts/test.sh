#!/usr/bin/env bash
# The README's test command (`npm test`): type-check, then one mocha run over the unit tests
# (mocked engine, seconds), the engine tests (the real Pulumi engine, no hosts) and the lab
# tests (real hosts, minutes).
# Lab tests skip with a printed reason when this machine cannot run them.
#
# Two lab lanes (issue 26): where the lab can run and no arguments narrow the run, the lab files
# in LANE2 below run at the same time in a second mocha process, inside lane 2's network namespace
# against lane 2's hosts (tests/lab/lab.sh: the same names and addresses, a bridge of their own).
# Its output is printed after the first process's, with its own time table; the exit code fails
# if either failed. ETCD_STACK_LAB_LANES=1 runs everything in one process, as before.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc --noEmit -p .
# Types were just checked: ts-node only transpiles the test files (loading them took about twice
# as long with its own type-check, 48 s against 21 s on a busy 2-core machine).
export TS_NODE_TRANSPILE_ONLY=1
all=('tests/unit/**/*.test.ts' 'tests/engine/**/*.test.ts' 'tests/lab/**/*.test.ts')

# About half of the lab's time (tests/README.md's table) and CI's chaos seed, none of it needing lane 1 only: the
# team backend's PostgreSQL listens on the VM's loopback, which lane 2's namespace does not share.
LANE2=(tests/lab/drift.test.ts tests/lab/faults.test.ts tests/lab/failures.test.ts tests/lab/membershipRecovery.test.ts
       tests/lab/caRotation.test.ts tests/lab/adopt.test.ts tests/lab/restore.test.ts tests/lab/maintenance.test.ts
       tests/lab/chaos.test.ts tests/lab/consumer.test.ts tests/lab/disasterRecovery.test.ts)

lane2_netns() { # the lane's namespace (made here), or nothing when lanes cannot or should not run
  [[ $# -eq 0 && ${ETCD_STACK_LAB_LANES:-2} == 2 && $(id -u) == 0 ]] || return 0
  command -v nsenter >/dev/null && command -v systemd-nspawn >/dev/null || return 0
  ETCD_STACK_LAB_LANE=2 bash tests/lab/lab.sh netns 2>/dev/null || true
}
netns=$(lane2_netns "$@")
if [[ -z $netns ]]; then
  exec npx mocha --reporter tests/summary-reporter.js "${all[@]}" "$@"
fi

# The hosts' base rootfs, one per Debian release (tests/lab/releases.test.ts boots all three), from
# the VM's network namespace (debootstrap needs the Debian mirror), before lane 2 starts inside its
# own: on a new machine it would be first to need one.
bash tests/lab/lab.sh base all
log=$(mktemp /tmp/etcd-stack-lane2.XXXXXX.log)
started=$SECONDS
( rc=0; ETCD_STACK_LAB_LANE=2 nsenter --net="$netns" npx mocha --reporter tests/summary-reporter.js "${LANE2[@]}" >"$log" 2>&1 || rc=$?
  echo "$rc $((SECONDS - started))" >"$log.end" ) &
lane2=$!
ignore=(); for f in "${LANE2[@]}"; do ignore+=(--ignore "$f"); done
rc1=0; npx mocha --reporter tests/summary-reporter.js "${all[@]}" "${ignore[@]}" | tee "$log.1" || rc1=$?
lane1_s=$((SECONDS - started))
wait "$lane2" || true
read -r rc2 lane2_s <"$log.end" || { rc2=1; lane2_s=?; }
printf '\n\n== lab lane 2 (%s), run at the same time as the above: its own output and time table\n\n' "${LANE2[*]##*/}"
cat "$log"
printf '\n\n== lanes: the first process %s s (exit %s), lane 2 %s s (exit %s); both together:\n' "$lane1_s" "$rc1" "$lane2_s" "$rc2"
# The closing line CI reads (tests/README.md), summed over both processes; a process that ended
# without its own closing line counts as one failure.
tail -n 1 "$log.1" "$log" 2>/dev/null | awk '
  /^==>/ { files++; next }
  /^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$/ { p += $1; f += $3; s += $5; seen++ }
  END { if (seen < files) f += files - seen; printf "%d passed, %d failed, %d skipped", p, f, s }'
rm -f "$log" "$log.1" "$log.end"
((rc1 == 0 && rc2 == 0))
