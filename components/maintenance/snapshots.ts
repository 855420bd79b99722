/**
 * Scheduled snapshots on one member: a client certificate of its own (its key only on this host),
 * the snapshot script, a oneshot unit and a timer, enabled once the member runs (hostTimer.ts).
 * With `copyTo`, also an SSH key of the member's own (its private half only on this host), the
 * destination's pinned host key and the copy script the snapshot script ends with.
 * Nothing here restarts etcd; turning snapshots off disables the timer and keeps the snapshots taken.
 */
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { TimerJobPlace, hostTimer } from "./hostTimer";
import * as paths from "../base/paths";
import { LeafCertificate } from "../pki/pki";
import { renderSnapshotCopyKnownHosts, renderSnapshotCopyScript, snapshotCopyAuthorizedKey, snapshotCopyPath } from "./renderSnapshotCopy";
import {
    renderDisableSnapshotsScript, renderEnableSnapshotsScript, renderSnapshotScript, renderSnapshotTimer, renderSnapshotUnit, snapshotCertPath,
} from "./renderSnapshots";
import { SnapshotSpec } from "../spec/types";

/** `after`: the member's service, so snapshots start once it runs. */
export interface ScheduledSnapshotsArgs extends TimerJobPlace {
    snapshots: SnapshotSpec;
}

export class ScheduledSnapshots extends pulumi.ComponentResource {
    /** The job's client certificate (its key only on the timer's host). */
    public readonly client: LeafCertificate;
    /**
     * With `copyTo`: the line the destination's authorized_keys needs for this member's copies
     * (its public key, restricted to SFTP); undefined without.
     */
    public readonly copyAuthorizedKey?: pulumi.Output<string>;

    constructor(name: string, args: ScheduledSnapshotsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("etcd:index:ScheduledSnapshots", name, {}, opts);
        const { spec, snapshots, member } = args;
        const copy = snapshots.copyTo;
        // One key per member: a destination can tell the members apart, and one member's key revoked leaves the others copying.
        const copyKey = copy ? new tls.PrivateKey(`${name}-copy-key`, { algorithm: "ED25519" }, { parent: this }) : undefined;
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
            extraFiles: copy && copyKey ? [
                { path: snapshotCopyPath(spec, "key"), content: pulumi.secret(copyKey.privateKeyOpenssh.apply((k) => k.endsWith("\n") ? k : `${k}\n`)), mode: paths.modes.privateKey },
                { path: snapshotCopyPath(spec, "knownHosts"), content: renderSnapshotCopyKnownHosts(copy), mode: paths.modes.knownHosts },
                { path: paths.snapshotCopyScriptPath, content: renderSnapshotCopyScript(spec, copy, member), mode: paths.modes.binary },
            ] : [],
        }, this);
        if (copyKey) this.copyAuthorizedKey = pulumi.unsecret(copyKey.publicKeyOpenssh).apply((k) => snapshotCopyAuthorizedKey(k, member));
        this.registerOutputs({});
    }
}
