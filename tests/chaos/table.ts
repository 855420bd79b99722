/**
 * The seeds table of the chaos README (issue 27), made from the committed results files so that it
 * cannot say more than the runs did: `npm run chaos:table` prints it, and a unit test
 * (tests/unit/chaos/chaosTable.test.ts) holds the README's copy to what the files say.
 */
import * as fs from "fs";
import * as path from "path";
import { ChaosResults } from "./results";

/** The README's table lies between these two lines. */
export const tableStart = "<!-- seeds table: npm run chaos:table -->";
export const tableEnd = "<!-- end of seeds table -->";

/** The runs the table reports: the long ones (at least `minSteps` steps asked), mutants left out. */
export function tableRuns(all: ChaosResults[], minSteps = 15): ChaosResults[] {
    return all.filter((r) => r.stepsRequested >= minSteps && !r.mutant).sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

const s = (ms: number) => `${Math.round(ms / 1000)}`;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** The table: one row per run, then the totals, the refusals by reason and the time per step kind. */
export function renderTable(runs: ChaosResults[]): string {
    const rows = runs.map((r) => {
        const failed = r.steps.find((x) => x.result === "failed");
        // A run that failed outside its steps (the lab, the deploy, the checker) says where, in a few words.
        const why = (r.failure ?? "").split("\n").find((l) => l.trim() !== "")?.replace(/\|/g, "/").slice(0, 90) ?? "";
        const where = failed ? ` (step ${failed.n}, ${failed.kind})` : r.result === "failed" ? ` (${why})` : "";
        return `| ${r.seed} | ${r.stepsRun} of ${r.stepsRequested} | ${r.result}${where} | ${r.faults} | ` +
            `${r.requests?.total ?? 0} | ${r.unknownOutcomes ?? 0} | ${r.historiesChecked} | ${r.violations} | ${s(r.durationMs ?? 0)} | ${r.commit} | ${r.startedAt.slice(0, 16)} |`;
    });
    const kinds = new Map<string, { count: number; ms: number }>();
    const refusals = new Map<string, number>();
    for (const r of runs) {
        for (const [k, v] of Object.entries(r.timePerStepKind)) {
            const t = kinds.get(k) ?? { count: 0, ms: 0 };
            kinds.set(k, { count: t.count + v.count, ms: t.ms + v.ms });
        }
        for (const [why, n] of Object.entries(r.refusals)) refusals.set(why, (refusals.get(why) ?? 0) + n);
    }
    const passed = runs.filter((r) => r.result === "passed").length;
    // A seed run again (after a fault of the lab or the runner was fixed) is one seed, each run a row.
    const seeds = new Set(runs.map((r) => r.seed)).size;
    const seedsPassed = new Set(runs.filter((r) => r.result === "passed").map((r) => r.seed)).size;
    const total = `| **${runs.length} runs of ${seeds} seeds** | ${sum(runs.map((r) => r.stepsRun))} steps | ${passed} runs passed (${seedsPassed} seeds) | ${sum(runs.map((r) => r.faults))} | ` +
        `${sum(runs.map((r) => r.requests?.total ?? 0))} | ${sum(runs.map((r) => r.unknownOutcomes ?? 0))} | ${sum(runs.map((r) => r.historiesChecked))} | ` +
        `**${sum(runs.map((r) => r.violations))}** | ${s(sum(runs.map((r) => r.durationMs ?? 0)))} | | |`;
    return [
        "| seed | steps | result | faults | requests | unknown | histories checked | violations | time (s) | commit | started (UTC) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ...rows,
        total,
        "",
        `Refusals by reason: ${[...refusals].sort().map(([why, n]) => `${why} ${n}`).join("; ") || "none"}.`,
        "",
        "| step kind | times run | mean time (s) |",
        "| --- | --- | --- |",
        ...[...kinds].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `| ${k} | ${v.count} | ${s(v.ms / v.count)} |`),
    ].join("\n");
}

/** Every results file in `dir` (tests/chaos/results by default). */
export function readResults(dir = path.join(__dirname, "results")): ChaosResults[] {
    return fs.readdirSync(dir).filter((f) => f.endsWith(".json")).map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as ChaosResults);
}

if (require.main === module) console.log(renderTable(tableRuns(readResults())));
