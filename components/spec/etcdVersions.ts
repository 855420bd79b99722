/**
 * What the config file must look like for each etcd release the spec accepts, checked in etcd's
 * source (github.com/etcd-io/etcd, at the tags named):
 *
 * - `peer-transport-security.allowed-cn`:
 *   - v3.5.0-v3.5.13: server/embed/config.go `securityConfig` has no such field (v3.5.13 :442-450);
 *     the file is read with sigs.k8s.io/yaml, which ignores unknown keys, and with a config file
 *     etcd ignores flags and environment (server/etcdmain/config.go v3.5.13 :348-355). The peer
 *     port would admit any certificate of the cluster's CA: these versions are refused (release.ts).
 *   - v3.5.14: `AllowedCN string \`json:"allowed-cn"\`` (server/embed/config.go :453, commit
 *     8bc3271af): a YAML list does not unmarshal and etcd does not start.
 *   - v3.5.15 on: `AllowedCNs []string \`json:"allowed-cn"\`` (v3.5.15 server/embed/config.go :453,
 *     v3.6.0 :638, commit f8befd94f): a YAML string does not unmarshal.
 * - `snapshot-count`: v3.6.0-v3.6.7 list it in `deprecatedFlags` (server/etcdmain/config.go :62,
 *   "--snapshot-count is deprecated in 3.6 and will be decommissioned in 3.7.") and count every key
 *   of the config file as set (server/embed/config.go v3.6.0 :1003), so each start warns. Nothing
 *   replaces it: v3.6.8 revoked the deprecation (commit e83082181, etcd PR 21163; "Number of
 *   committed transactions to trigger a snapshot.", server/embed/config.go v3.6.8 :775). Defaults:
 *   10000 in 3.6 (server/etcdserver/server.go v3.6.0 :80), 100000 in 3.5 (v3.5.15 :74).
 */

/** The first 3.5 patch that reads `allowed-cn` from its config file. */
export const firstConfigAllowedCn = "3.5.14";
/** The first release that reads `allowed-cn` as a list. */
const firstAllowedCnList = "3.5.15";
/** 3.6 patches that deprecate `snapshot-count` (a warning at every start). */
const snapshotCountDeprecated = { from: "3.6.0", before: "3.6.8" };
/** etcd 3.6's own default snapshot-count. */
const defaultSnapshotCount36 = 10000;

/** Compares two "x.y.z" versions: negative, 0 or positive. */
export function compareVersions(a: string, b: string): number {
    const pa = a.split(".").map(Number);
    const pb = b.split(".").map(Number);
    for (let i = 0; i < 3; i++) {
        if (pa[i] !== pb[i]) return pa[i] - pb[i];
    }
    return 0;
}

/**
 * Why this program cannot serve `version` (an "x.y.z" of a supported minor), with what to use
 * instead; undefined when it can.
 */
export function unservableVersion(version: string): string | undefined {
    if (version.startsWith("3.5.") && compareVersions(version, firstConfigAllowedCn) < 0) {
        return `etcd ${version} ignores peer-transport-security.allowed-cn in its config file (read from ${firstConfigAllowedCn} on), ` +
            `so its peer port would admit any certificate of the cluster's CA, client certificates too; use ${firstConfigAllowedCn} or later`;
    }
    return undefined;
}

/** The `allowed-cn` value for `version`, as YAML: a string in 3.5.14, a list from 3.5.15. */
export function allowedCnYaml(version: string, quoted: string): string {
    return compareVersions(version, firstAllowedCnList) < 0 ? quoted : `[${quoted}]`;
}

/** Whether the config for `version` sets snapshot-count: not at 3.6's own default on the patches that warn about it. */
export function rendersSnapshotCount(version: string, snapshotCount: number): boolean {
    const deprecated = compareVersions(version, snapshotCountDeprecated.from) >= 0 && compareVersions(version, snapshotCountDeprecated.before) < 0;
    return !(deprecated && snapshotCount === defaultSnapshotCount36);
}
