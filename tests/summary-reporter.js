// Mocha's spec reporter, then a time table (each test file's wall time grouped by part, the ten
// slowest tests and hooks: tests/summaryTable.js), then one closing line, "N passed, N failed,
// N skipped", that CI reads: it stays the very last line, in that format.
"use strict";
const path = require("path");
const Mocha = require("mocha");
const { formatSummary } = require("./summaryTable");

const { EVENT_RUN_BEGIN, EVENT_RUN_END, EVENT_SUITE_BEGIN, EVENT_SUITE_END, EVENT_TEST_PASS, EVENT_TEST_FAIL,
    EVENT_TEST_PENDING, EVENT_HOOK_END } = Mocha.Runner.constants;

/** The file a test, hook or suite was declared in, relative to the working directory (the repository). */
function fileOf(runnable) {
    for (let r = runnable; r; r = r.parent) {
        if (r.file) return path.relative(process.cwd(), r.file);
    }
    return "(no file)";
}

class SummaryReporter extends Mocha.reporters.Spec {
    constructor(runner, options) {
        super(runner, options); // the spec reporter's own summary is registered first, so it prints first
        const files = new Map();
        const entry = (file) => {
            if (!files.has(file)) files.set(file, { file, passed: 0, failed: 0, skipped: 0, ms: 0, engineRuns: 0, engineMs: 0 });
            return files.get(file);
        };
        // The engine runs (tests/engine/engine.ts records them in this global) made since the last
        // test or hook ended belong to the one ending now.
        const engineRuns = (globalThis.__etcdStackEngineRuns ??= []);
        const takeEngineRuns = (runnable) => {
            if (engineRuns.length === 0) return;
            const f = entry(fileOf(runnable));
            for (const run of engineRuns.splice(0)) { f.engineRuns++; f.engineMs += run.ms; }
        };
        const timed = [];
        const started = new Map();
        let runStart = Date.now();
        let loadMs = Math.round(process.uptime() * 1000); // node and mocha starting, the test files loaded (ts-node compiles them)

        runner.once(EVENT_RUN_BEGIN, () => {
            runStart = Date.now();
            loadMs = Math.round(process.uptime() * 1000);
        });
        // A file's wall time: its top-level suites, each from its first hook to its last (they run one after another).
        runner.on(EVENT_SUITE_BEGIN, (suite) => {
            if (suite.parent && suite.parent.root) started.set(suite, Date.now());
        });
        runner.on(EVENT_SUITE_END, (suite) => {
            if (!started.has(suite)) return;
            entry(fileOf(suite)).ms += Date.now() - started.get(suite);
            started.delete(suite);
        });
        const atRoot = (test) => test.parent && test.parent.root; // a test outside any describe: its own time
        runner.on(EVENT_TEST_PASS, (test) => {
            takeEngineRuns(test);
            const f = entry(fileOf(test));
            f.passed++;
            if (atRoot(test)) f.ms += test.duration || 0;
            timed.push({ file: f.file, title: test.titlePath().join(" › "), ms: test.duration });
        });
        runner.on(EVENT_TEST_FAIL, (test) => {
            takeEngineRuns(test);
            const f = entry(fileOf(test));
            f.failed++; // a failed hook counts here too, as in mocha's own count
            if (test.type === "test") {
                if (atRoot(test)) f.ms += test.duration || 0;
                timed.push({ file: f.file, title: test.titlePath().join(" › "), ms: test.duration });
            }
        });
        runner.on(EVENT_TEST_PENDING, (test) => entry(fileOf(test)).skipped++);
        runner.on(EVENT_HOOK_END, (hook) => {
            takeEngineRuns(hook);
            if (typeof hook.duration === "number" && hook.duration > 0) {
                timed.push({ file: fileOf(hook), title: hook.titlePath().join(" › "), ms: hook.duration, kind: "hook" });
            }
        });

        runner.once(EVENT_RUN_END, () => {
            const s = runner.stats;
            process.stdout.write(`\n${formatSummary({ files: [...files.values()], slowest: timed, totalMs: Date.now() - runStart, loadMs })}\n`);
            process.stdout.write(`\n${s.passes} passed, ${s.failures} failed, ${s.pending} skipped\n`);
        });
    }
}

module.exports = SummaryReporter;
