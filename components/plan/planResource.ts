/**
 * The plan a reviewer reads (issue 28), wired into the program: a small component whose dynamic
 * resource records the cluster each successful `up` declared (plan.ts `recordCluster`), so that
 * the next preview compares it with this run's, as plan.ts's design note (option 2) describes.
 *
 * - Its provider's `check`, which runs in every preview before anything reaches a host, sees the
 *   last run's record (`olds.recorded`) beside this run's and hands it on as `previous` (null for
 *   a stack without one). A plan with refusals (quorum, two voters at once, a version jump) fails
 *   there, with the plan's own text. An identity change is left to the removal check's `check`
 *   (removalCheck.ts, memberIdentity.ts), which already refuses it in the same words and, as it may
 *   fail the preview before this check runs, writes the refused plan's Markdown itself.
 * - In a preview, the engine hands a dynamic resource's checked inputs back as its outputs; a
 *   preview that changes nothing is a `same` step, whose outputs are the state's, where `previous`
 *   equals `recorded`. So the program, in a dry run only, logs `renderPlanText` of the plan from
 *   `previous` on this resource: the diagnostic printed at the end of `pulumi preview`.
 * - For the pull request's comment, `check` also writes the plan as Markdown to the file named by
 *   ETCD_PLAN_MARKDOWN, when set (.github/workflows/preview.yml): check sees a refused plan too.
 * - Its record advances only when its update runs, after every resource of the cluster (dependsOn,
 *   given by the program): a failed `up` leaves the last completed run recorded, and the next plan
 *   lists again what may not have finished.
 *
 * - Live health (`--refresh`): the record's `read` runs renderLiveHealthScript on a member's host
 *   and keeps what it saw, with the time, in its inputs (the next check's `olds` are the state's
 *   inputs); that check counts it, so an action that would run with fewer than a quorum serving is
 *   refused at the preview. An `up` clears it.
 *
 * Not foreseen here: a refused plan is only refused at preview time (an `up --skip-preview`
 * registers this resource after the cluster's steps ran: the hosts' own guards refuse there).
 */
import * as pulumi from "@pulumi/pulumi";
import { LiveHealth, Plan, RecordedCluster, isLiveHealth, isRecordedCluster, planRecorded, recordCluster } from "./plan";
import { Connection } from "../host/remoteStep";
import { renderLiveHealthScript } from "../membership/renderMembership";
import { renderPlanMarkdown, renderPlanText } from "./renderPlan";
import { SshConnection, readAttempts, runScript, sameConnection, withClient } from "../host/ssh";
import { ClusterSpec } from "../spec/types";

/** The component's type token. */
export const planType = "etcd:index:Plan";
/** The type token of the record (the dynamic resource) in the state and in previews. */
export const planRecordType = "pulumi-nodejs:dynamic/etcd:Plan";
/** The environment variable naming the file `check` writes the plan's Markdown to (the PR workflow's). */
export const planMarkdownEnv = "ETCD_PLAN_MARKDOWN";

/** What the program gives the record: this run's cluster, and how a refresh reads its live health. */
export interface PlanInputs {
    recorded: RecordedCluster;
    /** The members in roll order: a refresh reads the live health on the first whose host answers. */
    order?: string[];
    /** Each member's SSH connection (secret), by name. */
    connections?: Record<string, SshConnection>;
    /** renderLiveHealthScript: `live <name> serving|down[ leader]` per member. */
    liveScript?: string;
}

/**
 * The record's checked inputs and outputs: `previous` is the last run's cluster, null when none;
 * `live` what the last refresh read (null: none since the last up).
 */
export interface PlanState extends PlanInputs {
    previous: RecordedCluster | null;
    live?: LiveHealth | null;
}

/** Parses the live health script's `live <name> serving|down[ leader]` lines (renderLiveHealthScript); other lines are ignored. */
export function parseLiveHealth(stdout: string): LiveHealth {
    const unhealthy: string[] = [];
    let leader: string | undefined;
    for (const line of stdout.split("\n")) {
        const m = /^live ([A-Za-z0-9][A-Za-z0-9._-]*) (serving|down)( leader)?$/.exec(line.trim());
        if (!m) continue;
        if (m[2] === "down") unhealthy.push(m[1]);
        else if (m[3]) leader = m[1];
    }
    return leader === undefined ? { unhealthy } : { unhealthy, leader };
}

/** Said under a plan made without a record of the last run: a new stack, or one deployed before the plan was recorded. */
export const noRecordNote = "No cluster recorded by an earlier run: this is a new stack, or one whose last up predates the plan " +
    "(then the actions above are not what up will do; the next preview after an up shows them).";

/**
 * The live health, read on the first member (in `order`) whose host answers and sees a member
 * serving: what renderLiveHealthScript says, with the time. A host that sees none (its own member
 * included) may be the one cut off (its network, or a clock that makes every certificate invalid
 * to it): the next is asked. No host answering: every member unhealthy. A record without the
 * means (written before they were given): null.
 */
export async function readLiveHealth(inputs: Partial<PlanInputs>): Promise<LiveHealth | null> {
    const { order, connections, liveScript } = inputs;
    if (!Array.isArray(order) || !connections || typeof connections !== "object" || typeof liveScript !== "string") return null;
    const readAt = new Date().toISOString();
    for (const name of order) {
        try {
            const out = await withClient(name, connections[name], (client) => runScript(client, `${name} live health`, liveScript, ""), readAttempts);
            if (/^live \S+ serving/m.test(out)) return { ...parseLiveHealth(out), readAt };
        } catch {
            // This host does not answer: ask the next.
        }
    }
    return { unhealthy: [...order], readAt };
}

/** JSON with sorted keys: two records compare equal whatever order their keys came back in. */
function canonical(v: unknown): string {
    return JSON.stringify(v, (_k, x) => (x !== null && typeof x === "object" && !Array.isArray(x)
        ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, x[k]])) : x));
}

/** Whether two records are the same cluster. */
export function sameRecord(a: unknown, b: unknown): boolean {
    return canonical(a) === canonical(b);
}

/** The plan as text, for the preview's diagnostic (the note appended when there was no record). */
export function planText(plan: Plan, previous: RecordedCluster | null): string {
    return renderPlanText(plan) + (previous === null ? noRecordNote + "\n" : "");
}

/** The plan as Markdown, for the pull request's comment (the note appended when there was no record). */
export function planMarkdown(plan: Plan, previous: RecordedCluster | null): string {
    return renderPlanMarkdown(plan) + (previous === null ? `\n_${noRecordNote}_\n` : "");
}

/**
 * Writes `markdown` to the file named by ETCD_PLAN_MARKDOWN, when set (the PR workflow's): by the
 * plan's check, and by the removal check's for an identity edit it refuses first.
 */
export function writePlanMarkdown(markdown: string): void {
    const file = process.env[planMarkdownEnv];
    // Required here: a dynamic provider is serialized with what it captures, and an imported module is not.
    if (file) (require("fs") as typeof import("fs")).writeFileSync(file, markdown);
}

export const planProvider: pulumi.dynamic.ResourceProvider = {
    // Every preview and up, before anything reaches a host: the last run's record handed on, and
    // the plan's refusals (identity ones left to the removal check, which fails the same preview).
    async check(olds: Partial<PlanState>, news: PlanInputs) {
        const previous = isRecordedCluster(olds?.recorded) ? olds.recorded : null;
        // What the last refresh read (in `preview --refresh`, this run's), counted in the plan.
        const live = isLiveHealth(olds?.live) ? olds.live : null;
        const plan = planRecorded(previous ?? undefined, news.recorded, live ?? undefined);
        writePlanMarkdown(planMarkdown(plan, previous));
        const refused = plan.refusals.some((r) => r.kind !== "identity");
        // No property: the engine would print the whole record before the reason.
        const failures = refused ? [{ property: "", reason: `${planText(plan, previous)}nothing was changed` }] : [];
        const inputs: PlanState = { ...news, previous, live };
        return { inputs, failures };
    },

    async diff(_id: string, olds: PlanState, news: PlanState) {
        // Only the record: `previous` is what this run compares with, not a change of its own. Another
        // login key too: a refresh reads through the connections in the state (sameConnection).
        return { changes: !sameRecord(olds.recorded, news.recorded) || !sameConnection(olds.connections, news.connections) };
    },

    async create(inputs: PlanState) {
        const outs: PlanState = { ...inputs, previous: inputs.recorded, live: null };
        return { id: "plan", outs };
    },

    async update(_id: string, _olds: PlanState, news: PlanState) {
        // Done: the next run compares with this one; the health read before this up is not the cluster's now.
        const outs: PlanState = { ...news, previous: news.recorded, live: null };
        return { outs };
    },

    async read(id: string, props: PlanState) {
        // The record is what the last up declared; a refresh adds the cluster's live health, to its
        // inputs too: the next check's `olds` are the state's inputs, not its outputs.
        const read: PlanState = { ...props, live: await readLiveHealth(props) };
        return { id, props: read, inputs: read };
    },
};

/** The record itself: a dynamic resource (type pulumi-nodejs:dynamic/etcd:Plan). */
export class PlanRecord extends pulumi.dynamic.Resource {
    /** This run's cluster. */
    declare public readonly recorded: pulumi.Output<RecordedCluster>;
    /** In a preview, the cluster the last successful up recorded (null: none); after an up, `recorded`. */
    declare public readonly previous: pulumi.Output<RecordedCluster | null>;
    /** What the last refresh read of the cluster's health (null: none since the last up). */
    declare public readonly live: pulumi.Output<LiveHealth | null>;

    constructor(name: string, inputs: { [K in keyof PlanInputs]: pulumi.Input<PlanInputs[K]> }, opts: pulumi.CustomResourceOptions) {
        super(planProvider, name, { ...inputs, previous: undefined, live: undefined }, { ...opts, additionalSecretOutputs: ["connections"] }, "etcd", "Plan");
    }
}

export interface ClusterPlanArgs {
    /** The validated spec this run declares. */
    spec: ClusterSpec;
    /** What must succeed before the record advances: the whole cluster. */
    after: pulumi.CustomResourceOptions["dependsOn"];
    /**
     * The Node.js provider instance the record runs in: the cluster's (EtcdCluster.hostFilesProvider).
     * Not one of its own: every provider instance is one more Node.js process in every engine run,
     * and a provider under this component fails an `up --target` of the cluster alone (its parent
     * is not in the target list), as operators and the engine tests run it.
     */
    provider: pulumi.ProviderResource;
    /** Each member's SSH connection (secret), by name: a refresh reads the live health through them. */
    connections?: Record<string, pulumi.Input<Connection>>;
}

/**
 * The plan: the record, in the cluster's Node.js provider instance (the engine's default one takes
 * the whole stack config as its inputs: every config edit would preview as its change); in a dry
 * run, the plan logged on the record.
 */
export class ClusterPlan extends pulumi.ComponentResource {
    public readonly record: PlanRecord;
    /** The plan from `previous`: in a preview, what up will do; after an up, nothing (the record is this run's). */
    public readonly plan: pulumi.Output<Plan>;

    constructor(name: string, args: ClusterPlanArgs, opts?: pulumi.ComponentResourceOptions) {
        super(planType, name, {}, opts);
        const { spec, connections } = args;
        const probe = connections ? {
            order: spec.members.map((m) => m.name),
            // As given (not pulumi.all, which would make all of it secret): only the private keys are secret.
            connections: connections as unknown as Record<string, SshConnection>,
            liveScript: renderLiveHealthScript(spec),
        } : {};
        // Rendered once: every member's config and unit (recordCluster) in every engine run.
        const recorded = recordCluster(spec);
        this.record = new PlanRecord(`${name}-record`, { recorded, ...probe }, { parent: this, provider: args.provider, dependsOn: args.after });
        const record = this.record;
        const dryRun = pulumi.runtime.isDryRun();
        this.plan = pulumi.all([record.previous, record.live]).apply(([previous, live]) => {
            const p = previous ?? null;
            const plan = planRecorded(p ?? undefined, recorded, isLiveHealth(live) ? live : undefined);
            // The engine ends each message with a newline of its own.
            if (dryRun) void pulumi.log.info(planText(plan, p).trimEnd(), record);
            return plan;
        });
        this.registerOutputs({});
    }
}
