/**
 * A stack edit that takes members out of the cluster, checked before anything reaches a host:
 * on a member that stays, the cluster's own list says which members leave and whether enough of
 * those that stay are healthy to keep a quorum (renderRemovalCheckScript). A refusal fails the
 * run there, naming the members and the count; no member's files, service or membership has
 * changed. Every member's first step waits for it.
 *
 * It remembers the stack's members of the last run: only an edit that drops or adds members
 * connects anywhere (a new stack or a config change runs nothing). Being the resource that knows
 * whether the stack had members before, it also tells the cluster when there were none: it was
 * created in this very run (`createdInRun`), so the members form a new cluster and may start
 * together (cluster.ts). Members added to a cluster
 * that serves no quorum are refused here too: each would find no cluster to join and bootstrap
 * one of its own. The membership step (membership.ts) counts again before it removes anyone: the
 * cluster may have changed in between. Its `check`, which runs in every preview, refuses an edit
 * that changes a live member's identity (memberIdentity.ts): a rename at the same address, members
 * swapping addresses. A restore declared in the same edit (etcd:restore) is the way back from a
 * lost quorum: members moved to new hosts are then not checked against the lost cluster.
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { Connection } from "../host/remoteStep";
import { identityProblems, leavingAndStaying } from "../spec/memberIdentity";
import { identityRefusedPlan } from "./plan";
import { writePlanMarkdown } from "./planResource";
import { peerUrl } from "../spec/where";
import { renderRemovalCheckScript } from "../membership/renderMembership";
import { renderPlanMarkdown } from "./renderPlan";
import { sameMembers } from "../membership/membershipProvider";
import { SshConnection, runScript, sameConnection, withClient } from "../host/ssh";
import { ClusterSpec } from "../spec/types";

interface RemovalCheckInputs {
    /** The cluster's name: the headline of the refused plan an identity edit writes (planResource.ts). */
    clusterName: string;
    /** Member name → peer URL, as the stack lists them. */
    members: Record<string, string>;
    /** The stack's members in roll order: the check runs on the first one that stays and answers. */
    order: string[];
    connections: Record<string, SshConnection>;
    script: string;
    /** The restore declared in this run (etcd:restore's id), if any. */
    restore?: string;
    /** A value new in every run of the program (its changes are ignored: never a diff). */
    run: string;
}

interface RemovalCheckOutputs extends RemovalCheckInputs {
    /** The `run` in which this check was created: the stack's first run with members. */
    createdInRun?: string;
}

export const removalCheckProvider: pulumi.dynamic.ResourceProvider = {
    // Runs in every preview and up, before anything reaches a host: an edit that changes a live
    // member's identity (memberIdentity.ts) is refused here, with the safe recipe.
    async check(olds: Partial<RemovalCheckInputs>, news: RemovalCheckInputs) {
        const last = olds?.members ? { members: olds.members, connections: olds.connections } : { members: {} };
        const connections = news.connections !== null && typeof news.connections === "object" ? news.connections : undefined;
        const problems = identityProblems(last, { members: news.members, connections });
        // The reviewer's comment shows the refusal as a plan: this failure ends the preview before the plan's check may run.
        if (problems.length > 0) writePlanMarkdown(renderPlanMarkdown(identityRefusedPlan(news.clusterName, problems)));
        return { inputs: news, failures: problems.map((reason) => ({ property: "members", reason: `${reason}; nothing was changed` })) };
    },

    async create(inputs: RemovalCheckInputs) {
        // A new stack removes no one.
        const outs: RemovalCheckOutputs = { ...inputs, createdInRun: inputs.run };
        return { id: "removal-check", outs };
    },

    async diff(_id: string, olds: RemovalCheckInputs, news: RemovalCheckInputs) {
        // Another login key too: the state records the new connections (sameConnection).
        return { changes: !sameMembers(olds.members, news.members) || !sameConnection(olds.connections, news.connections) };
    },

    async update(_id: string, olds: RemovalCheckOutputs, inputs: RemovalCheckInputs) {
        // Still the run that created it (never a later one; a check from before this field: none).
        const news: RemovalCheckOutputs = { ...inputs, createdInRun: olds.createdInRun ?? "" };
        const { leaving, staying, joining } = leavingAndStaying(olds.members, news);
        // Nothing leaves and nothing joins: another edit, nothing to check.
        if (leaving.length === 0 && joining.length === 0) return { outs: news };
        // A restore declared in this very edit rebuilds the whole cluster from its snapshot with the
        // stack's members (restore.ts): no member joins or leaves the running one, whose quorum may
        // be lost for good (hosts gone: the members moved to new ones), and its steps start no member
        // before the restore (restorePendingGuard). Only a cluster that still serves refuses members
        // moved or added beside a restore (their joins would find it): asked here, before any host changes.
        if (news.restore !== undefined && news.restore !== olds.restore) {
            if (joining.length > 0) await refuseIfServing(news, staying, joining);
            return { outs: news };
        }
        if (staying.length === 0) {
            throw new Error(`refusing to replace every member at once (${leaving.join(", ")} leave, none stays): ` +
                "keep a quorum of the current members in etcd:members while others are added or removed; nothing was changed");
        }
        const asked = await askStaying(news, staying);
        if ("answered" in asked) {
            if (asked.refusal) throw asked.refusal;
            return { outs: news };
        }
        const silent = asked.silent;
        if (leaving.length > 0) {
            throw new Error(`refusing to remove ${leaving.join(", ")}: no member that stays answers, so the quorum cannot be checked; nothing was changed\n${silent.join("\n")}`);
        }
        // A new member that finds no serving cluster would bootstrap one of its own: refuse first.
        throw new Error(`refusing to add ${joining.join(", ")}: no member of the running cluster (${staying.join(", ")}) answers with a quorum, ` +
            `so a new member could not join it; bring the cluster back to a quorum, then run pulumi up again; nothing was changed\n${silent.join("\n")}`);
    },
};

/**
 * With a restore declared beside members moved or added: refuses when a member that stays answers
 * with a quorum (the check script's own etcd health passed: it did not exit 3). Members whose etcd
 * does not answer are what a lost quorum looks like; a host that cannot be reached fails the run
 * (its own steps would).
 */
async function refuseIfServing(news: RemovalCheckInputs, staying: string[], joining: string[]): Promise<void> {
    const asked = await askStaying(news, staying);
    if (!("answered" in asked)) return;
    throw new Error(`refusing to move or add ${joining.join(", ")} beside the restore of snapshot ${news.restore}: the running cluster still answers ` +
        `with a quorum (${asked.answered}'s etcd is healthy), so their joins would find it, not the restored one. Restore first with the members as they are, ` +
        "remove etcd:restore, then move or add members (a quorum loss is the case for both at once: docs/disaster-recovery.md); nothing was changed");
}

/**
 * Runs the check script on the members that stay, in turn, until one's etcd answers with a quorum:
 * that member, and the check's refusal (exit 1) if it refused. A member whose etcd does not answer
 * (exit 3) sends the question to the next; when none answers, their messages. Any other failure (a
 * host that cannot be reached) is thrown: its own steps would fail too.
 */
async function askStaying(news: RemovalCheckInputs, staying: string[]): Promise<{ answered: string; refusal?: Error } | { silent: string[] }> {
    const silent: string[] = [];
    for (const name of staying) {
        try {
            await withClient(name, news.connections[name], (client) => runScript(client, `${name} removal check`, news.script, ""));
            return { answered: name };
        } catch (e) {
            const message = (e as Error).message;
            if (/\(exit 3\)/.test(message)) silent.push(message);
            else if (/\(exit 1\)/.test(message)) return { answered: name, refusal: e as Error };
            else throw e;
        }
    }
    return { silent };
}

export interface RemovalCheckArgs {
    spec: ClusterSpec;
    /** Each member's SSH connection (secret), by member name. */
    connections: Record<string, pulumi.Input<Connection>>;
}

/** A value unique to this run of the program (see `RemovalCheck.newStack`). */
const thisRun = crypto.randomUUID();

/** The check itself: a dynamic resource (type pulumi-nodejs:dynamic/etcd:RemovalCheck). */
export class RemovalCheck extends pulumi.dynamic.Resource {
    /** The run that created this check. */
    declare public readonly createdInRun: pulumi.Output<string>;

    /**
     * True when this run created the check, i.e. the stack had no members before: the stack's
     * first `up` (or the first after a destroy). Unknown in a preview of that run. An older state
     * without the field, a later run, or a member edit: false.
     */
    public get newStack(): pulumi.Output<boolean> {
        return this.createdInRun.apply((r) => r === thisRun);
    }

    constructor(name: string, args: RemovalCheckArgs, opts: pulumi.CustomResourceOptions) {
        const { spec } = args;
        const inputs: { [K in keyof RemovalCheckInputs]: pulumi.Input<RemovalCheckInputs[K]> } = {
            clusterName: spec.clusterName,
            members: Object.fromEntries(spec.members.map((m) => [m.name, peerUrl(spec, m)])),
            order: spec.members.map((m) => m.name),
            // As given (not pulumi.all, which would make all of it secret; the SDK resolves the Inputs inside): only the private keys are secret.
            connections: args.connections as unknown as Record<string, SshConnection>,
            script: renderRemovalCheckScript(spec),
            ...(spec.restore ? { restore: spec.restore.id } : {}),
            run: thisRun,
        };
        super(removalCheckProvider, name, { ...inputs, createdInRun: undefined },
            { ...opts, additionalSecretOutputs: ["connections"], ignoreChanges: [...(opts.ignoreChanges ?? []), "run"] }, "etcd", "RemovalCheck");
    }
}
