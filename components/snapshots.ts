/**
 * Scheduled snapshots on one member: a client certificate of its own (its key only on this host),
 * the snapshot script, a oneshot unit and a timer, enabled once the member runs (hostTimer.ts).
 * Nothing here restarts etcd; turning snapshots off disables the timer and keeps the snapshots taken.
 */
import * as pulumi from "@pulumi/pulumi";
import { hostTimer } from "./hostTimer";
import * as paths from "./paths";
import { CertificateAuthority, KeyAlgorithm, LeafCertificate } from "./pki";
import { Connection } from "./remoteStep";
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
    /** The job's client certificate (its key only on the timer's host). */
    public readonly client: LeafCertificate;

    constructor(name: string, args: ScheduledSnapshotsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("etcd:index:ScheduledSnapshots", name, {}, opts);
        const { spec, snapshots, member } = args;
        this.client = hostTimer(name, {
            ...args,
            client: { name: `snapshot-${member.name}`, commonName: "etcd-snapshot", certPath: snapshotCertPath(spec, "cert"), keyPath: snapshotCertPath(spec, "key") },
            script: { path: paths.snapshotScriptPath, content: renderSnapshotScript(spec, snapshots) },
            unit: { path: paths.snapshotUnitPath, content: renderSnapshotUnit() },
            timer: { path: paths.snapshotTimerPath, content: renderSnapshotTimer(snapshots) },
            job: "snapshot",
            timerLabel: `${member.name} snapshots`,
            enable: renderEnableSnapshotsScript(snapshots),
            disable: renderDisableSnapshotsScript(),
        }, this);
        this.registerOutputs({});
    }
}
