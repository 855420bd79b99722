/**
 * Where the time of one engine run goes: per-resource spans from the engine's events, the
 * critical path through the state's dependency graph, the per-member chain and the chain of
 * members, and the SSH connections the hosts logged for it.
 */
import { EventRecord, TimedRun } from "./engineRuns";
import { HostSsh } from "./hosts";
import { median, round } from "./stats";

export interface Span {
    name: string;
    urn: string;
    type: string;
    /** "lab-2", or "cluster" for the PKI root, token and membership step. */
    member: string;
    /** What the step is, the same for every member: "preflight", "file ca.crt", "tls server-cert"… */
    kind: string;
    /** Seconds from the start of the run. */
    start: number;
    end: number;
    seconds: number;
}

// The release tarball was a CopyToRemote until it became a staged release (one session: copy and unpack).
const remoteTypes = ["command:remote:Command", "command:remote:CopyToRemote", "pulumi-nodejs:dynamic/etcd:StagedRelease"];
export const isRemote = (s: Span) => remoteTypes.includes(s.type);

function classify(name: string, type: string): { member: string; kind: string } {
    const file = /^(lab-\d+):(.*)-write$/.exec(name);
    if (file) return { member: file[1], kind: `file ${file[2].split("/").pop()}` };
    const m = /^(lab-\d+)-(.*)$/.exec(name);
    if (m) {
        const rest = m[2].replace(/^certs-/, "");
        return { member: m[1], kind: type.startsWith("tls:") ? `tls ${rest}` : rest };
    }
    return { member: "cluster", kind: name.replace(/^etcd-/, "") };
}

/** Spans of every custom resource the run created, updated or checked (components and the stack left out). */
export function spans(run: TimedRun): Span[] {
    const pre = new Map<string, EventRecord>();
    const out: Span[] = [];
    for (const e of run.events) {
        if (!e.urn || !e.type || e.type.startsWith("etcd:") || e.type.startsWith("pulumi:")) continue;
        if (e.kind === "pre") pre.set(e.urn, e);
        else if ((e.kind === "outputs" || e.kind === "failed") && pre.has(e.urn)) {
            const p = pre.get(e.urn)!;
            const name = e.urn.split("::").pop()!;
            const start = (p.t - run.startedAt) / 1000;
            const end = (e.t - run.startedAt) / 1000;
            out.push({ name, urn: e.urn, type: e.type, ...classify(name, e.type), start: round(start), end: round(end), seconds: round(end - start) });
        }
    }
    return out.sort((a, b) => a.start - b.start);
}

export interface PathStep { name: string; start: number; end: number; seconds: number; waitBefore: number }

/**
 * The chain of resources that decided the run's length: from the span that ended last, back
 * through the dependency that ended last, to a span with no dependency in the run. `waitBefore`
 * is the time between that dependency's end and the step's start (engine and provider latency).
 */
export function criticalPath(all: Span[], graph: Map<string, { deps: string[]; parent?: string }>): PathStep[] {
    const byUrn = new Map(all.map((s) => [s.urn, s]));
    if (all.length === 0) return [];
    let cur: Span | undefined = [...all].sort((a, b) => b.end - a.end)[0];
    const chain: PathStep[] = [];
    const seen = new Set<string>();
    while (cur && !seen.has(cur.urn)) {
        seen.add(cur.urn);
        const deps: Span[] = (graph.get(cur.urn)?.deps ?? []).map((d) => byUrn.get(d)).filter((d): d is Span => d !== undefined);
        const pred: Span | undefined = deps.sort((a: Span, b: Span) => b.end - a.end)[0];
        chain.push({ name: cur.name, start: cur.start, end: cur.end, seconds: cur.seconds, waitBefore: round(pred ? cur.start - pred.end : cur.start) });
        cur = pred;
    }
    return chain.reverse();
}

export interface RunAnalysis {
    seconds: number;
    /** Seconds from the call: the engine's prelude (CLI up, stack loaded), the stack resource registered (language host and node up, before the program is compiled), the first resource step. */
    preludeAt?: number;
    stackAt?: number;
    /** From the call until the first resource step began (CLI start, program load and type-check, plugins). */
    beforeFirstStep: number;
    /** From the last resource step's end until the call returned (outputs, state, exit). */
    afterLastStep: number;
    resources: number;
    remoteResources: number;
    /** Median seconds per kind of step over the members. */
    medianByKind: Record<string, { n: number; median: number }>;
    /** Sum of the spans of remote steps (each step counted once, overlaps counted twice). */
    remoteStepSeconds: number;
    criticalPath: PathStep[];
    /** Time on the critical path spent inside steps, and between them (from its first step's start on). */
    criticalInSteps: number;
    criticalBetweenSteps: number;
    /** Per member: when its first step began and its service step (the roll's step: start or restart, then promotion) ended. */
    members: Array<{ member: string; firstStart: number; serviceEnd?: number; remoteResources: number }>;
    spans: Span[];
}

export function analyzeRun(run: TimedRun, graph?: Map<string, { deps: string[]; parent?: string }>): RunAnalysis {
    const all = spans(run);
    const kinds = new Map<string, number[]>();
    for (const s of all) kinds.set(s.kind, [...(kinds.get(s.kind) ?? []), s.seconds]);
    const medianByKind: Record<string, { n: number; median: number }> = {};
    for (const [k, v] of [...kinds].sort()) medianByKind[k] = { n: v.length, median: round(median(v)!) };
    const path = graph ? criticalPath(all, graph) : [];
    const memberNames = [...new Set(all.map((s) => s.member).filter((m) => m !== "cluster"))]
        .sort((a, b) => Number(a.split("-")[1]) - Number(b.split("-")[1]));
    const find = (m: string, kind: string) => all.find((s) => s.member === m && s.kind === kind);
    const inSteps = round(path.reduce((a, p) => a + p.seconds, 0));
    const at = (pick: (e: EventRecord) => boolean) => {
        const e = run.events.find(pick);
        return e ? round((e.t - run.startedAt) / 1000) : undefined;
    };
    return {
        seconds: run.seconds,
        preludeAt: at((e) => e.kind === "prelude"),
        stackAt: at((e) => e.kind === "pre" && e.type === "pulumi:pulumi:Stack"),
        beforeFirstStep: round(all.length ? all[0].start : run.seconds),
        afterLastStep: round(all.length ? run.seconds - Math.max(...all.map((s) => s.end)) : 0),
        resources: all.length,
        remoteResources: all.filter(isRemote).length,
        medianByKind,
        remoteStepSeconds: round(all.filter(isRemote).reduce((a, s) => a + s.seconds, 0)),
        criticalPath: path,
        criticalInSteps: inSteps,
        criticalBetweenSteps: round(path.length ? path[path.length - 1].end - path[0].start - inSteps : 0),
        members: memberNames.map((m) => ({
            member: m,
            firstStart: Math.min(...all.filter((s) => s.member === m).map((s) => s.start)),
            serviceEnd: find(m, "service")?.end,
            remoteResources: all.filter((s) => s.member === m && isRemote(s)).length
                + (m === "lab-1" ? all.filter((s) => s.member === "cluster" && isRemote(s)).length : 0),
        })),
        spans: all,
    };
}

export interface SshAnalysis {
    /** Per host, each connection in seconds from the window's start: [connected, authenticated, closed] (-1: not seen). */
    connections?: Record<string, Array<[number, number, number]>>;
    /** Connections still open when the last resource step ended (closed only when the provider exits). */
    openAfterLastStep?: number;
    /** Authenticated sessions per host, in host order. */
    sessionsPerHost: Record<string, number>;
    unauthenticatedPerHost: Record<string, number>;
    /** Median seconds from TCP accept to "Accepted publickey" (key exchange + authentication, server side). */
    handshakeMedian?: number;
    /** Sum over hosts of handshake time, seconds. */
    handshakeTotal: number;
    /** Median seconds from authentication to disconnect (the session itself). */
    sessionMedian?: number;
    sessionTotal: number;
}

/** `window`: the run's start and its last step's end (ms since the epoch), to place connections in the run. */
export function analyzeSsh(hosts: HostSsh[], window?: { from: number; lastStepEnd: number }): SshAnalysis {
    const hs: number[] = [];
    const ss: number[] = [];
    for (const h of hosts) for (const c of h.connections) {
        if (c.acceptedAt !== undefined) hs.push(c.acceptedAt - c.connectedAt);
        if (c.acceptedAt !== undefined && c.closedAt !== undefined) ss.push(c.closedAt - c.acceptedAt);
    }
    return {
        sessionsPerHost: Object.fromEntries(hosts.map((h) => [h.host, h.sessions])),
        unauthenticatedPerHost: Object.fromEntries(hosts.map((h) => [h.host, h.unauthenticated])),
        handshakeMedian: hs.length ? round(median(hs)!) : undefined,
        handshakeTotal: round(hs.reduce((a, b) => a + b, 0)),
        sessionMedian: ss.length ? round(median(ss)!) : undefined,
        sessionTotal: round(ss.reduce((a, b) => a + b, 0)),
        ...(window ? {
            connections: Object.fromEntries(hosts.map((h) => [h.host, h.connections.map((c): [number, number, number] =>
                [c.connectedAt, c.acceptedAt ?? -1, c.closedAt ?? -1].map((t) => t < 0 ? -1 : round(t - window.from / 1000)) as [number, number, number])])),
            openAfterLastStep: hosts.flatMap((h) => h.connections)
                .filter((c) => c.acceptedAt !== undefined && (c.closedAt === undefined || c.closedAt * 1000 > window.lastStepEnd)).length,
        } : {}),
    };
}
