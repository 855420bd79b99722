/**
 * The speed bench of issue 11 (`npm run bench`, which holds /tmp/etcd-stack-lab.lock for the
 * whole run): starts lab hosts, measures in one run the floor, the classic procedure and the
 * program through the real engine, writes bench/results/<time>.json and the tables in
 * bench/README.md, and tears the lab down. Bounded: a fixed number of runs, every step with a
 * timeout, and a deadline after which the remaining measures are skipped (and said so).
 *
 *   npm run bench                          # 3 runs of each measure, 3 and 7 members, the roll on 5
 *   npm run bench -- --runs 1              # quick: one run of each
 *   npm run bench -- --sizes 3 --roll 0    # only 3 members, no rolling change
 *   npx ts-node bench/bench.ts --render bench/results/<file>.json   # only rewrite bench/README.md's tables (no lab, no lock)
 *   options: --runs N  --sizes 3,7  --roll 5|0  --max-minutes M  --keep-lab  --no-readme
 *            --profile-cli: one more cold up of the largest size, with the CLI's CPU profile (`pulumi up --profiling`), its top functions kept
 */
import { execSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as paths from "../components/base/paths";
import { pkiPath } from "../components/spec/where";
import { engineUnavailable, repoRoot } from "../tests/engine/engine";
import { Etcdctl } from "../tests/lab/etcdClient";
import { labAvailable, labDown, labSshAsync, labUp } from "../tests/lab/lab";
import { labTarball } from "../tests/lab/labStack";
import { tarballMissing } from "../tests/skip";
import { readStackFile } from "../tests/stackFile";
import { analyzeRun, analyzeSsh } from "./analysis";
import { CpuSampler } from "./cpu";
import { TimedRun, dependencyGraph, emptyStack, programStack, timedRun } from "./engineRuns";
import { labSpec, runClassic, runFloor } from "./floor";
import { hostSupervisors, hostsFor, sshConnections, sshdVerbose, wipe } from "./hosts";
import { BenchResults, RollResults, SizeResults, markdown } from "./report";
import { round } from "./stats";

interface Options { render?: string; runs: number; sizes: number[]; roll: number; maxMinutes: number; keepLab: boolean; readme: boolean; profileCli: boolean }

function parseArgs(argv: string[]): Options {
    const o: Options = { runs: 3, sizes: [3, 7], roll: 5, maxMinutes: 40, keepLab: false, readme: true, profileCli: false };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const next = () => { const v = argv[++i]; if (v === undefined) throw new Error(`${a} needs a value`); return v; };
        if (a === "--runs") o.runs = Number(next());
        else if (a === "--quick") o.runs = 1;
        else if (a === "--sizes") o.sizes = next().split(",").map(Number);
        else if (a === "--roll") o.roll = Number(next());
        else if (a === "--max-minutes") o.maxMinutes = Number(next());
        else if (a === "--keep-lab") o.keepLab = true;
        else if (a === "--no-readme") o.readme = false;
        else if (a === "--profile-cli") o.profileCli = true;
        else if (a === "--render") o.render = next();
        else throw new Error(`unknown option ${a} (see bench/bench.ts)`);
    }
    if (!Number.isInteger(o.runs) || o.runs < 1 || o.runs > 10) throw new Error("--runs: 1..10");
    if (o.sizes.some((s) => ![3, 5, 7].includes(s))) throw new Error("--sizes: 3, 5 or 7");
    if (![0, 3, 5, 7].includes(o.roll)) throw new Error("--roll: 0 (off), 3, 5 or 7");
    return o;
}

const t0 = Date.now();
/** Set once this run starts changing the lab: only then does a failure take it down. */
let labTouched = false;
const stamp = () => `[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s]`;
const log = (msg: string) => console.log(`${stamp()} ${msg}`);

async function main(): Promise<void> {
    const o = parseArgs(process.argv.slice(2));
    if (o.render) {
        const results = JSON.parse(fs.readFileSync(o.render, "utf8")) as BenchResults;
        writeReadme(markdown(results, path.relative(repoRoot, path.resolve(o.render))));
        console.log(`bench/README.md rewritten from ${o.render}`);
        return;
    }
    const why = engineUnavailable() ?? labAvailable() ?? tarballMissing(labTarball);
    if (why) throw new Error(`the bench cannot run here: ${why}`);
    const deadline = t0 + o.maxMinutes * 60_000;
    const notes: string[] = [];
    const timeLeft = (what: string) => {
        if (Date.now() < deadline) return true;
        notes.push(`${what}: skipped, the bench's ${o.maxMinutes}-minute bound was reached`);
        log(`deadline reached: ${what} skipped`);
        return false;
    };
    const hostsNeeded = Math.max(...o.sizes, o.roll);
    const results: BenchResults = {
        meta: {
            date: new Date().toISOString(), host: os.hostname(), cores: os.cpus().length,
            commit: execSync("git rev-parse --short HEAD", { cwd: repoRoot, encoding: "utf8" }).trim(),
            dirty: execSync("git status --porcelain -- components index.ts", { cwd: repoRoot, encoding: "utf8" }).trim() !== "",
            argv: process.argv.slice(2), runs: o.runs, sizes: o.sizes, roll: o.roll, loadavgAtStart: os.loadavg(), etcd: readStackFile("lab").version,
        },
        sizes: [], notes,
    };

    // A fresh lab: hosts left by another run may trust another clone's lab key.
    log(`lab: down, then up ${hostsNeeded}`);
    labTouched = !o.keepLab;
    labDown();
    labUp(hostsNeeded);
    await sshdVerbose(hostsFor(hostsNeeded));
    const etcdctl = Etcdctl.extract(labTarball);
    try {
        for (const size of o.sizes) results.sizes.push(await measureSize(size, o, timeLeft, etcdctl));
        if (o.roll > 0 && timeLeft(`rolling change on ${o.roll}`)) results.roll = await measureRoll(o.roll, o, timeLeft);
        if (o.profileCli && timeLeft("CLI profile")) {
            try {
                results.cliProfile = await profileCli(Math.max(...o.sizes));
            } catch (e) {
                notes.push(`CLI profile not taken: ${e instanceof Error ? e.message : e}`);
            }
        }
    } finally {
        etcdctl.dispose();
        if (!o.keepLab) { log("lab: down"); labDown(); }
    }
    results.meta.loadavgAtEnd = os.loadavg();
    results.meta.benchSeconds = (Date.now() - t0) / 1000;

    const name = `${new Date(t0).toISOString().replace(/[:.]/g, "-")}.json`;
    const file = path.join(__dirname, "results", name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(results, null, 1) + "\n");
    const md = markdown(results, `bench/results/${name}`);
    if (o.readme) writeReadme(md);
    console.log("\n" + md);
    log(`results: ${path.relative(repoRoot, file)}${o.readme ? ", tables in bench/README.md" : ""}`);
}

/** Replaces the generated section of bench/README.md. */
function writeReadme(md: string): void {
    const readme = path.join(__dirname, "README.md");
    const text = fs.readFileSync(readme, "utf8");
    const [open, close] = ["<!-- bench:results -->", "<!-- /bench:results -->"];
    const a = text.indexOf(open), b = text.indexOf(close);
    if (a < 0 || b < a) throw new Error(`bench/README.md has no ${open} … ${close} section`);
    fs.writeFileSync(readme, text.slice(0, a + open.length) + "\n" + md + "\n" + text.slice(b));
}

/** When a run reached its phases, and how its resource steps spread (no spans kept). */
function phases(run: TimedRun): Record<string, unknown> {
    const a = analyzeRun(run);
    return {
        preludeAt: a.preludeAt, stackAt: a.stackAt, beforeFirstStep: a.beforeFirstStep, afterLastStep: a.afterLastStep,
        steps: a.resources, stepSeconds: round(a.spans.reduce((x, y) => x + y.seconds, 0)),
    };
}

/** Sessions each host's sshd logged during [from, to]. */
async function sshFor(size: number, from: number, to: number) {
    return analyzeSsh(await sshConnections(hostsFor(size), from, to));
}

async function measureSize(size: number, o: Options, timeLeft: (what: string) => boolean, etcdctl: Etcdctl): Promise<SizeResults> {
    const hosts = hostsFor(size);
    const s: SizeResults = { size, floor: [], classic: [], emptyUp: [], emptyPreview: [], coldUp: [], secondUp: [], noopPreview: [], noopUp: [], noopPreviewMappedStacks: [], coldUpSkipCheckpoints: [], coldUpAnalysis: [] };
    let graph: ReturnType<typeof dependencyGraph> | undefined;
    for (let run = 1; run <= o.runs; run++) {
        if (!timeLeft(`${size} members, run ${run}`)) break;
        const tag = `${size} members, run ${run}/${o.runs}:`;

        await wipe(hosts);
        let sampler = new CpuSampler(hostSupervisors);
        sampler.start();
        let from = Date.now();
        const floor = await runFloor(size);
        let cpu = sampler.stop();
        s.floor.push({ seconds: floor.seconds, ssh: await sshFor(size, from, Date.now()), cpu, extra: { pkiSeconds: floor.pkiSeconds, perHost: floor.perHost } });
        log(`${tag} floor ${floor.seconds.toFixed(1)} s`);

        await wipe(hosts);
        from = Date.now();
        const classic = await runClassic(size, etcdctl);
        s.classic.push({ seconds: classic.seconds, ssh: await sshFor(size, from, Date.now()), extra: { phases: classic.phases, perHost: classic.perHost } });
        log(`${tag} classic ${classic.seconds.toFixed(1)} s`);

        await wipe(hosts);
        const empty = await emptyStack();
        try {
            const up = await timedRun("empty up", empty, "up");
            s.emptyUp.push({ seconds: up.seconds, changes: up.changes, extra: phases(up) });
            const pv = await timedRun("empty preview", empty, "preview");
            s.emptyPreview.push({ seconds: pv.seconds, changes: pv.changes, extra: phases(pv) });
            log(`${tag} empty stack: up ${up.seconds.toFixed(1)} s, preview ${pv.seconds.toFixed(1)} s`);
        } finally {
            await empty.dispose();
        }

        const program = await programStack(size);
        try {
            sampler = new CpuSampler(hostSupervisors);
            from = Date.now();
            const cold = await timedRun(`cold up (${size})`, program, "up", { sampler });
            graph ??= dependencyGraph(program);
            const analysis = analyzeRun(cold, graph);
            const lastStepEnd = cold.startedAt + (cold.seconds - analysis.afterLastStep) * 1000;
            const ssh = analyzeSsh(await sshConnections(hosts, cold.startedAt, cold.endedAt), { from: cold.startedAt, lastStepEnd });
            s.coldUp.push({ seconds: cold.seconds, ssh, cpu: cold.cpu, changes: cold.changes });
            s.coldUpAnalysis.push(analysis);
            log(`${tag} cold up ${cold.seconds.toFixed(1)} s (${analysis.resources} steps; sessions per host ${Object.values(ssh.sessionsPerHost).join(",")})`);

            // The run after a new cluster's cold up writes the roll's order into the state (the
            // cold up started the members together): measured on its own, so that the no-op runs
            // below are what every later run with nothing to do costs.
            const second = await timedRun(`first up after the cold up (${size})`, program, "up");
            s.secondUp!.push({ seconds: second.seconds, changes: second.changes, extra: phases(second) });

            from = Date.now();
            const pv = await timedRun(`no-op preview (${size})`, program, "preview", { sampler: new CpuSampler(hostSupervisors) });
            s.noopPreview.push({ seconds: pv.seconds, changes: pv.changes, cpu: pv.cpu, ssh: await sshFor(size, from, pv.endedAt), extra: phases(pv) });
            const up = await timedRun(`no-op up (${size})`, program, "up");
            s.noopUp.push({ seconds: up.seconds, changes: up.changes, extra: phases(up) });
            const changed = Object.entries(up.changes).filter(([k, v]) => k !== "same" && v > 0);
            if (changed.length > 0) s.noopUp[s.noopUp.length - 1].extra = { unexpectedChanges: Object.fromEntries(changed) };
            // The experiment: the same preview with the SDK's promise stacks source-mapped, as
            // before components/base/promiseStacks.ts (which leak debugging turns off; nothing else changes).
            program.stack.workspace.envVars["PULUMI_DEBUG_PROMISE_LEAKS"] = "true";
            const mapped = await timedRun(`no-op preview, promise stacks mapped (${size})`, program, "preview", { sampler: new CpuSampler(hostSupervisors) });
            delete program.stack.workspace.envVars["PULUMI_DEBUG_PROMISE_LEAKS"];
            s.noopPreviewMappedStacks!.push({ seconds: mapped.seconds, changes: mapped.changes, cpu: mapped.cpu, extra: phases(mapped) });
            log(`${tag} first up after the cold up ${second.seconds.toFixed(1)} s, no-op preview ${pv.seconds.toFixed(1)} s, no-op up ${up.seconds.toFixed(1)} s, preview with promise stacks mapped ${mapped.seconds.toFixed(1)} s`);
        } finally {
            await program.dispose();
        }

        // The second experiment, on every size: a cold up that saves the state once at the end
        // instead of after every step (PULUMI_SKIP_CHECKPOINTS), on wiped hosts.
        await wipe(hosts);
        const again = await programStack(size);
        try {
            again.stack.workspace.envVars["PULUMI_SKIP_CHECKPOINTS"] = "true";
            const sampler2 = new CpuSampler(hostSupervisors);
            const cold = await timedRun(`cold up without checkpoints (${size})`, again, "up", { sampler: sampler2 });
            s.coldUpSkipCheckpoints.push({ seconds: cold.seconds, cpu: cold.cpu, changes: cold.changes, extra: phases(cold) });
            log(`${tag} cold up with PULUMI_SKIP_CHECKPOINTS=true ${cold.seconds.toFixed(1)} s (CLI CPU ${cold.cpu?.engineByKind["pulumi CLI (engine)"]?.toFixed(1)} s)`);
        } finally {
            await again.dispose();
        }
    }
    await wipe(hosts);
    return s;
}

/** Restarts each member by hand, one after another (`rounds` times over the members), timing on the host until a new process answers healthy. */
async function restartByHand(size: number, rounds: number): Promise<RollResults["restart"]> {
    const spec = labSpec(size);
    const ctl = `${paths.binDir}/etcdctl --endpoints https://127.0.0.1:${spec.ports.client} --cacert ${pkiPath(spec, "ca")} --cert ${pkiPath(spec, "serverCert")} --key ${pkiPath(spec, "serverKey")} --command-timeout=5s`;
    const script = [
        "set -eu",
        `old=$(systemctl show -p MainPID --value ${paths.unitName})`,
        `t0=$(date +%s%N)`,
        `systemctl restart --no-block ${paths.unitName}`,
        `n=0; until pid=$(systemctl show -p MainPID --value ${paths.unitName}) && [ "$pid" != 0 ] && [ "$pid" != "$old" ]; do n=$((n+1)); [ $n -lt 1200 ] || exit 1; sleep 0.05; done`,
        `t1=$(date +%s%N)`,
        `n=0; until ${ctl} endpoint health >/dev/null 2>&1; do n=$((n+1)); [ $n -lt 1200 ] || exit 1; sleep 0.05; done`,
        `t2=$(date +%s%N)`,
        `echo "$((t1 - t0)) $((t2 - t0))"`,
    ].join("\n");
    const out: RollResults["restart"] = [];
    for (let round = 0; round < rounds; round++) for (const host of hostsFor(size)) {
        const r = await labSshAsync(host, script, 120_000);
        if (r.code !== 0) throw new Error(`restart by hand on ${host}: ${r.stderr.slice(-300)}`);
        const [a, b] = r.stdout.trim().split(" ").map((x) => Number(x) / 1e9);
        out.push({ host, newProcess: a, healthy: b });
    }
    return out;
}

async function measureRoll(size: number, o: Options, timeLeft: (what: string) => boolean): Promise<RollResults> {
    const hosts = hostsFor(size);
    const r: RollResults = { size, coldUp: [], roll: [], rollAnalysis: [], restart: [] };
    await wipe(hosts);
    const program = await programStack(size);
    try {
        const cold = await timedRun(`cold up (${size})`, program, "up");
        r.coldUp.push({ seconds: cold.seconds, changes: cold.changes });
        // The cold up started the members together; the next run records the roll's order in the
        // state (see measureSize). Rolls are measured from then on, on that order.
        const second = await timedRun(`first up after the cold up (${size})`, program, "up");
        log(`roll ${size}: cold up ${cold.seconds.toFixed(1)} s, first up after it ${second.seconds.toFixed(1)} s`);
        const graph = dependencyGraph(program);
        for (let run = 1; run <= o.runs; run++) {
            if (!timeLeft(`rolling change, run ${run}`)) break;
            program.setConfig({ tuning: { snapshotCount: 10000 + run } });
            const sampler = new CpuSampler(hostSupervisors);
            const from = Date.now();
            const roll = await timedRun(`rolling change (${size})`, program, "up", { sampler });
            const a = analyzeRun(roll, graph);
            const services = a.spans.filter((x) => x.kind === "service").length;
            const lastStepEnd = roll.startedAt + (roll.seconds - a.afterLastStep) * 1000;
            const ssh = analyzeSsh(await sshConnections(hosts, from, roll.endedAt), { from: roll.startedAt, lastStepEnd });
            r.roll.push({ seconds: roll.seconds, changes: roll.changes, cpu: roll.cpu, ssh, extra: { servicesRun: services } });
            r.rollAnalysis.push(a);
            log(`roll ${size}, run ${run}/${o.runs}: ${roll.seconds.toFixed(1)} s (${services} service steps)`);
        }
        if (timeLeft("restart by hand")) {
            r.restart = await restartByHand(size, o.runs);
            log(`roll ${size}: restart + health by hand ${r.restart.map((x) => x.healthy.toFixed(2)).join(", ")} s`);
        }
    } finally {
        await program.dispose();
        await wipe(hosts);
    }
    return r;
}

/**
 * One more cold up, run as a plain `pulumi up --profiling` (the Automation API has no such option),
 * then `go tool pprof -top` of the CLI's CPU profile: which functions of the engine the CPU goes to.
 * Not one of the timed measures (profiling slows the CLI a little).
 */
async function profileCli(size: number): Promise<NonNullable<BenchResults["cliProfile"]>> {
    const hosts = hostsFor(size);
    await wipe(hosts);
    const program = await programStack(size);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-bench-profile-"));
    try {
        const started = Date.now();
        const up = program.cli(["up", "--yes", "--skip-preview", "--profiling", path.join(dir, "cli")]);
        const seconds = (Date.now() - started) / 1000;
        if (up.code !== 0) throw new Error(`profiled up failed: ${up.stderr.slice(-800)}`);
        const cpu = fs.readdirSync(dir).filter((f) => f.endsWith(".cpu")).map((f) => path.join(dir, f));
        if (cpu.length === 0) throw new Error("pulumi --profiling wrote no .cpu profile");
        const top = (flags: string[]) => {
            const r = spawnSync("go", ["tool", "pprof", "-top", "-nodecount=30", ...flags, cpu[0]], { encoding: "utf8", timeout: 120_000 });
            if (r.status !== 0) throw new Error(`go tool pprof: ${r.stderr.slice(-400)}`);
            return r.stdout.split("\n").filter((l) => l.trim() !== "" && !/^(File|Build ID|Type|Time):/.test(l));
        };
        const result = { size, seconds, flat: top([]), cumulative: top(["-cum"]) };
        log(`CLI profile of a cold up (${size}): ${seconds.toFixed(1)} s`);
        return result;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
        await program.dispose();
        await wipe(hosts);
    }
}

main().then(() => process.exit(0), (e) => {
    console.error(`bench failed: ${e instanceof Error ? e.message : e}`);
    if (labTouched) { try { labDown(); } catch { /* reported above */ } }
    process.exit(1);
});
