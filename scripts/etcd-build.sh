#!/usr/bin/env bash
# Builds etcd release tarballs from Go modules (the only source of Go code
# reachable here), in the layout of the official release tarballs:
#
#   $ETCD_STACK_CACHE/etcd/<ver>/etcd-v<ver>-linux-amd64.tar.gz (+ .sha256)
#     etcd-v<ver>-linux-amd64/{etcd,etcdctl,etcdutl,README-*.md}
#
# and puts a copy at .cache/etcd/<ver>/ in the repo, where stack configs point
# (binary.localTarball). The root README.md and Documentation/ of the official
# tarball are left out: they belong to etcd's root module, which no module holds.
#
#   bash scripts/etcd-build.sh                 # every pinned version
#   bash scripts/etcd-build.sh 3.6.16          # only some
#   ETCD_BUILD_FORCE=1 bash scripts/etcd-build.sh 3.6.16   # rebuild even if present
#
# Pins: scripts/etcd/v<major.minor>/go.mod (+ go.sum), one wrapper module per
# minor release. Idempotent: a tarball whose binaries report its version is kept.
# A build happens in a temp dir and is renamed into place only once its binaries
# have passed the checks (versions, and a put/get against a loopback-only etcd),
# so a killed build never leaves a half tarball behind.
#
# Like the official release: CGO_ENABLED=0, -trimpath, -ldflags "-s -w". The
# official build also stamps the git commit (api/v3/version.GitSHA); module zips
# carry no commit, so `etcd --version` says "Git SHA: Not provided".
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly repo_root
readonly -a DEFAULT_VERSIONS=(3.5.35 3.6.16)
readonly OS=linux ARCH=amd64
ETCD_STACK_CACHE="${ETCD_STACK_CACHE:-$HOME/.cache/etcd-stack}"
readonly OUT_ROOT="$ETCD_STACK_CACHE/etcd"
# Ports of the throwaway etcd the post-build check starts on 127.0.0.1.
readonly CHECK_CLIENT_PORT="${ETCD_BUILD_CHECK_CLIENT_PORT:-23790}"
readonly CHECK_PEER_PORT="${ETCD_BUILD_CHECK_PEER_PORT:-23800}"

export GOMODCACHE="$ETCD_STACK_CACHE/go/mod"
export GOCACHE="$ETCD_STACK_CACHE/go/build"
export GOFLAGS=-mod=mod
export CGO_ENABLED=0 GOOS=$OS GOARCH=$ARCH

log() { printf 'etcd-build: %s\n' "$*"; }
die() { printf 'etcd-build: error: %s\n' "$*" >&2; exit 1; }

# Processes and temp dirs to clean up however the script ends.
cleanup_pids=() cleanup_dirs=()
cleanup() {
  local pid dir
  for pid in "${cleanup_pids[@]}"; do stop "$pid"; done
  for dir in "${cleanup_dirs[@]}"; do rm -rf "$dir"; done
}
# stop <pid>: ends a process this script started and reaps it.
stop() { { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; } || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

tarball_name() { echo "etcd-v$1-$OS-$ARCH"; }

# wrapper_dir <ver>: the wrapper module pinning <ver> (scripts/etcd/v<ver> for an extra patch
# release, else the minor's scripts/etcd/v<major.minor>); fails unless it pins exactly <ver>.
wrapper_dir() {
  local ver=$1 dir pinned
  dir="$repo_root/scripts/etcd/v$ver"
  [[ -f $dir/go.mod ]] || dir="$repo_root/scripts/etcd/v${ver%.*}"
  [[ -f $dir/go.mod ]] || die "no wrapper module for etcd $ver: $dir/go.mod is missing"
  pinned="$(sed -n 's#^[[:space:]]*go\.etcd\.io/etcd/server/v3 \(v[^ ]*\).*#\1#p' "$dir/go.mod")"
  [[ $pinned == "v$ver" ]] ||
    die "$dir/go.mod pins go.etcd.io/etcd/server/v3 ${pinned:-nothing}, not v$ver"
  echo "$dir"
}

# check_versions <dir with etcd, etcdctl, etcdutl> <ver>
check_versions() {
  local bin=$1 ver=$2 out
  out="$("$bin/etcd" --version 2>&1)" || { echo "$out" >&2; return 1; }
  grep -qx "etcd Version: $ver" <<<"$out" || { log "etcd --version: $out" >&2; return 1; }
  out="$("$bin/etcdctl" version 2>&1)" || { echo "$out" >&2; return 1; }
  grep -qx "etcdctl version: $ver" <<<"$out" || { log "etcdctl version: $out" >&2; return 1; }
  out="$("$bin/etcdutl" version 2>&1)" || { echo "$out" >&2; return 1; }
  grep -qx "etcdutl version: $ver" <<<"$out" || { log "etcdutl version: $out" >&2; return 1; }
}

# smoke_test <dir with etcd, etcdctl> <ver>: a single-member etcd on loopback only,
# with a temp data dir, answers a put and a get; then it is stopped.
smoke_test() {
  local bin=$1 ver=$2 work pid endpoint="127.0.0.1:$CHECK_CLIENT_PORT" i got
  local client="http://127.0.0.1:$CHECK_CLIENT_PORT" peer="http://127.0.0.1:$CHECK_PEER_PORT"
  work="$(mktemp -d)"
  cleanup_dirs+=("$work")
  "$bin/etcd" --name smoke --data-dir "$work/data" \
    --listen-client-urls "$client" --advertise-client-urls "$client" \
    --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
    --initial-cluster "smoke=$peer" --initial-cluster-state new \
    >"$work/etcd.log" 2>&1 &
  pid=$!
  cleanup_pids+=("$pid")
  for ((i = 0; i < 40; i++)); do
    "$bin/etcdctl" --endpoints="$endpoint" --command-timeout=2s endpoint health >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if "$bin/etcdctl" --endpoints="$endpoint" --command-timeout=5s put smoke-key "v$ver" >/dev/null &&
    got="$("$bin/etcdctl" --endpoints="$endpoint" --command-timeout=5s get --print-value-only smoke-key)" &&
    [[ $got == "v$ver" ]]; then
    stop "$pid"
    cleanup_pids=()
    log "$ver: smoke test passed (put/get on $endpoint, loopback only)"
    return 0
  fi
  log "$ver: smoke test failed on $endpoint; last etcd log lines:" >&2
  tail -n 20 "$work/etcd.log" >&2
  stop "$pid"
  cleanup_pids=()
  return 1
}

# tarball_ok <tarball> <ver>: its checksum file matches and, unpacked in a temp dir, its binaries report <ver>.
tarball_ok() {
  local tarball=$1 ver=$2 tmp
  [[ -f $tarball && -f $tarball.sha256 ]] || return 1
  (cd "$(dirname "$tarball")" && sha256sum -c --quiet "$(basename "$tarball").sha256" >/dev/null 2>&1) || return 1
  tmp="$(mktemp -d)"
  cleanup_dirs+=("$tmp")
  tar -xzf "$tarball" -C "$tmp" 2>/dev/null || return 1
  check_versions "$tmp/$(tarball_name "$ver")" "$ver" 2>/dev/null
}

# build <ver> <output tarball>
build() {
  local ver=$1 tarball=$2 module_dir name stage dir mtime pkg bin readme module file target
  module_dir="$(wrapper_dir "$ver")"
  name="$(tarball_name "$ver")"
  stage="$(mktemp -d "$(dirname "$tarball")/.build.XXXXXX")"
  cleanup_dirs+=("$stage")
  dir="$stage/$name"
  mkdir -p "$dir"
  log "$ver: building etcd, etcdctl, etcdutl from $module_dir (a cold build takes about 2 minutes on 2 cores)"
  for pkg in server etcdctl etcdutl; do
    bin=$pkg && [[ $pkg == server ]] && bin=etcd
    (cd "$module_dir" && go build -trimpath -ldflags "-s -w" -o "$dir/$bin" "go.etcd.io/etcd/$pkg/v3")
  done
  check_versions "$dir" "$ver" || die "$ver: the built binaries do not report version $ver"
  log "$ver: versions ok: $("$dir/etcd" --version | head -n 1); $("$dir/etcdctl" version | head -n 1); $("$dir/etcdutl" version | head -n 1)"
  if [[ "$(go env GOHOSTOS)/$(go env GOHOSTARCH)" == "$OS/$ARCH" ]]; then
    smoke_test "$dir" "$ver" || die "$ver: smoke test failed"
  else
    log "$ver: not running the smoke test: this host is not $OS/$ARCH"
  fi
  # The READMEs the official tarball carries, where a module holds them.
  for readme in etcdctl:README.md:README-etcdctl.md etcdctl:READMEv2.md:READMEv2-etcdctl.md \
    etcdutl:README.md:README-etcdutl.md; do
    IFS=: read -r module file target <<<"$readme"
    file="$GOMODCACHE/go.etcd.io/etcd/$module/v3@v$ver/$file"
    if [[ -f $file ]]; then install -m 0644 "$file" "$dir/$target"; fi
  done
  # Reproducible archive: fixed order, owner and time (the module's publication time).
  mtime="$(cd "$module_dir" && go list -m -f '{{.Time.Unix}}' go.etcd.io/etcd/server/v3 2>/dev/null)" || mtime=0
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@${mtime:-0}" \
    -C "$stage" -cf - "$name" | gzip -n -9 >"$stage/$name.tar.gz"
  (cd "$stage" && sha256sum "$name.tar.gz" >"$name.tar.gz.sha256")
  # The tarball goes in first, its checksum last: a checksum file marks a complete tarball.
  rm -f "$tarball.sha256"
  mv -f "$stage/$name.tar.gz" "$tarball"
  mv -f "$stage/$name.tar.gz.sha256" "$tarball.sha256"
  rm -rf "$stage"
}

# publish <cached tarball> <ver>: the repo's .cache/etcd/<ver>/ copy (a hard link when possible).
publish() {
  local tarball=$1 ver=$2 dest f target
  dest="$repo_root/.cache/etcd/$ver"
  mkdir -p "$dest"
  for f in "$tarball" "$tarball.sha256"; do
    target="$dest/$(basename "$f")"
    [[ $target -ef $f ]] && continue
    ln -f "$f" "$target.partial" 2>/dev/null || cp -f "$f" "$target.partial"
    mv -f "$target.partial" "$target"
  done
  echo "$dest/$(basename "$tarball")"
}

main() {
  local started=$SECONDS ver tarball t0 how repo_copy sha
  local -a versions=("$@")
  ((${#versions[@]})) || versions=("${DEFAULT_VERSIONS[@]}")
  command -v go >/dev/null || die "go is required (etcd is built from Go modules)"
  mkdir -p "$OUT_ROOT" "$GOMODCACHE" "$GOCACHE"
  # One build at a time per cache.
  exec 9>"$OUT_ROOT/.lock"
  flock 9
  for ver in "${versions[@]}"; do
    ver="${ver#v}"
    [[ $ver =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "not an etcd version: $ver"
    wrapper_dir "$ver" >/dev/null
    tarball="$OUT_ROOT/$ver/$(tarball_name "$ver").tar.gz"
    mkdir -p "$(dirname "$tarball")"
    rm -rf "$(dirname "$tarball")"/.build.* # left by a killed build
    t0=$SECONDS
    if [[ -z ${ETCD_BUILD_FORCE:-} ]] && tarball_ok "$tarball" "$ver"; then
      how="present, binaries report $ver"
    else
      build "$ver" "$tarball"
      how="built in $((SECONDS - t0)) s"
    fi
    repo_copy="$(publish "$tarball" "$ver")"
    sha="$(cut -d' ' -f1 "$tarball.sha256")"
    log "etcd $ver: $tarball ($(du -h "$tarball" | cut -f1)) sha256 $sha; $how"
    log "etcd $ver: repo copy ${repo_copy#"$repo_root/"}"
  done
  log "done in $((SECONDS - started)) s"
}

main "$@"
