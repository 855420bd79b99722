/**
 * etcdctl in a host script: the `ctl` function authenticated as the member, and the shell functions
 * built on it that every concern shares (one column of `endpoint status`, `serving`), and the reading of
 * `member list` rows (memberRow, memberRows). Pure.
 */
import * as paths from "../base/paths";
import { ClusterSpec } from "../spec/types";
import { pkiPath } from "../spec/where";
import { shq } from "./script";

/** etcdctl flags that authenticate as this member (its server cert carries client auth). */
export function etcdctlTls(spec: ClusterSpec): string {
    return [
        `--cacert ${shq(pkiPath(spec, "ca"))}`,
        `--cert ${shq(pkiPath(spec, "serverCert"))}`,
        `--key ${shq(pkiPath(spec, "serverKey"))}`,
    ].join(" ");
}

/** `ctl`: etcdctl authenticated as this member, with `flags` (timeouts, endpoints) on every call. */
export function etcdctlFunction(spec: ClusterSpec, flags: string): string {
    return `ctl() { ${paths.binDir}/etcdctl ${etcdctlTls(spec)} ${flags} "$@"; }`;
}

/**
 * `col <endpoint> <HEADER>`: one column of `endpoint status -w table` by its header name
 * ("ID", "IS LEADER"…), which stays right as etcd versions add columns. Needs a `ctl` function.
 */
export const statusColumnFunction = `col() { ctl --endpoints "$1" endpoint status -w table | awk -F'|' -v h="$2" ` +
    `'NR == 2 { for (i = 1; i <= NF; i++) { x = $i; gsub(/^ +| +$/, "", x); if (x == h) c = i } } NR == 4 && c { v = $c; gsub(/ /, "", v); print v }'; }`;

/**
 * `serving <client URLs>`: the member answers `endpoint status` and knows a leader. Unlike
 * `endpoint health`, status answers under an alarm (NOSPACE) or a slow disk, while the member
 * still votes: the liveness every quorum count uses. Needs a `ctl` function.
 */
export const servingFunction = `serving() { [ -n "$1" ] && ctl --endpoints "$1" endpoint status -w fields 2>/dev/null | grep -q '^"Leader" : [1-9]'; }`;

/**
 * The fields of a `member list -w simple` row as awk reads it with `-F', '`: etcd prints
 * `ID, status, name, peer URLs, client URLs, is learner` (an unstarted member has no name and no
 * client URLs). Every script that reads the member list names its fields through this, so the
 * format is spelled once; membershipProvider.ts parses the same rows in TypeScript.
 */
export const memberRow = { id: "$1", status: "$2", name: "$3", peerUrls: "$4", clientUrls: "$5", isLearner: "$6" } as const;

/** awk over `member list -w simple` rows: `vars` passed as `-v name=value` (shell words), then `program`, written with memberRow's fields. */
export function memberRows(program: string, vars: Record<string, string> = {}): string {
    return ["awk -F', '", ...Object.entries(vars).map(([k, v]) => `-v ${k}=${v}`), `'${program}'`].join(" ");
}
