/**
 * What the chaos steps act through: the scratch stack (bounded engine runs, each under a health
 * monitor), etcdctl with the stack's admin credentials, the recorder's endpoints, and the run's
 * counters (faults, refusals, failed invariants).
 */
import { ScratchStack, StepLog } from "../engine/engine";
import { Credentials, Etcdctl, HealthMonitor } from "../lab/etcdClient";
import { labHostAt } from "../lab/lab";
import { labMembers } from "../lab/labStack";
import { RecorderRun, setRecorderEndpoints } from "./chaosTools";
import { Restart, describeRestarts, mostAtOnce, readRestarts } from "./restarts";

export type Member = { name: string; address: string };

export const clientUrl = (m: Member) => `https://${m.address}:2379`;
/** The lab host a member is on, by its address (a replaced member is not on its number's host). */
export const hostOf = (m: Member) => labHostAt(m.address);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A run's failure: an invariant that did not hold, or a step that could not be done. */
export class ChaosFailure extends Error { }

/** One engine run's outcome as the runner keeps it. */
export interface EngineOutcome { op: string; ok: boolean; ms: number; error?: string; log: StepLog;
    /** The monitor's worst sample: how many of the watched members were down at once, of how many. */
    maxDown: number; watched: number; samples: number; worst?: unknown;
    /** Answers during a leader hand-off (the monitor's `handOffs`): counted apart, not as members down. */
    handOffs: number;
    /** The watched members' etcd restarts during the run, from their hosts' journals (restarts.ts). */
    restarts?: Restart[] }

/** What an up's report and its quorum check read: also what a killed run, which has no StepLog, gives them. */
export type MonitoredRun = Pick<EngineOutcome, "op" | "ok" | "ms" | "maxDown" | "watched" | "samples" | "worst" | "handOffs" | "restarts">;

/**
 * The chaos stack's tuning at its deploy: a backend quota the nospace step can fill in seconds
 * (about 270 puts of 960 KiB), and that an hour of the recorder's traffic (history kept for an hour by the
 * default auto-compaction) stays well below.
 */
export const chaosTuning: Readonly<Record<string, unknown>> = { quotaBackendBytes: 256 * 1024 * 1024 };

export class ChaosContext {
    /** The stack's members as its config says now. */
    members: Member[] = labMembers(3);
    /** The stack's tuning as its config says now (steps change one field, keeping the others). */
    tuning: Record<string, unknown> = { ...chaosTuning };
    faults = 0;
    refusals: Record<string, number> = {};
    engineRuns: Array<{ op: string; ms: number; ok: boolean }> = [];
    /** Every engine run's output, newest last (written next to the results when the run fails). */
    engineLogs: Array<{ label: string; output: string }> = [];
    /** The recorder, once started (after the first deploy: it needs the stack's credentials). */
    recorder?: RecorderRun;

    admin: Credentials = { ca: "" };

    constructor(readonly scratch: ScratchStack, readonly etcdctl: Etcdctl,
        readonly signal: AbortSignal, private readonly deadline: number,
        readonly say: (line: string) => void) { }

    /** Milliseconds left of the run's budget. */
    remaining(): number {
        return this.deadline - Date.now();
    }

    endpoints(members: Member[] = this.members): string {
        return members.map(clientUrl).join(",");
    }

    setRecorderEndpoints(members: Member[]): void {
        if (this.recorder) setRecorderEndpoints(this.recorder, members.map(clientUrl));
        this.say(`    recorder endpoints: ${members.map((m) => m.name).join(", ")}`);
    }

    setMembers(members: Member[]): void {
        this.members = members;
        this.scratch.setConfig({ members });
    }

    /** Changes the stack's tuning fields in `patch`, the others kept (a change that rolls every member). */
    setTuning(patch: Record<string, unknown>): void {
        this.tuning = { ...this.tuning, ...patch };
        this.scratch.setConfig({ tuning: this.tuning });
    }

    refused(reason: string): void {
        this.refusals[reason] = (this.refusals[reason] ?? 0) + 1;
    }

    /**
     * One engine run (`up --refresh` or `preview --refresh`), bounded: aborted (SIGINT to the CLI)
     * after `timeoutMs` or when the run's budget is spent, and given up 60 s after that. A health
     * monitor samples `watch` (every 1 s) for the whole run. `onOutput` sees each line of the engine's
     * output as it comes (a step that injects a fault at a chosen point of the run). `settled`, awaited
     * after the run and before the journals are read, lets such a step first lift its fault: an up
     * that fails fast can end while a host is still cut off, and its journal must still be read.
     */
    async engine(op: "up" | "preview", label: string, watch: Member[], timeoutMs = 12 * 60_000,
        onOutput?: (line: string) => void, settled?: () => Promise<void>): Promise<EngineOutcome> {
        const limit = Math.max(10_000, Math.min(timeoutMs, this.remaining()));
        const abort = new AbortController();
        const onRunAbort = () => abort.abort();
        this.signal.addEventListener("abort", onRunAbort);
        if (this.signal.aborted) abort.abort();
        const timer = setTimeout(() => abort.abort(), limit);
        const log = new StepLog();
        const monitor = new HealthMonitor(this.etcdctl, Object.fromEntries(watch.map((m) => [m.name, clientUrl(m)])), this.admin, 1000, limit + 60_000);
        if (op === "up" && watch.length > 0) monitor.start();
        const started = Date.now();
        const output = onOutput ? (line: string) => { log.onOutput(line); onOutput(line); } : log.onOutput;
        const opts = { refresh: true, onOutput: output, onEvent: log.onEvent, signal: abort.signal };
        const run = (op === "up" ? this.scratch.stack.up(opts) : this.scratch.stack.preview(opts)).then(() => undefined, (e: Error) => e.message);
        let gaveUp: NodeJS.Timeout | undefined;
        const hard = new Promise<string>((resolve) => {
            abort.signal.addEventListener("abort", () => { gaveUp = setTimeout(() => resolve(`${op} did not end within 60 s of being aborted`), 60_000); });
        });
        let error = await Promise.race([run, hard]);
        clearTimeout(timer);
        clearTimeout(gaveUp);
        this.signal.removeEventListener("abort", onRunAbort);
        await monitor.stop();
        if (abort.signal.aborted) error = `${op} aborted after ${Date.now() - started} ms (bound ${limit} ms)${error ? `: ${error}` : ""}`;
        const ms = Date.now() - started;
        this.engineRuns.push({ op, ms, ok: error === undefined });
        this.engineLogs.push({ label: `${label} (${op})`, output: log.output + (error ? `\n--- error ---\n${error}\n` : "") });
        await settled?.();
        const restarts = op === "up" && watch.length > 0 ? readRestarts(watch, started) : undefined;
        return { op, ok: error === undefined, ms, error, log, maxDown: monitor.maxDown, watched: watch.length, samples: monitor.samples, worst: monitor.worst, handOffs: monitor.handOffs, restarts };
    }

    /**
     * `up --refresh` that must succeed, and the tool's own actions must keep a majority of the
     * watched members healthy at every sample of its monitor (a quorum of the members that stay).
     */
    async upConverging(label: string, watch: Member[]): Promise<EngineOutcome> {
        const up = await this.engine("up", label, watch);
        this.reportUp(up);
        if (!up.ok) throw new ChaosFailure(`${label}: up failed: ${firstError(up)}`);
        this.checkQuorumKept(label, up);
        return up;
    }

    /** One line on an up's outcome: its time and its health monitor's worst sample. */
    reportUp(up: MonitoredRun): void {
        const restarts = up.restarts ? `; etcd restarts (journals) ${up.restarts.length}, most at once ${mostAtOnce(up.restarts).count}` : "";
        this.say(`    ${up.op}: ${up.ok ? "succeeded" : "FAILED"} in ${(up.ms / 1000).toFixed(1)} s; health samples ${up.samples}, most of ${up.watched} watched members down at once: ${up.maxDown}` +
            `${up.handOffs > 0 ? ` (answers during a leader hand-off: ${up.handOffs})` : ""}${restarts}`);
    }

    /**
     * The tool's own actions restarted one member at a time (the hosts' journals) and kept a quorum
     * of the watched members healthy at every sample: at most floor((n-1)/2) down at once, plus
     * `faulted` members a step took down itself (a fault the tool could not have counted when it
     * stopped a member).
     */
    checkQuorumKept(label: string, up: MonitoredRun, faulted = 0): void {
        // The roll's promise, exact whatever the sampling: never two of etcd's restarts at once.
        const together = mostAtOnce(up.restarts ?? []);
        if (together.count > 1) {
            throw new ChaosFailure(`${label}: ${together.count} members' etcd restarted at once during ${up.op} (their hosts' journals): ${describeRestarts(together.restarts)}`);
        }
        const allowed = Math.floor((up.watched - 1) / 2) + faulted;
        if (up.watched > 0 && up.maxDown > allowed) {
            throw new ChaosFailure(`${label}: ${up.maxDown} of the ${up.watched} watched members were down at once during ${up.op} ` +
                `(at most ${allowed} ${faulted > 0 ? `with the ${faulted} the step faulted ` : ""}keeps a quorum of them): ${JSON.stringify(up.worst)}`);
        }
    }
}

/** An engine run's first line that says why it failed (a refusal or a failed step), or its error's end. */
export function firstError(run: EngineOutcome): string {
    // The CLI's own "Command failed with exit code 1: …pulumi up …" says nothing of why: the project's
    // refusals first, then a step's error (`error: …` in the engine's diagnostics).
    const lines = `${run.error ?? ""}\n${run.log?.output ?? ""}`.split("\n").map((l) => l.trim());
    const line = lines.find((l) => /refusing to/.test(l)) ?? lines.find((l) => /error: |failed/.test(l) && !/^(stderr: )?Command failed with exit code/.test(l)) ?? "";
    return line.slice(0, 600) || (run.error ?? "").slice(-1500);
}
