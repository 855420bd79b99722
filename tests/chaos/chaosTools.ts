/**
 * The chaos tools from TypeScript: the recorder and the checker (tests/chaos/go, built by
 * scripts/chaos-build.sh), and etcd on loopback (one member, or a cluster of several) for testing them.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";

const repoRoot = path.resolve(__dirname, "../..");
export const cacheDir = process.env.ETCD_STACK_CACHE ?? path.join(os.homedir(), ".cache/etcd-stack");

/** Where the recorder and checker binaries are. */
export interface ChaosTools { recorder: string; checker: string }

/** Why the tools cannot be built here (no Go), or undefined. */
export function chaosToolsMissing(): string | undefined {
    return spawnSync("go", ["version"], { encoding: "utf8", timeout: 30_000 }).status === 0
        ? undefined : "Go is missing: the chaos tools are built from Go modules (scripts/chaos-build.sh)";
}

/** The tools, built (or found in the cache, by the hash of their sources) by scripts/chaos-build.sh. */
export function chaosTools(): ChaosTools {
    const r = spawnSync("bash", [path.join(repoRoot, "scripts/chaos-build.sh")], { encoding: "utf8", timeout: 10 * 60_000 });
    if (r.status !== 0) throw new Error(`scripts/chaos-build.sh failed (exit ${r.status}): ${r.stderr}`);
    const dir = r.stdout.trim();
    return { recorder: path.join(dir, "recorder"), checker: path.join(dir, "checker") };
}

/** The model's Go tests (randomized histories of a simulated linearizable store): exit code and output. */
export function goTestModel(timeoutMs = 120_000): { code: number | null; output: string } {
    const r = spawnSync("bash", [path.join(repoRoot, "scripts/chaos-build.sh"), "--test"], { encoding: "utf8", timeout: timeoutMs });
    return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

/** One request of a history, as the recorder writes it (tests/chaos/go/history). */
export interface HistoryRecord {
    client: number; op: "put" | "get" | "delete" | "cas"; key: string; value?: string; old?: string;
    call: number; return: number; outcome: "ok" | "failed" | "unknown"; error?: string;
    rev?: number; found?: boolean; read?: string; modRev?: number; deleted?: number; succeeded?: boolean;
    /** put, delete: the key just before (recorded by the recorder; absent: not checked). */
    prevFound?: boolean; prev?: string; prevModRev?: number;
    /** One of the reads made after the workers stopped. */
    final?: boolean;
}

export function readHistory(file: string): HistoryRecord[] {
    return fs.readFileSync(file, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as HistoryRecord);
}

export interface Counts { ok: number; failed: number; unknown: number }

/** The checker's summary line. */
export interface CheckSummary extends Counts {
    history: string; ops: number; byKind: Record<string, Counts>; keys: number; clients: number; checked: number;
    /** Unknown writes left out because nothing observed them (model.Unobserved). */
    unobserved: number;
    finalReads: Counts;
    result: "linearizable" | "not linearizable" | "timed out"; porcupine: "Ok" | "Illegal" | "Unknown";
    revisionOrder: string; visualization?: string; ms: number;
}

export interface CheckResult { code: number | null; summary?: CheckSummary; stderr: string }

/** Runs the checker on a history file (bounded: `timeoutMs`, porcupine's own budget a little less). */
export function check(tools: ChaosTools, historyFile: string, timeoutMs = 30_000): CheckResult {
    const r = spawnSync(tools.checker, ["-timeout", `${Math.max(1, Math.floor(timeoutMs / 1000) - 5)}s`, historyFile],
        { encoding: "utf8", timeout: timeoutMs });
    const line = r.stdout.trim().split("\n").pop() ?? "";
    return { code: r.status, summary: line.startsWith("{") ? JSON.parse(line) as CheckSummary : undefined, stderr: r.stderr };
}

/** The recorder's summary line. */
export interface RecorderSummary extends Counts { history: string; stoppedBy: string; ms: number; failedDials: number }

export interface RecorderRun { child: ChildProcess; done: Promise<{ code: number | null; summary?: RecorderSummary; stderr: string }> }

/**
 * Starts the recorder with `args` (its flags; -out and -endpoints among them). The process is
 * killed if it has not ended after `timeoutMs`.
 */
export function startRecorder(tools: ChaosTools, args: string[], timeoutMs: number): RecorderRun {
    const child = spawn(tools.recorder, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    child.stdout!.on("data", (d: Buffer) => { stdout += d.toString(); });
    child.stderr!.on("data", (d: Buffer) => { stderr += d.toString(); });
    const done = new Promise<{ code: number | null; summary?: RecorderSummary; stderr: string }>((resolve) => {
        const timer = setTimeout(() => { stderr += `\n(killed after ${timeoutMs} ms)`; child.kill("SIGKILL"); }, timeoutMs);
        child.on("close", (code) => {
            clearTimeout(timer);
            const line = stdout.trim().split("\n").pop() ?? "";
            resolve({ code, summary: line.startsWith("{") ? JSON.parse(line) as RecorderSummary : undefined, stderr });
        });
    });
    return { child, done };
}

/** Replaces a running recorder's endpoints (it was started with -stdin): each worker dials them before its next request. */
export function setRecorderEndpoints(run: RecorderRun, endpoints: string[]): void {
    run.child.stdin!.write(`${JSON.stringify({ endpoints: endpoints.join(",") })}\n`);
}

/** A free TCP port on 127.0.0.1 (free when asked; etcd binds it right after). */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.once("error", reject);
        s.listen(0, "127.0.0.1", () => {
            const port = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(port));
        });
    });
}

/** TLS material for a loopback etcd: file paths. */
export interface LoopbackTls { ca: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string }

/** A member's place in a loopback cluster of several (`loopbackCluster`). */
export interface LoopbackPlace { name: string; peerUrl: string; initialCluster: string }

/**
 * An etcd member on 127.0.0.1 only, from an etcd release tarball, alone or one of a
 * `loopbackCluster`: a plain http client URL, and an https one when `tls` is given (client
 * certificates required there). The peer URL is plain http on loopback.
 */
export class LoopbackEtcd {
    readonly dir: string;
    httpUrl = "";
    httpsUrl = "";
    private child?: ChildProcess;
    private log = "";

    constructor(private readonly tarball: string) {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "chaos-etcd-"));
    }

    get pid(): number { return this.child!.pid!; }

    /** Starts the member and waits until it serves; `extraArgs` are more etcd flags (e.g. a small --quota-backend-bytes). */
    async start(tls?: LoopbackTls, extraArgs: string[] = []): Promise<void> {
        await this.launch(tls, extraArgs);
        await this.untilHealthy(20_000);
    }

    /**
     * Unpacks etcd and starts it without waiting: a member of a new cluster of several (`place`)
     * serves only once a quorum of them has started.
     */
    async launch(tls?: LoopbackTls, extraArgs: string[] = [], place?: LoopbackPlace): Promise<void> {
        const r = spawnSync("tar", ["-xzf", this.tarball, "-C", this.dir, "--strip-components=1", "--wildcards", "*/etcd"],
            { encoding: "utf8", timeout: 60_000 });
        if (r.status !== 0) throw new Error(`tar -xzf ${this.tarball}: ${r.stderr}`);
        const [client, secure] = [await freePort(), await freePort()];
        this.httpUrl = `http://127.0.0.1:${client}`;
        const listen = [this.httpUrl];
        const tlsArgs: string[] = [];
        if (tls) {
            this.httpsUrl = `https://127.0.0.1:${secure}`;
            listen.push(this.httpsUrl);
            tlsArgs.push("--cert-file", tls.serverCert, "--key-file", tls.serverKey, "--trusted-ca-file", tls.ca, "--client-cert-auth");
        }
        const peerUrl = place?.peerUrl ?? `http://127.0.0.1:${await freePort()}`;
        const name = place?.name ?? "chaos";
        this.child = spawn(path.join(this.dir, "etcd"), [
            "--name", name, "--data-dir", path.join(this.dir, "data"),
            "--listen-client-urls", listen.join(","), "--advertise-client-urls", listen.join(","),
            "--listen-peer-urls", peerUrl, "--initial-advertise-peer-urls", peerUrl,
            "--initial-cluster", place?.initialCluster ?? `${name}=${peerUrl}`, "--initial-cluster-state", "new", ...tlsArgs, ...extraArgs,
        ], { stdio: ["ignore", "pipe", "pipe"] });
        const keep = (d: Buffer) => { this.log = (this.log + d.toString()).slice(-20_000); };
        this.child.stdout!.on("data", keep);
        this.child.stderr!.on("data", keep);
    }

    /** Waits (at most `ms`) until the member answers /health with true; throws with its log's end otherwise. */
    async untilHealthy(ms: number): Promise<void> {
        const deadline = Date.now() + ms;
        while (Date.now() < deadline) {
            if (this.child!.exitCode !== null) break;
            if (await this.healthy()) return;
            await new Promise((r) => setTimeout(r, 200));
        }
        throw new Error(`loopback etcd not healthy within ${ms / 1000} s; its log ends:\n${this.log.slice(-3000)}`);
    }

    private healthy(): Promise<boolean> {
        return new Promise((resolve) => {
            const req = http.get(`${this.httpUrl}/health`, { timeout: 1000 }, (res) => {
                let body = "";
                res.on("data", (d: Buffer) => { body += d.toString(); });
                res.on("end", () => resolve(res.statusCode === 200 && body.includes("\"health\":\"true\"")));
            });
            req.on("error", () => resolve(false));
            req.on("timeout", () => { req.destroy(); resolve(false); });
        });
    }

    /** Freezes the member (SIGSTOP): requests get no answer, connections stay open. */
    freeze(): void { this.child!.kill("SIGSTOP"); }

    thaw(): void { this.child!.kill("SIGCONT"); }

    /** Stops the member (thawed first, so that it can end) and removes its directory. */
    async dispose(): Promise<void> {
        const child = this.child;
        if (child && child.exitCode === null && child.signalCode === null) {
            child.kill("SIGCONT");
            const ended = new Promise<void>((r) => child.once("close", () => r()));
            child.kill("SIGTERM");
            const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
            await ended;
            clearTimeout(timer);
        }
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

/**
 * `n` members of one new cluster on 127.0.0.1 (plain http, peers too), started together; resolves
 * once every one serves. `extraArgs` go to each member (e.g. a longer --election-timeout).
 */
export async function loopbackCluster(tarball: string, n: number, extraArgs: string[] = []): Promise<LoopbackEtcd[]> {
    const names = Array.from({ length: n }, (_, i) => `m${i + 1}`);
    const peerUrls: string[] = [];
    for (let i = 0; i < n; i++) peerUrls.push(`http://127.0.0.1:${await freePort()}`);
    const initialCluster = names.map((name, i) => `${name}=${peerUrls[i]}`).join(",");
    const members = names.map(() => new LoopbackEtcd(tarball));
    try {
        for (const [i, m] of members.entries()) await m.launch(undefined, extraArgs, { name: names[i], peerUrl: peerUrls[i], initialCluster });
        await Promise.all(members.map((m) => m.untilHealthy(60_000)));
    } catch (e) {
        await Promise.all(members.map((m) => m.dispose()));
        throw e;
    }
    return members;
}
