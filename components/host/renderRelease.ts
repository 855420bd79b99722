/**
 * Pure renderers for an etcd release staged on a host (stagedRelease.ts): where it is kept, the guard on
 * the releases dir, and the scripts that check, stage and remove it. Golden files pin them.
 */
import * as paths from "../base/paths";
import { scriptHeader, shq } from "../shell/script";
import { ClusterSpec } from "../spec/types";

/** Where a release downloaded from a URL is kept on the host (a local tarball is staged under its digest). */
export function stagedReleasePath(spec: ClusterSpec): string {
    return `${paths.releaseDir}/etcd-v${spec.version}.tar.gz`;
}

/**
 * Shell lines refusing the releases dir (and the state dir above it) unless only the user these
 * steps run as (root) can write there: owned by it, not writable by group or others, not a
 * symlink. Root runs what is staged there, so a dir another local user could write to is refused,
 * never repaired. With `create`, a missing dir is made (0700); without, it is left to the caller.
 */
export function releaseDirGuard(create: boolean): string[] {
    return [
        `for d in ${shq(paths.stateDir)} ${shq(paths.releaseDir)}; do`,
        create ? `  [ -e "$d" ] || [ -L "$d" ] || mkdir -m ${paths.modes.releaseDir} "$d"` : `  [ -e "$d" ] || [ -L "$d" ] || continue`,
        `  if [ -L "$d" ] || [ ! -d "$d" ]; then why="is a symlink or not a directory"`,
        `  elif [ "$(stat -c %u "$d")" != "$(id -u)" ]; then why="is owned by uid $(stat -c %u "$d"), not $(id -u)"`,
        `  elif [ $((0$(stat -c %a "$d") & 022)) != 0 ]; then why="is writable by group or others (mode $(stat -c %a "$d"))"`,
        `  else continue; fi`,
        `  echo "refusing to use $d for etcd releases: it $why; root installs what is staged there. Remove it (or make it root's, mode ${paths.modes.releaseDir}) and run pulumi up again" >&2; exit 1`,
        `done`,
    ];
}

/** Where a staged release is unpacked (paths.releaseUnpackedSuffix). */
export function unpackedReleaseDir(tarball: string): string {
    return tarball + paths.releaseUnpackedSuffix;
}

/**
 * Prints `staged` when the release is on the host as the stage script leaves it: the tarball
 * hashes to `sha256` (hashed here, not read from the sums file), the sums file names it, and the
 * unpacked binaries match it. Anything else is printed as what is wrong, and the release is
 * staged again. A releases dir others could write to is refused (releaseDirGuard).
 */
export function renderReleaseCheckScript(tarball: string, sha256: string): string {
    const sums = shq(tarball + paths.releaseSumsSuffix);
    const dir = shq(unpackedReleaseDir(tarball));
    return scriptHeader + [
        ...releaseDirGuard(false),
        `if [ ! -f ${shq(tarball)} ]; then echo "tarball missing"`,
        `elif [ "$(sha256sum < ${shq(tarball)} | cut -c1-64)" != ${shq(sha256)} ]; then echo "tarball differs"`,
        `elif [ "$(head -n1 ${sums} 2>/dev/null)" != ${shq(`tarball ${sha256}`)} ]; then echo "not unpacked"`,
        `elif ! (cd ${dir} 2>/dev/null && tail -n +2 ${sums} | sha256sum -c --quiet - >/dev/null 2>&1); then echo "unpacked binaries differ"`,
        `else echo staged; fi`,
    ].join("\n") + "\n";
}

/**
 * Stages a release tarball on the host, outside the roll (it changes nothing etcd uses): the
 * tarball arrives on stdin (a local file, streamed by the provider) or is downloaded by the host;
 * its sha256 is checked before anything is kept; it is unpacked beside itself and the sums file
 * (writeReleaseSums) is written last, which is what marks the release staged.
 */
export function renderStageReleaseScript(tarball: string, sha256: string, source: { stdin: true } | { url: string }, stallSeconds = paths.downloadStallSeconds): string {
    const dir = shq(unpackedReleaseDir(tarball));
    const s = stallSeconds;
    const fetch = "url" in source
        ? [`curl -fsSL --retry 3 --connect-timeout ${s} --speed-limit 1024 --speed-time ${s} -o "$tmp" ${shq(source.url)} || wget -q --tries=3 --timeout=${s} -O "$tmp" ${shq(source.url)}`]
        : [`cat > "$tmp"`];
    const from = "url" in source ? source.url : "the operator's machine";
    return scriptHeader + [
        ...releaseDirGuard(true),
        `tmp=$(mktemp ${paths.releaseDir}/.release.XXXXXX); work=""`,
        `trap 'rm -f "$tmp"; [ -z "$work" ] || rm -rf "$work"' EXIT`,
        ...fetch,
        `echo ${shq(sha256)}'  '"$tmp" | sha256sum -c --quiet - >/dev/null 2>&1 || { echo ${shq(`checksum mismatch for the release from ${from}: want ${sha256}`)}", got $(sha256sum < "$tmp" | cut -c1-64)" >&2; exit 1; }`,
        `work=$(mktemp -d ${paths.releaseDir}/unpack.XXXXXX)`,
        `tar -xzf "$tmp" -C "$work" --strip-components=1`,
        ...paths.releaseBinaries.map((b) => `[ -f "$work/${b}" ] || { echo "the release has no ${b}" >&2; exit 1; }`),
        `chmod 0755 "$work"; mv -f "$tmp" ${shq(tarball)}; rm -rf ${dir}; mv "$work" ${dir}; work=""`,
        ...writeReleaseSums(tarball, sha256, dir),
        `echo "staged ${tarball}"`,
    ].join("\n") + "\n";
}

/** Removes a staged release: the tarball, its unpacked binaries and its sums; then the releases dir, once empty. */
export function renderRemoveStagedReleaseScript(tarball: string): string {
    return scriptHeader + `rm -rf ${shq(tarball)} ${shq(unpackedReleaseDir(tarball))} ${shq(tarball + paths.releaseSumsSuffix)}\n` +
        `rmdir ${shq(paths.releaseDir)} ${shq(paths.stateDir)} 2>/dev/null || true\n`;
}

/**
 * Shell lines writing the sums file beside a staged tarball (paths.releaseSumsSuffix) from its
 * binaries unpacked in `dir` (a shell word).
 */
export function writeReleaseSums(tarball: string, sha256: string, dir: string): string[] {
    const sums = shq(tarball + paths.releaseSumsSuffix);
    return [
        `{ echo ${shq(`tarball ${sha256}`)}; (cd ${dir} && sha256sum ${paths.releaseBinaries.join(" ")}); } > ${sums}.new && mv -f ${sums}.new ${sums}`,
    ];
}
