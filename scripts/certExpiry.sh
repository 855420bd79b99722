#!/usr/bin/env bash
# Certificate expiry of a stack: every certificate the stack issues (the `certificates` output:
# CAs, members' server and peer certificates, client certificates, the timers' client
# certificates), as a table of not-after time, start of its renewal window and days left. Run it in
# the project directory:
#   bash scripts/certExpiry.sh [--lab] [--now <ISO time>] [stack]      (or: npm run cert-expiry -- [stack])
# Exits 1 naming every certificate inside its renewal window or expired (run `pulumi up` to renew
# a member or client certificate; a CA is rotated: docs/certificates.md), 0 when none is. Nothing
# renews by itself, so the expiry workflow (.github/workflows/expiry.yml) runs this daily: a failed
# run is the warning. The output is read with the operator's own `pulumi`, PULUMI_* environment and
# login (scripts/lib/pulumiStack.sh; no stack named: the selected one; `--lab` or ETCD_STACK_LAB=1:
# the lab's environment, stack `lab`). `--now` checks as of another time (tests, "what will be due").
set -euo pipefail
now=()
stack=""
usage="usage: certExpiry.sh [--lab] [--now <ISO time>] [stack]"
while [[ $# -gt 0 ]]; do
  case $1 in
    --lab) export ETCD_STACK_LAB=1; shift ;;
    --now) [[ $# -ge 2 ]] || { echo "certExpiry: --now needs an ISO time ($usage)" >&2; exit 2; }; now=(--now "$2"); shift 2 ;;
    --now=*) now=(--now "${1#--now=}"); shift ;;
    -*) echo "certExpiry: unknown option $1 ($usage)" >&2; exit 2 ;;
    *) [[ -z $stack ]] || { echo "certExpiry: one stack at a time ($usage)" >&2; exit 2; }; stack=$1; shift ;;
  esac
done
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/lib/pulumiStack.sh

err=$(mktemp)
trap 'rm -f "$err"' EXIT
if ! json=$(stack_output --json certificates 2>"$err"); then
  if grep -q "does not have output property 'certificates'" "$err"; then
    die "stack '$stack' has no \`certificates\` output: its last \`pulumi up\` ran an etcd-stack from before certificate expiry was published. Run \`pulumi up\` with this version once (it publishes the output), then check again"
  fi
  cat "$err" >&2
  die "cannot read the outputs of stack '$stack' (run it where its Pulumi.yaml is, logged in to its backend)"
fi
TS_NODE_TRANSPILE_ONLY=1 node -r ts-node/register scripts/certExpiry.ts "$stack" ${now[@]+"${now[@]}"} <<<"$json"
