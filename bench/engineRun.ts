/**
 * What one engine run of the program costs (issue 26: ~130 engine runs in `npm test`), on no hosts:
 * `preview` of a never-deployed 3-member stack as the tests make it (tests/engine/engine.ts's scratch
 * stack, the lab stack's config, the Automation API with onOutput and onEvent). It evaluates the
 * whole program and registers every resource (82); a preview of a create connects to no host.
 * The members are loopback addresses (127.0.0.11–13, closed ports) with keys made here, so no
 * traffic can leave the machine even if a step did connect (checked with strace: the engine's
 * only connections are its own gRPC on 127.0.0.1).
 *
 * Variants of the engine's settings run alternately (A B B A A B …) so load from other work on
 * the 2 cores falls on all of them alike; the result is each variant's median and its ratio to
 * the first variant's, in wall time and in CPU (the engine's processes, exact, from /proc).
 *
 *   npx ts-node bench/engineRun.ts [--runs 6] [--variants before,after] [--op preview|up-local]
 *
 * `up-local`: a cold `up` of the resources no host is involved in (CA, certificates, the cluster
 * token: 40 or so, `--target`ed as tests/engine/policy.test.ts does), a new scratch stack each run.
 *
 * Never a test; writes bench/results/engine-run-<time>.json. Needs the toolchain and the etcd
 * tarball (`scripts/toolchain.sh`, `scripts/etcd-build.sh`), not the lab.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { ScratchStack, cacheDir, scratchStack } from "../tests/engine/engine";
import { labTarball } from "../tests/lab/labStack";
import { readStackFile } from "../tests/stackFile";
import { CpuReport, CpuSampler } from "./cpu";
import { round, summarize } from "./stats";

/** A named set of engine settings: environment overrides on top of tests/engine/engine.ts's. */
interface Variant { name: string; what: string; env: (work: string) => Record<string, string> }

const sharedHome = path.join(cacheDir, "pulumi/home");

const variants: Record<string, Variant> = {
    before: {
        name: "before",
        what: "the settings before issue 26's engine-run work: the shared PULUMI_HOME (the CLI's per-run log on), no node preload",
        env: () => ({ PULUMI_HOME: sharedHome, NODE_OPTIONS: process.env.NODE_OPTIONS ?? "" }),
    },
    after: {
        name: "after",
        what: "tests/engine/engine.ts's settings as committed",
        env: () => ({}),
    },
    semi: {
        name: "semi",
        what: "experiment: after + a larger young generation for the engine's node processes (--max-semi-space-size=32)",
        env: () => ({ NODE_OPTIONS: `--max-semi-space-size=32 --require ${path.join(__dirname, "../tests/engine/nodePreload.js")}` }),
    },
    nolog: {
        name: "nolog",
        what: "experiment: a PULUMI_HOME whose logs/ cannot be created (the CLI's automatic log off), plugins linked",
        env: (work) => {
            const home = path.join(work, "home-nolog");
            if (fs.existsSync(home)) return { PULUMI_HOME: home };
            fs.mkdirSync(home, { recursive: true });
            fs.symlinkSync(path.join(sharedHome, "plugins"), path.join(home, "plugins"));
            fs.writeFileSync(path.join(home, "logs"), "");
            return { PULUMI_HOME: home };
        },
    },
};

function arg(name: string, dflt: string): string {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

/** A client key and known_hosts for 3 loopback members (keys made here, used by no server). */
function fixture(work: string): Record<string, unknown> {
    const key = path.join(work, "id_ed25519");
    const lines: string[] = [];
    spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key, "-C", "bench"]);
    const members = [1, 2, 3].map((i) => ({ name: `lab-${i}`, address: `127.0.0.1${i}`, sshPort: 41000 + i }));
    for (const m of members) {
        const hostKey = path.join(work, `host-${m.name}`);
        spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", hostKey, "-C", m.name]);
        lines.push(`[${m.address}]:${m.sshPort} ${fs.readFileSync(`${hostKey}.pub`, "utf8").split(" ").slice(0, 2).join(" ")}`);
    }
    fs.writeFileSync(path.join(work, "known_hosts"), lines.join("\n") + "\n");
    return {
        ...readStackFile("lab"),
        members,
        sshPrivateKeyPath: key,
        knownHostsPath: path.join(work, "known_hosts"),
        binary: { localTarball: labTarball },
    };
}

interface Sample { variant: string; seconds: number; cpu: CpuReport }

/** What `up-local` creates: the resources no host is involved in (certificates, the cluster token). */
const localTypes = /^(etcd:index:(Cluster|CertificateAuthority|LeafCertificate|MemberCertificates)|tls:|random:)/;

async function oneRun(scratch: ScratchStack, op: string): Promise<void> {
    const quiet = { onOutput: () => undefined, onEvent: () => undefined, signal: AbortSignal.timeout(5 * 60_000) };
    if (op === "preview") {
        const r = await scratch.stack.preview(quiet);
        if ((r.changeSummary.create ?? 0) < 50) throw new Error(`preview registered too little: ${JSON.stringify(r.changeSummary)}`);
    } else if (op === "up-local") {
        // A cold `up` of the local resources, as tests/engine/policy.test.ts and renewal.test.ts run
        // it (--target); the scratch stack is new, so each run creates them all (checkpoints included).
        const stackName = scratch.stack.name;
        const target = localUrns.map((u) => u.replace(/^urn:pulumi:[^:]+::/, `urn:pulumi:${stackName}::`));
        const r = await scratch.stack.up({ ...quiet, target });
        if ((r.summary.resourceChanges?.create ?? 0) < 30) throw new Error(`up created too little: ${JSON.stringify(r.summary.resourceChanges)}`);
    } else throw new Error(`unknown op ${op}`);
}

let localUrns: string[] = [];

async function main(): Promise<void> {
    const runs = Number(arg("runs", "6"));
    const op = arg("op", "preview");
    const chosen = arg("variants", "before,after").split(",").map((v) => {
        if (!variants[v]) throw new Error(`unknown variant ${v}; known: ${Object.keys(variants).join(", ")}`);
        return variants[v];
    });
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-engine-run-"));
    const config = fixture(work);
    const stacks = new Map<string, ScratchStack>();
    const samples: Sample[] = [];
    const started = new Date();
    try {
        for (const v of chosen) stacks.set(v.name, await scratchStack(`bench-${v.name}`, config, { env: v.env(work) }));
        if (op === "up-local") {
            const urns: string[] = [];
            await stacks.get(chosen[0].name)!.stack.preview({ onEvent: (e) => {
                const m = e.resourcePreEvent?.metadata;
                if (m && localTypes.test(m.type)) urns.push(m.urn);
            } });
            localUrns = urns;
        }
        // A fresh stack for every up (a cold up each time), made before the clock starts.
        const fresh = async (v: Variant) => {
            if (op !== "up-local") return;
            await stacks.get(v.name)?.dispose();
            stacks.set(v.name, await scratchStack(`bench-${v.name}`, config, { env: v.env(work) }));
        };
        // One unmeasured run each: caches (the OS's, ts-node's, swc's) warm for all alike.
        for (const v of chosen) await oneRun(stacks.get(v.name)!, op);
        for (let r = 0; r < runs; r++) {
            const order = r % 2 === 0 ? chosen : [...chosen].reverse();
            for (const v of order) {
                await fresh(v);
                const sampler = new CpuSampler(() => new Map());
                sampler.start();
                const t0 = Date.now();
                await oneRun(stacks.get(v.name)!, op);
                const seconds = (Date.now() - t0) / 1000;
                const cpu = sampler.stop();
                samples.push({ variant: v.name, seconds, cpu });
                console.log(`run ${r + 1} ${v.name.padEnd(8)} ${seconds.toFixed(2)} s wall, engine CPU ${cpu.engine.toFixed(2)} s, ` +
                    `machine busy ${cpu.machineBusy.toFixed(1)} s (other work ${cpu.other.toFixed(1)} s)`);
            }
        }
    } finally {
        for (const s of stacks.values()) await s.dispose();
        fs.rmSync(work, { recursive: true, force: true });
    }
    const base = chosen[0].name;
    const med = (v: string, f: (s: Sample) => number) => summarize(samples.filter((s) => s.variant === v).map(f))!;
    const result = {
        measured: started.toISOString(), op, runs, cores: os.cpus().length, loadavgAtEnd: os.loadavg().map((x) => round(x, 1)),
        commit: spawnSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).stdout.trim(),
        variants: chosen.map((v) => {
            const kinds = new Set(samples.filter((s) => s.variant === v.name).flatMap((s) => Object.keys(s.cpu.engineByKind)));
            return {
                name: v.name, what: v.what,
                wall: med(v.name, (s) => s.seconds), engineCpu: med(v.name, (s) => s.cpu.engine),
                cpuByKind: Object.fromEntries([...kinds].sort().map((k) => [k, round(med(v.name, (s) => s.cpu.engineByKind[k] ?? 0).median, 2)])),
                wallRatio: round(med(v.name, (s) => s.seconds).median / med(base, (s) => s.seconds).median),
                cpuRatio: round(med(v.name, (s) => s.cpu.engine).median / med(base, (s) => s.cpu.engine).median),
            };
        }),
        samples: samples.map((s) => ({ variant: s.variant, seconds: s.seconds, engineCpu: s.cpu.engine, other: round(s.cpu.other, 2), byKind: s.cpu.engineByKind })),
    };
    console.log(`\n${op} of a 3-member stack, ${runs} runs per variant, medians (ratio to ${base}):`);
    for (const v of result.variants) {
        console.log(`  ${v.name.padEnd(8)} wall ${v.wall.median.toFixed(2)} s (${v.wall.min.toFixed(2)}–${v.wall.max.toFixed(2)}) ×${v.wallRatio}` +
            `   engine CPU ${v.engineCpu.median.toFixed(2)} s ×${v.cpuRatio}   ${JSON.stringify(v.cpuByKind)}`);
    }
    const out = path.join(__dirname, "results", `engine-run-${started.toISOString().replace(/[:.]/g, "-")}.json`);
    fs.writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
    console.log(`results: ${path.relative(process.cwd(), out)}`);
}

main().catch((e) => { console.error(e); process.exit(1); });
