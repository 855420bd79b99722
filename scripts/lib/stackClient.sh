# Sourced by the operator commands (scripts/snapshot.sh, scripts/maintenance.sh) once they have
# read their arguments: an admin client for the cluster of stack `$stack`, from the stack's
# outputs, run in the project directory, through the bastion when the stack has one
# (bastionTunnel.sh). Sets `endpoints` and defines `ctl` (etcdctl with the
# admin certificate) and `bin` (where etcdctl and etcdutl are). The key lives only in a 0700
# temporary directory removed on exit.
#
# Which `pulumi` and which stack: scripts/lib/pulumiStack.sh (the operator's own pulumi, PULUMI_*
# environment and login; the lab's only with ETCD_STACK_LAB=1 or `--lab`).
#
# etcdctl and etcdutl come from $ETCD_BIN_DIR, else the release tarball scripts/etcd-build.sh made
# for the stack's version (in ${ETCD_STACK_CACHE:-~/.cache/etcd-stack}), else PATH.
. "$(dirname "${BASH_SOURCE[0]}")/pulumiStack.sh"
ETCD_STACK_CACHE=${ETCD_STACK_CACHE:-$HOME/.cache/etcd-stack}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
endpoints=$(stack_output clientEndpoints) || die "no outputs for stack '$stack' (run it where its Pulumi.yaml is, logged in to its backend, after pulumi up)"
# Behind a bastion, the members' client URLs through an SSH tunnel (bastionTunnel.sh).
. "$(dirname "${BASH_SOURCE[0]}")/bastionTunnel.sh"
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
