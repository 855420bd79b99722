/** Validation of the etcd release: the version (supported minors, releases etcd withdrew) and where its tarball comes from. */
import { defaultReleaseUrlTemplate } from "../base/paths";
import { unservableVersion } from "./etcdVersions";
import { Reader, field } from "./problems";
import { BinarySource, ReleaseArch, releaseArches, supportedMinors } from "./types";
import { semver, sha256Hex } from "./values";

export function checkVersion(version: string, problems: string[]): void {
    if (!version) {
        problems.push('version: required, e.g. "3.6.16"');
        return;
    }
    const m = semver.exec(version);
    if (!m) {
        problems.push(`version: "${version}" is not a release version like "3.6.16" (no leading "v")`);
        return;
    }
    const minor = `${m[1]}.${m[2]}`;
    if (!supportedMinors.includes(minor)) {
        problems.push(`version: etcd ${minor} is not supported; supported minors: ${supportedMinors.join(", ")}`);
        return;
    }
    const unservable = unservableVersion(version);
    if (unservable) problems.push(`version: ${unservable}`);
}

export function parseBinary(value: unknown, p: Reader, problems: string[], version: string): BinarySource {
    const fallback: BinarySource = { kind: "local", tarballPath: "" };
    if (value === undefined) {
        problems.push("binary: required: { url: <template>, sha256: { amd64: <hex> } } or { localTarball: <path> }");
        return fallback;
    }
    if (!p.object("binary", value)) return fallback;
    const hasUrl = field(value, "url") !== undefined || field(value, "sha256") !== undefined;
    const hasLocal = field(value, "localTarball") !== undefined;
    if (hasUrl && hasLocal) {
        problems.push("binary: give either url + sha256 or localTarball, not both");
        return fallback;
    }
    if (hasLocal) {
        const tarballPath = p.string("binary.localTarball", field(value, "localTarball"), "");
        return { kind: "local", tarballPath };
    }
    if (!hasUrl) {
        problems.push("binary: unknown binary source; expected { url, sha256 } or { localTarball }");
        return fallback;
    }
    const urlTemplate = p.string("binary.url", field(value, "url"), defaultReleaseUrlTemplate);
    if (!/^https:\/\//.test(urlTemplate)) {
        problems.push(`binary.url: "${urlTemplate}" must be an https:// URL`);
    }
    const shaRaw = field(value, "sha256");
    let sha256: Partial<Record<ReleaseArch, string>> = {};
    if (!p.object("binary.sha256", shaRaw) || shaRaw === undefined) {
        problems.push("binary.sha256: required, a map of arch (amd64, arm64) to the tarball's sha256");
    } else if (Object.keys(shaRaw as object).length > 0 && Object.keys(shaRaw as object).every((k) => semver.test(k))) {
        // Per version ({ "3.6.16": { amd64: … } }): the next release's sums go in ahead of the
        // upgrade, so the upgrade itself is an edit of `version` alone. Only `version`'s are used.
        for (const [v, sums] of Object.entries(shaRaw as object)) {
            const own = archSums(`binary.sha256["${v}"]`, sums, p, problems);
            if (v === version) sha256 = own;
        }
        if (semver.test(version) && !Object.keys(shaRaw as object).includes(version)) {
            problems.push(`binary.sha256: no checksums for version "${version}" (given for ${Object.keys(shaRaw as object).join(", ")}); ` +
                `add "${version}": { amd64: <sha256> } from the v${version} release's SHA256SUMS`);
        }
    } else {
        sha256 = archSums("binary.sha256", shaRaw, p, problems);
    }
    return { kind: "url", urlTemplate, sha256 };
}

/** `{ amd64: <hex>, arm64: <hex> }`, at least one arch; `at` names it in problems. */
export function archSums(at: string, value: unknown, p: Reader, problems: string[]): Partial<Record<ReleaseArch, string>> {
    const sha256: Partial<Record<ReleaseArch, string>> = {};
    if (!p.object(at, value) || value === undefined) return sha256;
    for (const [arch, sum] of Object.entries(value as object)) {
        if (!releaseArches.includes(arch as ReleaseArch)) {
            problems.push(`${at}: unknown arch "${arch}" (expected ${releaseArches.join(" or ")})`);
        } else if (typeof sum !== "string" || !sha256Hex.test(sum)) {
            problems.push(`${at}.${arch}: must be 64 lowercase hex characters`);
        } else {
            sha256[arch as ReleaseArch] = sum;
        }
    }
    if (Object.keys(value as object).length === 0) {
        problems.push(`${at}: give at least one arch`);
    }
    return sha256;
}
