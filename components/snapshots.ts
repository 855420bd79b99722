/**
 * Scheduled snapshots on one member: a client certificate of its own (its key only on this host),
 * the snapshot script, a oneshot unit and a timer, enabled once the member runs. Nothing here
 * restarts etcd; turning snapshots off disables the timer and keeps the snapshots taken.
 */
import * as pulumi from "@pulumi/pulumi";
import { HostFiles } from "./hostFiles";
import * as paths from "./paths";
import { CertificateAuthority, KeyAlgorithm, certificateLifetime, clientCertificate } from "./pki";
import { Connection, remoteStep } from "./remoteStep";
import {
    renderDisableSnapshotsScript, renderEnableSnapshotsScript, renderSnapshotScript, renderSnapshotTimer, renderSnapshotUnit, snapshotCertPath,
} from "./renderSnapshots";
import { ClusterSpec, MemberSpec, SnapshotSpec } from "./spec";

export interface ScheduledSnapshotsArgs {
    spec: ClusterSpec;
    snapshots: SnapshotSpec;
    member: MemberSpec;
    /** SSH connection to the member's host (secret). */
    connection: pulumi.Input<Connection>;
    ca: CertificateAuthority;
    algorithm: KeyAlgorithm;
    /** The member's service: snapshots start once it runs. */
    after: pulumi.Resource[];
}

export class ScheduledSnapshots extends pulumi.ComponentResource {
    constructor(name: string, args: ScheduledSnapshotsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("etcd:index:ScheduledSnapshots", name, {}, opts);
        const { spec, snapshots, member, connection } = args;
        const cert = clientCertificate(`${name}-client`, { name: `snapshot-${member.name}`, commonName: "etcd-snapshot", organization: "etcd-stack" },
            args.ca, args.algorithm, certificateLifetime(spec), { parent: this });
        const file = (path: string, content: pulumi.Input<string>, mode: string) => ({ path, content, mode, owner: "root:root", readByEtcd: false });
        const files = new HostFiles(`${member.name}-snapshot-files`, {
            connection, label: `${member.name} snapshot files`,
            files: [
                file(snapshotCertPath(spec, "cert"), cert.certPem, paths.modes.certificate),
                file(snapshotCertPath(spec, "key"), cert.privateKeyPem, paths.modes.privateKey),
                file(paths.snapshotScriptPath, renderSnapshotScript(spec, snapshots), paths.modes.binary),
                file(paths.snapshotUnitPath, renderSnapshotUnit(), paths.modes.unit),
                file(paths.snapshotTimerPath, renderSnapshotTimer(snapshots), paths.modes.unit),
            ],
        }, { parent: this, dependsOn: args.after });
        remoteStep(`${name}-timer`, {
            connection,
            label: `${member.name} snapshots`,
            create: renderEnableSnapshotsScript(snapshots),
            update: renderEnableSnapshotsScript(snapshots),
            delete: renderDisableSnapshotsScript(),
        }, { parent: this, dependsOn: [files.write] });
        this.registerOutputs({});
    }
}
