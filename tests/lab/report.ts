/**
 * The figures of the fault and security suites: counted by the tests as they run, printed and
 * written to tests/lab/results/report.json when the mocha run ends (only if a suite counted).
 */
import * as fs from "fs";
import * as path from "path";

export const figures = {
    /** Engine runs (up, preview, killed up) driven against faulty or hostile conditions. */
    runsTried: 0,
    faultsInjected: 0,
    writesAcknowledged: 0,
    /** Must be 0: acknowledged writes not readable afterwards. */
    writesLost: 0,
    /** Must be 0: private keys found in engine output, command output or plaintext state. */
    secretsFound: 0,
    impostorsTried: 0,
    /** Must be 0: impostors that received any file. */
    impostorsAccepted: 0,
};

export function count(key: keyof typeof figures, n = 1): void {
    figures[key] += n;
}

after(function () {
    if (Object.values(figures).every((v) => v === 0)) return;
    const dir = path.join(__dirname, "results");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "report.json"), JSON.stringify({ ...figures, at: new Date().toISOString() }, null, 2) + "\n");
    console.log(`\n  fault and security figures (tests/lab/results/report.json): ${Object.entries(figures).map(([k, v]) => `${k} ${v}`).join(", ")}`);
});
