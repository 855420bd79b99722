/** The time table `npm test` prints before its closing line (tests/summaryTable.js, used by tests/summary-reporter.js). */
import { strict as assert } from "assert";
import { Timed, formatSummary, partOf, seconds } from "../summaryTable";

describe("summary table: each test file's time by part, the slowest tests", () => {
    it("names each file's part from its path", () => {
        assert.equal(partOf("tests/unit/ssh.test.ts"), "unit");
        assert.equal(partOf("tests/engine/policy.test.ts"), "engine");
        assert.equal(partOf("/work/main/tests/lab/cluster.test.ts"), "lab");
        assert.equal(partOf("(no file)"), "other");
        assert.equal(seconds(0), "0.0 s");
        assert.equal(seconds(754_249), "754.2 s");
    });

    it("groups files by part (unit, engine, lab), slowest first, each part with its total, aligned; then the loading and the run", () => {
        const text = formatSummary({
            files: [
                { file: "tests/lab/cluster.test.ts", passed: 12, failed: 1, skipped: 0, ms: 312_400 },
                { file: "tests/unit/spec.test.ts", passed: 40, failed: 0, skipped: 0, ms: 900 },
                { file: "tests/engine/policy.test.ts", passed: 6, failed: 0, skipped: 0, ms: 41_000 },
                { file: "tests/unit/ssh.test.ts", passed: 6, failed: 0, skipped: 0, ms: 1_240 },
                { file: "tests/lab/lab.test.ts", passed: 0, failed: 0, skipped: 5, ms: 30 },
            ],
            slowest: [],
            totalMs: 356_000,
            loadMs: 6_500,
        });
        assert.equal(text, [
            "Time per test file (wall clock, hooks included), by part:",
            "  part    file                         passed  failed  skipped     time",
            "  unit    tests/unit/ssh.test.ts            6       0        0    1.2 s",
            "  unit    tests/unit/spec.test.ts          40       0        0    0.9 s",
            "  unit    total (2 files)                  46       0        0    2.1 s",
            "  engine  tests/engine/policy.test.ts       6       0        0   41.0 s",
            "  engine  total (1 file)                    6       0        0   41.0 s",
            "  lab     tests/lab/cluster.test.ts        12       1        0  312.4 s",
            "  lab     tests/lab/lab.test.ts             0       0        5    0.0 s",
            "  lab     total (2 files)                  12       1        5  312.4 s",
            "  all     loading the test files                                  6.5 s",
            "  all     run (wall clock)                 64       1        5  356.0 s",
        ].join("\n"));
    });

    it("adds each file's engine runs and their time when some file ran the engine, with the totals", () => {
        const text = formatSummary({
            files: [
                { file: "tests/lab/cluster.test.ts", passed: 12, failed: 0, skipped: 0, ms: 312_400, engineRuns: 7, engineMs: 250_000 },
                { file: "tests/lab/drift.test.ts", passed: 5, failed: 0, skipped: 0, ms: 200_000, engineRuns: 2, engineMs: 90_060 },
                { file: "tests/unit/spec.test.ts", passed: 40, failed: 0, skipped: 0, ms: 900 },
            ],
            slowest: [],
            totalMs: 520_000,
        });
        assert.equal(text, [
            "Time per test file (wall clock, hooks included) and the engine runs in it, by part:",
            "  part  file                       passed  failed  skipped     time  engine runs  engine time",
            "  unit  tests/unit/spec.test.ts        40       0        0    0.9 s            0        0.0 s",
            "  unit  total (1 file)                 40       0        0    0.9 s            0        0.0 s",
            "  lab   tests/lab/cluster.test.ts      12       0        0  312.4 s            7      250.0 s",
            "  lab   tests/lab/drift.test.ts         5       0        0  200.0 s            2       90.1 s",
            "  lab   total (2 files)                17       0        0  512.4 s            9      340.1 s",
            "  all   run (wall clock)               57       0        0  520.0 s            9      340.1 s",
        ].join("\n"));
    });

    it("lists the ten slowest tests and hooks, slowest first, and ends without a newline", () => {
        const slowest: Timed[] = Array.from({ length: 12 }, (_, i) => ({ file: "tests/unit/a.test.ts", title: `a test ${i}`, ms: i * 100 }));
        slowest.push({ file: "tests/lab/cluster.test.ts", title: `cluster "before all" hook`, ms: 95_000, kind: "hook" });
        const lines = formatSummary({ files: [], slowest, totalMs: 100_000 }).split("\n");
        const start = lines.indexOf("10 slowest tests and hooks:");
        assert.ok(start > 0, lines.join("\n"));
        assert.deepEqual(lines.slice(start + 1), [
            "  95.0 s  lab   hook  tests/lab/cluster.test.ts: cluster \"before all\" hook",
            "   1.1 s  unit  test  tests/unit/a.test.ts: a test 11",
            "   1.0 s  unit  test  tests/unit/a.test.ts: a test 10",
            "   0.9 s  unit  test  tests/unit/a.test.ts: a test 9",
            "   0.8 s  unit  test  tests/unit/a.test.ts: a test 8",
            "   0.7 s  unit  test  tests/unit/a.test.ts: a test 7",
            "   0.6 s  unit  test  tests/unit/a.test.ts: a test 6",
            "   0.5 s  unit  test  tests/unit/a.test.ts: a test 5",
            "   0.4 s  unit  test  tests/unit/a.test.ts: a test 4",
            "   0.3 s  unit  test  tests/unit/a.test.ts: a test 3",
        ]);
    });
});
