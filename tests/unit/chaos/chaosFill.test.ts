/**
 * The nospace step's fill goes on past a put that fails other than NOSPACE (chaos seed 21, step 13:
 * a 960 KiB put timed out on 7 members under load after 112 puts, and the step failed short of
 * the quota), and still ends: at NOSPACE, after too many other failures, or at its bound.
 */
import { strict as assert } from "assert";
import { fillUntilNospace } from "../../chaos/fill";

const ok = { code: 0, out: "OK" };
// etcdctl's answers, as the lab saw them.
const timedOut = { code: 1, out: '{"level":"warn","msg":"retrying of unary invoker failed"}\nError: context deadline exceeded' };
const nospace = { code: 1, out: "Error: etcdserver: mvcc: database space exceeded" };

/** A put that answers `answers` in turn (then ok), recording each call's index. */
function scripted(answers: Array<{ code: number; out: string }>) {
    const calls: number[] = [];
    return { calls, put: async (i: number) => { calls.push(i); return answers[calls.length - 1] ?? ok; } };
}

describe("chaos nospace fill (issue 27, chaos seed 21)", function () {
    it("a put that times out does not end the fill: it goes on to NOSPACE (seed 21's step 13)", async function () {
        const s = scripted([ok, ok, timedOut, ok, nospace]);
        const r = await fillUntilNospace(s.put, { maxPuts: 100, pauseMs: 0 });
        assert.equal(r.nospace, nospace.out);
        assert.equal(r.puts, 5);
        assert.deepEqual(s.calls, [0, 1, 2, 3, 4]);
        assert.deepEqual(r.otherFailures, [timedOut.out]);
    });

    it("ends without NOSPACE after maxOtherFailures other failures (writes not taken at all)", async function () {
        const s = scripted(Array(50).fill(timedOut));
        const r = await fillUntilNospace(s.put, { maxPuts: 100, maxOtherFailures: 4, pauseMs: 0 });
        assert.equal(r.nospace, undefined);
        assert.equal(r.puts, 4);
        assert.equal(r.otherFailures.length, 4);
    });

    it("ends without NOSPACE at maxPuts when every put is taken", async function () {
        const s = scripted([]);
        const r = await fillUntilNospace(s.put, { maxPuts: 7, pauseMs: 0 });
        assert.equal(r.nospace, undefined);
        assert.equal(r.puts, 7);
        assert.deepEqual(r.otherFailures, []);
    });
});
