/**
 * Guards that open a member's scripts, shared by the member's phases and the membership's steps:
 * a host that runs another member is left alone; a declared restore not yet done here starts nothing. Pure.
 */
import { ClusterSpec, MemberSpec } from "../spec/types";
import { configPath, restoreMarkerPath } from "../spec/where";
import { shq, yq } from "./script";

/**
 * The first lines of every script that removes a member's things from its host. A member's
 * identity is its name and its host: when the host's etcd config names another member (two
 * members' resources on one machine, which the removal check refuses before any host is touched),
 * the unit, files and data there are that member's, and this removal leaves them alone.
 */
export function renderOwnerGuard(spec: ClusterSpec, member: MemberSpec): string {
    const config = shq(configPath(spec));
    return [
        `if [ -f ${config} ] && ! grep -qxF ${shq(`name: ${yq(member.name)}`)} ${config}; then`,
        `  echo "${member.name}: this host's etcd config names $(sed -n 's/^name: //p' ${config} | head -n 1), not ${member.name}: its unit, files and data are left alone"`,
        `  exit 0`,
        `fi`,
    ].join("\n") + "\n";
}

/**
 * With a restore declared (etcd:restore) that this host has not carried out yet, a step that would
 * start or restart etcd, or promote it, leaves that to the restore, which stops every member,
 * rebuilds each one's data from the snapshot and starts them together (restore.ts). Started before
 * it, a member moved to a new host after a quorum loss would bootstrap an empty cluster of its own,
 * and a survivor's restart would count a quorum that is lost. Rendered only while a restore is
 * declared: once it is done on this host, the step runs as ever.
 */
export function restorePendingGuard(spec: ClusterSpec, what: string): string[] {
    if (!spec.restore) return [];
    return [
        `if ! grep -qxF ${shq(spec.restore.id)} ${shq(restoreMarkerPath(spec))} 2>/dev/null; then`,
        `  echo "$(hostname): ${what} left to the restore from snapshot ${spec.restore.id}, not yet done on this host (it starts every member together)"`,
        `  exit 0`,
        `fi`,
    ];
}
