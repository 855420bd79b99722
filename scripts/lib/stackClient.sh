# Sourced by the operator commands (scripts/snapshot.sh, scripts/maintenance.sh) once they have
# read their arguments: an admin client for the cluster of stack `$stack`, from the stack's
# outputs, run in the project directory. Sets `endpoints` and defines `ctl` (etcdctl with the
# admin certificate) and `bin` (where etcdctl and etcdutl are). The key lives only in a 0700
# temporary directory removed on exit.
#
# Pulumi is the operator's own: the `pulumi` on PATH with the caller's PULUMI_* environment and
# `pulumi login` state, untouched; with no stack named, the selected one. The lab's environment
# (scripts/pulumi-env.sh: the offline CLI, the .lab/state file backend, the lab's passphrase, no
# plugin download) only when the caller asks for it: ETCD_STACK_LAB=1, or `--lab` before the
# command's arguments; then the stack defaults to `lab`.
#
# etcdctl and etcdutl come from $ETCD_BIN_DIR, else the release tarball scripts/etcd-build.sh made
# for the stack's version (in ${ETCD_STACK_CACHE:-~/.cache/etcd-stack}), else PATH.
die() { echo "$(basename "$0" .sh): $*" >&2; exit 1; }
if [[ ${ETCD_STACK_LAB:-} == 1 ]]; then
  . "$(dirname "${BASH_SOURCE[0]}")/../pulumi-env.sh"
  stack=${stack:-lab}
fi
ETCD_STACK_CACHE=${ETCD_STACK_CACHE:-$HOME/.cache/etcd-stack}
command -v pulumi >/dev/null || die "no pulumi on PATH: install the Pulumi CLI and \`pulumi login\` to the team's backend (for the lab's offline CLI: ETCD_STACK_LAB=1 or --lab)"
if [[ -z ${stack:-} ]]; then
  stack=$(pulumi stack --show-name 2>/dev/null) && [[ -n $stack ]] || die "no stack named and none selected: name it (e.g. prod), or \`pulumi stack select\`"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stack_output() { pulumi stack output --stack "$stack" "$@"; }
endpoints=$(stack_output clientEndpoints) || die "no outputs for stack '$stack' (run it where its Pulumi.yaml is, logged in to its backend, after pulumi up)"
stack_output caCertPem >"$work/ca.crt"
stack_output adminCertPem >"$work/admin.crt"
(umask 077 && stack_output --show-secrets adminKeyPem >"$work/admin.key")

if [[ -n ${ETCD_BIN_DIR:-} ]]; then
  bin=$ETCD_BIN_DIR
else
  version=$(pulumi config get etcd:version --stack "$stack")
  tarball=$ETCD_STACK_CACHE/etcd/$version/etcd-v$version-linux-amd64.tar.gz
  if [[ -f $tarball ]]; then
    tar -xzf "$tarball" -C "$work" --strip-components=1 "etcd-v$version-linux-amd64/etcdctl" "etcd-v$version-linux-amd64/etcdutl"
    bin=$work
  else
    found=$(command -v etcdctl) || die "etcdctl $version not found: set ETCD_BIN_DIR"
    bin=$(dirname "$found")
  fi
fi
ctl() { "$bin/etcdctl" --cacert="$work/ca.crt" --cert="$work/admin.crt" --key="$work/admin.key" --dial-timeout=3s "$@"; }
