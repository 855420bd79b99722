/**
 * The program through the real engine (Automation API, scratch stacks as the lab tests make
 * them), each run timed from the call to its return, with every resource event stamped when
 * this process received it (the Automation API tails the engine's event log every 200 ms, so
 * a stamp is up to 0.2 s late; the engine's own stamps are whole seconds).
 */
import * as fs from "fs";
import * as path from "path";
import { EngineEvent } from "@pulumi/pulumi/automation";
import { ScratchStack, scratchStack } from "../tests/engine/engine";
import { labStackConfig } from "../tests/lab/labStack";
import { CpuReport, CpuSampler } from "./cpu";

export interface EventRecord {
    /** ms since the epoch, when received. */
    t: number;
    /** The engine's stamp, seconds since the epoch. */
    engineT: number;
    kind: "prelude" | "pre" | "outputs" | "failed" | "summary" | "diagnostic";
    urn?: string;
    type?: string;
    op?: string;
    message?: string;
}

export interface TimedRun {
    what: string;
    startedAt: number;
    endedAt: number;
    seconds: number;
    /** Operation → count, as the engine summed them (preview: changeSummary; up: resourceChanges). */
    changes: Record<string, number>;
    events: EventRecord[];
    cpu?: CpuReport;
}

/** A scratch stack of the real program for `size` lab members. */
export function programStack(size: number): Promise<ScratchStack> {
    return scratchStack("bench", labStackConfig(size));
}

/** A scratch stack whose program registers nothing: the engine's fixed cost. */
export async function emptyStack(): Promise<ScratchStack> {
    const scratch = await scratchStack("bench-empty", {});
    fs.writeFileSync(path.join(scratch.dir, "index.ts"),
        "// An empty program: the engine, the language host and @pulumi/pulumi, no resource but the stack.\n" +
        "import * as pulumi from \"@pulumi/pulumi\";\nvoid pulumi;\n");
    fs.rmSync(path.join(scratch.dir, "components"), { recursive: true, force: true });
    return scratch;
}

function recorder(events: EventRecord[]): (e: EngineEvent) => void {
    return (e) => {
        const t = Date.now();
        const base = { t, engineT: e.timestamp };
        if (e.preludeEvent) events.push({ ...base, kind: "prelude" });
        else if (e.summaryEvent) events.push({ ...base, kind: "summary" });
        else if (e.resourcePreEvent) {
            const m = e.resourcePreEvent.metadata;
            events.push({ ...base, kind: "pre", urn: m.urn, type: m.type, op: m.op });
        } else if (e.resOutputsEvent) {
            const m = e.resOutputsEvent.metadata;
            events.push({ ...base, kind: "outputs", urn: m.urn, type: m.type, op: m.op });
        } else if (e.resOpFailedEvent) {
            const m = e.resOpFailedEvent.metadata;
            events.push({ ...base, kind: "failed", urn: m.urn, type: m.type, op: m.op });
        } else if (e.diagnosticEvent && ["error", "warning"].includes(e.diagnosticEvent.severity)) {
            // Diagnostics name the failing step; keep a short line (no resource output is printed).
            events.push({ ...base, kind: "diagnostic", urn: e.diagnosticEvent.urn, message: e.diagnosticEvent.message.slice(0, 300) });
        }
    };
}

/**
 * One timed `up` or `preview`. Bounded: aborted after `timeoutMs`. Throws when the run fails,
 * with the engine's error diagnostics (never resource outputs).
 */
export async function timedRun(what: string, scratch: ScratchStack, op: "up" | "preview",
    opts: { timeoutMs?: number; sampler?: CpuSampler } = {}): Promise<TimedRun> {
    const events: EventRecord[] = [];
    const signal = AbortSignal.timeout(opts.timeoutMs ?? 10 * 60_000);
    const common = { onEvent: recorder(events), signal, color: "never" as const, suppressProgress: true };
    opts.sampler?.start();
    const startedAt = Date.now();
    let changes: Record<string, number> = {};
    try {
        if (op === "up") {
            const r = await scratch.stack.up(common);
            changes = { ...(r.summary.resourceChanges ?? {}) } as Record<string, number>;
        } else {
            const r = await scratch.stack.preview(common);
            changes = { ...r.changeSummary } as Record<string, number>;
        }
    } catch (e) {
        opts.sampler?.stop();
        const diags = events.filter((x) => x.kind === "diagnostic").map((x) => x.message).join("\n");
        throw new Error(`${what} failed: ${diags || String(e).slice(0, 1500)}`);
    }
    const endedAt = Date.now();
    const cpu = opts.sampler?.stop();
    return { what, startedAt, endedAt, seconds: (endedAt - startedAt) / 1000, changes, events, cpu };
}

/** Resource → the resources it depends on (explicit and through inputs), and its parent, from the stack's state. */
export function dependencyGraph(scratch: ScratchStack): Map<string, { type: string; deps: string[]; parent?: string }> {
    const exported = scratch.cli(["stack", "export"]);
    if (exported.code !== 0) throw new Error(`stack export: ${exported.stderr.slice(0, 500)}`);
    const resources = JSON.parse(exported.stdout).deployment.resources as Array<{
        urn: string; type: string; dependencies?: string[]; parent?: string; propertyDependencies?: Record<string, string[]>;
    }>;
    const graph = new Map<string, { type: string; deps: string[]; parent?: string }>();
    for (const r of resources) {
        const deps = new Set<string>(r.dependencies ?? []);
        for (const list of Object.values(r.propertyDependencies ?? {})) for (const d of list) deps.add(d);
        graph.set(r.urn, { type: r.type, deps: [...deps], parent: r.parent });
    }
    return graph;
}
