// The time table that tests/summary-reporter.js prints before its closing line: every test file's
// wall time (its hooks included), grouped by part (unit, engine, lab) with each part's total, then
// the slowest tests and hooks. Pure: data in, text out (tests/unit/summaryTable.test.ts).
"use strict";

const PARTS = ["unit", "engine", "lab", "other"];

/** The part a test file belongs to, from its path relative to the repository ("tests/lab/x.test.ts" -> "lab"). */
function partOf(file) {
    const m = /(?:^|[\\/])tests[\\/](unit|engine|lab)[\\/]/.exec(file);
    return m ? m[1] : "other";
}

/** Seconds with one decimal ("0.0 s" … "1234.5 s"): right-aligned, the decimal points line up. */
function seconds(ms) {
    return `${(ms / 1000).toFixed(1)} s`;
}

/** Rows of cells as lines, each column as wide as its widest cell; `right` lists the columns aligned right. */
function align(rows, right) {
    const widths = [];
    for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] || 0, cell.length)));
    return rows.map((row) => row
        .map((cell, i) => (right.includes(i) ? cell.padStart(widths[i]) : i === row.length - 1 ? cell : cell.padEnd(widths[i])))
        .join("  ")
        .trimEnd());
}

/**
 * The table as lines (no trailing newline).
 * files:   [{ file, passed, failed, skipped, ms, engineRuns?, engineMs? }] — one per test file, `file`
 *          relative to the repository; engineRuns/engineMs: how many engine runs (up, preview, refresh,
 *          destroy) the file made and their wall time, shown in two more columns when any file made one;
 * slowest: [{ file, title, ms, kind? }] — tests (and hooks, kind "hook"), any order;
 * totalMs: the whole run's wall time; loadMs (optional): the time before it, mocha starting and
 * loading (compiling) the test files; top: how many of the slowest to list.
 */
function formatSummary({ files, slowest, totalMs, loadMs, top = 10 }) {
    const sum = (list, key) => list.reduce((n, f) => n + (f[key] || 0), 0);
    // The engine's share, only when some file ran it (a unit run has no engine column).
    const withEngine = sum(files, "engineRuns") > 0;
    const engine = (list) => (withEngine ? [String(sum(list, "engineRuns")), seconds(sum(list, "engineMs"))] : []);
    const rows = [["part", "file", "passed", "failed", "skipped", "time", ...(withEngine ? ["engine runs", "engine time"] : [])]];
    for (const part of PARTS) {
        const inPart = files.filter((f) => partOf(f.file) === part).sort((a, b) => b.ms - a.ms || a.file.localeCompare(b.file));
        if (inPart.length === 0) continue;
        for (const f of inPart) rows.push([part, f.file, String(f.passed), String(f.failed), String(f.skipped), seconds(f.ms), ...engine([f])]);
        rows.push([part, `total (${inPart.length} file${inPart.length === 1 ? "" : "s"})`,
            String(sum(inPart, "passed")), String(sum(inPart, "failed")), String(sum(inPart, "skipped")), seconds(sum(inPart, "ms")), ...engine(inPart)]);
    }
    if (typeof loadMs === "number") rows.push(["all", "loading the test files", "", "", "", seconds(loadMs)]);
    rows.push(["all", "run (wall clock)", String(sum(files, "passed")), String(sum(files, "failed")), String(sum(files, "skipped")), seconds(totalMs), ...engine(files)]);
    const heading = withEngine ? "Time per test file (wall clock, hooks included) and the engine runs in it, by part:" : "Time per test file (wall clock, hooks included), by part:";
    const lines = [heading, ...align(rows, [2, 3, 4, 5, 6, 7]).map((l) => `  ${l}`)];

    const ranked = slowest.filter((t) => typeof t.ms === "number").sort((a, b) => b.ms - a.ms).slice(0, top);
    if (ranked.length > 0) {
        lines.push("", `${ranked.length} slowest tests and hooks:`);
        const rankedRows = ranked.map((t) => [seconds(t.ms), partOf(t.file), t.kind === "hook" ? "hook" : "test", `${t.file}: ${t.title}`]);
        lines.push(...align(rankedRows, [0]).map((l) => `  ${l}`));
    }
    return lines.join("\n");
}

module.exports = { formatSummary, partOf, seconds };
