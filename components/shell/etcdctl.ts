/**
 * etcdctl in a host script: the `ctl` function authenticated as the member, and the shell functions
 * built on it that every concern shares (one column of `endpoint status`, `serving`). Pure.
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
