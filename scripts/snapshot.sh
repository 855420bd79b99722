#!/usr/bin/env bash
# An on-demand snapshot of a stack's cluster, saved on the operator's machine. Run it in the
# project directory:
#   bash scripts/snapshot.sh [--lab] [stack] [file]        (or: npm run snapshot -- [stack] [file])
# Credentials come from the stack's outputs, read with the operator's own `pulumi` and login (see
# scripts/lib/stackClient.sh; the stack defaults to the selected one; `--lab` or ETCD_STACK_LAB=1:
# the lab's environment, stack `lab`). The snapshot is taken from the first healthy member,
# checked with `etcdutl snapshot status`, and written 0600; it is what `etcd:restore.snapshot` takes.
set -euo pipefail
if [[ ${1:-} == --lab ]]; then export ETCD_STACK_LAB=1; shift; fi
stack=${1:-}
. "$(dirname "${BASH_SOURCE[0]}")/lib/stackClient.sh"
out=${2:-$HOME/etcd-snapshots/$stack-$(date -u +%Y%m%dT%H%M%SZ).db}

# A snapshot is streamed from one member: the first that answers healthy.
from=""
for ep in ${endpoints//,/ }; do
  if ctl --endpoints "$ep" --command-timeout=5s endpoint health >/dev/null 2>&1; then from=$ep; break; fi
done
[[ -n $from ]] || die "no member of '$stack' answers healthy ($endpoints)"

mkdir -p "$(dirname "$out")"
(umask 077 && ctl --endpoints "$from" --command-timeout=10m snapshot save "$out.part" >/dev/null 2>"$work/save.log") ||
  { tail -n 3 "$work/save.log" >&2; rm -f "$out.part"; die "snapshot save from $from failed"; }
"$bin/etcdutl" snapshot status "$out.part" -w table >"$work/status" 2>&1 || { cat "$work/status" >&2; rm -f "$out.part"; die "the snapshot does not check"; }
mv "$out.part" "$out"
echo "snapshot of stack '$stack' from $from: $out"
cat "$work/status"
echo "sha256 $(sha256sum "$out" | cut -d' ' -f1)"
# Under the home directory the hint says ~/…, quoted: the program expands it on each machine, and
# the shared stack file does not get this operator's home path.
shown=$out
[[ $out != "$HOME"/* ]] || shown="~/${out#"$HOME"/}"
echo "restore it with: pulumi config set --path etcd:restore.snapshot '$shown' && pulumi up"
