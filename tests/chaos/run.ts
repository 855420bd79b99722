/**
 * The chaos runner (issue 27): `npm run chaos -- --seed S --steps N [--max-minutes 30] [--plan]`.
 *
 * Deploys a 3-member lab stack through the engine, starts the recorder (tests/chaos/go) on every
 * member with the stack's admin credentials, then runs N steps drawn by the seed from a weighted
 * menu (plan.ts), each followed by the invariants (invariants.ts). At the end: the recorder
 * stopped, its history checked with porcupine (0 violations, every final read answered), results in
 * tests/chaos/results/<time>.json, the step list printed; the lab taken down, also on failure.
 * Every engine run and host command is bounded, and the whole run by --max-minutes.
 * `--plan` prints the seed's step list and touches nothing.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { descendants, engineUnavailable, scratchStack, ScratchStack } from "../engine/engine";
import { Etcdctl } from "../lab/etcdClient";
import { labAvailable, labDown, labRun, labUp } from "../lab/lab";
import { adminCredentials, labStackConfig, labTarball, releaseTarball } from "../lab/labStack";
import { tarballMissing } from "../skip";
import { CheckResult, RecorderSummary, check, chaosTools, chaosToolsMissing, startRecorder } from "./chaosTools";
import { ChaosContext, ChaosFailure, chaosTuning, clientUrl, sleep } from "./context";
import { checkConverged } from "./invariants";
import { describe, drawSteps, startRelease } from "./plan";
import { ChaosResults, StepResult, saveFailure, stamp, stepLines, writeResults } from "./results";
import { runStep } from "./steps";
import { applyMutant, mutants } from "./mutants";

interface Args { seed: number; steps: number; maxMinutes: number; plan: boolean; workers: number; keys: number; mutant?: string }

function parseArgs(argv: string[]): Args {
    const args: Args = { seed: NaN, steps: 5, maxMinutes: 30, plan: false, workers: 4, keys: 6 };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const num = () => {
            const v = Number(argv[++i]);
            if (!Number.isInteger(v) || v < 0) throw new Error(`${a} needs a whole number, got '${argv[i]}'`);
            return v;
        };
        switch (a) {
            case "--seed": args.seed = num(); break;
            case "--steps": args.steps = num(); break;
            case "--max-minutes": args.maxMinutes = num(); break;
            case "--workers": args.workers = num(); break;
            case "--keys": args.keys = num(); break;
            case "--plan": args.plan = true; break;
            // A deliberately broken program (tests/chaos/mutants.ts): the run must fail.
            case "--mutant": args.mutant = argv[++i]; if (!(args.mutant in mutants)) throw new Error(`--mutant: one of ${Object.keys(mutants).join(", ")}`); break;
            default: throw new Error(`unknown argument '${a}' (usage: npm run chaos -- --seed S --steps N [--max-minutes 30] [--workers 4] [--keys 6] [--plan] [--mutant NAME])`);
        }
    }
    if (Number.isNaN(args.seed)) args.seed = Math.floor(Math.random() * 1_000_000);
    return args;
}

const say = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

/** Every process below this one (the engine's, if an aborted run left any), killed by its id. */
function killDescendants(): void {
    for (const pid of descendants(process.pid)) { try { process.kill(pid, "SIGKILL"); } catch { /* gone */ } }
}

/** Each lab host's etcd journal (precise times, for a health sample's moment) as `journal-<host>.log` in `dir`; never throws. */
function saveJournals(dir: string): string[] {
    const hosts = labRun(["hosts"], 30_000).stdout.split("\n").filter((h) => h !== "");
    return hosts.map((h) => {
        const r = labRun(["ssh", h, "journalctl", "-u", "etcd", "--no-pager", "-o", "short-precise"], 60_000);
        const file = path.join(dir, `journal-${h}.log`);
        fs.writeFileSync(file, r.code === 0 ? r.stdout : `journalctl on ${h} failed (exit ${r.code}): ${r.stderr}`);
        return file;
    });
}

async function main(): Promise<number> {
    const args = parseArgs(process.argv.slice(2));
    const steps = drawSteps(args.seed, args.steps);
    const reproduce = `npm run chaos -- --seed ${args.seed} --steps ${args.steps}${args.mutant ? ` --mutant ${args.mutant}` : ""}`;
    console.log(`chaos: seed ${args.seed}, ${args.steps} steps (reproduce: ${reproduce}):\n${stepLines(steps)}`);
    if (args.plan) return 0;

    // A list that upgrades deploys the older release first (plan.ts).
    const release = startRelease(steps);
    const missing = engineUnavailable() ?? labAvailable() ?? tarballMissing(labTarball) ?? tarballMissing(releaseTarball(release)) ?? chaosToolsMissing();
    if (missing) { console.error(`chaos: cannot run: ${missing}`); return 2; }

    const startedAt = new Date();
    const name = stamp(startedAt);
    const budgetMs = args.maxMinutes * 60_000;
    // Steps stop 2 minutes before the budget: the recorder's stop, the check and lab down (about 20 s
    // in the first run) and an aborted engine run's last minute fit in them.
    const stepDeadline = startedAt.getTime() + budgetMs - 2 * 60_000;
    const runAbort = new AbortController();
    let budgetSpent = false;
    const watchdog = setTimeout(() => {
        budgetSpent = true;
        say(`chaos: the step budget (--max-minutes ${args.maxMinutes}) is spent: aborting`);
        runAbort.abort();
    }, Math.max(0, stepDeadline - Date.now()));
    const onSignal = (sig: string) => () => { say(`chaos: ${sig}: aborting, then cleaning up`); runAbort.abort(); };
    process.on("SIGINT", onSignal("SIGINT"));
    process.on("SIGTERM", onSignal("SIGTERM"));

    const head = spawnSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8", timeout: 10_000 }).stdout?.trim() ?? "";
    // The runner's own files changed since that commit: the run is of the working tree, and says so.
    const dirty = (spawnSync("git", ["status", "--porcelain", "--", "tests/chaos", "package.json"], { encoding: "utf8", timeout: 10_000 }).stdout ?? "")
        .split("\n").some((l) => /\.ts$|package\.json$/.test(l));
    const results: ChaosResults = {
        seed: args.seed, stepsRequested: args.steps, stepsRun: 0, startedAt: startedAt.toISOString(), commit: dirty ? `${head} (tests/chaos or package.json changed since)` : head, reproduce,
        result: "failed", steps: steps.map((s) => ({ n: s.n, kind: s.kind, step: describe(s), ms: 0, result: "not run" } as StepResult)),
        faults: 0, historiesChecked: 0, violations: 0, refusals: {}, timePerStepKind: {}, engineRuns: { count: 0, ms: 0 },
    };
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-chaos-"));
    const history = path.join(work, "history.jsonl");
    const html = path.join(work, "history.html");
    let scratch: ScratchStack | undefined;
    let etcdctl: Etcdctl | undefined;
    let ctx: ChaosContext | undefined;
    let failure: string | undefined;
    /** Set when the budget stopped the run between steps: not a failure of the product, an incomplete run. */
    let outOfBudget: string | undefined;
    let recorderEnd: { code: number | null; summary?: RecorderSummary; stderr: string } | undefined;
    let checked: CheckResult | undefined;
    const tools = chaosTools();
    const journals: string[] = [];

    try {
        say("lab: down (whatever another run left), then up 3 hosts");
        labDown();
        labUp(3);
        scratch = await scratchStack("lab", { ...labStackConfig(3, releaseTarball(release)), version: release, tuning: chaosTuning });
        if (args.mutant) {
            results.mutant = args.mutant;
            say(`mutant ${args.mutant} applied to the scratch copy: ${applyMutant(scratch.dir, args.mutant).what}`);
        }
        etcdctl = Etcdctl.extract(labTarball);
        ctx = new ChaosContext(scratch, etcdctl, runAbort.signal, stepDeadline, say);

        const t0 = Date.now();
        say(`deploy: up of a 3-member stack (etcd ${release})`);
        await ctx.upConverging("deploy", []);
        ctx.admin = await adminCredentials(scratch, etcdctl, "chaos-admin");
        ctx.recorder = startRecorder(tools, [
            "-endpoints", ctx.endpoints(), "-cacert", ctx.admin.ca, "-cert", ctx.admin.cert!, "-key", ctx.admin.key!,
            "-out", history, "-workers", String(args.workers), "-keys", String(args.keys), "-prefix", "chaos/",
            "-seed", String(args.seed), "-stdin",
        ], budgetMs + 10 * 60_000);
        await sleep(2000);
        if (ctx.recorder.child.exitCode !== null) throw new ChaosFailure(`the recorder ended at once: ${(await ctx.recorder.done).stderr.slice(-1000)}`);
        say(`recorder: ${args.workers} workers on ${ctx.members.map(clientUrl).join(", ")}`);
        // The deploy is not a step: its cluster is checked, its preview left out (one engine run, ~1 min on a busy machine).
        await checkConverged(ctx, "deploy", { preview: false });
        results.timePerStepKind["deploy"] = { count: 1, ms: Date.now() - t0 };

        for (const step of steps) {
            const r = results.steps[step.n - 1];
            if (runAbort.signal.aborted) throw new ChaosFailure(`aborted before step ${step.n}`);
            if (ctx.remaining() < 150_000) {
                outOfBudget = `the budget (--max-minutes ${args.maxMinutes}) left too little for step ${step.n} (${Math.round(ctx.remaining() / 1000)} s)`;
                say(`stopping: ${outOfBudget}`);
                break;
            }
            say(`step ${step.n}/${steps.length}: ${describe(step)}`);
            const started = Date.now();
            try {
                await runStep(ctx, step);
                await checkConverged(ctx, `step ${step.n} (${step.kind})`);
                r.result = "ok";
            } catch (e) {
                r.error = (e as Error).message;
                // The budget's watchdog aborted the step (its engine run cancelled): cut, not failed; the run is incomplete.
                r.result = budgetSpent ? "cut" : "failed";
                if (!budgetSpent) throw e;
                outOfBudget = `the budget (--max-minutes ${args.maxMinutes}) ran out during step ${step.n}, which was cut (${r.error.split("\n")[0].slice(0, 200)})`;
                say(`stopping: ${outOfBudget}`);
            } finally {
                r.ms = Date.now() - started;
                const k = (results.timePerStepKind[step.kind] ??= { count: 0, ms: 0 });
                k.count++;
                k.ms += r.ms;
                if (r.result === "ok" || r.result === "failed") results.stepsRun++;
            }
            if (r.result === "cut") break;
        }
    } catch (e) {
        failure = e instanceof ChaosFailure ? e.message : `${(e as Error).stack ?? e}`;
        say(`FAILED: ${failure}`);
    } finally {
        clearTimeout(watchdog);
        if (ctx?.recorder) {
            say("recorder: stopping (stdin closed), then the final reads");
            const run = ctx.recorder;
            run.child.stdin!.end();
            const kill = setTimeout(() => run.child.kill("SIGTERM"), 90_000);
            recorderEnd = await run.done;
            clearTimeout(kill);
            say(`recorder: ${JSON.stringify(recorderEnd.summary ?? { code: recorderEnd.code, stderr: recorderEnd.stderr.slice(-500) })}`);
        }
        if (fs.existsSync(history)) {
            checked = check(tools, history, 5 * 60_000);
            say(`checker (exit ${checked.code}): ${JSON.stringify(checked.summary ?? checked.stderr.slice(-500))}`);
        }
        if (runAbort.signal.aborted) killDescendants();
        // A failed run keeps each host's etcd journal: the hosts are gone after the down below.
        if (failure || (checked && checked.code !== 0)) journals.push(...saveJournals(work));
        // lab.sh down stops every host, whatever fault a failed step left on it.
        say("lab: down");
        etcdctl?.dispose();
        await scratch?.dispose().catch(() => undefined);
        const down = labRun(["down"], 5 * 60_000);
        if (down.code !== 0) say(`lab.sh down failed (exit ${down.code}): ${down.stderr.slice(-500)}`);
    }

    // The verdict.
    const s = checked?.summary;
    if (s) {
        results.historiesChecked = 1;
        results.requests = { total: s.ops, ok: s.ok, failed: s.failed, unknown: s.unknown };
        results.unknownOutcomes = s.unknown;
        results.unobserved = s.unobserved;
        results.finalReads = s.finalReads;
        results.checker = { result: s.result, porcupine: s.porcupine, revisionOrder: s.revisionOrder, ms: s.ms, keys: s.keys, clients: s.clients };
        results.violations = s.result === "not linearizable" ? 1 : 0;
    }
    if (recorderEnd?.summary) results.recorder = { stoppedBy: recorderEnd.summary.stoppedBy, ms: recorderEnd.summary.ms, failedDials: recorderEnd.summary.failedDials };
    const problems: string[] = [];
    if (failure) problems.push(failure);
    if (ctx?.recorder && !checked) problems.push("the recorder left no history to check");
    if (checked && checked.code !== 0) problems.push(`the checker: ${s?.result ?? `exit ${checked.code}`}: ${checked.stderr.trim().slice(-500)}`);
    if (s && s.finalReads.ok !== s.keys) problems.push(`final reads: ${s.finalReads.ok} of ${s.keys} keys answered`);
    results.result = problems.length > 0 ? "failed" : results.stepsRun === args.steps ? "passed" : "incomplete";
    if (problems.length > 0) results.failure = problems.join("\n");
    if (outOfBudget) results.stoppedEarly = outOfBudget;
    results.faults = ctx?.faults ?? 0;
    results.refusals = ctx?.refusals ?? {};
    results.engineRuns = { count: ctx?.engineRuns.length ?? 0, ms: ctx?.engineRuns.reduce((a, r) => a + r.ms, 0) ?? 0 };
    const finished = new Date();
    results.finishedAt = finished.toISOString();
    results.durationMs = finished.getTime() - startedAt.getTime();
    if (results.result === "failed") results.saved = saveFailure(name, [history, html, `${history}.html`, ...journals], ctx?.engineLogs ?? []);
    const file = writeResults(results, name);
    fs.rmSync(work, { recursive: true, force: true });

    console.log(`\nchaos: seed ${args.seed}: ${results.result.toUpperCase()} in ${Math.round(results.durationMs / 1000)} s; ` +
        `${results.stepsRun} of ${args.steps} steps; faults ${results.faults}; requests ${results.requests?.total ?? 0} ` +
        `(unknown ${results.unknownOutcomes ?? 0}, unobserved ${results.unobserved ?? 0}); violations ${results.violations}; ` +
        `refusals ${JSON.stringify(results.refusals)}`);
    for (const r of results.steps) console.log(`  ${String(r.n).padStart(2)}. ${r.result.padEnd(7)} ${(r.ms / 1000).toFixed(1).padStart(6)} s  ${r.step}${r.error ? `\n        ${r.error.slice(0, 400)}` : ""}`);
    if (results.stoppedEarly) console.log(`stopped early: ${results.stoppedEarly}`);
    if (results.failure) console.log(`failure:\n${results.failure}`);
    if (results.saved) console.log(`saved: ${results.saved}`);
    console.log(`results: ${file}\nreproduce: ${reproduce}`);
    return results.result === "passed" ? 0 : 1;
}

main().then((code) => process.exit(code), (e) => { console.error(e); process.exit(1); });
