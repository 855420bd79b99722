# Source this file to use the offline Pulumi toolchain built by scripts/toolchain.sh:
#   . scripts/pulumi-env.sh
# It puts the CLI and the Node.js language host on PATH, points PULUMI_HOME at the cache
# (where scripts/toolchain.sh installed the command, tls and random plugins) and turns off
# every step that would try the network.
# This is the lab's environment (the demo, the tests, a developer on this machine): it also
# points an unset PULUMI_BACKEND_URL at the lab's file state and sets the lab's passphrase. The
# operator commands (scripts/snapshot.sh, scripts/maintenance.sh) source it only when asked
# (ETCD_STACK_LAB=1 or --lab); an operator's own `pulumi login` needs none of it.
_repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ETCD_STACK_CACHE="${ETCD_STACK_CACHE:-$HOME/.cache/etcd-stack}"
case ":$PATH:" in
  *":$ETCD_STACK_CACHE/pulumi/bin:"*) ;;
  *) export PATH="$ETCD_STACK_CACHE/pulumi/bin:$PATH" ;;
esac
export PULUMI_HOME="$ETCD_STACK_CACHE/pulumi/home"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
# Lab stacks live in a local file backend inside the clone (git-ignored). metadata=skip: no
# `<stack>.json.attrs` sidecar, which the file backend writes non-atomically beside each
# checkpoint: a run killed at that moment leaves it empty and every later command on the stack
# fails with "failed to load checkpoint: EOF" (tests/engine/engine.ts fileBackendUrl).
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$_repo_root/.lab/state?metadata=skip}"
# The lab passphrase only protects lab secrets on this machine; real stacks set their own.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-etcd-stack-lab}"
mkdir -p "$PULUMI_HOME" "$_repo_root/.lab/state"
unset _repo_root
