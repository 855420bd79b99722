// The unit suite run twice in one process, the way Stryker's mocha runner reuses a test process
// (files loaded once, the suites run again for every mutant). A test file that passes once but
// fails on the second run turns every mutant it covers into a false kill (mutation/README.md).
//   node mutation/run-unit-twice.js                       # every tests/unit/**/*.test.ts
//   node mutation/run-unit-twice.js tests/unit/x.test.ts  # some files
// Exit 0 only when both runs pass; prints each run's passes and failures.
process.env.TS_NODE_TRANSPILE_ONLY ??= "1";
require("ts-node/register");
const path = require("path");
const Mocha = require("mocha");

const files = process.argv.slice(2).length > 0
    ? process.argv.slice(2)
    : require("glob").sync("tests/unit/**/*.test.ts");

async function main() {
    const mocha = new Mocha({ timeout: 20000, reporter: "dot" });
    mocha.cleanReferencesAfterRun(false);
    for (const f of files.sort()) mocha.addFile(path.resolve(f));
    await mocha.loadFilesAsync();
    let bad = 0;
    for (const run of [1, 2]) {
        const failures = await new Promise((resolve) => {
            const runner = mocha.run((n) => resolve(n));
            runner.on("fail", (test, err) => console.log(`run ${run} FAIL: ${test.fullTitle()}: ${String(err && err.message).split("\n")[0]}`));
        });
        console.log(`== run ${run}: ${failures} failed`);
        bad += failures;
    }
    process.exit(bad === 0 ? 0 : 1);
}
main().catch((e) => { console.error(e); process.exit(2); });
