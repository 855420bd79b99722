/**
 * Pure renderers for scheduled snapshots: the script a systemd timer runs on a member, its
 * oneshot unit and the timer. A failed snapshot is a failed unit (`systemctl --failed`, the journal).
 */
import * as paths from "../base/paths";
import { installedScriptHeader, shq } from "../shell/script";
import { ClusterSpec, SnapshotSpec } from "../spec/types";
import { renderDisableTimerScript, renderEnableTimerScript, renderOneshotUnit, renderTimerUnit } from "./renderTimer";

export function snapshotCertPath(spec: ClusterSpec, file: keyof typeof paths.snapshotCertFiles): string {
    return `${spec.dirs.pki}/${paths.snapshotCertFiles[file]}`;
}

/** Saves a snapshot with the snapshot client certificate, checks it with etcdutl, keeps the newest. */
export function renderSnapshotScript(spec: ClusterSpec, snapshots: SnapshotSpec): string {
    const dir = shq(paths.snapshotDir);
    return [
        ...installedScriptHeader(`a scheduled snapshot of this member (run by ${paths.snapshotTimerName}).`),
        `install -d -m 0700 -o root -g root ${dir}`,
        `file=${dir}/scheduled-$(hostname)-$(date -u +%Y%m%dT%H%M%SZ).db`,
        // etcdctl saves through a temporary file of its own, "<name>.part": a save that fails or is
        // stopped (systemd's SIGTERM at the unit's timeout) leaves neither behind.
        `trap 'rm -f "$file.part" "$file.part.part"' EXIT`,
        `trap 'exit 1' HUP INT TERM`,
        `ctl() { ${paths.binDir}/etcdctl --endpoints https://127.0.0.1:${spec.ports.client} --cacert ${shq(`${spec.dirs.pki}/${paths.pkiFiles.ca}`)}` +
        ` --cert ${shq(snapshotCertPath(spec, "cert"))} --key ${shq(snapshotCertPath(spec, "key"))} "$@"; }`,
        // A member that is down fails fast and clearly (a save would wait out its whole timeout).
        `ctl --command-timeout=5s endpoint health >/dev/null 2>&1 || { echo "no snapshot: etcd on $(hostname) is not healthy" >&2; exit 1; }`,
        `ctl --command-timeout=5m snapshot save "$file.part" >/dev/null`,
        `${paths.binDir}/etcdutl snapshot status "$file.part" >/dev/null`,
        `mv "$file.part" "$file"`,
        `find ${dir} -maxdepth 1 -name 'scheduled-*.db' -mtime +${snapshots.maxAgeDays - 1} -delete`,
        `ls -1t ${dir}/scheduled-*.db 2>/dev/null | tail -n +${snapshots.keep + 1} | while read -r old; do rm -f "$old"; done`,
        `echo "snapshot $file ($(stat -c %s "$file") bytes) checked; $(ls -1 ${dir}/scheduled-*.db | wc -l) kept"`,
        // Off the host (snapshots.copyTo): a failed copy fails the job, after the snapshot is kept here.
        ...(snapshots.copyTo ? [`${paths.snapshotCopyScriptPath} "$file"`] : []),
        ``,
    ].join("\n");
}

export function renderSnapshotUnit(): string {
    return renderOneshotUnit("etcd snapshot", paths.snapshotScriptPath, [`Nice=10`, `IOSchedulingClass=idle`]);
}

export function renderSnapshotTimer(snapshots: SnapshotSpec): string {
    return renderTimerUnit("scheduled etcd snapshots", snapshots.onCalendar);
}

/** Checks the calendar expression on the host, then enables the timer. */
export function renderEnableSnapshotsScript(snapshots: SnapshotSpec): string {
    return renderEnableTimerScript("snapshots.onCalendar", paths.snapshotTimerName, snapshots.onCalendar);
}

export function renderDisableSnapshotsScript(): string {
    return renderDisableTimerScript("snapshots", paths.snapshotTimerName, paths.snapshotUnitName, ` (taken snapshots are kept in ${paths.snapshotDir})`);
}
