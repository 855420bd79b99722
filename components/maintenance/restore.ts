/**
 * A restore of the whole cluster from one snapshot file (`etcd:restore`), as a stack edit: the
 * file is staged on every member, every member rebuilds its data from it (old data moved aside),
 * then all start together and the cluster's health gates run. Each member's step is recorded on
 * its host, so a run killed half-way finishes the restore on the next `up` without repeating it.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { Connection, remoteStep } from "../host/remoteStep";
import { renderRestoreScript, renderStartRestoredScript, stagedSnapshotPath } from "./renderRestore";
import { ClusterSpec, MemberSpec, RestoreSpec } from "../spec/types";

export interface ClusterRestoreArgs {
    spec: ClusterSpec;
    restore: RestoreSpec;
    /** SSH connection per member, in the order of spec.members (secret). */
    connections: pulumi.Input<Connection>[];
    /** The cluster's initial-cluster-token; the restored cluster gets `<token>-<restore id>`. */
    token: pulumi.Input<string>;
    /** What must be done before any member stops (every member's turn of the roll). */
    after: pulumi.Resource[];
    /** Per member, in the order of spec.members: the step that made its host's staging dir (a new machine has none before it). */
    prepared: pulumi.Resource[];
    /** Per member, in the order of spec.members: the digest of what its etcd reads (EtcdMember.inputsDigest), recorded at its start. */
    inputsDigests: pulumi.Input<string>[];
}

export class ClusterRestore extends pulumi.ComponentResource {
    /** The members' starts: the health gates wait for these. */
    public readonly started: pulumi.Resource[];

    constructor(name: string, args: ClusterRestoreArgs, opts?: pulumi.ComponentResourceOptions) {
        super("etcd:index:ClusterRestore", name, {}, opts);
        const { spec, restore } = args;
        const each = (fn: (m: MemberSpec, connection: pulumi.Input<Connection>, i: number) => pulumi.Resource) =>
            spec.members.map((m, i) => fn(m, args.connections[i], i));

        const staged = each((m, connection, i) => new command.remote.CopyToRemote(`${m.name}-restore-snapshot`, {
            connection,
            source: new pulumi.asset.FileAsset(restore.snapshotPath),
            remotePath: stagedSnapshotPath(restore),
            triggers: [m.sshHost, m.sshPort, m.hostKey ?? ""],
        }, { parent: this, dependsOn: [args.prepared[i]] }));
        // Every member's data is rebuilt before any member starts: the restored members must form
        // their new cluster together, not join the old one.
        const restored = each((m, connection) => {
            const script = pulumi.output(args.token).apply((token) => renderRestoreScript(spec, m, restore, token));
            return remoteStep(`${m.name}-restore`, { connection, label: `${m.name} restore ${restore.id}`, create: script, update: script },
                { parent: this, dependsOn: [...staged, ...args.after] });
        });
        this.started = each((m, connection, i) => {
            const script = pulumi.output(args.inputsDigests[i]).apply((d) => renderStartRestoredScript(spec, restore, d));
            return remoteStep(`${m.name}-restore-start`, { connection, label: `${m.name} start after restore`, create: script, update: script },
                { parent: this, dependsOn: restored });
        });
        this.registerOutputs({});
    }
}
