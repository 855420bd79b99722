/**
 * A chaos run's results: tests/chaos/results/<time>.json, and on failure the history, porcupine's
 * HTML and the engine's output next to it (tests/chaos/results/<time>/).
 */
import * as fs from "fs";
import * as path from "path";
import { CheckSummary, RecorderSummary } from "./chaosTools";
import { Step, describe } from "./plan";

/** Where results go: tests/chaos/results, or ETCD_STACK_CHAOS_RESULTS (npm test's seed writes to a temp dir). */
export const resultsDir = process.env.ETCD_STACK_CHAOS_RESULTS ?? path.join(__dirname, "results");

/** A step's outcome; `cut`: the run's budget ran out while it ran (not a failure of the product, and not run to its end). */
export interface StepResult { n: number; kind: string; step: string; ms: number; result: "ok" | "failed" | "cut" | "not run"; error?: string }

export interface ChaosResults {
    seed: number;
    stepsRequested: number;
    stepsRun: number;
    startedAt: string;
    finishedAt?: string;
    durationMs?: number;
    commit: string;
    reproduce: string;
    /** The deliberately broken program this run used (tests/chaos/mutants.ts), if any: it must fail. */
    mutant?: string;
    /** incomplete: every step run held its invariants and the history checked, but the budget ended the run before its last step. */
    result: "passed" | "failed" | "incomplete";
    stoppedEarly?: string;
    failure?: string;
    steps: StepResult[];
    faults: number;
    requests?: { total: number; ok: number; failed: number; unknown: number };
    unknownOutcomes?: number;
    /** Unknown writes no request observed, left out by the checker (model.Unobserved). */
    unobserved?: number;
    historiesChecked: number;
    /** Linearizability violations (must be 0): 1 when the run's history is not linearizable. */
    violations: number;
    finalReads?: { ok: number; failed: number; unknown: number };
    checker?: Pick<CheckSummary, "result" | "porcupine" | "revisionOrder" | "ms" | "keys" | "clients">;
    recorder?: Pick<RecorderSummary, "stoppedBy" | "ms" | "failedDials">;
    refusals: Record<string, number>;
    timePerStepKind: Record<string, { count: number; ms: number }>;
    engineRuns: { count: number; ms: number };
    /** Where the history, porcupine's HTML and the engine logs were saved (a failed run). */
    saved?: string;
}

export function stepLines(steps: Step[]): string {
    return steps.map((s) => `  ${String(s.n).padStart(2)}. ${describe(s)}`).join("\n");
}

/** `<time>`: the run's start, UTC, safe in a file name. */
export function stamp(d: Date): string {
    return d.toISOString().replace(/\.\d+Z$/, "Z").replace(/:/g, "");
}

export function writeResults(r: ChaosResults, name: string): string {
    fs.mkdirSync(resultsDir, { recursive: true });
    const file = path.join(resultsDir, `${name}.json`);
    fs.writeFileSync(file, JSON.stringify(r, null, 2) + "\n");
    return file;
}

/** Keeps a failed run's material: the history, the HTML, the engine runs' output. */
export function saveFailure(name: string, files: string[], engineLogs: Array<{ label: string; output: string }>): string {
    const dir = path.join(resultsDir, name);
    fs.mkdirSync(dir, { recursive: true });
    for (const f of files) if (fs.existsSync(f)) fs.copyFileSync(f, path.join(dir, path.basename(f)));
    fs.writeFileSync(path.join(dir, "engine.log"), engineLogs.map((l) => `===== ${l.label}\n${l.output}\n`).join("\n"));
    return dir;
}
