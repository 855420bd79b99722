/**
 * The cluster's membership as one resource: which members the running cluster has is cluster
 * state, not a file on one host. Its refresh lists them, so a member removed or added by hand
 * with etcdctl shows in `pulumi preview --refresh` as a change of `members` (name → peer URL; a
 * learner, a member never started, and a started member whose host has no data are marked so);
 * `up` puts the cluster back to the stack's list, the quorum-safe way a stack edit does, then
 * waits for the cluster's health gate (membershipProvider.ts). It runs after every member's turn
 * of the roll: members the stack no longer lists leave before their hosts are stopped and cleaned
 * (Pulumi deletes removed resources last).
 */
import * as pulumi from "@pulumi/pulumi";
import { MembershipInputs, membershipProvider } from "./membershipProvider";
import { Connection } from "../host/remoteStep";
import { renderHealthGateScript } from "./renderMembership";
import { peerUrl } from "../spec/where";
import { renderDataProbeScript, renderMemberListScript, renderPromoteScript, renderReconcileMembershipScript, renderRejoinScript } from "./renderMembership";
import { SshConnection } from "../host/ssh";
import { ClusterSpec } from "../spec/types";

export interface ClusterMembershipArgs {
    spec: ClusterSpec;
    /** Each member's SSH connection (secret), by member name. */
    connections: Record<string, pulumi.Input<Connection>>;
}

/** The type token of the membership in the state and in previews. */
export const membershipType = "pulumi-nodejs:dynamic/etcd:Membership";

export class ClusterMembership extends pulumi.dynamic.Resource {
    /** Member name → peer URL, as the cluster lists them after the last run. */
    declare public readonly members: pulumi.Output<Record<string, string>>;
    /** What the last run did (members removed, added back, promoted), as its scripts said. */
    declare public readonly report: pulumi.Output<string>;

    constructor(name: string, args: ClusterMembershipArgs, opts: pulumi.CustomResourceOptions) {
        const { spec } = args;
        const names = spec.members.map((m) => m.name);
        const inputs: { [K in keyof MembershipInputs]: pulumi.Input<MembershipInputs[K]> } = {
            members: Object.fromEntries(spec.members.map((m) => [m.name, peerUrl(spec, m)])),
            order: names,
            // As given (not pulumi.all, which would make all of it secret; the SDK resolves the Inputs inside): only the private keys are secret.
            connections: args.connections as unknown as Record<string, SshConnection>,
            scripts: {
                list: renderMemberListScript(spec),
                reconcile: renderReconcileMembershipScript(spec),
                data: renderDataProbeScript(spec),
                rejoin: Object.fromEntries(spec.members.map((m) => [m.name, renderRejoinScript(spec, m)])),
                promote: Object.fromEntries(spec.members.map((m) => [m.name, renderPromoteScript(spec, m)])),
                health: renderHealthGateScript(spec),
            },
            waitSeconds: spec.healthTimeoutSeconds,
        };
        super(membershipProvider, name, { ...inputs, report: undefined }, { ...opts, additionalSecretOutputs: ["connections"] }, "etcd", "Membership");
    }
}
