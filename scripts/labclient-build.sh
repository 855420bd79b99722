#!/usr/bin/env bash
# Builds the lab tests' etcd client (tests/lab/client: one long-running process that the writer
# and the health monitor talk to, instead of one etcdctl process per request) from Go modules,
# like scripts/etcd-build.sh builds etcd. Cached by the hash of its sources:
# $ETCD_STACK_CACHE/labclient/<hash>/labclient. Prints the binary's path.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$repo_root/tests/lab/client"
ETCD_STACK_CACHE="${ETCD_STACK_CACHE:-$HOME/.cache/etcd-stack}"
export GOMODCACHE="$ETCD_STACK_CACHE/go/mod"
export GOCACHE="$ETCD_STACK_CACHE/go/build"
export GOFLAGS=-mod=mod CGO_ENABLED=0

command -v go >/dev/null || { echo "labclient-build: Go is required" >&2; exit 1; }
hash="$(cd "$src" && cat go.mod go.sum ./*.go | sha256sum | cut -c1-16)"
out="$ETCD_STACK_CACHE/labclient/$hash/labclient"
if [[ ! -x $out ]]; then
  mkdir -p "$(dirname "$out")"
  (cd "$src" && go build -trimpath -ldflags "-s -w" -o "$out.tmp" .)
  mv "$out.tmp" "$out"
  echo "labclient-build: built $out" >&2
fi
echo "$out"
