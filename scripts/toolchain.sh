#!/usr/bin/env bash
# Builds the offline Pulumi toolchain from Go modules (the only source of Go
# code reachable here) into $ETCD_STACK_CACHE/pulumi/bin, then checks it.
#
#   bash scripts/toolchain.sh          # build what is missing, then check
#   bash scripts/toolchain.sh --check  # only report what is there
#
# Idempotent: a binary that already reports the pinned version is kept.
# Pins (keep in step with package.json):
#   pulumi CLI            v3.259.0  = @pulumi/pulumi 3.259.0
#   pulumi-language-nodejs v3.68.0  (newest release whose source the proxy serves)
#   provider plugins command / tls / random: not buildable here (see below)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/pulumi-env.sh
. "$repo_root/scripts/pulumi-env.sh"

readonly CLI_VERSION=v3.259.0
readonly LANGUAGE_HOST_VERSION=v3.68.0
readonly BIN_DIR="$ETCD_STACK_CACHE/pulumi/bin"
readonly VERSION_VAR=github.com/pulumi/pulumi/sdk/v3/go/common/version.Version
# Provider plugins the npm packages in package.json ask for, with the Go module
# that holds each one's main package.
readonly -a PLUGINS=(
  "command 1.2.1 github.com/pulumi/pulumi-command/provider"
  "tls 5.5.1 github.com/pulumi/pulumi-tls/provider/v5"
  "random 4.21.1 github.com/pulumi/pulumi-random/provider/v4"
)

export GOMODCACHE="$ETCD_STACK_CACHE/go/mod"
export GOCACHE="$ETCD_STACK_CACHE/go/build"
export GOFLAGS=-mod=mod
mkdir -p "$BIN_DIR" "$GOMODCACHE" "$GOCACHE"

log() { printf 'toolchain: %s\n' "$*"; }

# go_build <wrapper module dir> <version to stamp> <package> <output>
go_build() {
  local module_dir=$1 version=$2 package=$3 output=$4 started=$SECONDS
  log "building $(basename "$output") $version (first build takes several minutes on 2 cores)"
  (cd "$module_dir" && go build -trimpath \
    -ldflags "-s -w -X $VERSION_VAR=$version" -o "$output.partial" "$package")
  mv "$output.partial" "$output" # never leave a half-written binary under its real name
  log "built $(basename "$output") in $((SECONDS - started)) s"
}

build_cli() {
  local bin="$BIN_DIR/pulumi"
  if [[ -x $bin ]] && [[ "$("$bin" version 2>/dev/null)" == "$CLI_VERSION" ]]; then
    log "pulumi $CLI_VERSION present"
    return
  fi
  go_build "$repo_root/scripts/toolchain/cli" "$CLI_VERSION" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "$bin"
}

build_language_host() {
  local bin="$BIN_DIR/pulumi-language-nodejs"
  # The host has no version flag; its build info names the sdk/v3 it was built from.
  if [[ -x $bin ]] && go version -m "$bin" 2>/dev/null |
    grep -qE "^\s+mod\s+github.com/pulumi/pulumi/sdk/v3\s+$LANGUAGE_HOST_VERSION\s"; then
    log "pulumi-language-nodejs $LANGUAGE_HOST_VERSION present"
    return
  fi
  go_build "$repo_root/scripts/toolchain/language-nodejs" "$LANGUAGE_HOST_VERSION" \
    github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs "$bin"
}

# The provider modules are refused by the module proxy (403 "This module version
# is not available." for the version list, every tag and every commit). Ask the
# proxy each time so the day it serves them is noticed, and record the answer
# where the tests read it (they skip the engine-driven host tests with it).
probe_plugins() {
  local status_file="$ETCD_STACK_CACHE/pulumi/plugins.status" line name version module answer
  : >"$status_file.partial"
  for line in "${PLUGINS[@]}"; do
    read -r name version module <<<"$line"
    if [[ -x "$BIN_DIR/pulumi-resource-$name" ]]; then
      echo "$name ok" >>"$status_file.partial"
      continue
    fi
    if answer="$(cd "$repo_root/scripts/toolchain/cli" && timeout 60 go list -m -versions "$module" 2>&1)"; then
      # Not expected today; if it happens, this script needs a build step for the plugin.
      answer="the proxy now lists ${answer:0:200}; no build step for it yet in scripts/toolchain.sh"
    else
      answer="not served by the Go module proxy ($(tail -n 2 <<<"$answer" | tr '\n' ' '))"
    fi
    log "plugin $name $version: cannot build: $module $answer"
    echo "$name missing: module $module $answer" >>"$status_file.partial"
  done
  mv "$status_file.partial" "$status_file"
}

# Proves the engine and language host work together without any network:
# a TypeScript program with no resources runs through `pulumi preview`.
check_engine() {
  local dir status=0
  dir="$(mktemp -d)"
  cat >"$dir/Pulumi.yaml" <<'YAML'
name: toolchain-check
runtime:
  name: nodejs
  options:
    typescript: true
YAML
  echo 'export const answer = 42;' >"$dir/index.ts"
  cp "$repo_root/tsconfig.json" "$dir/"
  ln -s "$repo_root/node_modules" "$dir/node_modules"
  echo '{"name":"toolchain-check","main":"index.ts"}' >"$dir/package.json"
  (
    cd "$dir"
    export PULUMI_BACKEND_URL="file://$dir/state" && mkdir -p state
    pulumi stack init check --non-interactive >/dev/null 2>&1
    pulumi preview --non-interactive --diff >"$dir/preview.log" 2>&1 &&
      grep -q 'answer *: 42' "$dir/preview.log"
  ) || status=$?
  if ((status != 0)); then
    cat "$dir/preview.log" >&2 || true
    rm -rf "$dir"
    log "engine check FAILED: the CLI and language host could not run a TypeScript program"
    return 1
  fi
  rm -rf "$dir"
  log "engine check passed: pulumi $(pulumi version) ran a TypeScript program offline"
}

main() {
  local started=$SECONDS
  if [[ ${1:-} != --check ]]; then
    command -v go >/dev/null || { log "go is required (Go module proxy builds)"; exit 1; }
    [[ -d $repo_root/node_modules/@pulumi/pulumi ]] ||
      { log "run 'npm ci --ignore-scripts' first"; exit 1; }
    build_cli
    build_language_host
    probe_plugins
    check_engine
  fi
  log "binaries in $BIN_DIR:"
  ls -1 "$BIN_DIR" | sed 's/^/  /'
  log "plugins: $(tr '\n' ';' <"$ETCD_STACK_CACHE/pulumi/plugins.status" 2>/dev/null | cut -c1-400)"
  log "cache size: $(du -sh "$ETCD_STACK_CACHE/go" 2>/dev/null | cut -f1) (Go module + build cache)"
  log "done in $((SECONDS - started)) s"
}

main "$@"
