#!/usr/bin/env bash
# Builds the offline Pulumi toolchain into $ETCD_STACK_CACHE/pulumi, then checks it:
#   - the Pulumi CLI from Go modules (the Go module proxy serves pkg/v3);
#   - the Node.js language host and the command, tls and random provider plugins from the
#     source archives in ../shared/vendor (the proxy refuses their own modules; their
#     dependencies resolve through it), each archive checked against SHA256SUMS first.
# The provider plugins are installed under PULUMI_HOME (`pulumi plugin install --file`), so
# the engine uses them as installed plugins, with no download and no "ambient plugin" warning.
#
#   bash scripts/toolchain.sh          # build what is missing, install, check
#   bash scripts/toolchain.sh --check  # only report what is there
#
# Idempotent: a piece already built from the same pinned version and archive is kept.
# Pins: scripts/toolchain/pins.tsv (one row per piece, next to the npm package it serves).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/pulumi-env.sh
. "$repo_root/scripts/pulumi-env.sh"

readonly PINS="$repo_root/scripts/toolchain/pins.tsv"
readonly BIN_DIR="$ETCD_STACK_CACHE/pulumi/bin"         # CLI + language host (on PATH)
readonly PLUGIN_DIR="$ETCD_STACK_CACHE/pulumi/plugins"  # built plugin binaries (installed from here)
readonly SRC_DIR="$ETCD_STACK_CACHE/pulumi/src"         # unpacked archives, patched for the build
readonly SDK_VERSION_VAR=github.com/pulumi/pulumi/sdk/v3/go/common/version.Version

export GOMODCACHE="$ETCD_STACK_CACHE/go/mod"
export GOCACHE="$ETCD_STACK_CACHE/go/build"
export GOFLAGS=-mod=mod
mkdir -p "$BIN_DIR" "$PLUGIN_DIR" "$SRC_DIR" "$GOMODCACHE" "$GOCACHE"

log() { printf 'toolchain: %s\n' "$*"; }
die() { log "$*" >&2; exit 1; }

# pin <piece> <column: npm|version|source>
pin() {
  local col
  case $2 in npm) col=2 ;; version) col=3 ;; source) col=4 ;; *) die "pin: unknown column $2" ;; esac
  awk -v piece="$1" -v col="$col" '$1 == piece { print $col; found = 1 } END { exit !found }' \
    <(grep -v '^#' "$PINS") || die "no pin for $1 in $PINS"
}

# The vendor archives: $ETCD_STACK_VENDOR, else ../shared/vendor beside the clone, else /work/shared/vendor.
vendor_dir() {
  local d
  for d in "${ETCD_STACK_VENDOR:-}" "$repo_root/../shared/vendor" /work/shared/vendor; do
    [[ -n $d && -f $d/SHA256SUMS ]] && { (cd "$d" && pwd); return; }
  done
  die "source archives not found: set ETCD_STACK_VENDOR to the folder holding SHA256SUMS (../shared/vendor)"
}

# Prints the sha256 of a vendor archive after checking it against SHA256SUMS.
verified_archive() {
  local vendor archive=$1 want got
  vendor="$(vendor_dir)"
  [[ -f $vendor/$archive ]] || die "archive $archive missing from $vendor"
  want="$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1 }' "$vendor/SHA256SUMS")"
  [[ -n $want ]] || die "$archive is not listed in $vendor/SHA256SUMS"
  got="$(sha256sum "$vendor/$archive" | cut -d' ' -f1)"
  [[ $got == "$want" ]] || die "$archive: sha256 $got does not match SHA256SUMS ($want); refusing to build from it"
  echo "$got"
}

# Unpacks a vendor archive into a fresh source dir; prints that dir.
unpack() {
  local archive=$1 dest="$SRC_DIR/${1%.tar.gz}"
  rm -rf "$dest" && mkdir -p "$dest"
  tar -xzf "$(vendor_dir)/$archive" -C "$dest" --strip-components=1
  echo "$dest"
}

# A stamp beside each binary records what it was built from, so a rebuild happens only
# when a pin or an archive changes.
stamp_ok() { [[ -x $1 && -f $1.stamp && "$(cat "$1.stamp")" == "$2" ]]; }

# go_build <module dir> <ldflags> <package> <output>
go_build() {
  local module_dir=$1 ldflags=$2 package=$3 output=$4 started=$SECONDS
  log "building $(basename "$output") (a cold build takes minutes on 2 cores)"
  (cd "$module_dir" && go build -trimpath -ldflags "-s -w $ldflags" -o "$output.partial" "$package")
  mv "$output.partial" "$output" # never leave a half-written binary under its real name
  log "built $(basename "$output") in $((SECONDS - started)) s"
}

build_cli() {
  local version bin="$BIN_DIR/pulumi" stamp
  version="v$(pin cli version)"
  stamp="cli $version $(sha256sum "$repo_root/scripts/toolchain/cli/go.mod" | cut -c1-16)"
  if stamp_ok "$bin" "$stamp" && [[ "$("$bin" version 2>/dev/null)" == "$version" ]]; then
    log "pulumi $version present"; return
  fi
  grep -qE "github.com/pulumi/pulumi/pkg/v3 $version\$" "$repo_root/scripts/toolchain/cli/go.mod" ||
    die "scripts/toolchain/cli/go.mod does not require pkg/v3 $version (pins.tsv says so)"
  go_build "$repo_root/scripts/toolchain/cli" "-X $SDK_VERSION_VAR=$version" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "$bin"
  echo "$stamp" >"$bin.stamp"
}

# The language host's go.mod points pkg/v3 and sdk/v3 at the monorepo; take both from the proxy.
build_language_host() {
  local version archive sha src bin="$BIN_DIR/pulumi-language-nodejs"
  version="v$(pin language-nodejs version)"; archive="$(pin language-nodejs source)"
  sha="$(verified_archive "$archive")"
  if stamp_ok "$bin" "$version $sha"; then log "pulumi-language-nodejs $version present"; return; fi
  src="$(unpack "$archive")/sdk/nodejs/cmd/pulumi-language-nodejs"
  (cd "$src" && go mod edit -dropreplace github.com/pulumi/pulumi/pkg/v3 -dropreplace github.com/pulumi/pulumi/sdk/v3 \
    -require "github.com/pulumi/pulumi/pkg/v3@$version" -require "github.com/pulumi/pulumi/sdk/v3@$version")
  go_build "$src" "-X $SDK_VERSION_VAR=$version" . "$bin"
  echo "$version $sha" >"$bin.stamp"
}

# The bridged plugins embed a minified schema stamped with the plugin version, which their
# release build generates from schema.json.
embed_schema() {
  local dir=$1 version=$2
  node -e 'const fs = require("fs"); const [dir, v] = process.argv.slice(1);
    const s = JSON.parse(fs.readFileSync(dir + "/schema.json", "utf8")); s.version = v;
    fs.writeFileSync(dir + "/schema-embed.json", JSON.stringify(s));' "$dir" "$version"
}

# build_plugin <name> <Go module path of its version package>
build_plugin() {
  local name=$1 version_pkg=$2 version archive sha src bin stamp
  version="$(pin "$name" version)"; archive="$(pin "$name" source)"
  sha="$(verified_archive "$archive")"
  bin="$PLUGIN_DIR/pulumi-resource-$name"; stamp="$name $version $sha"
  if [[ $name == tls ]]; then stamp="$stamp $(verified_archive "$TLS_UPSTREAM")"; fi
  if stamp_ok "$bin" "$stamp"; then log "plugin $name $version present"; return; fi
  src="$(unpack "$archive")/provider"
  if [[ $name == tls ]]; then
    # The tls plugin bridges hashicorp/terraform-provider-tls at a commit nobody serves; the
    # vendor folder holds the nearest one (the commits between are dependency bumps).
    local upstream; upstream="$(unpack "$TLS_UPSTREAM")"
    (cd "$src" && go mod edit -replace "github.com/hashicorp/terraform-provider-tls=$upstream")
    (cd "$src/shim" && go mod edit -replace "github.com/hashicorp/terraform-provider-tls=$upstream")
  fi
  if [[ $name != command ]]; then embed_schema "$src/cmd/pulumi-resource-$name" "$version"; fi
  go_build "$src" "-X $version_pkg.Version=$version" "./cmd/pulumi-resource-$name" "$bin"
  echo "$stamp" >"$bin.stamp"
}
readonly TLS_UPSTREAM=terraform-provider-tls-d72d90e1b47b.tar.gz

# Installs a built plugin under PULUMI_HOME (what `pulumi up` uses); idempotent.
install_plugin() {
  local name=$1 version installed
  version="$(pin "$name" version)"
  installed="$PULUMI_HOME/plugins/resource-$name-v$version"
  if [[ -x $installed/pulumi-resource-$name ]] && cmp -s "$installed/pulumi-resource-$name" "$PLUGIN_DIR/pulumi-resource-$name"; then
    return
  fi
  pulumi plugin install resource "$name" "$version" --file "$PLUGIN_DIR/pulumi-resource-$name" --reinstall >/dev/null
  log "installed plugin $name $version under $PULUMI_HOME"
}

# The engine starts a Node.js dynamic provider (components/host/hostFilesProvider.ts) through a
# `pulumi-resource-pulumi-nodejs` executable next to `pulumi`; the official CLI archive ships
# one, a CLI built from source has none. It runs @pulumi/pulumi's dynamic provider host from the
# program's own node_modules (the engine starts it in the program's directory).
install_dynamic_provider_launcher() {
  local bin="$BIN_DIR/pulumi-resource-pulumi-nodejs"
  cat >"$bin.tmp" <<'SH'
#!/bin/sh
# Written by etcd-stack's scripts/toolchain.sh: the launcher of Pulumi's Node.js dynamic providers.
host=$(node -p "require.resolve('@pulumi/pulumi/cmd/dynamic-provider')") || exit 1
exec node "$host" "$@"
SH
  chmod 0755 "$bin.tmp" && mv -f "$bin.tmp" "$bin"
}

# Proves the engine, the language host and the installed plugins work together without any
# network: a TypeScript program that creates a random.RandomId, a tls.PrivateKey and a local
# command.local.Command goes through `pulumi up`, with no ambient-plugin warning.
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
  cat >"$dir/index.ts" <<'TS'
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
const id = new random.RandomId("id", { byteLength: 4 });
const key = new tls.PrivateKey("key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
const echo = new command.local.Command("echo", { create: "echo toolchain-ok" });
const dynamicProvider: pulumi.dynamic.ResourceProvider = { async create(inputs) { return { id: "d", outs: { doubled: inputs.n * 2 } }; } };
class Dynamic extends pulumi.dynamic.Resource { declare readonly doubled: pulumi.Output<number>; constructor(n: number) { super(dynamicProvider, "dynamic", { n, doubled: undefined }); } }
export const answer = echo.stdout;
export const dynamicDoubled = new Dynamic(21).doubled;
export const idLength = id.hex.apply((h) => h.length);
export const keyAlgorithm = key.algorithm;
TS
  cp "$repo_root/tsconfig.json" "$dir/"
  ln -s "$repo_root/node_modules" "$dir/node_modules"
  echo '{"name":"toolchain-check","main":"index.ts"}' >"$dir/package.json"
  (
    cd "$dir"
    export PULUMI_BACKEND_URL="file://$dir/state" && mkdir -p state
    pulumi stack init check --non-interactive >/dev/null 2>&1
    pulumi up --yes --non-interactive --skip-preview >"$dir/up.log" 2>&1 &&
      [[ "$(pulumi stack output answer)" == toolchain-ok ]] &&
      [[ "$(pulumi stack output idLength)" == 8 ]] &&
      [[ "$(pulumi stack output dynamicDoubled)" == 42 ]] &&
      ! grep -qi 'ambient\|from \$PATH' "$dir/up.log"
  ) || status=$?
  if ((status != 0)); then
    cat "$dir/up.log" >&2 || true
    rm -rf "$dir"
    die "engine check FAILED: the CLI, language host and plugins could not run a TypeScript program"
  fi
  rm -rf "$dir"
  log "engine check passed: pulumi $(pulumi version) ran a program with the command, tls and random plugins and a dynamic provider offline"
}

main() {
  local started=$SECONDS
  if [[ ${1:-} != --check ]]; then
    command -v go >/dev/null || die "go is required (Go module proxy builds)"
    [[ -d $repo_root/node_modules/@pulumi/pulumi ]] || die "run 'npm ci --ignore-scripts' first"
    build_cli
    build_language_host
    build_plugin command github.com/pulumi/pulumi-command/provider/pkg/version
    build_plugin tls github.com/pulumi/pulumi-tls/provider/v5/pkg/version
    build_plugin random github.com/pulumi/pulumi-random/provider/v4/pkg/version
    for p in command tls random; do install_plugin "$p"; done
    install_dynamic_provider_launcher
    check_engine
  fi
  log "binaries: $(cd "$BIN_DIR" && ls -1 | grep -v stamp | tr '\n' ' ')"
  log "installed plugins: $(pulumi plugin ls 2>/dev/null | awk 'NR>1 && $2 == "resource" {printf "%s %s; ", $1, $3}')"
  log "cache size: $(du -sh "$ETCD_STACK_CACHE/go" 2>/dev/null | cut -f1) (Go module + build cache)"
  log "done in $((SECONDS - started)) s"
}

main "$@"
