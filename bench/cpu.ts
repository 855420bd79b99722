/**
 * Where the CPU goes during one measured run, read from /proc (2 cores shared by the engine,
 * the providers, the lab hosts and anything else on the machine).
 *
 * Every `intervalMs` the sampler reads /proc/<pid>/stat of every process and files it by
 * ancestry: under this bench process (the engine: CLI, language host, program, providers), under
 * a lab host's supervisor (the host: etcd, sshd and what the sessions run), or other. Totals are
 * exact: a tree's CPU is the sum over its live processes of own + reaped children's time, and
 * the engine's total is this process's reaped children's time (the CLI is reaped when the run
 * ends). The split by process is each process's own CPU as last sampled (a process that lives
 * shorter than one interval shows in its parent's reaped-children time instead).
 */
import * as fs from "fs";

const CLK_TCK = 100; // Linux USER_HZ on every architecture this runs on

interface ProcStat { pid: number; ppid: number; comm: string; own: number; children: number; start: number }

function readStat(pid: number): ProcStat | undefined {
    let text: string;
    try { text = fs.readFileSync(`/proc/${pid}/stat`, "utf8"); } catch { return undefined; }
    const close = text.lastIndexOf(")");
    const comm = text.slice(text.indexOf("(") + 1, close);
    const f = text.slice(close + 2).split(" ");
    // f[0] = state (field 3), so field n is f[n - 3].
    return {
        pid, comm, ppid: Number(f[1]),
        own: (Number(f[11]) + Number(f[12])) / CLK_TCK,
        children: (Number(f[13]) + Number(f[14])) / CLK_TCK,
        start: Number(f[19]),
    };
}

function cmdline(pid: number): string {
    try { return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((s) => s !== "").join(" "); } catch { return ""; }
}

/** Busy and total jiffies of the whole machine (all cores), from /proc/stat. */
function machineTimes(): { busy: number; total: number } {
    const cpu = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const total = cpu.reduce((a, b) => a + b, 0);
    const idle = cpu[3] + (cpu[4] ?? 0);
    return { busy: (total - idle) / CLK_TCK, total: total / CLK_TCK };
}

/** What an engine process is, from its command line. */
function engineKind(comm: string, cmd: string): string {
    const provider = /pulumi-resource-([a-z0-9-]+)/.exec(cmd);
    if (provider) return `provider ${provider[1]}`;
    if (/pulumi-language-nodejs/.test(cmd)) return "language host";
    if (/dynamic-provider/.test(cmd)) return "provider dynamic (node)";
    if (/\bnpm\b/.test(cmd)) return "npm";
    if (comm === "node" || /\bnode\b/.test(cmd.split(" ")[0] ?? "")) return "program (node)";
    if (comm === "pulumi") return "pulumi CLI (engine)";
    return `other (${comm})`;
}

export interface CpuReport {
    wallSeconds: number;
    /** Busy CPU of the whole machine (both cores), seconds. */
    machineBusy: number;
    /** The engine and everything it ran on this machine (exact). */
    engine: number;
    /** Own CPU per engine process kind (approximate, see the file comment). */
    engineByKind: Record<string, number>;
    /** Each lab host's CPU (exact), and its etcd processes' own share. */
    hosts: Record<string, { total: number; etcd: number }>;
    /** This bench process itself (its sampling and bookkeeping). */
    bench: number;
    /** Everything else on the machine (other work, kernel threads). */
    other: number;
}

/** Samples until stopped; bounded by the run it wraps. */
export class CpuSampler {
    private timer?: NodeJS.Timeout;
    private readonly seen = new Map<string, { kind: string; first: ProcStat; last: ProcStat }>();
    private readonly kinds = new Map<string, string>();
    private startMachine = machineTimes();
    private startSelf = readStat(process.pid)!;
    private startHosts = new Map<string, number>();
    private t0 = Date.now();
    /** Seconds since boot when sampling started (process start times count from boot). */
    private startUptime = 0;

    constructor(private readonly hostRoots: () => Map<number, string>, private readonly intervalMs = 200) { }

    start(): void {
        this.t0 = Date.now();
        this.startUptime = Number(fs.readFileSync("/proc/uptime", "utf8").split(" ")[0]);
        this.startMachine = machineTimes();
        this.startSelf = readStat(process.pid)!;
        this.startHosts = this.hostTotals(this.tick());
        this.timer = setInterval(() => this.tick(), this.intervalMs);
    }

    /** One pass over /proc: every process's stat, filed by ancestry. Returns the live processes with their owner. */
    private tick(): Array<{ s: ProcStat; owner: string }> {
        const stats = new Map<number, ProcStat>();
        for (const name of fs.readdirSync("/proc")) {
            if (!/^\d+$/.test(name)) continue;
            const s = readStat(Number(name));
            if (s) stats.set(s.pid, s);
        }
        const roots = this.hostRoots();
        const owners = new Map<number, string>();
        const ownerOf = (pid: number): string => {
            const known = owners.get(pid);
            if (known !== undefined) return known;
            let owner = "other";
            if (pid === process.pid) owner = "bench";
            else if (roots.has(pid)) owner = `host ${roots.get(pid)}`;
            else {
                const s = stats.get(pid);
                if (s && s.ppid > 1) {
                    const up = ownerOf(s.ppid);
                    owner = up === "bench" ? "engine" : up;
                }
            }
            owners.set(pid, owner);
            return owner;
        };
        const live: Array<{ s: ProcStat; owner: string }> = [];
        for (const s of stats.values()) {
            const owner = ownerOf(s.pid);
            live.push({ s, owner });
            if (owner !== "engine" && !owner.startsWith("host ")) continue;
            const key = `${s.pid}:${s.start}`;
            let kind = this.kinds.get(key);
            if (kind === undefined) {
                kind = owner === "engine" ? engineKind(s.comm, cmdline(s.pid)) : s.comm === "etcd" ? "etcd" : "rest";
                this.kinds.set(key, kind);
            }
            const entry = this.seen.get(key);
            if (entry) entry.last = s;
            else this.seen.set(key, { kind: `${owner}|${kind}`, first: s, last: s });
        }
        return live;
    }

    private hostTotals(live: Array<{ s: ProcStat; owner: string }>): Map<string, number> {
        const totals = new Map<string, number>();
        for (const { s, owner } of live) {
            if (!owner.startsWith("host ")) continue;
            totals.set(owner, (totals.get(owner) ?? 0) + s.own + s.children);
        }
        return totals;
    }

    stop(): CpuReport {
        if (this.timer) clearInterval(this.timer);
        const endHosts = this.hostTotals(this.tick());
        const self = readStat(process.pid)!;
        const machine = machineTimes();
        const engine = self.children - this.startSelf.children;
        const bench = self.own - this.startSelf.own;
        const engineByKind: Record<string, number> = {};
        const hosts: Record<string, { total: number; etcd: number }> = {};
        for (const [owner, total] of endHosts) {
            hosts[owner.slice(5)] = { total: total - (this.startHosts.get(owner) ?? 0), etcd: 0 };
        }
        for (const { kind, first, last } of this.seen.values()) {
            const [owner, k] = kind.split("|");
            // A process started during the run counts whole; one already running counts from the first sample.
            const own = last.own - (first.start / CLK_TCK < this.startUptime ? first.own : 0);
            if (owner === "engine") engineByKind[k] = (engineByKind[k] ?? 0) + own;
            else if (k === "etcd" && hosts[owner.slice(5)]) hosts[owner.slice(5)].etcd += own;
        }
        const hostSum = Object.values(hosts).reduce((a, h) => a + h.total, 0);
        const machineBusy = machine.busy - this.startMachine.busy;
        return {
            wallSeconds: (Date.now() - this.t0) / 1000,
            machineBusy, engine, engineByKind, hosts, bench,
            other: Math.max(0, machineBusy - engine - hostSum - bench),
        };
    }

}
