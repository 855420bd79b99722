/**
 * membershipProvider.ts's pure parts, at their edges (killers of survivors of the 05:29 Stryker
 * run): only whole `member …` rows of the list script count (anchored both ends, surrounding
 * blanks ignored), only a whole `answered-by local` line means the member's own etcd answered,
 * members the stack does not list come after its own, sorted by name and each once, and two
 * member maps are the same whatever order their keys come in, but not with values swapped.
 */
import { strict as assert } from "assert";
import { observedMembers, parseMemberList, sameMembers } from "../../../components/membership/membershipProvider";

const row = "8e9e05c52164694d, started, lab-1, https://10.213.0.11:2380, https://10.213.0.11:2379, false";

describe("membership provider: parsing the list script's output at its edges", () => {
    it("a row with blanks around it counts; one with anything before `member` or after the learner flag does not", () => {
        assert.equal(parseMemberList(`  member ${row}  \n`).members.length, 1);
        assert.equal(parseMemberList(`\tmember ${row}\r\n`).members[0].name, "lab-1");
        assert.deepEqual(parseMemberList(`note: member ${row}\n`).members, []);
        assert.deepEqual(parseMemberList(`member ${row}, extra\n`).members, []);
        assert.deepEqual(parseMemberList(`member ${row.replace(/false$/, "falsey")}\n`).members, []);
    });

    it("only a line that is exactly `answered-by local` says the member's own etcd answered", () => {
        assert.equal(parseMemberList("answered-by local\n").local, true);
        assert.equal(parseMemberList("member x\nanswered-by local\n").local, true);
        assert.equal(parseMemberList("answered-by others\n").local, false);
        assert.equal(parseMemberList("not answered-by local\n").local, false);
        assert.equal(parseMemberList("answered-by local-ish\n").local, false);
    });
});

describe("membership provider: the observed members and their comparison", () => {
    const desired = { "lab-1": "https://10.213.0.11:2380", "lab-2": "https://10.213.0.12:2380" };
    const m = (id: string, name: string, url: string) => ({ id, started: true, name, peerUrl: url, learner: false });

    it("members the stack does not list follow its own, sorted by name, each once", () => {
        const observed = observedMembers([
            m("5", "zeta", "https://10.0.0.5:2380"), m("2", "lab-2", desired["lab-2"]), m("4", "alpha", "https://10.0.0.4:2380"),
            m("1", "lab-1", desired["lab-1"]), m("6", "mid", "https://10.0.0.6:2380"),
        ], desired);
        assert.deepEqual(Object.keys(observed), ["lab-1", "lab-2", "alpha", "mid", "zeta"]);
        assert.equal(observed.alpha, "https://10.0.0.4:2380");
    });

    it("the same members in any key order are the same; swapped or changed values are not", () => {
        const base: Record<string, string> = { a: "1", b: "2", c: "3", d: "4" };
        const keys = Object.keys(base);
        const perms = (xs: string[]): string[][] => xs.length <= 1 ? [xs] : xs.flatMap((x, i) => perms([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
        for (const p of perms(keys)) {
            const reordered = Object.fromEntries(p.map((k) => [k, base[k]]));
            assert.ok(sameMembers(base, reordered), p.join(""));
            assert.ok(sameMembers(reordered, base), p.join(""));
            assert.ok(!sameMembers(reordered, { ...base, a: "2", b: "1" }), `swapped, ${p.join("")}`);
            assert.ok(!sameMembers(reordered, { ...base, e: "5" }), `one more, ${p.join("")}`);
        }
    });
});
