/**
 * The plan a reviewer reads (issue 28): from the cluster the stack recorded in its last run and
 * the validated spec of this run, the etcd-level actions `pulumi up` will take, in the order it
 * takes them, each with the voting members and the quorum before and after, a mark on any action
 * that would run with fewer than a quorum healthy, and the refusals in the plan's terms.
 *
 * Pure: no Pulumi resource, no host, no clock. Each action names (JSDoc on `ActionKind`) the
 * function whose behaviour it mirrors; when that code changes, this file must follow.
 *
 * ## Design note: how the program gets the previous run's cluster at preview time
 *
 * The plan compares the last run's `RecordedCluster` with this run's (`recordCluster(spec)`), in a
 * preview. What Pulumi 3.259 offers (read in node_modules/@pulumi/pulumi and Pulumi's Go source):
 *
 * 1. **A stack output read back through a StackReference to the stack itself**: the program
 *    exports `recordCluster(spec)` each run and reads it with
 *    `new pulumi.StackReference(`${getOrganization()}/${getProject()}/${getStack()}`)`. It works
 *    (a read of the builtin `pulumi:pulumi:StackReference` provider, which asks the backend for
 *    the stack's last checkpoint), but: the root stack's outputs are written when a run's program
 *    finishes, so a failed `up` leaves the run before's; the program needs the backend's naming
 *    (`organization/…` on a DIY backend) and the credentials to read its own stack; a stack that
 *    was never deployed needs special-casing (a reference to a stack that does not exist fails the
 *    run: pulumi/pulumi#3540); and the outputs grow a field no consumer wants.
 *
 * 2. **The state of one of the stack's own dynamic resources** (recommended). A dynamic provider's
 *    `check(olds, news)` receives the inputs the state holds from the last run (`olds`) beside this
 *    run's, in every preview: what the removal check already uses to refuse identity changes
 *    (removalCheck.ts `check`, memberIdentity.ts). And in a preview the engine hands back a
 *    provider's checked inputs as the resource's outputs when the provider does not do previews
 *    itself (pkg/resource/plugin/provider_plugin.go, `Update`/`Create`: `if req.Preview { … if
 *    !protocol.supportsPreview … return … Properties: req.NewInputs }`; the Node.js dynamic
 *    provider's `configure`, cmd/dynamic-provider/index.js, sets no supportsPreview). So a small
 *    dynamic resource `etcd:Plan` with input `recorded: recordCluster(spec)`:
 *    - `check` returns `{ ...news, previous: olds.recorded }` (undefined for a new stack), and the
 *      refusals of `planRecorded(olds.recorded, news.recorded)` as check failures, as identity
 *      refusals are today: the preview fails before any host is touched;
 *    - `diff` compares `recorded` only; `update` returns `{ ...news, previous: news.recorded }`, so
 *      after an `up` the state reads "nothing changed since" and a no-op preview is a `same` step
 *      (no change shown, outputs from the state: `previous` equal to `recorded`, plan "nothing");
 *    - the program, in a dry run only (`pulumi.runtime.isDryRun()`), applies on the `previous`
 *      output and logs `renderPlanText(planCluster(previous, spec, live))` with `pulumi.log.info`
 *      on the resource: the diagnostic at the end of the preview; the PR workflow gets the same
 *      plan as Markdown (`renderPlanMarkdown`), e.g. from that message in `pulumi preview --json`;
 *    - the policy pack computes `planRecorded(previous, recorded)` from the resource's properties
 *      and refuses on `refusals`, in the plan's words: a stack policy (validateStack) sees every
 *      resource's outputs, which in a preview are those checked inputs; whether a resource policy
 *      sees `previous` depends on the analyzer getting inputs before or after `check` (to verify);
 *    - no backend round trip, no naming, nothing special on a first run; its state changes only
 *      when its update succeeds: placed after the health gate (dependsOn), a failed `up` leaves the
 *      last completed run recorded, and the next plan lists again what may not have finished (the
 *      roll's restart skips a member already running with its inputs: the plan errs towards more);
 *    - `--refresh`: as built (planResource.ts), the record's own `read` probes each member with
 *      the `serving` test the restart uses, and the leader (renderLiveHealthScript), and keeps it
 *      in its inputs for the check that follows (the check's `olds` are the state's inputs, not its
 *      outputs: seen on the lab when the health was first kept in the outputs only).
 *
 * 3. **The membership resource's state** (membership.ts): it holds members (name → peer URL) and
 *    order, not what restarts a member nor versions; a `ClusterMembership.get` would call its
 *    `read`, which connects to the hosts. Extending it is option 2 on a resource that also
 *    reconciles the cluster; kept apart.
 */
import * as crypto from "crypto";
import { compareVersions } from "../spec/etcdVersions";
import { MemberPlaces, identityProblems, leavingAndStaying } from "../spec/memberIdentity";
import * as paths from "../base/paths";
import { renderEtcdConfig, renderUnit } from "../member/render";
import { clientUrl, peerUrl } from "../spec/where";
import { joinPlaceholders, renderMembersFile } from "../membership/renderMembership";
import { ClusterSpec, MemberSpec, minimum35Before36 } from "../spec/types";

/** The inputs that restart a member when they change (they feed member.ts's `inputsDigest`). */
export type RestartPart = "config" | "unit" | "certificates" | "trust";

/** Files a member's host gets that etcd does not read: a change rewrites them, no restart. */
export type FilePart = "members file" | "snapshot timer" | "defrag timer";

/** One member as the stack recorded it in its last run. */
export interface RecordedMember {
    name: string;
    address: string;
    /** Its peer URL (the cluster's registration). */
    peerUrl: string;
    /** Where SSH reaches it (memberIdentity.ts reads host, port and the bastion's). */
    ssh: { host: string; port: number; proxy?: { host: string; port: number } };
    /** The pinned host key: a new one at the same address is a rebuilt machine. */
    hostKey?: string;
    /** The etcd version it runs. */
    version: string;
    /** The unit of an etcd it takes over on its first run (spec `adopt`). */
    adopt?: string;
    /** A digest per input that restarts it when changed. */
    restart: Record<RestartPart, string>;
    /** A digest per file etcd does not read (absent: not on this member). */
    files: Partial<Record<FilePart, string>>;
}

/** The cluster as the stack recorded it in its last run: undefined for a new stack. */
export interface RecordedCluster {
    clusterName: string;
    /** In the stack's (roll) order. */
    members: RecordedMember[];
    /** The destroy policy the removed members' delete scripts carry (renderRemoveDirsScript). */
    purgeDataOnDestroy: boolean;
    /** The id of the restore last declared, if any (restore.ts: the same file never runs twice). */
    restore?: string;
}

/** What `--refresh` adds: members the live cluster reports unhealthy, and its leader if known. */
export interface LiveHealth {
    unhealthy: string[];
    leader?: string;
    /** When it was read (ISO 8601): the refresh's time, said beside the plan. */
    readAt?: string;
}

/** Whether `v` is a recorded cluster (a record's `recorded` or `previous`, as the state or a policy holds it). */
export function isRecordedCluster(v: unknown): v is RecordedCluster {
    return typeof v === "object" && v !== null && Array.isArray((v as RecordedCluster).members);
}

/** Whether `v` is a live health read (a record's `live`). */
export function isLiveHealth(v: unknown): v is LiveHealth {
    return typeof v === "object" && v !== null && Array.isArray((v as LiveHealth).unhealthy);
}

/**
 * An etcd-level action, each mirroring the code that carries it out:
 * - `bootstrap`: cluster.ts (`together`: a new stack's members start at once) and renderJoinScript's
 *   `new` run (bootstrap from every listed member) then renderStartScript (no wait) and the health gate;
 * - `adopt`: renderJoinScript's adoptExisting (unit stopped, data copied, started from it) and
 *   renderPromoteScript's settleAdopted (peer URL moved to https), in the roll;
 * - `join`: renderJoinScript (`member add --learner`), renderStartScript, renderPromoteScript, one
 *   member at a time (member.ts `after`: the next member waits for this one's promotion);
 * - `replace`: renderJoinScript's removeOldRegistration (old registration removed first, quorum of the
 *   other voters checked), then `member add --learner`, renderRestartScript's first start, promote;
 * - `restart`: renderRestartScript in each member's turn of the roll (cluster.ts), voters counted
 *   before each stop, leadership handed on by handoffOrder (the leader restarts last);
 * - `upgrade`: renderInstallBinariesScript's upgradeGuard (no downgrade, one minor, 3.5.32 before
 *   3.6, every member healthy, snapshot to /var/backups/etcd) and the install, then the restart;
 * - `files`: HostFiles writes of files etcd does not read (`readByEtcd: false`, the timers): the
 *   inputs digest is unchanged, so renderRestartScript exits "already runs with these inputs";
 * - `remove`: the membership step (membership.ts, renderReconcileMembershipScript) after every
 *   member's turn: members that are down first, leadership moved off a leaving leader;
 * - `clean`: Pulumi deletes the removed members' resources last: renderStopScript, then
 *   renderRemoveDirsScript (data kept unless purgeDataOnDestroy);
 * - `restore`: restore.ts (every member stopped, rebuilt from the snapshot, started together); an
 *   edit that declares a restore plans nothing else against the running cluster (restorePlan);
 * - `nothing`.
 */
export type ActionKind = "bootstrap" | "adopt" | "join" | "replace" | "restart" | "upgrade" | "files" | "remove" | "clean" | "restore" | "nothing";

/** Voting members and the quorum they need (floor(V/2)+1; 0 voters: 0). */
export interface Votes {
    voters: number;
    quorum: number;
}

export interface PlanAction {
    kind: ActionKind;
    /** The members it acts on, in the order it reaches them. */
    members: string[];
    /** One line in etcd's terms, e.g. "add lab-4 as a learner → start → promote". */
    summary: string;
    /** Further facts: the leader hand-off, the snapshot, what is written, from and to. */
    details: string[];
    before: Votes;
    after: Votes;
    /** While it runs, when fewer vote than before or after (a member restarting, an old registration removed). */
    during?: Votes;
    /**
     * Why it would run with fewer than a quorum healthy (counting `LiveHealth.unhealthy`), one
     * sentence per member; empty when it would not.
     */
    belowQuorum: string[];
    /** The code it mirrors (see ActionKind). */
    mirrors: string;
}

/**
 * Why the policy refuses a plan:
 * - `quorum`: an action marked below quorum (live health), or every member's registration changing
 *   at once (removalCheckProvider.update refuses that: none stays);
 * - `two voters at once`: an action that adds more than one voter. The roll never does (members join
 *   one at a time as learners; a new stack bootstraps, which is not an addition): a guard on the
 *   plan's own invariant, so a future change that breaks it is refused rather than shown;
 * - `identity`: memberIdentity.ts's identityProblems, word for word (a rename at the same address,
 *   members swapping addresses, a new name at a leaving member's SSH endpoint);
 * - `version`: what member/render.ts's upgradeGuard would refuse on the hosts (versionProblem).
 */
export type RefusalKind = "quorum" | "two voters at once" | "identity" | "version";

/** What the policy must refuse, in the plan's terms. */
export interface Refusal {
    kind: RefusalKind;
    reason: string;
}

export interface Plan {
    clusterName: string;
    /** False for a new stack. */
    existing: boolean;
    actions: PlanAction[];
    refusals: Refusal[];
    /** Whether the live health was known (`--refresh`). */
    live: boolean;
    /** The live health counted, when known. */
    liveHealth?: LiveHealth;
}

/** floor(V/2)+1, or 0 with no voters. */
export function quorumOf(voters: number): number {
    return voters === 0 ? 0 : Math.floor(voters / 2) + 1;
}

const votes = (voters: number): Votes => ({ voters, quorum: quorumOf(voters) });
const digest = (...parts: unknown[]) => crypto.createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 16);
const list = (names: string[]) => names.join(", ");
const arrow = (names: string[]) => names.join(" → ");

/** The token stands for the cluster's RandomId-based one: stable for the life of the stack. */
const tokenPlaceholder = "@@token@@";

/**
 * What this run records for the next run's plan. The restart parts stand for member.ts's
 * `inputsDigest` (version, config, unit, CA bundle, certificates): config and unit rendered as
 * member.ts renders them (the join decision and the token as placeholders, as there), the
 * certificates by what issues them (name, address, SANs, key algorithm, validity, CA generation),
 * the CA bundle by the trusted generations. A certificate re-issued because it nears its expiry
 * (`certRenewBeforeHours`) also restarts its member, but that depends on the clock: not foreseen.
 */
export function recordCluster(spec: ClusterSpec): RecordedCluster {
    return {
        clusterName: spec.clusterName,
        members: spec.members.map((m) => recordMember(spec, m)),
        purgeDataOnDestroy: spec.purgeDataOnDestroy,
        ...(spec.restore ? { restore: spec.restore.id } : {}),
    };
}

function recordMember(spec: ClusterSpec, m: MemberSpec): RecordedMember {
    const ca = spec.ca;
    const files: Partial<Record<FilePart, string>> = { "members file": digest(renderMembersFile(spec)) };
    if (spec.snapshots?.members.includes(m.name)) files["snapshot timer"] = digest(spec.snapshots, spec.ports.client);
    if (spec.defrag?.member === m.name) files["defrag timer"] = digest(spec.defrag, spec.members.map((x) => clientUrl(spec, x)));
    return {
        name: m.name,
        address: m.address,
        peerUrl: peerUrl(spec, m),
        ssh: { host: m.sshHost, port: m.sshPort, ...(spec.bastion ? { proxy: { host: spec.bastion.host, port: spec.bastion.port } } : {}) },
        ...(m.hostKey ? { hostKey: m.hostKey } : {}),
        version: spec.version,
        ...(m.adopt ? { adopt: m.adopt.unit } : {}),
        restart: {
            config: digest(renderEtcdConfig(spec, m, { token: tokenPlaceholder, ...joinPlaceholders })),
            unit: digest(renderUnit(spec, m)),
            certificates: digest(m.name, m.address, m.extraSans, ca.algorithm, ca.rsaBits, ca.generation, ca.validityHours, ca.bringYourOwn, spec.certValidityHours),
            trust: digest(ca.trust, ca.validityHours, ca.algorithm, ca.rsaBits, ca.bringYourOwn),
        },
        files,
    };
}

/** memberIdentity.ts's view of a recorded cluster. */
function places(c: RecordedCluster): MemberPlaces {
    return {
        members: Object.fromEntries(c.members.map((m) => [m.name, m.peerUrl])),
        connections: Object.fromEntries(c.members.map((m) => [m.name, m.ssh])),
    };
}

/**
 * Why the install step would refuse to move a member from `from` to `to` (mirrors member/render.ts's
 * upgradeGuard: no downgrade, one minor at a time, 3.5.32 or later before 3.6), or undefined.
 */
export function versionProblem(from: string, to: string): string | undefined {
    if (from === to) return undefined;
    const [fM, fm, fp] = from.split(".").map(Number);
    const [tM, tm] = to.split(".").map(Number);
    if (tM !== fM || compareVersions(to, from) < 0) return `etcd ${from} → ${to} is a downgrade, which is not supported`;
    if (tm > fm + 1) return `etcd ${from} → ${to} skips a minor version: upgrades go one minor at a time (to ${fM}.${fm + 1} first)`;
    if (fM === 3 && fm === 5 && tm === 6 && fp < Number(minimum35Before36.split(".")[2])) {
        return `etcd ${from} → ${to}: 3.5 members must run ${minimum35Before36} or later before 3.6 (etcd's upgrade guide)`;
    }
    return undefined;
}

/** The plan from the last run's record (undefined: a new stack) and this run's spec. */
export function planCluster(previous: RecordedCluster | undefined, spec: ClusterSpec, live?: LiveHealth): Plan {
    return planRecorded(previous, recordCluster(spec), live);
}

/** One member's turn of the roll, before consecutive turns of a kind are merged into one action. */
interface Turn {
    kind: ActionKind;
    name: string;
    /** The voters when its turn comes. */
    voters: string[];
    action?: PlanAction;
    /** What changed (restart parts, files), the versions of an upgrade. */
    parts?: string[];
    from?: string;
    to?: string;
    belowQuorum?: string[];
}

/**
 * The plan of an edit that changes a live member's identity: no action, one refusal per problem
 * in memberIdentity.ts's words. The removal check's `check`, which fails such a preview before the
 * plan's own check may run, writes this same plan for the pull request's comment.
 */
export function identityRefusedPlan(clusterName: string, problems: string[]): Plan {
    return { clusterName, existing: true, actions: [], refusals: identityRefusals(problems), live: false };
}

const identityRefusals = (problems: string[]): Refusal[] => problems.map((reason) => ({ kind: "identity", reason }));

/**
 * The plan from two records (what the policy pack can compute from a resource's inputs alone).
 * An identity refusal, or every registration changing at once, empties the actions: the removal
 * check refuses them before any host is touched (its `check` in every preview, its `update`), so
 * `up` changes nothing.
 */
export function planRecorded(previous: RecordedCluster | undefined, next: RecordedCluster, live?: LiveHealth): Plan {
    const unhealthy = new Set(live?.unhealthy ?? []);
    const plan = (actions: PlanAction[], refusals: Refusal[]): Plan =>
        ({ clusterName: next.clusterName, existing: previous !== undefined, actions, refusals, live: live !== undefined, ...(live ? { liveHealth: live } : {}) });
    if (!previous || previous.members.length === 0) {
        const first = newStackActions(next);
        if (next.restore === undefined) return plan(first, []);
        // A new stack's members start only in the restore (restorePendingGuard), from the snapshot's data.
        const installed = first.map((a) => a.kind !== "bootstrap" ? a : {
            ...a, summary: `install ${list(a.members)}: not started, the restore below builds their data and starts them together`,
            details: ["only on hosts without etcd data, or with it moved aside (a restore is declared)"],
            mirrors: "renderJoinScript (new), restorePendingGuard (renderStartScript)",
        });
        return plan([...installed, restoreAction(next, 0, [])], []);
    }

    const identity = identityProblems(places(previous), places(next));
    if (identity.length > 0) return plan([], identityRefusals(identity));
    if (next.restore !== undefined && next.restore !== previous.restore) return restorePlan(previous, next, plan, live);
    const oldUrls = Object.fromEntries(previous.members.map((m) => [m.name, m.peerUrl]));
    const order = next.members.map((m) => m.name);
    const { leaving, staying } = leavingAndStaying(oldUrls, { members: Object.fromEntries(next.members.map((m) => [m.name, m.peerUrl])), order });
    if (leaving.length > 0 && staying.length === 0) {
        return plan([], [{
            kind: "quorum",
            reason: `every member's registration changes at once (${list(leaving)} leave, none stays): no member that stays keeps a quorum ` +
                "while the others are added or removed; keep a quorum of the current members in etcd:members",
        }]);
    }

    const refusals: Refusal[] = [];
    const byName = new Map(previous.members.map((m) => [m.name, m]));
    const healthy = (names: string[]) => names.filter((n) => !unhealthy.has(n));
    // Voters as the roll goes: the recorded members, joined by each new one once promoted.
    let voters = previous.members.map((m) => m.name);
    const turns: Turn[] = [];
    for (const m of next.members) {
        const old = byName.get(m.name);
        if (!old) {
            turns.push({ kind: "join", name: m.name, voters, action: joinAction(m.name, voters, healthy) });
            voters = [...voters, m.name];
        } else if (old.peerUrl !== m.peerUrl || (old.hostKey !== undefined && m.hostKey !== undefined && old.hostKey !== m.hostKey)) {
            turns.push({ kind: "replace", name: m.name, voters, action: replaceAction(old, m, voters, healthy) });
        } else if (old.version !== m.version) {
            const problem = versionProblem(old.version, m.version);
            if (problem) refusals.push({ kind: "version", reason: `${m.name}: ${problem}` });
            turns.push({ kind: "upgrade", name: m.name, voters, from: old.version, to: m.version, belowQuorum: restartRisk(m.name, voters, healthy, unhealthy, true) });
        } else if (changed(old.restart, m.restart).length > 0) {
            turns.push({ kind: "restart", name: m.name, voters, parts: changed(old.restart, m.restart), belowQuorum: restartRisk(m.name, voters, healthy, unhealthy, false) });
        } else if (changed(old.files, m.files).length > 0) {
            turns.push({ kind: "files", name: m.name, voters, parts: changed(old.files, m.files) });
        }
    }
    const actions = mergeTurns(turns, order, live?.leader);

    // The membership step, after every member's turn: members that are down first, each group in
    // name order (byte order, as renderReconcileMembershipScript sorts them; etcd lists by member ID).
    const gone = previous.members.map((m) => m.name).filter((n) => !order.includes(n)).sort();
    const staysAfter = voters.filter((n) => !gone.includes(n));
    const runsOn = order.find((n) => !unhealthy.has(n)) ?? order[0];
    for (const name of [...gone.filter((n) => unhealthy.has(n)), ...gone.filter((n) => !unhealthy.has(n))]) {
        const before = votes(voters.length);
        voters = voters.filter((n) => n !== name);
        const up = healthy(staysAfter).length;
        const q = quorumOf(staysAfter.length);
        actions.push({
            kind: "remove", members: [name],
            summary: live?.leader === name
                ? `remove ${name} (it leads: leadership moves first, to ${runsOn})`
                : `remove ${name} (if it leads, leadership moves first, to ${runsOn})`,
            details: [`through ${runsOn} (the first stack member whose own etcd answers), once the voters that stay are counted`],
            before, after: votes(voters.length),
            belowQuorum: up < q ? [`removing ${name}: ${up} of the ${staysAfter.length} voters that stay are healthy (quorum ${q})`] : [],
            mirrors: "renderReconcileMembershipScript (membership.ts)",
        });
    }
    if (gone.length > 0) {
        actions.push({
            kind: "clean", members: gone,
            summary: `stop etcd on ${list(gone)} and clean ${gone.length === 1 ? "its host" : "their hosts"} (data ${previous.purgeDataOnDestroy ? "deleted" : "kept"})`,
            details: ["Pulumi deletes a removed member's resources last, once the cluster no longer lists it"],
            before: votes(voters.length), after: votes(voters.length), belowQuorum: [],
            mirrors: "renderStopScript, renderRemoveDirsScript (deletes run last)",
        });
    }
    if (next.restore !== undefined && next.restore !== previous.restore) actions.push(restoreAction(next, voters.length));

    for (const a of actions) {
        const added = a.after.voters - a.before.voters;
        if (added > 1) refusals.push({ kind: "two voters at once", reason: `${a.summary}: ${added} voters added in one step; members join one at a time, as learners` });
        for (const why of a.belowQuorum) refusals.push({ kind: "quorum", reason: `${a.summary}: ${why}` });
    }
    if (actions.length === 0) actions.push(nothingAction(voters.length));
    return plan(actions, refusals);
}

/** The parts whose digests differ (or appear, or go). */
function changed<K extends string>(a: Partial<Record<K, string>>, b: Partial<Record<K, string>>): K[] {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])] as K[];
    return keys.filter((k) => a[k] !== b[k]);
}

/**
 * Why restarting `name` would leave fewer than a quorum of voters up (renderRestartScript counts
 * the voters other than this member that serve); an upgrade's guard also wants every member healthy.
 */
function restartRisk(name: string, voters: string[], healthy: (n: string[]) => string[], unhealthy: Set<string>, upgrade: boolean): string[] {
    const v = votes(voters.length);
    const up = healthy(voters.filter((n) => n !== name)).length;
    const risks = up < v.quorum ? [`with ${name} stopped, ${up} of its ${v.voters} voters would be up (quorum ${v.quorum})`] : [];
    if (upgrade && unhealthy.size > 0) risks.push(`upgrading ${name}: the install step's guard refuses while a member is unhealthy (${list([...unhealthy])})`);
    return risks;
}

/** Consecutive turns of one kind (restart, upgrade, files) read as one action: a roll. */
function mergeTurns(turns: Turn[], order: string[], leader: string | undefined): PlanAction[] {
    const actions: PlanAction[] = [];
    for (let i = 0; i < turns.length;) {
        const t = turns[i];
        if (t.action) {
            actions.push(t.action);
            i++;
            continue;
        }
        let j = i;
        while (j < turns.length && turns[j].kind === t.kind && !turns[j].action) j++;
        const group = turns.slice(i, j);
        i = j;
        // A join ends a group, so its turns share their voters.
        const voters = t.voters;
        const members = group.map((g) => g.name);
        const parts = [...new Set(group.flatMap((g) => g.parts ?? []))];
        const v = votes(voters.length);
        const base = { members, before: v, after: v, belowQuorum: group.flatMap((g) => g.belowQuorum ?? []) };
        if (t.kind === "files") {
            actions.push({ ...base, kind: "files", summary: `write files only on ${list(members)} (no restart): ${list(parts)}`, details: [],
                mirrors: "HostFiles writes of files etcd does not read; renderRestartScript: already runs with these inputs" });
            continue;
        }
        const hand = handoff(members, voters, order, leader);
        if (t.kind === "restart") {
            actions.push({ ...base, kind: "restart", during: votes(voters.length - 1),
                summary: `restart ${arrow(members)}, one at a time, leader last (${list(parts)} changed)`,
                details: [...hand, "each restart counts the voters first and waits until the new process is healthy"],
                mirrors: "renderRestartScript in the roll (cluster.ts), handoffOrder" });
        } else {
            actions.push({ ...base, kind: "upgrade", during: votes(voters.length - 1),
                summary: `upgrade etcd ${t.from} → ${t.to} on ${arrow(members)}, one at a time, leader last: snapshot, binaries, restart`,
                details: [...hand, `on each member: the guard (no downgrade, one minor at a time, every member healthy), a snapshot to ` +
                    `${paths.snapshotDir}/pre-upgrade-${t.from}-to-${t.to}-<time>.db, the new binaries, the restart`],
                mirrors: "renderInstallBinariesScript (upgradeGuard), renderRestartScript in the roll, handoffOrder" });
        }
    }
    return actions;
}

/**
 * The leader hand-off of a roll, as handoffOrder decides at run time from the members file: a
 * leader whose turn comes early hands leadership to the voter the roll reaches last; that one,
 * leading at its turn, hands it to the voter before it (already restarted).
 */
function handoff(members: string[], voters: string[], order: string[], leader: string | undefined): string[] {
    const inOrder = order.filter((n) => voters.includes(n));
    const last = inOrder[inOrder.length - 1];
    const beforeLast = inOrder[inOrder.length - 2];
    if (!last || !beforeLast) return [];
    if (leader !== undefined && members.includes(leader)) {
        if (leader === last) return [`${leader} leads: at its turn it hands leadership to ${beforeLast}`];
        return [`${leader} leads: at its turn it hands leadership to ${last}` + (members.includes(last) ? `, which hands it to ${beforeLast} at its own turn` : "")];
    }
    return [`if it leads, a member hands leadership on at its turn: to ${last} (the voter the roll reaches last); ${last} hands it to ${beforeLast}`];
}

function newStackActions(next: RecordedCluster): PlanAction[] {
    const names = next.members.map((m) => m.name);
    if (!next.members.some((m) => m.adopt)) {
        return [{
            kind: "bootstrap", members: names,
            summary: `bootstrap a new cluster: ${list(names)} start together`,
            details: ["only on hosts without etcd data; then the health gate waits for every member"],
            before: votes(0), after: votes(names.length), belowQuorum: [],
            mirrors: "cluster.ts (together), renderJoinScript (new), renderStartScript",
        }];
    }
    // A first run that adopts an etcd rolls: adopted members take theirs over, the others join.
    const actions: PlanAction[] = [];
    let voters: string[] = [];
    for (const m of next.members) {
        actions.push(m.adopt ? {
            kind: "adopt", members: [m.name],
            summary: `adopt ${m.name}: stop ${m.adopt}, copy its data (kept), start from it with the stack's config`,
            details: ["its peer URL then moves to the stack's https one (member update): nothing restarts"],
            before: votes(voters.length), after: votes(voters.length + 1), belowQuorum: [],
            mirrors: "renderJoinScript (adoptExisting), renderPromoteScript (settleAdopted)",
        } : joinAction(m.name, voters, (n) => n));
        voters = [...voters, m.name];
    }
    return actions;
}

function joinAction(name: string, voters: string[], healthy: (n: string[]) => string[]): PlanAction {
    const before = votes(voters.length);
    const after = votes(voters.length + 1);
    const up = healthy(voters).length;
    const below: string[] = [];
    if (up < before.quorum) below.push(`adding ${name}: ${up} of ${before.voters} voters healthy (quorum ${before.quorum}): no quorum to join`);
    else if (up + 1 < after.quorum) below.push(`once ${name} votes: ${up + 1} of ${after.voters} voters healthy (quorum ${after.quorum})`);
    return {
        kind: "join", members: [name],
        summary: `add ${name} as a learner → start → promote`,
        details: ["a learner does not vote; it is promoted once caught up, and the next member waits for that"],
        before, after, belowQuorum: below,
        mirrors: "renderJoinScript (member add --learner), renderStartScript, renderPromoteScript",
    };
}

function replaceAction(old: RecordedMember, m: RecordedMember, voters: string[], healthy: (n: string[]) => string[]): PlanAction {
    const others = voters.filter((n) => n !== m.name);
    const during = votes(others.length);
    const up = healthy(others).length;
    return {
        kind: "replace", members: [m.name],
        summary: old.address === m.address
            ? `replace ${m.name} (a new machine at ${m.address}): remove its registration, add it again as a learner → start → promote`
            : `replace ${m.name}: remove ${old.address}, add ${m.address} as a learner → start → promote`,
        details: ["the old registration is removed first, through the other members (the old host is not contacted)"],
        before: votes(voters.length), during, after: votes(voters.length),
        belowQuorum: up < during.quorum ? [`replacing ${m.name}: ${up} of the ${others.length} other voters healthy (quorum ${during.quorum})`] : [],
        mirrors: "renderJoinScript (removeOldRegistration, member add --learner), renderRestartScript (first start), renderPromoteScript",
    };
}

/**
 * The plan of an edit that declares a restore (a new etcd:restore): the whole cluster is rebuilt
 * from the snapshot with the stack's members, so nothing is counted against the running one, whose
 * quorum may be lost for good. Members moved to new hosts (or new names) are installed and not
 * started, the others get their files, and no member starts or restarts before the restore
 * (restorePendingGuard); then every member is rebuilt and started together. The way back from a
 * quorum loss (docs/disaster-recovery.md); the removal check lets this edit through for the same reason.
 */
function restorePlan(previous: RecordedCluster, next: RecordedCluster, plan: (actions: PlanAction[], refusals: Refusal[]) => Plan, live?: LiveHealth): Plan {
    const byName = new Map(previous.members.map((m) => [m.name, m]));
    const before = votes(previous.members.length);
    const actions: PlanAction[] = [];
    const refusals: Refusal[] = [];
    const installed: string[] = [];
    const written: string[] = [];
    for (const m of next.members) {
        const old = byName.get(m.name);
        const moved = old !== undefined && (old.peerUrl !== m.peerUrl || (old.hostKey !== undefined && m.hostKey !== undefined && old.hostKey !== m.hostKey));
        if (old === undefined || moved) {
            installed.push(m.name);
            actions.push({
                kind: old === undefined ? "join" : "replace", members: [m.name],
                summary: old === undefined ? `install ${m.name} on ${m.address}: not started, the restore builds its data`
                    : `install ${m.name} on ${m.address}${old.address !== m.address ? ` (was ${old.address}, not contacted)` : " (a new machine)"}: not started, the restore builds its data`,
                details: ["no member add: the running cluster is not asked (its quorum may be lost); the restored cluster lists every member of the stack"],
                before, after: before, belowQuorum: [],
                mirrors: "renderJoinScript (no leader, a restore declared), restorePendingGuard (renderStartScript, renderRestartScript, renderPromoteScript)",
            });
            continue;
        }
        const problem = versionProblem(old.version, m.version);
        if (problem) refusals.push({ kind: "version", reason: `${m.name}: ${problem}` });
        if (old.version !== m.version || changed(old.restart, m.restart).length > 0 || changed(old.files, m.files).length > 0) written.push(m.name);
    }
    if (written.length > 0) {
        actions.push({
            kind: "files", members: written, summary: `write files on ${list(written)}: etcd is not restarted for them, the restore starts it with them`,
            details: [], before, after: before, belowQuorum: [], mirrors: "HostFiles writes; restorePendingGuard (renderRestartScript)",
        });
    }
    // Mirrors the removal check (refuseIfServing): members moved or added beside a restore only when the running cluster has lost its quorum.
    const up = live ? previous.members.filter((m) => !live.unhealthy.includes(m.name)).length : 0;
    if (installed.length > 0 && live && up >= before.quorum) {
        refusals.push({
            kind: "quorum", reason: `${list(installed)} moved or added beside the restore of snapshot ${next.restore}, while the running cluster serves ` +
                `(${up} of ${before.voters} voters healthy, quorum ${before.quorum}): restore first with the members as they are, remove etcd:restore, then move or add members`,
        });
    }
    const gone = previous.members.map((m) => m.name).filter((n) => !next.members.some((m) => m.name === n)).sort();
    actions.push(restoreAction(next, previous.members.length, installed));
    if (gone.length > 0) {
        actions.push({
            kind: "clean", members: gone,
            summary: `stop etcd on ${list(gone)} and clean ${gone.length === 1 ? "its host" : "their hosts"} (data ${previous.purgeDataOnDestroy ? "deleted" : "kept"}): not in the restored cluster`,
            details: ["Pulumi deletes a removed member's resources last, connecting to its host: a host that is gone for good fails them (keep a lost member's name and move it to a new host instead)"],
            before: votes(next.members.length), after: votes(next.members.length), belowQuorum: [],
            mirrors: "renderStopScript, renderRemoveDirsScript (deletes run last)",
        });
    }
    return plan(actions, refusals);
}

function restoreAction(next: RecordedCluster, voters: number, installed: string[] = []): PlanAction {
    return {
        kind: "restore", members: next.members.map((m) => m.name),
        summary: `restore every member from snapshot ${next.restore}: all stopped, rebuilt from it (old data kept aside), started together`,
        details: [
            "a deliberate outage: the cluster serves nothing until its members start again",
            ...(installed.length > 0 ? [`${list(installed)} ${installed.length === 1 ? "starts" : "start"} for the first time here, from the snapshot`] : []),
        ],
        before: votes(voters), after: votes(next.members.length), belowQuorum: [],
        mirrors: "restore.ts (renderRestoreScript)",
    };
}

function nothingAction(voters: number): PlanAction {
    return {
        kind: "nothing", members: [], summary: "nothing: no member restarts, joins or leaves, and no file changes on a host", details: [],
        before: votes(voters), after: votes(voters), belowQuorum: [], mirrors: "renderRestartScript (already runs with these inputs)",
    };
}
