/**
 * Pure renderers for restoring the cluster from a snapshot: every member stops, sets its data
 * aside (never deleted) and rebuilds it from the same file with `etcdutl snapshot restore`; then
 * all start together, as a new cluster does. A marker per host makes each restore happen once.
 */
import * as paths from "../base/paths";
import { scriptHeader, shq } from "../shell/script";
import { appliedInputsPath, initialCluster, peerUrl, restoreMarkerPath } from "../spec/where";
import { ClusterSpec, MemberSpec, RestoreSpec } from "../spec/types";

/** Where the snapshot file is staged on each host. */
export function stagedSnapshotPath(restore: RestoreSpec): string {
    return `${paths.stagingDir}/restore-${restore.id}.db`;
}

/**
 * How far a restore moves the revision past the snapshot's, the amount etcd's disaster recovery
 * guide gives: watchers (kube-apiserver, controllers) hold revisions newer than the snapshot, and
 * without the bump new writes would reuse them, so a watch could miss events. The restored
 * revision is also marked compacted, so every watcher relists. The same on every member.
 */
export const restoreRevisionBump = 1000000000;

/** etcdutl has both flags from 3.5.10 on; the spec accepts 3.5.14 and later (etcdVersions.ts). */
const revisionBumpFlags = ` --bump-revision ${restoreRevisionBump} --mark-compacted`;

/**
 * Restores this member's data from the staged snapshot, once: checks the file (digest and
 * `etcdutl snapshot status`) before stopping anything, stops etcd, restores into a new directory,
 * moves any existing data aside as `member.before-restore-<id>-<time>`, puts the restored data in
 * place and records the restore. Does not start etcd: all members start together afterwards.
 */
export function renderRestoreScript(spec: ClusterSpec, member: MemberSpec, restore: RestoreSpec, token: string): string {
    const data = shq(spec.dirs.data);
    const snap = shq(stagedSnapshotPath(restore));
    const marker = shq(restoreMarkerPath(spec));
    const work = `${spec.dirs.data}/restore-${restore.id}.tmp`;
    return scriptHeader + [
        `me=${shq(member.name)}`,
        `id=${shq(restore.id)}`,
        `if grep -qx "$id" ${marker} 2>/dev/null; then echo "$me: snapshot $id already restored here"; exit 0; fi`,
        `echo ${shq(`${restore.sha256}  ${stagedSnapshotPath(restore)}`)} | sha256sum -c --quiet - >/dev/null 2>&1 || { echo "$me: the staged snapshot does not match sha256 ${restore.sha256}" >&2; exit 1; }`,
        `out=$(${paths.binDir}/etcdutl snapshot status ${snap} -w simple 2>&1) || { echo "$me: ${stagedSnapshotPath(restore)} is not a valid etcd snapshot: $(echo "$out" | tail -n 2)" >&2; exit 1; }`,
        `systemctl stop ${paths.unitName}`,
        `rm -rf ${shq(work)}`,
        `out=$(${paths.binDir}/etcdutl snapshot restore ${snap} --name "$me" --data-dir ${shq(work)}` +
        ` --initial-cluster ${shq(initialCluster(spec))} --initial-advertise-peer-urls ${shq(peerUrl(spec, member))}` +
        ` --initial-cluster-token ${shq(`${token}-${restore.id}`)}${revisionBumpFlags} 2>&1) || { echo "$me: etcdutl snapshot restore failed: $(echo "$out" | tail -n 3)" >&2; exit 1; }`,
        `if [ -d ${data}/member ]; then aside=member.before-restore-$id-$(date +%s); mv ${data}/member ${data}/$aside; echo "$me: previous data moved aside to ${spec.dirs.data}/$aside"; fi`,
        `mv ${shq(`${work}/member`)} ${data}/member; rmdir ${shq(work)}`,
        `chown -R ${paths.etcdUser}:${paths.etcdGroup} ${data}`,
        `echo "$id" >> ${marker}`,
        // The file holds the whole keyspace: it does not stay on the host once restored.
        `rm -f ${snap}`,
        `echo "$me: restored from snapshot $id"`,
    ].join("\n") + "\n";
}

/**
 * Starts a restored member without waiting: the restored members form their cluster together. It
 * records the digest of the inputs etcd now runs with (appliedInputsPath), as the roll's start
 * does: a member that first ran here from the restore (moved to a new machine) is then not
 * restarted by the next roll for inputs it already runs with.
 */
export function renderStartRestoredScript(spec: ClusterSpec, restore: RestoreSpec, inputsDigest: string): string {
    return scriptHeader + [
        `systemctl start --no-block ${paths.unitName}`,
        `echo ${shq(inputsDigest)} > ${shq(appliedInputsPath(spec))}`,
        `echo "$(hostname): etcd started from snapshot ${restore.id}"`,
    ].join("\n") + "\n";
}
