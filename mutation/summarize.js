// Per-file numbers and survivors of a Stryker run, from mutation/report.json (or the file given):
//   node mutation/summarize.js [report.json]
// Prints per file: mutants, score (killed + timed out over all but ignored/compile errors),
// killed / timed out / survived / no coverage, then each survivor (line, mutator, replacement) and
// the kill reasons that look like a test's own setup failing (ENOENT and the like: not kills).
const fs = require("fs");
const report = JSON.parse(fs.readFileSync(process.argv[2] ?? "mutation/report.json", "utf8"));
for (const [file, { mutants, source }] of Object.entries(report.files)) {
    const n = (s) => mutants.filter((m) => m.status === s).length;
    const killed = n("Killed"), timeout = n("Timeout"), survived = n("Survived"), nocov = n("NoCoverage");
    const valid = killed + timeout + survived + nocov;
    const score = valid === 0 ? 0 : (100 * (killed + timeout)) / valid;
    console.log(`${file}: ${mutants.length} mutants, ${score.toFixed(2)} %, killed ${killed}, timeout ${timeout}, survived ${survived}, no coverage ${nocov}` +
        `${n("RuntimeError") + n("CompileError") + n("Ignored") ? `, other ${n("RuntimeError") + n("CompileError") + n("Ignored")}` : ""}`);
    const lines = source.split("\n");
    for (const m of mutants.filter((x) => x.status === "Survived" || x.status === "NoCoverage")) {
        const l = m.location.start.line;
        console.log(`  ${m.status === "Survived" ? "S" : "N"} ${l}:${m.location.start.column} ${m.mutatorName}: ${JSON.stringify(m.replacement ?? "").slice(0, 100)}  | ${lines[l - 1].trim().slice(0, 110)}`);
    }
    const suspicious = mutants.filter((m) => m.status === "Killed" && /ENOENT|EEXIST|EACCES|before all|after all|Cannot find module/.test(m.statusReason ?? ""));
    for (const m of suspicious) console.log(`  ? kill to check, line ${m.location.start.line}: ${(m.statusReason ?? "").split("\n")[0].slice(0, 160)}`);
}
