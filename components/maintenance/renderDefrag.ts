/**
 * Pure renderers for scheduled defragmentation: the script a systemd timer runs on one member,
 * its oneshot unit and the timer. The script defragments every member of the stack in turn,
 * followers first and the leader last (a member does not serve while it defragments), each
 * only once the one before answers again. A member that does not answer stops it: nothing is
 * defragmented while the cluster is short of a member, and a failed run is a failed unit.
 */
import * as paths from "../base/paths";
import { statusColumnFunction } from "../shell/etcdctl";
import { installedScriptHeader, shq } from "../shell/script";
import { clientUrl } from "../spec/where";
import { renderDisableTimerScript, renderEnableTimerScript, renderOneshotUnit, renderTimerUnit } from "./renderTimer";
import { ClusterSpec, DefragSpec } from "../spec/types";

export function defragCertPath(spec: ClusterSpec, file: keyof typeof paths.defragCertFiles): string {
    return `${spec.dirs.pki}/${paths.defragCertFiles[file]}`;
}

export function renderDefragScript(spec: ClusterSpec): string {
    const endpoints = spec.members.map((m) => clientUrl(spec, m));
    return [
        ...installedScriptHeader(`defragments every member in turn, the leader last (run by ${paths.defragTimerName}).`),
        `ctl() { ${paths.binDir}/etcdctl --cacert ${shq(`${spec.dirs.pki}/${paths.pkiFiles.ca}`)}` +
        ` --cert ${shq(defragCertPath(spec, "cert"))} --key ${shq(defragCertPath(spec, "key"))} --command-timeout=10s "$@"; }`,
        statusColumnFunction,
        // `endpoint status`, not `endpoint health`: a member with a NOSPACE alarm is unhealthy,
        // and is exactly the one to defragment.
        `order=""; last=""`,
        `for ep in ${endpoints.map(shq).join(" ")}; do`,
        `  leader=$(col "$ep" "IS LEADER" 2>/dev/null || true)`,
        `  [ -n "$leader" ] || { echo "no defragmentation: $ep does not answer (every member must, so that only one at a time is out)" >&2; exit 1; }`,
        `  if [ "$leader" = true ]; then last=$ep; else order="$order $ep"; fi`,
        `done`,
        `for ep in $order $last; do`,
        `  before=$(col "$ep" "DB SIZE")`,
        `  ctl --endpoints "$ep" --command-timeout=5m defrag >/dev/null || { echo "defragmentation of $ep failed; the members after it were not touched" >&2; exit 1; }`,
        `  i=0`,
        `  until ctl --endpoints "$ep" endpoint status >/dev/null 2>&1; do`,
        `    i=$((i + 1)); [ "$i" -lt 60 ] || { echo "$ep does not answer 60 s after its defragmentation; the members after it were not touched" >&2; exit 1; }`,
        `    sleep 1`,
        `  done`,
        `  echo "defragmented $ep$( [ "$ep" = "$last" ] && echo ' (leader)'): $before -> $(col "$ep" "DB SIZE")"`,
        `done`,
        ``,
    ].join("\n");
}

export function renderDefragUnit(): string {
    return renderOneshotUnit("etcd defragmentation, one member at a time", paths.defragScriptPath);
}

export function renderDefragTimer(defrag: DefragSpec): string {
    return renderTimerUnit("scheduled etcd defragmentation", defrag.onCalendar);
}

export function renderEnableDefragScript(defrag: DefragSpec): string {
    return renderEnableTimerScript("defrag.onCalendar", paths.defragTimerName, defrag.onCalendar);
}

export function renderDisableDefragScript(): string {
    return renderDisableTimerScript("defrag", paths.defragTimerName, paths.defragUnitName, "");
}
