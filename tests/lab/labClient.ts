/**
 * The lab tests' etcd client for frequent requests: one long-running process (tests/lab/client,
 * built by scripts/labclient-build.sh from etcd's own client module) that answers JSON requests on
 * its stdin, instead of one etcdctl process per request. A writer and a health monitor spawning
 * etcdctl several times a second took about a core of the 2-core CI machine, slowing every `up`
 * they watched (issue 26); one process keeps its connections and costs almost nothing. The writer's
 * puts go through it; the health monitor still spawns etcdctl (etcdClient.ts says why).
 */
import { ChildProcessWithoutNullStreams, spawn, spawnSync } from "child_process";
import * as path from "path";
import * as readline from "readline";
import type { Credentials } from "./etcdClient";

/** The client binary, built (or found in the cache) by scripts/labclient-build.sh. */
export function labClientBinary(): string {
    const r = spawnSync("bash", [path.resolve(__dirname, "../../scripts/labclient-build.sh")], { encoding: "utf8", timeout: 10 * 60_000 });
    if (r.status !== 0) throw new Error(`scripts/labclient-build.sh failed (exit ${r.status}): ${r.stderr}`);
    return r.stdout.trim();
}

/** One answer, shaped like an etcdctl run: code 0 when etcd answered, otherwise 1 and the error. */
export interface ClientAnswer { code: number; out: string }

export class LabClient {
    private child?: ChildProcessWithoutNullStreams;
    private nextId = 1;
    private readonly pending = new Map<number, { resolve: (a: ClientAnswer) => void; timer: NodeJS.Timeout }>();

    constructor(private readonly bin: string) { }

    /** A put of `key` = `value` through `endpoints` (comma-separated), bounded by `timeoutMs` (etcd's deadline). */
    put(endpoints: string, creds: Credentials, key: string, value: string, timeoutMs: number): Promise<ClientAnswer> {
        return this.request({ op: "put", endpoints, k: key, v: value }, creds, timeoutMs);
    }

    /** Ends the process (it finishes what is in flight, each request bounded by its own deadline). */
    dispose(): void {
        this.child?.stdin.end();
        this.child = undefined;
    }

    private request(body: Record<string, string>, creds: Credentials, timeoutMs: number): Promise<ClientAnswer> {
        const child = this.start();
        const id = this.nextId++;
        return new Promise((resolve) => {
            // The process answers within timeoutMs; this bound only catches a process that died or hung.
            const timer = setTimeout(() => this.settle(id, { code: 124, out: `labclient: no answer within ${timeoutMs + 10_000} ms` }), timeoutMs + 10_000);
            this.pending.set(id, { resolve, timer });
            child.stdin.write(`${JSON.stringify({ id, ...body, ca: creds.ca, cert: creds.cert ?? "", key: creds.key ?? "", timeoutMs })}\n`);
        });
    }

    private settle(id: number, answer: ClientAnswer): void {
        const p = this.pending.get(id);
        if (!p) return;
        clearTimeout(p.timer);
        this.pending.delete(id);
        p.resolve(answer);
    }

    private start(): ChildProcessWithoutNullStreams {
        if (this.child) return this.child;
        const child = spawn(this.bin, [], { stdio: ["pipe", "pipe", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
        readline.createInterface({ input: child.stdout }).on("line", (line) => {
            const a = JSON.parse(line) as { id: number; ok: boolean; error?: string };
            this.settle(a.id, a.ok ? { code: 0, out: "" } : { code: 1, out: a.error ?? "" });
        });
        child.on("error", (e) => { stderr += `${e.message}\n`; }); // e.g. not executable: "close" follows and settles
        child.on("close", (code) => {
            if (this.child === child) this.child = undefined;
            for (const id of [...this.pending.keys()]) this.settle(id, { code: 124, out: `labclient exited (${code}): ${stderr.trim()}` });
        });
        this.child = child;
        return child;
    }
}
