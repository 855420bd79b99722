/**
 * The nospace step's fill (issue 27): one key overwritten with large values until etcd refuses a
 * write with NOSPACE. A put that fails otherwise (a timeout, a leader change) does not end the
 * fill: seed 21's step 13 failed on a 960 KiB put that timed out on 7 members at load 22, after
 * 112 puts, well short of the quota. Such a put may or may not have happened; either way the
 * fill goes on, as an operator filling a disk would.
 */
import { sleep } from "./context";

/** How a fill ended: the puts made, the ones that failed other than NOSPACE, and etcd's NOSPACE answer. */
export interface FillResult { puts: number; otherFailures: string[]; nospace?: string }

/**
 * Calls `put(i)` until one is answered NOSPACE, at most `maxPuts` times, and stops early after
 * `maxOtherFailures` failures of another kind (a cluster that cannot take writes at all), with
 * `pauseMs` after each of those.
 */
export async function fillUntilNospace(put: (i: number) => Promise<{ code: number; out: string }>,
    opts: { maxPuts: number; maxOtherFailures?: number; pauseMs?: number }): Promise<FillResult> {
    const otherFailures: string[] = [];
    let puts = 0;
    for (let i = 0; i < opts.maxPuts; i++) {
        const r = await put(i);
        puts++;
        if (r.code === 0) continue;
        if (/database space exceeded/.test(r.out)) return { puts, otherFailures, nospace: r.out };
        otherFailures.push(r.out.trim());
        if (otherFailures.length >= (opts.maxOtherFailures ?? 10)) break;
        await sleep(opts.pauseMs ?? 1000);
    }
    return { puts, otherFailures };
}
