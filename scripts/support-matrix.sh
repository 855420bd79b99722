#!/usr/bin/env bash
# The support matrix (issue 30, docs/support.md): runs the lab's core path (tests/lab/releases.test.ts:
# cold up, a rolling change, scale 3 -> 5 -> 3, drift repair, destroy) on a cluster of each Debian
# release and on the mixed one, and writes the results as a Markdown table (release, systemd, each
# step ok or failed, date, commit) to tests/lab/results/support-matrix.md and standard output.
#
#   bash scripts/support-matrix.sh [--docs] [CLUSTER...]   # CLUSTER: bullseye bookworm trixie mixed (default: all four)
#   ETCD_STACK_LAB_LANE=N …                                # on lab lane N (run inside its network namespace)
#
# --docs also puts the table into docs/support.md, between its matrix markers. Needs what the lab
# tests need (root, the lab, etcd built: scripts/etcd-build.sh); 2 to 7 minutes of lab per cluster
# (CI=true: a suite that cannot run fails its row instead of skipping).
set -euo pipefail
cd "$(dirname "$0")/.."
docs=0
if [[ ${1:-} == --docs ]]; then docs=1; shift; fi
clusters=("$@"); [[ ${#clusters[@]} -gt 0 ]] || clusters=(bullseye bookworm trixie mixed)
for c in "${clusters[@]}"; do
  [[ $c =~ ^(bullseye|bookworm|trixie|mixed)$ ]] || { echo "support-matrix: unknown cluster '$c' (bullseye bookworm trixie mixed)" >&2; exit 2; }
done
lane=${ETCD_STACK_LAB_LANE:-1}
out=tests/lab/results; mkdir -p "$out"
# The bases first, from the VM's network namespace (the lane's may not reach the mirror).
bash tests/lab/lab.sh base all
netns=$(bash tests/lab/lab.sh netns)
run=(); [[ -n $netns ]] && run=(nsenter --net="$netns")
commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo "+changes")
date=$(date -u +%Y-%m-%d)
files=(); failed=0
for c in "${clusters[@]}"; do
  f=$out/support-$c.json; rm -f "$f"; files+=("$f")
  echo "== support matrix: $c (lane $lane)" >&2
  rc=0
  "${run[@]}" env CI=true ETCD_STACK_LAB_LANE="$lane" ETCD_STACK_LAB_MATRIX="$c" ETCD_STACK_MATRIX_OUT="$f" TS_NODE_TRANSPILE_ONLY=1 \
    npx mocha --timeout 1800000 --reporter tests/summary-reporter.js tests/lab/releases.test.ts >"$out/support-$c.log" 2>&1 || rc=$?
  tail -n 1 "$out/support-$c.log" >&2
  ((rc == 0)) || failed=1
  # A run that died before its after hook: a row saying nothing ran.
  [[ -s $f ]] || printf '{"cluster": "%s", "releases": {}, "hosts": {}, "steps": {"release check": "failed: the run wrote no results (log: %s)"}}\n' "$c" "$out/support-$c.log" >"$f"
done
TS_NODE_TRANSPILE_ONLY=1 npx ts-node tests/lab/supportMatrix.ts "$date" "$commit" "${files[@]}" >"$out/support-matrix.md"
cat "$out/support-matrix.md"
if ((docs)); then
  awk -v table="$out/support-matrix.md" '
    /<!-- support-matrix:begin -->/ { print; while ((getline l < table) > 0) print l; skip = 1; next }
    /<!-- support-matrix:end -->/ { skip = 0 }
    !skip' docs/support.md >docs/support.md.new
  mv docs/support.md.new docs/support.md
  echo "support-matrix: docs/support.md updated" >&2
fi
exit "$failed"
