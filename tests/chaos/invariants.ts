/**
 * What must hold after every chaos step (issue 27): the stack converged (its `up` succeeded, checked
 * by the step, and the next `preview --refresh` shows no change), and the cluster lists exactly the
 * stack's members, at the stack's addresses, all voting and all healthy.
 */
import { parseEndpointStatus } from "../lab/etcdClient";
import { ChaosContext, ChaosFailure, Member, clientUrl, sleep } from "./context";

/** A member as `etcdctl member list -w simple` shows it. */
export interface Listed { id: string; status: string; name: string; peer: string; learner: boolean }

export async function memberList(ctx: ChaosContext, endpoints = ctx.endpoints()): Promise<Listed[]> {
    const r = await ctx.etcdctl.run(endpoints, ["member", "list", "-w", "simple"], ctx.admin);
    if (r.code !== 0) throw new ChaosFailure(`member list through ${endpoints} failed: ${r.out.trim().slice(-500)}`);
    return r.out.trim().split("\n").map((l) => l.split(", ")).map((f) => ({ id: f[0], status: f[1], name: f[2], peer: f[3], learner: f[5] === "true" }));
}

/** Waits (at most `ms`) until every one of `members` answers `endpoint health` on its own. */
export async function waitHealthy(ctx: ChaosContext, members: Member[], ms = 90_000): Promise<string[]> {
    const deadline = Date.now() + ms;
    for (;;) {
        const down: string[] = [];
        for (const m of members) if ((await ctx.etcdctl.run(clientUrl(m), ["endpoint", "health", "--command-timeout=3s"], ctx.admin, 15_000)).code !== 0) down.push(m.name);
        if (down.length === 0 || Date.now() >= deadline) return down;
        await sleep(1000);
    }
}

/** The invariants after a step; throws a ChaosFailure naming the first that does not hold. */
export async function checkConverged(ctx: ChaosContext, label: string, opts: { preview?: boolean } = {}): Promise<void> {
    const want = ctx.members;
    // The cluster: exactly the stack's members, started (named), voting, at the stack's addresses.
    const listed = await memberList(ctx);
    const got = listed.map((m) => `${m.name || `(unstarted ${m.id})`} ${m.peer}${m.learner ? " learner" : ""}`).sort();
    const expected = want.map((m) => `${m.name} https://${m.address}:2380`).sort();
    if (JSON.stringify(got) !== JSON.stringify(expected)) {
        throw new ChaosFailure(`${label}: the cluster lists [${got.join("; ")}], the stack [${expected.join("; ")}]`);
    }
    // Healthy: each member answers a linearizable read on its own (a fresh member may take a few seconds).
    const down = await waitHealthy(ctx, want, 30_000);
    if (down.length > 0) throw new ChaosFailure(`${label}: not healthy 30 s after the step: ${down.join(", ")}`);
    if (opts.preview === false) {
        ctx.say(`    ${want.length} members listed, voting, healthy`);
        return;
    }
    // Converged: the next preview --refresh shows no change.
    const preview = await ctx.engine("preview", `${label}: converged?`, []);
    // The preview's StepLog lists its changes, the refresh's own steps left out.
    const changes = preview.log.changed().map((name) => `${name} ${preview.log.ops.get(name)}`);
    if (!preview.ok) throw new ChaosFailure(`${label}: the preview --refresh after the step failed: ${(preview.error ?? "").slice(-1500)}`);
    if (changes.length > 0) throw new ChaosFailure(`${label}: not converged: the next preview --refresh shows ${changes.join(", ")}`);
    ctx.say(`    converged: ${want.length} members listed, voting, healthy; preview --refresh empty (${(preview.ms / 1000).toFixed(1)} s)`);
}

/** The member that leads now, by `endpoint status` (undefined when none answers with a leader). */
export async function leaderOf(ctx: ChaosContext, members: Member[] = ctx.members): Promise<Member | undefined> {
    const r = await ctx.etcdctl.run(ctx.endpoints(members), ["endpoint", "status", "-w", "json"], ctx.admin, 20_000);
    const leading = parseEndpointStatus(r.out).find((s) => s.leader);
    return members.find((m) => leading && clientUrl(m) === leading.endpoint);
}

/** Lines of an engine error that say nothing of the why: the engine's and the command provider's wrappers. */
const wrapperLine = /^(error: )?(update failed|preview failed|\d+ errors? occurred:?|Process exited with status \d+|running ".*|Command failed with exit code \d+.*)$/;

/**
 * Whether a failed up's Diagnostics name, for every resource that failed, the member or host it
 * failed on and why (issue 27: "a failed up names the host and the cause"). Returns what is
 * missing, or undefined when each failed resource's block (its name, its lines) names one of
 * `members` (by name, host or address) and has a line beyond the engine's own wrappers.
 */
export function unnamedFailure(output: string, members: Member[]): string | undefined {
    const diagnostics = output.split(/^Diagnostics:$/m)[1];
    if (diagnostics === undefined) return "no Diagnostics block in the up's output";
    const blocks = diagnostics.split(/^(?= {2}\S+ \([^)]*\):$)/m).filter((b) => /^ {2}\S+ \(/.test(b));
    const failed = blocks.filter((b) => /^ {4}error: /m.test(b) && !/^ {2}pulumi:pulumi:Stack /.test(b));
    if (failed.length === 0) return "no resource failed in the Diagnostics (only the stack's own error)";
    const named = new RegExp(members.flatMap((m) => [m.name, m.name.replace(/^lab-/, "lab"), m.address])
        .map((x) => `\\b${x.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\b`).join("|"));
    for (const block of failed) {
        const [header, ...lines] = block.trimEnd().split("\n");
        const said = lines.map((l) => l.trim()).filter((l) => l !== "" && !wrapperLine.test(l));
        if (!named.test(block)) return `${header.trim()} failed naming no member or host: ${said.join(" / ").slice(0, 300)}`;
        if (said.length === 0) return `${header.trim()} failed without a cause: ${lines.map((l) => l.trim()).join(" / ").slice(0, 300)}`;
    }
    return undefined;
}
