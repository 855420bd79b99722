/** Summaries of repeated measurements: every value kept, plus min / median / max. */

export interface Summary {
    n: number;
    min: number;
    median: number;
    max: number;
    /** Every measured value, in the order measured. */
    values: number[];
}

export function summarize(values: number[]): Summary | undefined {
    if (values.length === 0) return undefined;
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    return { n: values.length, min: sorted[0], median, max: sorted[sorted.length - 1], values: [...values] };
}

export function median(values: number[]): number | undefined {
    return summarize(values)?.median;
}

/** Seconds with one decimal ("12.3 s"), or "–" when unmeasured. */
export function secs(v: number | undefined, digits = 1): string {
    return v === undefined || !Number.isFinite(v) ? "–" : `${v.toFixed(digits)} s`;
}

/** "median (min–max)" in seconds. */
export function spread(s: Summary | undefined): string {
    if (!s) return "–";
    return s.n === 1 ? `${s.median.toFixed(1)} s (1 run)` : `${s.median.toFixed(1)} s (${s.min.toFixed(1)}–${s.max.toFixed(1)})`;
}

export function round(v: number, digits = 3): number {
    const f = 10 ** digits;
    return Math.round(v * f) / f;
}
