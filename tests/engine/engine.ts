/**
 * Drives the real Pulumi engine (the offline toolchain from scripts/toolchain.sh)
 * through the Automation API, in a scratch copy of the project so that test stacks
 * never write into the repository's stacks/ directory.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { spawn, spawnSync } from "child_process";
import { EngineEvent, LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { readPins } from "../pins";

export const repoRoot = path.resolve(__dirname, "../..");
export const cacheDir = process.env.ETCD_STACK_CACHE ?? path.join(os.homedir(), ".cache/etcd-stack");
const binDir = path.join(cacheDir, "pulumi/bin");

/** One engine run (`up`, `preview`, `refresh`, `destroy`) of this process and its wall time. */
export interface EngineRun { op: string; ms: number }

/**
 * Every engine run of this process not yet counted: tests/summary-reporter.js takes them after each
 * test and hook, so the time table shows how much of each file's time the engine took (issue 26).
 * A global, because the reporter is plain JavaScript loaded before ts-node compiles this module.
 */
export const engineRuns: EngineRun[] = ((globalThis as { __etcdStackEngineRuns?: EngineRun[] }).__etcdStackEngineRuns ??= []);

const engineOps = ["up", "preview", "refresh", "destroy"] as const;

/** Records an engine run of `op` that began at `started` (epoch ms) and ends now. */
function recordRun(op: string, started: number): void {
    engineRuns.push({ op, ms: Date.now() - started });
}

/** Records `op`'s wall time once `run` settles, whatever its outcome. */
function timed<T>(op: string, started: number, run: Promise<T>): Promise<T> {
    return run.finally(() => recordRun(op, started));
}

/**
 * The tests' PULUMI_HOME: the plugins scripts/toolchain.sh installed under pulumi/home (linked), and
 * no automatic log. The CLI (3.259) writes a debug-level log of every command to PULUMI_HOME/logs
 * (gzipped, encrypted with the stack's secrets manager, 3–7 MB per run here, rotated at 500 MB) and
 * has no setting to turn it off; it carries on without one when it cannot create that directory
 * (`StartLogging` in pkg/logging/encrypted.go), so here `logs` is an empty file. The log was about a
 * third of the CLI's CPU in a preview of the lab stack (bench/engineRun.ts; issue 26). A failing test
 * prints the engine's own output; scripts/pulumi-env.sh's PULUMI_HOME (the demo, a person) keeps the log.
 */
export function testsPulumiHome(): string {
    const home = path.join(cacheDir, "pulumi/home-tests");
    const logs = path.join(home, "logs");
    fs.mkdirSync(home, { recursive: true });
    try { fs.symlinkSync(path.join(cacheDir, "pulumi/home/plugins"), path.join(home, "plugins")); } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    if (fs.lstatSync(logs, { throwIfNoEntry: false })?.isFile() !== true) {
        fs.rmSync(logs, { recursive: true, force: true });
        fs.writeFileSync(logs, "");
    }
    return home;
}

/** The environment scripts/pulumi-env.sh sets up: no step may try the network. */
function engineEnv(backendDir: string): Record<string, string> {
    return {
        PATH: `${binDir}:${process.env.PATH ?? ""}`,
        PULUMI_HOME: testsPulumiHome(),
        // Every node process of the engine (program, dynamic provider) loads tests/engine/nodePreload.js:
        // npm's arborist, which @pulumi/pulumi loads at start and this program never uses, loaded on first use.
        NODE_OPTIONS: [process.env.NODE_OPTIONS, `--require ${JSON.stringify(path.join(__dirname, "nodePreload.js"))}`].filter(Boolean).join(" "),
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_BACKEND_URL: fileBackendUrl(backendDir),
        PULUMI_CONFIG_PASSPHRASE: "etcd-stack-test",
    };
}

/**
 * A file backend in `dir` that writes no metadata sidecar files. By default the file backend
 * (gocloud's fileblob) writes `<stack>.json.attrs` beside every checkpoint with a plain truncate-
 * and-write, not atomically like the checkpoint itself: an engine killed in between leaves it
 * empty, and every later command on the stack fails with "failed to load checkpoint: EOF" (seen in
 * the lab's killed-engine test, reproduced by emptying the file). `metadata=skip` turns them off.
 */
export function fileBackendUrl(dir: string): string {
    return `file://${dir}?metadata=skip`;
}

/** Provider plugins and their pinned versions (scripts/toolchain/pins.tsv). */
export function pinnedPlugins(): Array<{ name: string; version: string }> {
    return readPins().filter((p) => !["cli", "language-nodejs"].includes(p.piece)).map((p) => ({ name: p.piece, version: p.version }));
}

/** Why the engine cannot run here, or undefined when it can. */
export function engineUnavailable(): string | undefined {
    for (const bin of ["pulumi", "pulumi-language-nodejs"]) {
        if (!fs.existsSync(path.join(binDir, bin))) return `${bin} not built: run 'bash scripts/toolchain.sh'`;
    }
    for (const { name, version } of pinnedPlugins()) {
        const plugin = path.join(cacheDir, "pulumi/home/plugins", `resource-${name}-v${version}`, `pulumi-resource-${name}`);
        if (!fs.existsSync(plugin)) return `plugin ${name} ${version} not installed: run 'bash scripts/toolchain.sh'`;
    }
    return undefined;
}

let pulumiCommandOnce: Promise<PulumiCommand> | undefined;

export interface ScratchStack {
    stack: Stack;
    dir: string;
    /** The environment the pulumi CLI runs this stack with (for the project's own scripts). */
    env: Record<string, string>;
    /** Rewrites the stack's config file with `change` applied (keys without `etcd:`; undefined removes). */
    setConfig(change: Record<string, unknown>): void;
    /** Runs the pulumi CLI on this stack (for what the Automation API lacks, e.g. export --show-secrets). */
    cli(args: string[]): { code: number; stdout: string; stderr: string };
    /**
     * Runs `pulumi up` as a plain process and SIGKILLs the whole engine (CLI, language host,
     * providers: its process group) as soon as its output matches `at` — as if the operator's
     * machine died there. Bounded: killed anyway after `timeoutMs`. Returns the output until then.
     */
    upKilledAt(at: RegExp, timeoutMs?: number): Promise<string>;
    /** Removes the stack's state and the scratch copy. */
    dispose(): Promise<void>;
}

/**
 * A copy of the project (program, components, tsconfig) with one stack whose config
 * is `config` (keys without the `etcd:` prefix), in its own local file backend.
 */
/**
 * Makes `scratch` run a program of tests/engine/fixtures (and the files it reads, `alsoCopy`) instead
 * of index.ts: the fixtures import the real components, which the scratch copy holds.
 */
export function useFixtureProgram(scratch: ScratchStack, fixture: string, alsoCopy: string[] = []): void {
    const rel = `tests/engine/fixtures/${fixture}`;
    for (const file of [rel, ...alsoCopy]) {
        fs.mkdirSync(path.dirname(path.join(scratch.dir, file)), { recursive: true });
        fs.copyFileSync(path.join(repoRoot, file), path.join(scratch.dir, file));
    }
    fs.writeFileSync(path.join(scratch.dir, "index.ts"), `import "./${rel.replace(/\.ts$/, "")}";\n`);
}

export async function scratchStack(stackName: string, config: Record<string, unknown>,
    opts: { env?: Record<string, string> } = {}): Promise<ScratchStack> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-engine-"));
    for (const entry of ["Pulumi.yaml", "index.ts", "components", "tsconfig.json", "tsconfig.pulumi.json", "package.json"]) {
        fs.cpSync(path.join(repoRoot, entry), path.join(dir, entry), { recursive: true });
    }
    fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(dir, "node_modules"));
    fs.mkdirSync(path.join(dir, "stacks"));
    fs.mkdirSync(path.join(dir, "state"));
    const stackConfig = Object.fromEntries(Object.entries(config).map(([k, v]) => [`etcd:${k}`, v]));
    const stackFile = path.join(dir, "stacks", `Pulumi.${stackName}.yaml`);
    fs.writeFileSync(stackFile, yaml.dump({ config: stackConfig }));

    // opts.env: bench/engineRun.ts compares the engine's settings (e.g. the ones before issue 26).
    const env = { ...engineEnv(path.join(dir, "state")), ...opts.env };
    // `pulumi version` once per process, not once per scratch stack (issue 26).
    pulumiCommandOnce ??= PulumiCommand.get({ root: path.dirname(binDir) });
    const pulumiCommand = await pulumiCommandOnce;
    const workspace = await LocalWorkspace.create({ workDir: dir, envVars: env, pulumiCommand });
    const stack = await Stack.create(stackName, workspace);
    for (const op of engineOps) {
        const run = stack[op].bind(stack) as (...args: unknown[]) => Promise<unknown>;
        (stack as unknown as Record<string, unknown>)[op] = (...args: unknown[]) => timed(op, Date.now(), run(...args));
    }
    return {
        stack,
        dir,
        env,
        setConfig(change) {
            // Keep everything else in the file (the engine adds the secrets' encryption salt).
            const doc = yaml.load(fs.readFileSync(stackFile, "utf8")) as { config: Record<string, unknown> };
            for (const [k, v] of Object.entries(change)) {
                if (v === undefined) delete doc.config[`etcd:${k}`];
                else doc.config[`etcd:${k}`] = v;
            }
            fs.writeFileSync(stackFile, yaml.dump(doc));
        },
        cli(args) {
            const started = Date.now();
            const r = spawnSync(path.join(binDir, "pulumi"), [...args, "--stack", stackName, "--non-interactive"], {
                cwd: dir, env: { ...process.env, ...env }, encoding: "utf8", maxBuffer: 256 * 1024 * 1024, timeout: 5 * 60_000,
            });
            if ((engineOps as readonly string[]).includes(args[0])) recordRun(args[0], started);
            return { code: r.status ?? 1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
        },
        upKilledAt(at, timeoutMs = 5 * 60_000) {
            return new Promise<string>((resolve) => {
                const started = Date.now();
                const child = spawn(path.join(binDir, "pulumi"), ["up", "--yes", "--skip-preview", "--stack", stackName, "--non-interactive"],
                    { cwd: dir, env: { ...process.env, ...env }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
                let out = "";
                // The engine's plugins (language host, providers) run in process groups of their own:
                // every descendant is killed too, as a machine crash would.
                const kill = () => {
                    for (const pid of [child.pid!, ...descendants(child.pid!)]) {
                        try { process.kill(pid, "SIGKILL"); } catch { /* already gone */ }
                    }
                };
                const timer = setTimeout(kill, timeoutMs);
                child.stdout!.on("data", (d: Buffer) => {
                    out += d.toString();
                    if (at.test(out)) kill();
                });
                child.on("close", () => { clearTimeout(timer); recordRun("up (killed)", started); resolve(out); });
            });
        },
        async dispose() {
            // The stack's state lives in the scratch copy (its file backend, dir/state): removing the
            // copy removes it, without one more CLI run (`stack rm`, ~0.4 s; issue 26).
            if (env.PULUMI_BACKEND_URL !== fileBackendUrl(path.join(dir, "state"))) {
                await workspace.removeStack(stackName, { force: true }).catch(() => undefined);
            } else {
                // What `stack rm` also removed: the copy's selected-stack record in PULUMI_HOME, named
                // after the project and the sha1 of its Pulumi.yaml's path.
                try {
                    const projectFile = fs.realpathSync(path.join(dir, "Pulumi.yaml"));
                    const project = (yaml.load(fs.readFileSync(projectFile, "utf8")) as { name: string }).name;
                    const sha1 = crypto.createHash("sha1").update(projectFile).digest("hex");
                    fs.rmSync(path.join(env.PULUMI_HOME, "workspaces", `${project}-${sha1}-workspace.json`), { force: true });
                } catch { /* nothing recorded */ }
            }
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}

/**
 * A stack of another Pulumi program in `dir` (its own Pulumi.yaml, index.ts and node_modules), run
 * with the engine's offline environment, in a file backend of its own (`dir/state`) or `backendDir`
 * (a scratch stack's `state`, which a StackReference then reads): a program that uses this project
 * as a library (tests/engine/library.test.ts) or reads a stack of it (tests/lab/consumer.test.ts).
 * Config keys as given (namespaced).
 */
export async function programStack(dir: string, stackName: string, config: Record<string, unknown>,
    backendDir = path.join(dir, "state")): Promise<{ stack: Stack; env: Record<string, string> }> {
    fs.mkdirSync(backendDir, { recursive: true });
    const env = engineEnv(backendDir);
    pulumiCommandOnce ??= PulumiCommand.get({ root: path.dirname(binDir) });
    const workspace = await LocalWorkspace.create({ workDir: dir, envVars: env, pulumiCommand: await pulumiCommandOnce });
    const stack = await Stack.create(stackName, workspace);
    for (const [key, value] of Object.entries(config)) {
        await stack.setConfig(key, typeof value === "string" ? { value } : { value: JSON.stringify(value) });
    }
    return { stack, env };
}

/** Every process below `pid` (children, their children…), read from /proc. */
export function descendants(pid: number): number[] {
    const children = new Map<number, number[]>();
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            // The parent is the 2nd field after the command name, which may itself hold spaces or parentheses.
            const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
            const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
            children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
        } catch { /* gone meanwhile */ }
    }
    const out: number[] = [];
    const walk = (p: number) => { for (const c of children.get(p) ?? []) { out.push(c); walk(c); } };
    walk(pid);
    return out;
}

/** What one engine run did to each resource, from its events: resource name → operation. */
export class StepLog {
    readonly ops = new Map<string, string>();
    /** Top-level inputs that differ, per changed resource (as the engine's diff reports them). */
    readonly diffs = new Map<string, string[]>();
    readonly lines: string[] = [];
    /** When this process saw each changed resource's step begin and end (ms; the events arrive up to 0.2 s late). */
    readonly began = new Map<string, number>();
    readonly ended = new Map<string, number>();
    private readonly components = new Set<string>();

    readonly onEvent = (e: EngineEvent) => {
        const meta = e.resourcePreEvent?.metadata;
        // A refresh's own steps (`preview --refresh`, `up --refresh`) read; they change nothing.
        if (meta && !["same", "refresh", "read"].includes(meta.op) && meta.type !== "pulumi:pulumi:Stack") {
            const name = meta.urn.split("::").pop()!;
            this.ops.set(name, meta.op);
            this.diffs.set(name, [...(meta.diffs ?? [])].sort());
            this.began.set(name, Date.now());
            if (meta.type.startsWith("etcd:index:")) this.components.add(name);
        }
        const done = e.resOutputsEvent?.metadata;
        if (done && done.op !== "same") this.ended.set(done.urn.split("::").pop()!, Date.now());
    };

    readonly onOutput = (line: string) => { this.lines.push(line); };

    /** Resource names with a change (create, update, replace, delete…), sorted. */
    changed(): string[] {
        return [...this.ops.keys()].sort();
    }

    get output(): string {
        return this.lines.join("");
    }

    /**
     * Changed resources whose step ran at some moment between `from` and `to` (epoch ms), in order
     * of start; components (`etcd:index:*`), which span their children's steps, left out.
     */
    runningBetween(from: number, to: number): string[] {
        return [...this.began].filter(([name, b]) => !this.components.has(name) && b <= to && (this.ended.get(name) ?? Infinity) >= from)
            .sort((a, b) => a[1] - b[1]).map(([name]) => name);
    }
}
