# Sourced by the operator commands (through scripts/lib/stackClient.sh, and by scripts/certExpiry.sh)
# once they have read their arguments: which `pulumi` reads which stack `$stack`.
#
# Pulumi is the operator's own: the `pulumi` on PATH with the caller's PULUMI_* environment and
# `pulumi login` state, untouched; with no stack named, the selected one. The lab's environment
# (scripts/pulumi-env.sh: the offline CLI, the .lab/state file backend, the lab's passphrase, no
# plugin download) only when the caller asks for it: ETCD_STACK_LAB=1, or `--lab` before the
# command's arguments; then the stack defaults to `lab`. Defines `die` and `stack_output`.
die() { echo "$(basename "$0" .sh): $*" >&2; exit 1; }
if [[ ${ETCD_STACK_LAB:-} == 1 ]]; then
  . "$(dirname "${BASH_SOURCE[0]}")/../pulumi-env.sh"
  stack=${stack:-lab}
fi
command -v pulumi >/dev/null || die "no pulumi on PATH: install the Pulumi CLI and \`pulumi login\` to the team's backend (for the lab's offline CLI: ETCD_STACK_LAB=1 or --lab)"
if [[ -z ${stack:-} ]]; then
  stack=$(pulumi stack --show-name 2>/dev/null) && [[ -n $stack ]] || die "no stack named and none selected: name it (e.g. prod), or \`pulumi stack select\`"
fi
stack_output() { pulumi stack output --stack "$stack" "$@"; }
