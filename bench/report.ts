/** The bench's results file and the tables bench/README.md shows, computed from one run's measurements. */
import { RunAnalysis, SshAnalysis } from "./analysis";
import { CpuReport } from "./cpu";
import { Summary, round, secs, spread, summarize } from "./stats";

export interface Measure { seconds: number; ssh?: SshAnalysis; cpu?: CpuReport; changes?: Record<string, number>; extra?: Record<string, unknown> }

export interface SizeResults {
    size: number;
    floor: Measure[];
    classic: Measure[];
    emptyUp: Measure[];
    emptyPreview: Measure[];
    coldUp: Measure[];
    /**
     * The first `up` after the cold up: nothing to change on any host, but a new cluster's members
     * were started together, so this run records the roll's order (each step's dependencies) in
     * the state: one state write per step. Optional: results files from before this field lack it.
     */
    secondUp?: Measure[];
    noopPreview: Measure[];
    noopUp: Measure[];
    /**
     * The no-op preview again with PULUMI_NODEJS_TRANSPILE_ONLY=true: what type-checking the program
     * costs each run. Results files up to 2026-12-03 morning; no longer measured, since the program
     * is transpile-only anyway (tsconfig.pulumi.json's noCheck).
     */
    noopPreviewTranspileOnly?: Measure[];
    /**
     * The no-op preview again with PULUMI_DEBUG_PROMISE_LEAKS=true, under which the program lets
     * ts-node source-map every stack trace the SDK records for its promises, as it did before
     * components/base/promiseStacks.ts: what that mapping costs each run.
     */
    noopPreviewMappedStacks?: Measure[];
    /** A cold up with PULUMI_SKIP_CHECKPOINTS=true (state saved once at the end, not after every step); results files up to 2026-12-03 afternoon have it for the largest size only. */
    coldUpSkipCheckpoints: Measure[];
    /** Analysis of each cold up (spans, critical path, chains). */
    coldUpAnalysis: RunAnalysis[];
}

export interface RollResults {
    size: number;
    coldUp: Measure[];
    roll: Measure[];
    rollAnalysis: RunAnalysis[];
    /** One member restarted by hand and waited for (new process, healthy over mTLS), measured on the host, seconds. */
    restart: Array<{ host: string; newProcess: number; healthy: number }>;
}

export interface BenchResults {
    meta: Record<string, unknown>;
    sizes: SizeResults[];
    roll?: RollResults;
    /** `--profile-cli`: the CLI's CPU profile of one more cold up, as `go tool pprof -top` prints it. */
    cliProfile?: { size: number; seconds: number; flat: string[]; cumulative: string[] };
    notes: string[];
}

const sum = (ms: Measure[]) => summarize(ms.map((m) => m.seconds));
const med = (ms: Measure[]) => sum(ms)?.median;

export interface Goal { goal: string; target: string; measured: string; value?: number; met?: boolean }

/** The issue's goals, each a ratio of medians measured in this one run. */
export function goals(r: BenchResults): Goal[] {
    const size = (n: number) => r.sizes.find((s) => s.size === n);
    const out: Goal[] = [];
    for (const n of [3, 7]) {
        const s = size(n);
        const cold = s && med(s.coldUp);
        const empty = s && med(s.emptyUp);
        const floor = s && med(s.floor);
        const v = cold !== undefined && empty !== undefined && floor ? (cold - empty) / floor : undefined;
        out.push({
            goal: `(cold up − empty up) ÷ floor, ${n} members`, target: "≤ 2 (then 1.5)", value: v,
            measured: v === undefined ? "not measured" : `(${secs(cold)} − ${secs(empty)}) ÷ ${secs(floor)} = **${v.toFixed(2)}**`,
            met: v === undefined ? undefined : v <= 2,
        });
    }
    const perMember = r.sizes.flatMap((s) => s.coldUp.map((m) => Math.max(...Object.values(m.ssh?.sessionsPerHost ?? {}))).filter(Number.isFinite));
    const sessionsBySize = r.sizes.map((s) => {
        const per = s.coldUp.map((m) => Object.values(m.ssh?.sessionsPerHost ?? {}));
        const flat = per.flat();
        return flat.length ? `${s.size} members: ${Math.min(...flat)}–${Math.max(...flat)}` : `${s.size}: –`;
    });
    const worst = perMember.length ? Math.max(...perMember) : undefined;
    out.push({
        goal: "SSH sessions per member in a cold up (hosts' sshd logs)", target: "≤ 6", value: worst,
        measured: worst === undefined ? "not measured" : `**${worst}** at most (${sessionsBySize.join("; ")})`,
        met: worst === undefined ? undefined : worst <= 6,
    });
    {
        const c3 = size(3) && med(size(3)!.coldUp), c7 = size(7) && med(size(7)!.coldUp);
        const f3 = size(3) && med(size(3)!.floor), f7 = size(7) && med(size(7)!.floor);
        const ok = c3 && c7 && f3 && f7;
        out.push({
            goal: "7/3 ratio of cold ups vs the floor's", target: "cold 7/3 ≤ floor 7/3", value: ok ? (c7! / c3!) : undefined,
            measured: ok ? `cold ${secs(c7)} ÷ ${secs(c3)} = **${(c7! / c3!).toFixed(2)}**; floor ${secs(f7)} ÷ ${secs(f3)} = ${(f7! / f3!).toFixed(2)}` : "not measured",
            met: ok ? c7! / c3! <= f7! / f3! : undefined,
        });
    }
    const s7 = size(7);
    for (const [label, a, b] of [["no-op preview ÷ empty-stack preview, 7 members", s7?.noopPreview, s7?.emptyPreview], ["no-op up ÷ empty-stack up, 7 members", s7?.noopUp, s7?.emptyUp]] as const) {
        const x = a && med(a), y = b && med(b);
        const v = x && y ? x / y : undefined;
        out.push({ goal: label, target: "≤ 2", value: v, measured: v === undefined ? "not measured" : `${secs(x)} ÷ ${secs(y)} = **${v.toFixed(2)}**`, met: v === undefined ? undefined : v <= 2 });
    }
    {
        const roll = r.roll && med(r.roll.roll);
        const one = r.roll && summarize(r.roll.restart.map((x) => x.healthy))?.median;
        const n = r.roll?.size ?? 5;
        const v = roll && one ? roll / (n * one) : undefined;
        out.push({
            goal: `rolling config change of ${n} ÷ (${n} × one member's restart + health wait)`, target: "≤ 1.1", value: v,
            measured: v === undefined ? "not measured" : `${secs(roll)} ÷ (${n} × ${secs(one, 2)}) = **${v.toFixed(2)}**`,
            met: v === undefined ? undefined : v <= 1.1,
        });
    }
    return out;
}

/**
 * For the goals not met, what this run's own medians say it would take: the cold up without the
 * per-step checkpoints (the experiment), the steps a no-op run could have at 2 × an empty stack's
 * (a line through the sizes' step counts and times), the engine's fixed part of a roll.
 */
export function wouldClose(r: BenchResults, g: Goal[] = goals(r)): string[] {
    const out: string[] = [];
    const unmet = (prefix: string) => g.some((x) => x.goal.startsWith(prefix) && x.met === false);
    const steps = (ms: Measure[]) => summarize(ms.map((m) => Number((m.extra ?? {}).steps)).filter(Number.isFinite))?.median;
    if (unmet("(cold up")) {
        for (const s of r.sizes.filter((x) => x.coldUpSkipCheckpoints.length)) {
            const cold = med(s.coldUp), skip = med(s.coldUpSkipCheckpoints), empty = med(s.emptyUp), floor = med(s.floor);
            const n = steps(s.coldUp) ?? medianRun(s.coldUpAnalysis)?.resources;
            if (cold === undefined || skip === undefined || empty === undefined || !floor) continue;
            out.push(`- **Cold up, ${s.size} members**: without a state checkpoint after each step it took ${secs(skip)} (was ${secs(cold)}): ` +
                `(${secs(skip)} − ${secs(empty)}) ÷ ${secs(floor)} = **${((skip - empty) / floor).toFixed(2)}**` +
                (n ? `; the checkpoints cost ${((cold - skip) / n * 1000).toFixed(0)} ms per step over ${n} steps.` : "."));
        }
    }
    if (unmet("7/3")) {
        const [s3, s7] = [3, 7].map((n) => r.sizes.find((x) => x.size === n));
        const c3 = s3 && med(s3.coldUp), c7 = s7 && med(s7.coldUp), f3 = s3 && med(s3.floor), f7 = s7 && med(s7.floor);
        const skip3 = s3 && med(s3.coldUpSkipCheckpoints), skip7 = s7 && med(s7.coldUpSkipCheckpoints);
        if (c3 && c7 && f3 && f7) {
            const allowed = c3 * f7 / f3;
            out.push(`- **7/3 ratio**: at the floor's ratio (${(f7 / f3).toFixed(2)}) a cold up of 7 would take at most ${secs(allowed)}, ${secs(c7 - allowed)} less than now` +
                (skip7 !== undefined ? `; the 7-member run's checkpoints took ${secs(c7 - skip7)}` : "") +
                (skip3 && skip7 !== undefined ? `; both without checkpoints: ${secs(skip7)} ÷ ${secs(skip3)} = ${(skip7 / skip3).toFixed(2)}.`
                    : skip7 !== undefined ? ` (without them: ${secs(skip7)} ÷ ${secs(c3)} = ${(skip7 / c3).toFixed(2)}, the 3-member run keeping its own).` : "."));
        }
    }
    for (const [label, pick, emptyOf] of [["No-op preview", (s: SizeResults) => s.noopPreview, (s: SizeResults) => s.emptyPreview], ["No-op up", (s: SizeResults) => s.noopUp, (s: SizeResults) => s.emptyUp]] as const) {
        if (!unmet(label.toLowerCase())) continue;
        const points = r.sizes.map((s) => ({ size: s.size, steps: steps(pick(s)), t: med(pick(s)), empty: med(emptyOf(s)) }))
            .filter((p): p is { size: number; steps: number; t: number; empty: number } => p.steps !== undefined && p.t !== undefined && p.empty !== undefined);
        if (points.length < 2) continue;
        const [lo, hi] = [points[0], points[points.length - 1]];
        if (hi.steps === lo.steps) continue;
        const perStep = (hi.t - lo.t) / (hi.steps - lo.steps);
        const atZero = lo.t - perStep * lo.steps;
        const target = 2 * hi.empty;
        const allowed = Math.floor((target - atZero) / perStep);
        out.push(`- **${label}**: ${(perStep * 1000).toFixed(0)} ms per step (${lo.size} members: ${lo.steps} steps, ${secs(lo.t)}; ${hi.size} members: ${hi.steps} steps, ${secs(hi.t)}); ` +
            `the same run with no step would take ${secs(atZero)}. At 2 × the empty stack's ${secs(hi.empty)} = ${secs(target)}, ` +
            (allowed > 0 ? `${hi.size} members could have at most **${allowed} steps** (${(allowed / hi.size).toFixed(1)} per member; they have ${hi.steps}).` : `no number of steps fits: the program's own start is over the target.`));
    }
    if (r.roll && unmet("rolling")) {
        const a = r.roll.rollAnalysis;
        const fixed = summarize(a.map((x) => x.beforeFirstStep + x.afterLastStep))?.median;
        const one = summarize(r.roll.restart.map((x) => x.healthy))?.median;
        const roll = med(r.roll.roll);
        const empty = summarize(r.sizes.flatMap((s) => s.emptyUp.map((m) => m.seconds)))?.median;
        const n = r.roll.size;
        if (fixed !== undefined && one && roll !== undefined && empty !== undefined) {
            const target = 1.1 * n * one;
            out.push(`- **Rolling change of ${n}**: the target is 1.1 × ${n} × ${secs(one, 2)} = ${secs(target)}; the engine's own time before the first step and after the last is ${secs(fixed)} of it ` +
                `(${Math.round(100 * fixed / target)}%), and an empty stack's whole \`up\` ${secs(empty)} (${Math.round(100 * empty / target)}%). Without the empty stack's cost: ` +
                `(${secs(roll)} − ${secs(empty)}) ÷ (${n} × ${secs(one, 2)}) = **${((roll - empty) / (n * one)).toFixed(2)}**.`);
        }
    }
    return out;
}

const metCell = (g: Goal) => g.met === undefined ? "not measured" : g.met ? "met" : "**not met**";

function measureRows(r: BenchResults): string[] {
    const rows: string[] = ["| measure | " + r.sizes.map((s) => `${s.size} members`).join(" | ") + " |", "|---|" + r.sizes.map(() => "---|").join("")];
    const row = (label: string, pick: (s: SizeResults) => Summary | undefined) =>
        rows.push(`| ${label} | ${r.sizes.map((s) => spread(pick(s))).join(" | ")} |`);
    row("floor: one ssh per host, all at once, one tar, `--no-block`, health poll", (s) => sum(s.floor));
    row("classic: host by host, a scp per file, starts one after another, checked", (s) => sum(s.classic));
    row("empty stack `pulumi up` (engine's fixed cost)", (s) => sum(s.emptyUp));
    row("empty stack `pulumi preview`", (s) => sum(s.emptyPreview));
    row("program: cold `pulumi up` to all-healthy", (s) => sum(s.coldUp));
    row("program: the first `up` after the cold up (nothing changes on a host; records the roll's order)", (s) => sum(s.secondUp ?? []));
    row("program: no-op `pulumi preview`", (s) => sum(s.noopPreview));
    row("program: no-op `pulumi up`", (s) => sum(s.noopUp));
    if (r.sizes.some((s) => s.noopPreviewTranspileOnly?.length)) row("program: no-op preview, `PULUMI_NODEJS_TRANSPILE_ONLY=true` (experiment)", (s) => sum(s.noopPreviewTranspileOnly ?? []));
    if (r.sizes.some((s) => s.noopPreviewMappedStacks?.length)) row("program: no-op preview with the SDK's promise stacks source-mapped, `PULUMI_DEBUG_PROMISE_LEAKS=true` (experiment: as before components/base/promiseStacks.ts)", (s) => sum(s.noopPreviewMappedStacks ?? []));
    row("program: cold `pulumi up`, `PULUMI_SKIP_CHECKPOINTS=true` (experiment; results files up to 2026-12-03 afternoon: the largest size only)", (s) => sum(s.coldUpSkipCheckpoints));
    if (r.roll) {
        rows.push("", `| ${r.roll.size} members | median (min–max) |`, "|---|---|");
        rows.push(`| program: cold \`pulumi up\` | ${spread(sum(r.roll.coldUp))} |`);
        rows.push(`| program: rolling config change (\`tuning.snapshotCount\`) | ${spread(sum(r.roll.roll))} |`);
        rows.push(`| one member's restart + health wait, by hand on the host (${r.roll.restart.length} restarts: every member, ${Math.round(r.roll.restart.length / r.roll.size)} rounds) | ${spread(summarize(r.roll.restart.map((x) => x.healthy)))} |`);
    }
    return rows;
}

/** The cold up of median length among the runs of one size (its analysis). */
export function medianRun(analyses: RunAnalysis[]): RunAnalysis | undefined {
    const sorted = [...analyses].sort((a, b) => a.seconds - b.seconds);
    return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** Where the fixed-cost runs spend their time: medians of each phase. */
function phaseRows(r: BenchResults): string[] {
    const lines = ["| run (medians) | total | engine prelude at | stack registered at | first resource step at | steps | after the last step |", "|---|---|---|---|---|---|---|"];
    for (const s of r.sizes) {
        for (const [label, ms] of [["empty up", s.emptyUp], ["empty preview", s.emptyPreview], ["first up after the cold up", s.secondUp ?? []], ["no-op preview", s.noopPreview], ["no-op up", s.noopUp], ["no-op preview, transpile only", s.noopPreviewTranspileOnly ?? []], ["no-op preview, promise stacks mapped", s.noopPreviewMappedStacks ?? []]] as const) {
            if (ms.length === 0) continue;
            const m = (k: string) => summarize(ms.map((x) => Number((x.extra ?? {})[k])).filter(Number.isFinite))?.median;
            lines.push(`| ${label}, ${s.size} members | ${secs(med(ms))} | ${secs(m("preludeAt"))} | ${secs(m("stackAt"))} | ${label.startsWith("empty") ? "–" : secs(m("beforeFirstStep"))} | ${m("steps") ?? "–"} | ${label.startsWith("empty") ? "–" : secs(m("afterLastStep"))} |`);
        }
    }
    return lines;
}

/** CPU seconds by where they went, medians over the runs of each kind. */
function cpuRows(r: BenchResults): string[] {
    const cols: Array<[string, Measure[]]> = [];
    for (const s of r.sizes) {
        cols.push([`floor, ${s.size}`, s.floor], [`cold up, ${s.size}`, s.coldUp]);
        if (s.coldUpSkipCheckpoints.length) cols.push([`cold up without checkpoints, ${s.size}`, s.coldUpSkipCheckpoints]);
        cols.push([`no-op preview, ${s.size}`, s.noopPreview], [`no-op preview transpile-only, ${s.size}`, s.noopPreviewTranspileOnly ?? []], [`no-op preview, promise stacks mapped, ${s.size}`, s.noopPreviewMappedStacks ?? []]);
    }
    if (r.roll) cols.push([`rolling change, ${r.roll.size}`, r.roll.roll]);
    const withCpu = cols.filter(([, ms]) => ms.some((m) => m.cpu));
    if (withCpu.length === 0) return [];
    const cell = (ms: Measure[], f: (c: CpuReport) => number) => {
        const v = summarize(ms.filter((m) => m.cpu).map((m) => f(m.cpu!)))?.median;
        return v === undefined ? "–" : v.toFixed(1);
    };
    const kinds = [...new Set(withCpu.flatMap(([, ms]) => ms.flatMap((m) => Object.keys(m.cpu?.engineByKind ?? {}))))]
        .filter((k) => !k.startsWith("other ("));
    const hostsTotal = (c: CpuReport) => Object.values(c.hosts).reduce((a, h) => a + h.total, 0);
    const etcd = (c: CpuReport) => Object.values(c.hosts).reduce((a, h) => a + h.etcd, 0);
    const rows: Array<[string, (c: CpuReport) => number]> = [
        ["wall clock", (c) => c.wallSeconds],
        ["machine busy (both cores)", (c) => c.machineBusy],
        ["engine, providers and local commands (exact)", (c) => c.engine],
        ...kinds.map((k): [string, (c: CpuReport) => number] => [`  own CPU: ${k}`, (c) => c.engineByKind[k] ?? 0]),
        ["lab hosts (exact)", hostsTotal],
        ["  etcd (own CPU)", etcd],
        ["  sshd and what the steps run", (c) => Math.max(0, hostsTotal(c) - etcd(c))],
        ["the bench itself (sampling)", (c) => c.bench],
        ["everything else (kernel, other work)", (c) => c.other],
    ];
    return [
        "| CPU seconds (medians) | " + withCpu.map(([l]) => l).join(" | ") + " |",
        "|---|" + withCpu.map(() => "---|").join(""),
        ...rows.map(([label, f]) => `| ${label} | ${withCpu.map(([, ms]) => cell(ms, f)).join(" | ")} |`),
    ];
}

function whereRows(s: SizeResults): string[] {
    const a = medianRun(s.coldUpAnalysis);
    if (!a) return [];
    const idx = s.coldUpAnalysis.indexOf(a);
    const m = s.coldUp[idx];
    const lines: string[] = [`#### Cold up, ${s.size} members (the run of median length: ${secs(a.seconds)})`, ""];
    lines.push(`- before the first resource step: ${secs(a.beforeFirstStep)} (engine prelude at ${secs(a.preludeAt)}, stack registered at ${secs(a.stackAt)}, then the program compiled, type-checked and run up to its first resource); after the last step: ${secs(a.afterLastStep)}`);
    lines.push(`- ${a.resources} resource steps, ${a.remoteResources} of them over SSH; their spans add up to ${secs(a.remoteStepSeconds)}`);
    lines.push(`- critical path: ${a.criticalPath.length} steps, ${secs(a.criticalInSteps)} inside steps, ${secs(a.criticalBetweenSteps)} between them (engine and provider latency)`);
    if (m?.ssh) {
        lines.push(`- SSH: ${Object.entries(m.ssh.sessionsPerHost).map(([h, n]) => `${h} ${n}`).join(", ")} sessions (+ ${Object.values(m.ssh.unauthenticatedPerHost).reduce((x, y) => x + y, 0)} unauthenticated host-key reads); ` +
            `handshake (TCP accept → authenticated, sshd's clock) median ${secs(m.ssh.handshakeMedian, 3)}, ${secs(m.ssh.handshakeTotal)} in all; ` +
            `${m.ssh.openAfterLastStep ?? "?"} of ${Object.values(m.ssh.sessionsPerHost).reduce((x, y) => x + y, 0)} connections were still open when the last step ended (connection lifetime median ${secs(m.ssh.sessionMedian, 2)})`);
    }
    if (m?.cpu) {
        const c = m.cpu;
        const kinds = Object.entries(c.engineByKind).sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(", ");
        const hostTotal = Object.values(c.hosts).reduce((x, h) => x + h.total, 0);
        const etcd = Object.values(c.hosts).reduce((x, h) => x + h.etcd, 0);
        lines.push(`- CPU (s, of ${(2 * c.wallSeconds).toFixed(0)} available on 2 cores): machine busy ${c.machineBusy.toFixed(1)}; engine and providers ${c.engine.toFixed(1)} (own CPU: ${kinds}); ` +
            `lab hosts ${hostTotal.toFixed(1)} (etcd ${etcd.toFixed(1)}, sshd and what the steps run ${(hostTotal - etcd).toFixed(1)}); other ${c.other.toFixed(1)}`);
    }
    lines.push("", "| step kind | count | median s |", "|---|---|---|");
    for (const [k, v] of Object.entries(a.medianByKind)) lines.push(`| ${k} | ${v.n} | ${v.median.toFixed(2)} |`);
    lines.push("", "| member | first step starts | service done (promotion included) | Δ service vs previous member | SSH resources |", "|---|---|---|---|---|");
    let prev: number | undefined;
    for (const x of a.members) {
        lines.push(`| ${x.member} | ${secs(x.firstStart)} | ${secs(x.serviceEnd)} | ${prev !== undefined && x.serviceEnd !== undefined ? secs(x.serviceEnd - prev) : "–"} | ${x.remoteResources} |`);
        prev = x.serviceEnd;
    }
    lines.push("", "Critical path (wait = from the dependency's end to this step's start):", "", "```");
    for (const p of a.criticalPath) lines.push(`${p.start.toFixed(1).padStart(6)}–${p.end.toFixed(1).padEnd(6)} ${p.seconds.toFixed(2).padStart(5)} s  wait ${p.waitBefore.toFixed(2).padStart(5)}  ${p.name}`);
    lines.push("```", "");
    return lines;
}

export function markdown(r: BenchResults, resultsFile: string): string {
    const g = goals(r);
    const lines = [
        `Measured ${r.meta.date} on ${r.meta.host} (${r.meta.cores} cores), commit ${r.meta.commit}, ${r.meta.runs} runs per measure, all in one bench run of ${secs(Number(r.meta.benchSeconds), 0)} ` +
        `(\`npm run bench${(r.meta.argv as string[] | undefined)?.length ? " -- " + (r.meta.argv as string[]).join(" ") : ""}\`); load average ${(r.meta.loadavgAtStart as number[]).map((x) => x.toFixed(1)).join(" ")} at the start; raw numbers in \`${resultsFile}\`.`,
        "",
        "| goal (issue 11) | target | measured (medians of this run) | |",
        "|---|---|---|---|",
        ...g.map((x) => `| ${x.goal} | ${x.target} | ${x.measured} | ${metCell(x)} |`),
        "",
        ...measureRows(r),
        "",
        ...(() => { const w = wouldClose(r, g); return w.length ? ["What the goals not met would take, from this run's medians:", "", ...w, ""] : []; })(),
        "### Where the time goes (generated from the same run)",
        "",
        "#### Runs with nothing to do",
        "",
        ...phaseRows(r),
        "",
        ...r.sizes.flatMap(whereRows),
    ];
    if (r.roll) {
        const a = medianRun(r.roll.rollAnalysis);
        if (a) {
            const svc = a.spans.filter((s) => s.kind === "service");
            lines.push(`#### Rolling change, ${r.roll.size} members (the run of median length: ${secs(a.seconds)})`, "");
            lines.push(`- before the first resource step: ${secs(a.beforeFirstStep)}; after the last: ${secs(a.afterLastStep)}; ${a.resources} steps ran`);
            lines.push(`- service (restart) steps: ${svc.map((s) => `${s.member} ${s.seconds.toFixed(1)} s`).join(", ")}; by hand a restart + health wait takes ${secs(summarize(r.roll.restart.map((x) => x.healthy))?.median, 2)} (new process after ${secs(summarize(r.roll.restart.map((x) => x.newProcess))?.median, 2)})`);
            lines.push(`- critical path ${secs(a.criticalInSteps)} inside steps, ${secs(a.criticalBetweenSteps)} between them`, "", "```");
            for (const p of a.criticalPath) lines.push(`${p.start.toFixed(1).padStart(6)}–${p.end.toFixed(1).padEnd(6)} ${p.seconds.toFixed(2).padStart(5)} s  wait ${p.waitBefore.toFixed(2).padStart(5)}  ${p.name}`);
            lines.push("```", "");
        }
    }
    const cpu = cpuRows(r);
    if (cpu.length) lines.push("#### CPU", "", ...cpu, "");
    if (r.cliProfile) {
        lines.push(`#### The CLI's CPU profile (\`pulumi up --profiling\`, one more cold up of ${r.cliProfile.size} members: ${secs(r.cliProfile.seconds)})`, "",
            "Heaviest functions by cumulative time (`go tool pprof -top -cum`):", "", "```", ...r.cliProfile.cumulative.slice(0, 36), "```", "",
            "By own time (`go tool pprof -top`):", "", "```", ...r.cliProfile.flat.slice(0, 26), "```", "");
    }
    if (r.notes.length) lines.push("Notes from the run:", "", ...r.notes.map((n) => `- ${n}`), "");
    return lines.join("\n");
}

export { round };
