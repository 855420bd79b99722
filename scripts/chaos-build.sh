#!/usr/bin/env bash
# Builds the chaos tools (tests/chaos/go: cmd/recorder, the recorded traffic, and cmd/checker, the
# linearizability checker on porcupine) from Go modules, like scripts/labclient-build.sh builds
# the lab tests' client. Cached by the hash of their sources:
# $ETCD_STACK_CACHE/chaos/<hash>/{recorder,checker}. Prints that directory.
#   bash scripts/chaos-build.sh          # build (or find) the tools
#   bash scripts/chaos-build.sh --test   # the model's Go tests (randomized histories), nothing built
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$repo_root/tests/chaos/go"
ETCD_STACK_CACHE="${ETCD_STACK_CACHE:-$HOME/.cache/etcd-stack}"
export GOMODCACHE="$ETCD_STACK_CACHE/go/mod"
export GOCACHE="$ETCD_STACK_CACHE/go/build"
export GOFLAGS=-mod=mod CGO_ENABLED=0

command -v go >/dev/null || { echo "chaos-build: Go is required" >&2; exit 1; }
if [[ ${1:-} == --test ]]; then
  cd "$src" && exec go test -count=1 ./model
fi
# Every file of the module but its tests, in a fixed order, names included (a renamed file is a new build).
hash="$(cd "$src" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) ! -name '*_test.go' | LC_ALL=C sort |
  while read -r f; do printf '%s\n' "$f"; cat "$f"; done | sha256sum | cut -c1-16)"
out="$ETCD_STACK_CACHE/chaos/$hash"
built() { [[ -x $out/recorder && -x $out/checker ]]; }
if ! built; then
  mkdir -p "$ETCD_STACK_CACHE/chaos"
  exec 9>"$ETCD_STACK_CACHE/chaos/.lock" # one build at a time per cache
  flock 9
fi
if ! built; then
  stage="$(mktemp -d "$ETCD_STACK_CACHE/chaos/.build.XXXXXX")"
  trap 'rm -rf "$stage"' EXIT
  chmod 0755 "$stage"
  (cd "$src" && go build -trimpath -ldflags "-s -w" -o "$stage/" ./cmd/recorder ./cmd/checker)
  rm -rf "$out"
  mv "$stage" "$out"
  echo "chaos-build: built $out" >&2
fi
echo "$out"
