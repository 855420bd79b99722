/**
 * CI's chaos seed (issue 27): one short seeded run of the chaos runner (tests/chaos/run.ts) on the
 * lab, as `npm run chaos -- --seed 1358 --steps 2` runs it: recorded traffic from four clients for the
 * whole run, a tuning roll during which a member is cut off the network (an up that fails there must
 * name the member and why), then NOSPACE (the quota filled) and the operator's remedy
 * (scripts/maintenance.sh); every step's invariants (the up converged, no two restarts at once in
 * the hosts' journals, a quorum at every health sample, the member list is the stack's, the next
 * preview is empty), and the whole history checked linearizable by porcupine. Its results file goes to a temp
 * dir (the committed runs are in tests/chaos/results and its README).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { engineUnavailable, repoRoot } from "../engine/engine";
import { chaosToolsMissing } from "../chaos/chaosTools";
import { ChaosResults } from "../chaos/results";
import { skipIf, tarballMissing } from "../skip";
import { labAvailable, runAsync } from "./lab";
import { indent, labTarball } from "./labStack";

const seed = 1358;
const steps = 2;

describe(`lab: chaos, one short seed (${seed}, ${steps} steps) under recorded traffic (issue 27)`, function () {
    this.timeout(16 * 60_000);
    let out = "";

    before(function () {
        skipIf(this, engineUnavailable() ?? labAvailable() ?? tarballMissing(labTarball) ?? chaosToolsMissing());
        out = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-chaos-results-"));
    });
    after(() => { if (out) fs.rmSync(out, { recursive: true, force: true }); });

    it("every step holds its invariants, nothing acknowledged is lost, and the history is linearizable", async () => {
        const r = await runAsync(process.execPath, [require.resolve("ts-node/dist/bin.js"), "tests/chaos/run.ts",
            "--seed", String(seed), "--steps", String(steps), "--max-minutes", "13"], {
            cwd: repoRoot, timeoutMs: 15 * 60_000, label: "the chaos runner",
            env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "1", ETCD_STACK_CHAOS_RESULTS: out },
        });
        console.log(indent(r.stdout.split("\n").filter((l) => /^\[|^chaos|^ +\d+\. /.test(l)).join("\n")));
        const file = /^results: (\S+\.json)$/m.exec(r.stdout)?.[1];
        assert.ok(file && file.startsWith(out), `no results file in the runner's output (exit ${r.code}):\n${r.stdout.slice(-3000)}${r.stderr.slice(-2000)}`);
        const results = JSON.parse(fs.readFileSync(file, "utf8")) as ChaosResults;
        assert.strictEqual(results.result, "passed", `${results.failure ?? results.stoppedEarly ?? ""}\n${r.stdout.slice(-3000)}`);
        assert.strictEqual(r.code, 0);
        assert.deepStrictEqual(results.steps.map((s) => [s.kind, s.result]), [["fault-during-roll", "ok"], ["nospace", "ok"]]);
        assert.strictEqual(results.historiesChecked, 1);
        assert.strictEqual(results.violations, 0);
        assert.ok((results.requests?.ok ?? 0) > 1000, `only ${results.requests?.ok} requests answered`);
        // Every key read back at the end: each acknowledged write readable with its last value.
        assert.deepStrictEqual({ failed: results.finalReads?.failed, unknown: results.finalReads?.unknown }, { failed: 0, unknown: 0 });
        assert.strictEqual(results.faults, 2, "the partition and the NOSPACE alarm");
        // NOSPACE answered the recorder's writes: unknown outcomes (etcd applies the write that crosses the quota, then answers NOSPACE).
        assert.ok((results.requests?.unknown ?? 0) >= 10, `few unknown outcomes, so NOSPACE answered few writes: ${JSON.stringify(results.requests)}`);
    });
});
