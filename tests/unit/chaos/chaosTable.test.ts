/**
 * The chaos README's seeds table (issue 27) is made from the committed results files
 * (tests/chaos/table.ts): the README's copy must be exactly what they say, and the table counts
 * what the runs counted, failures and violations included.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ChaosResults } from "../../chaos/results";
import { readResults, renderTable, tableEnd, tableRuns, tableStart } from "../../chaos/table";

function run(seed: number, patch: Partial<ChaosResults> = {}): ChaosResults {
    return {
        seed, stepsRequested: 15, stepsRun: 15, startedAt: `2026-12-06T0${seed % 10}:00:00.000Z`, commit: "abc1234", reproduce: "", result: "passed",
        steps: [{ n: 1, kind: "crash", step: "crash lab1", ms: 60_000, result: "ok" }], faults: 3, requests: { total: 1000, ok: 990, failed: 0, unknown: 10 },
        unknownOutcomes: 10, historiesChecked: 1, violations: 0, refusals: { "clock skew": 1 }, timePerStepKind: { crash: { count: 2, ms: 100_000 } },
        engineRuns: { count: 30, ms: 900_000 }, durationMs: 1_200_000, ...patch,
    };
}

describe("chaos seeds table (tests/chaos/table.ts)", () => {
    it("one row per long run, mutants and short runs left out, then the totals", () => {
        const runs = tableRuns([run(2), run(1), run(3, { stepsRequested: 2 }), run(4, { mutant: "roll-together" })]);
        assert.deepStrictEqual(runs.map((r) => r.seed), [1, 2]);
        const t = renderTable(runs);
        assert.match(t, /^\| 1 \| 15 of 15 \| passed \| 3 \| 1000 \| 10 \| 1 \| 0 \| 1200 \| abc1234 \| 2026-12-06T01:00 \|$/m);
        assert.match(t, /^\| \*\*2 runs of 2 seeds\*\* \| 30 steps \| 2 runs passed \(2 seeds\) \| 6 \| 2000 \| 20 \| 2 \| \*\*0\*\* \| 2400 \| \| \|$/m);
        // A seed run twice is one seed.
        assert.match(renderTable([run(1), run(1, { result: "failed", stepsRun: 0, steps: [] })]), /^\| \*\*2 runs of 1 seeds\*\* \| 15 steps \| 1 runs passed \(1 seeds\) \|/m);
        assert.match(t, /^Refusals by reason: clock skew 2\.$/m);
        assert.match(t, /^\| crash \| 4 \| 50 \|$/m);
    });

    it("a failed run shows where it failed, and its violation is counted", () => {
        const t = renderTable([run(5, { result: "failed", violations: 1, stepsRun: 4,
            steps: [{ n: 4, kind: "wipe-data", step: "", ms: 1, result: "failed", error: "x" }] })]);
        assert.match(t, /^\| 5 \| 4 of 15 \| failed \(step 4, wipe-data\) \|/m);
        assert.match(t, /\| 0 runs passed \(0 seeds\) \|.*\| \*\*1\*\* \|/);
        const lab = renderTable([run(6, { result: "failed", stepsRun: 0, steps: [], failure: "Error: lab.sh up 3 failed (exit 1):\nlab3 NOT ready | x" })]);
        assert.match(lab, /^\| 6 \| 0 of 15 \| failed \(Error: lab\.sh up 3 failed \(exit 1\):\) \|/m);
    });

    it("the README's table is the one the committed results files make", () => {
        const readme = fs.readFileSync(path.join(__dirname, "../../chaos/README.md"), "utf8");
        const start = readme.indexOf(tableStart);
        const end = readme.indexOf(tableEnd);
        assert.ok(start >= 0 && end > start, "the README has the table's markers");
        assert.strictEqual(readme.slice(start + tableStart.length, end).trim(), renderTable(tableRuns(readResults())));
    });
});
