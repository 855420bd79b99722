#!/usr/bin/env bash
# The lab demo: builds what is missing, starts three lab hosts and runs `pulumi up`
# on the `lab` stack.
#
#   bash scripts/demo.sh          # up
#   bash scripts/demo.sh destroy  # pulumi destroy, then stop the lab
#
# Every step is idempotent: a second run reuses the toolchain, the etcd tarball and
# the running hosts, and `pulumi up` then reports no changes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n== %s\n' "$*"; }

if [[ ${1:-} == destroy ]]; then
  . scripts/pulumi-env.sh
  pulumi destroy --stack lab --yes --non-interactive || true
  bash tests/lab/lab.sh down
  exit 0
fi

step "host packages (debootstrap, systemd-container, iproute2, openssh-client, nftables)"
bash tests/lab/lab.sh install-deps

step "npm packages"
[[ -d node_modules/@pulumi/pulumi ]] || npm ci --ignore-scripts --no-audit --no-fund

step "offline Pulumi toolchain"
bash scripts/toolchain.sh

step "etcd 3.6.16 from Go modules"
bash scripts/etcd-build.sh 3.6.16

step "lab: 3 hosts"
bash tests/lab/lab.sh up 3

. scripts/pulumi-env.sh
missing="$(grep ' missing' "$ETCD_STACK_CACHE/pulumi/plugins.status" || true)"
if [[ -n $missing ]]; then
  step "pulumi up: cannot run"
  echo "The program needs provider plugins that could not be built from the Go module proxy:"
  sed 's/^/  /' <<<"$missing"
  echo "The lab hosts are up (bash tests/lab/lab.sh status); see the README, 'Status'."
  exit 1
fi

step "pulumi up (stack lab)"
pulumi stack select --create lab --non-interactive
pulumi up --stack lab --yes --non-interactive

step "etcdctl endpoint health --cluster"
creds=.lab/credentials
mkdir -p "$creds" && chmod 700 "$creds"
pulumi stack output --stack lab caCertPem >"$creds/ca.crt"
pulumi stack output --stack lab adminCertPem >"$creds/admin.crt"
(umask 077 && pulumi stack output --stack lab --show-secrets adminKeyPem >"$creds/admin.key")
tar -xzf .cache/etcd/3.6.16/etcd-v3.6.16-linux-amd64.tar.gz -C "$creds" --strip-components=1 etcd-v3.6.16-linux-amd64/etcdctl
"$creds/etcdctl" --endpoints="$(pulumi stack output --stack lab clientEndpoints)" \
  --cacert "$creds/ca.crt" --cert "$creds/admin.crt" --key "$creds/admin.key" endpoint health --cluster
