// Types of tests/summaryTable.js (plain JavaScript: mocha loads the reporter that requires it without ts-node).
export interface FileTime { file: string; passed: number; failed: number; skipped: number; ms: number; engineRuns?: number; engineMs?: number }
export interface Timed { file: string; title: string; ms: number; kind?: "hook" }
export function formatSummary(input: { files: FileTime[]; slowest: Timed[]; totalMs: number; loadMs?: number; top?: number }): string;
export function partOf(file: string): "unit" | "engine" | "lab" | "other";
export function seconds(ms: number): string;
