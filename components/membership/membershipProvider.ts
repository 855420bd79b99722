/**
 * The dynamic provider behind the cluster's membership (membership.ts). Its `read` lists the
 * members the running cluster has, so `pulumi preview --refresh` shows a member removed or added
 * by hand (`etcdctl member remove/add`) as a change of `members`; its `update` puts the cluster
 * back to the stack's list: strangers removed (quorum-checked, renderReconcileMembershipScript),
 * then each stack member missing from the cluster added back on its own host
 * (renderRejoinScript), and each learner promoted once caught up (renderPromoteScript), one
 * member at a time; after any such repair, the cluster's health gate.
 *
 * Serialized into the state with the functions it uses (see hostFilesProvider.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { SshConnection, readAttempts, runScript, withClient } from "../host/ssh";

/** The resource's inputs; `connections` is secret (it carries the SSH key). */
export interface MembershipInputs {
    /** Member name → peer URL, as the stack lists them; as read from the cluster after a refresh. */
    members: Record<string, string>;
    /** The stack's members in roll order. */
    order: string[];
    connections: Record<string, SshConnection>;
    /**
     * The scripts (renderMembership.ts): `list` and `reconcile` run on any member, `data` on each,
     * `rejoin` and `promote` per member; `health` (the cluster's health gate, renderMembership.ts) after a
     * repair, on the member that lists the cluster.
     */
    scripts: { list: string; reconcile: string; data?: string; rejoin: Record<string, string>; promote: Record<string, string>; health?: string };
    /** How long a run waits for the cluster to answer (the members' health timeout). */
    waitSeconds: number;
}

/** One row of `etcdctl member list -w simple`. */
export interface ListedMember { id: string; started: boolean; name: string; peerUrl: string; learner: boolean }

/** Parses the list script's output (`answered-by local|others`, then `member <row>` lines). */
export function parseMemberList(stdout: string): { local: boolean; members: ListedMember[] } {
    const members: ListedMember[] = [];
    for (const line of stdout.split("\n")) {
        const m = /^member ([0-9a-f]+), (started|unstarted), ([^,]*), ([^,]*), ([^,]*), (true|false)$/.exec(line.trim());
        if (m) members.push({ id: m[1], started: m[2] === "started", name: m[3], peerUrl: m[4], learner: m[6] === "true" });
    }
    return { local: /^answered-by local$/m.test(stdout), members };
}

/** How the preview marks a member the cluster lists as started whose host has no data. */
export const noDataMark = "no data on its host";

/**
 * The cluster's members as the preview shows them beside the stack's: name → peer URL, a learner
 * or a member not started yet marked so, and a started member whose host has no data (`noData`:
 * its data dir wiped). A member with no name yet (added, never started) is named by the stack
 * member that has its peer URL, or as `(unnamed <id>)`.
 */
export function observedMembers(listed: ListedMember[], desired: Record<string, string>, noData: Set<string> = new Set()): Record<string, string> {
    const byUrl = new Map(Object.entries(desired).map(([name, url]) => [url, name]));
    const out: Record<string, string> = {};
    for (const m of listed) {
        let name = m.name || byUrl.get(m.peerUrl) || `(unnamed ${m.id})`;
        if (name in out) name = `${name} (${m.id})`;
        const marks = [m.learner ? "learner" : "", m.started ? "" : "not started", noData.has(name) ? noDataMark : ""].filter(Boolean);
        out[name] = marks.length > 0 ? `${m.peerUrl} (${marks.join(", ")})` : m.peerUrl;
    }
    // The stack's members in its order, then the others by name: the same cluster reads the same.
    const stackNames = Object.keys(desired).filter((n) => n in out);
    const others = Object.keys(out).filter((n) => !(n in desired)).sort();
    return Object.fromEntries([...stackNames, ...others].map((n) => [n, out[n]]));
}

/** The same members, whatever order their keys come in. */
export function sameMembers(a: Record<string, string>, b: Record<string, string>): boolean {
    const canonical = (m: Record<string, string>) => JSON.stringify(Object.entries(m).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
    return canonical(a) === canonical(b);
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function onMember(inputs: MembershipInputs, name: string, what: string, script: string, stdin = "", dialAttempts?: number): Promise<string> {
    return withClient(name, inputs.connections[name], (client) => runScript(client, `${name} ${what}`, script, stdin), dialAttempts);
}

interface Listing { from: string; local: boolean; members: ListedMember[] }

/**
 * Lists the members through the first stack member whose host answers (`from`), waiting up to
 * `waitSeconds` for the cluster to answer (a new cluster forms once its members have all started).
 * With `preferLocal`, a member whose own etcd answers is preferred: the reconcile runs there.
 * `dialAttempts`: as withClient's (a refresh passes readAttempts: a host that is down is passed over sooner).
 */
async function listMembers(inputs: MembershipInputs, waitSeconds: number, preferLocal: boolean, dialAttempts?: number): Promise<Listing> {
    const errors: string[] = [];
    let fallback: Listing | undefined;
    for (const name of inputs.order) {
        try {
            const listed = parseMemberList(await onMember(inputs, name, "member list", inputs.scripts.list, `${waitSeconds}\n`, dialAttempts));
            if (listed.local || !preferLocal) return { from: name, ...listed };
            fallback ??= { from: name, ...listed };
        } catch (e) {
            errors.push((e as Error).message);
        }
    }
    if (fallback) return fallback;
    throw Object.assign(new Error(`membership: no member of the cluster could list it:\n${errors.join("\n")}`), { noMemberListed: true });
}

/**
 * Removes strangers, adds back missing stack members, promotes learners; returns the list after
 * and what was done (the scripts' own lines: a dynamic provider's output does not reach the
 * engine's log, so it is kept as the `report` output).
 */
async function reconcile(inputs: MembershipInputs, waitSeconds: number, noData: Set<string> = new Set()): Promise<{ members: Record<string, string>; report: string }> {
    let listing = await listMembers(inputs, waitSeconds, true);
    const report: string[] = [];
    const desiredUrls = new Set(Object.values(inputs.members));
    if (listing.members.some((m) => !desiredUrls.has(m.peerUrl))) {
        if (!listing.local) throw new Error("membership: members to remove, but no stack member's own etcd answers to remove them through");
        report.push(await onMember(inputs, listing.from, "membership", inputs.scripts.reconcile));
    }
    // One member at a time, in the stack's order: missing (removed by hand), registered but never
    // started, a learner not yet promoted, or without data on its host (the rejoin checks it there).
    for (const name of inputs.order) {
        const listed = listing.members.find((m) => m.peerUrl === inputs.members[name]);
        if (listed && !listed.learner && listed.started && !noData.has(name)) continue;
        report.push(await onMember(inputs, name, "rejoin", inputs.scripts.rejoin[name]));
        report.push(await onMember(inputs, name, "promote", inputs.scripts.promote[name]));
    }
    if (report.length > 0) listing = await listMembers(inputs, waitSeconds, false);
    const observed = observedMembers(listing.members, inputs.members);
    if (!sameMembers(observed, inputs.members)) {
        throw new Error(`membership: the cluster lists ${JSON.stringify(observed)}, not the stack's ${JSON.stringify(inputs.members)}`);
    }
    // A repair changes no member's inputs, so the cluster's own gate does not run after it: the
    // repair is gated here, as a roll is there (a member just promoted may not commit yet).
    if (report.length > 0 && inputs.scripts.health) report.push(await onMember(inputs, listing.from, "health gate", inputs.scripts.health));
    return { members: observed, report: report.join("").trim() || "membership matches the stack" };
}

/**
 * Stack members the cluster lists as started whose hosts have no etcd data (a data dir wiped by
 * hand, the same host and key): each host asked at once. A host that does not answer is not
 * marked; its files and unit show that.
 */
async function membersWithoutData(inputs: MembershipInputs, listed: ListedMember[], dialAttempts?: number): Promise<Set<string>> {
    const script = inputs.scripts.data;
    if (!script) return new Set();
    const started = inputs.order.filter((n) => listed.some((m) => m.peerUrl === inputs.members[n] && m.started));
    const found = await Promise.all(started.map((n) =>
        onMember(inputs, n, "data check", script, "", dialAttempts).then((out) => /^data missing$/m.test(out), () => false)));
    return new Set(started.filter((_, i) => found[i]));
}

/** A membership's state without its `report` output (what a read gives back as inputs). */
function withoutReport(props: MembershipInputs): MembershipInputs {
    const { report: _report, ...inputs } = props as MembershipInputs & { report?: string };
    return inputs;
}

export const membershipProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: MembershipInputs) {
        return { id: "membership", outs: { ...inputs, ...(await reconcile(inputs, inputs.waitSeconds)) } };
    },

    async diff(_id: string, olds: MembershipInputs, news: MembershipInputs) {
        // Another connection too (a new key, login or host): the state must hold what a later refresh can use.
        return { changes: !sameMembers(olds.members, news.members) || !same(olds.order, news.order) || !same(olds.connections, news.connections) };
    },

    async update(_id: string, olds: MembershipInputs, news: MembershipInputs) {
        // Members a refresh found without data on their hosts (see read).
        const noData = new Set(Object.entries(olds.members).filter(([, v]) => v.includes(noDataMark)).map(([n]) => n));
        return { outs: { ...news, ...(await reconcile(news, news.waitSeconds, noData)) } };
    },

    async read(id: string, props: MembershipInputs) {
        // A refresh does not wait. No member can list the cluster (its quorum is lost:
        // docs/disaster-recovery.md): the last list stands, so `preview --refresh` still shows the
        // plan, whose live health says who serves.
        const listed = await listMembers(props, 0, false, readAttempts).catch((e: Error & { noMemberListed?: boolean }) => {
            if (e.noMemberListed) return undefined;
            throw e;
        });
        if (!listed) return { id, props, inputs: withoutReport(props) };
        const members = observedMembers(listed.members, props.members, await membersWithoutData(props, listed.members, readAttempts));
        return { id, props: { ...props, members }, inputs: { ...withoutReport(props), members } };
    },
};
