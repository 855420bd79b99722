// Mutation testing of the safety logic (issue 25): `npm run mutation` (see mutation/README.md).
// Long (tens of minutes per large file): not part of `npm test` nor of CI.
//
// Overrides, all optional:
//   npm run mutation -- --mutate components/spec/memberIdentity.ts which files to mutate
//   npm run mutation -- --concurrency 2                         more test processes (default 1)
//   MUTATION_SPEC='tests/unit/spec/memberIdentity.test.ts,...'       run only these test files (comma-separated globs)
//   MUTATION_IGNORE='tests/unit/wip.test.ts'                    leave these test files out (e.g. one failing
//                                                               in work in progress: Stryker's first run must pass)
//   npm run mutation -- --maxTestRunnerReuse 1                  a fresh test process per mutant (slow; only for a test
//                                                               file that fails when run twice in one process:
//                                                               `node mutation/run-unit-twice.js` finds those)

// The unit tests run under ts-node (.mocharc.json requires ts-node/register). Type-checking is
// `npm run build`'s job; in the sandbox ts-node only transpiles, which is faster and lets the
// instrumented files (every mutant switched in at once) load. The test processes inherit this.
process.env.TS_NODE_TRANSPILE_ONLY ??= "1";

const list = (v) => (v ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
    packageManager: "npm",
    testRunner: "mocha",
    // The project's .mocharc.json (ts-node/register, .ts, 20 s per test) is read by the runner;
    // only the unit tests (mocked engine, no hosts).
    mochaOptions: {
        config: ".mocharc.json",
        spec: list(process.env.MUTATION_SPEC).length > 0 ? list(process.env.MUTATION_SPEC) : ["tests/unit/**/*.test.ts"],
        ignore: list(process.env.MUTATION_IGNORE),
    },
    coverageAnalysis: "perTest",
    concurrency: 1,
    // Tests that run scripts under `sh` vary a lot on a busy machine: a mutant times out only
    // when its tests take 3 times as long as in the first run plus 20 s.
    timeoutFactor: 3,
    timeoutMS: 20000,
    // The safety logic (issue 25).
    mutate: [
        "components/spec/*.ts",
        "components/shell/*.ts",
        "components/*/render*.ts",
        "components/plan/removalCheck.ts",
        "components/membership/*.ts",
        "components/host/hostFiles*.ts",
        "components/host/ssh.ts",
        "components/base/hostKeys.ts",
        "components/host/hostKeyCheck.ts",
        "components/pki/pki.ts",
        "components/member/member.ts",
        "components/cluster.ts",
        "components/host/stagedRelease.ts",
        "components/maintenance/restore.ts",
        "components/maintenance/snapshots.ts",
        "components/maintenance/defrag.ts",
    ],
    // Mutated files get `// @ts-nocheck` (the default covers only test/, src/ and lib/).
    disableTypeChecks: "components/**/*.ts",
    // Not copied into the sandbox (git-ignored downloads, lab state, results), nor the lab and
    // engine tests (the unit tests do not use them; files others write there while a run starts
    // made the sandbox copy fail with ENOENT).
    ignorePatterns: [".cache", ".lab", "bin", "tests/lab", "tests/engine", "mutation", "*.log"],
    reporters: ["clear-text", "progress", "json", "html"],
    jsonReporter: { fileName: "mutation/report.json" },
    htmlReporter: { fileName: "mutation/report.html" },
    tempDirName: ".stryker-tmp",
    cleanTempDir: true,
};
