/**
 * The chaos runner's step lists (tests/chaos/plan.ts, issue 27): a seed always gives the same list,
 * every step can be carried out at the size the cluster has when it comes, and every kind of step
 * on the menu is drawn by some seed.
 */
import * as assert from "assert";
import { Placement, Rng, Step, describe as describeStep, drawSteps, menu, releases, startRelease, upgradeFrom } from "../../chaos/plan";

describe("chaos step lists (tests/chaos/plan.ts)", () => {
    const seeds = Array.from({ length: 200 }, (_, i) => i + 1);

    it("the same seed gives the same list; another seed another", () => {
        assert.deepStrictEqual(drawSteps(90, 15), drawSteps(90, 15));
        assert.notDeepStrictEqual(drawSteps(90, 15), drawSteps(91, 15));
        // A longer run of the same seed begins with the shorter one's steps.
        assert.deepStrictEqual(drawSteps(7, 20).slice(0, 10), drawSteps(7, 10));
    });

    it("every step fits the cluster it comes to: sizes 3, 5 or 7, members that exist, parameters that change something", () => {
        for (const seed of seeds) {
            let size = 3;
            let placed: Placement[] = [1, 2, 3].map((k) => ({ name: `lab-${k}`, address: `10.213.0.${10 + k}` }));
            let upgrades = 0;
            let snapshotCount = 10000;
            let validity = 8760;
            for (const step of drawSteps(seed, 15)) {
                const where = `seed ${seed} step ${step.n} (${describeStep(step)})`;
                assert.strictEqual(step.from, size, where);
                const member = (name: string | undefined) => {
                    const k = Number(/^lab-(\d)$/.exec(name ?? "")?.[1]);
                    assert.ok(k >= 1 && k <= size, `${where}: ${name} is not one of lab-1..lab-${size}`);
                };
                // A step on a member names the host the member is on then (a replace moves it).
                if (step.member) assert.strictEqual(step.host, `lab${placed.find((m) => m.name === step.member)!.address.slice(-1)}`, where);
                const after = step.after ?? placed;
                // Every member on its own lab host; the names stay lab-1 … lab-n.
                assert.strictEqual(new Set(after.map((m) => m.address)).size, after.length, `${where}: two members on one host`);
                assert.ok(after.every((m) => /^10\.213\.0\.1[1-7]$/.test(m.address)), where);
                assert.deepStrictEqual(after.map((m) => m.name), after.map((_, i) => `lab-${i + 1}`), where);
                switch (step.kind) {
                    case "scale-up":
                        assert.strictEqual(step.to, size + 2, where);
                        assert.deepStrictEqual(after.slice(0, size), placed, `${where}: the members already there stay where they are`);
                        assert.ok(after.slice(size).every((m) => !placed.some((p) => p.address === m.address)), `${where}: a new member on a used host`);
                        break;
                    case "scale-down":
                        assert.strictEqual(step.to, size - 2, where);
                        assert.deepStrictEqual(after, placed.slice(0, size - 2), where);
                        break;
                    case "power-off-replace": {
                        member(step.member);
                        assert.ok(size < 7, `${where}: no free host at 7`);
                        const moved = after.filter((m, i) => m.address !== placed[i].address);
                        assert.deepStrictEqual(moved.map((m) => m.name), [step.member], `${where}: exactly the replaced member moves`);
                        assert.ok(!placed.some((p) => p.address === moved[0].address), `${where}: it moves to a free host`);
                        break;
                    }
                    case "upgrade":
                        // Odd seeds a minor upgrade, even seeds a patch one.
                        assert.deepStrictEqual(step.version, { from: seed % 2 === 0 ? "3.6.15" : "3.5.35", to: releases.newer }, where);
                        assert.strictEqual(++upgrades, 1, `${where}: a second upgrade (a release is never downgraded)`);
                        break;
                    case "cert-reissue":
                        assert.ok(step.validityHours! < validity && step.validityHours! > 720, where);
                        validity = step.validityHours!;
                        break;
                    case "swap":
                        member(step.member);
                        member(step.other);
                        assert.notStrictEqual(step.member, step.other, where);
                        break;
                    case "fault-during-roll":
                        member(step.member);
                        assert.ok(["freeze", "partition"].includes(step.fault!), where);
                        assert.ok(step.seconds! >= 10 && step.seconds! <= 25, where);
                        break;
                    case "killed-up": assert.ok(["restarting", "restarted"].includes(step.killAt!), where); break;
                    case "tuning-roll": break;
                    default: member(step.member);
                }
                // A step that rolls the cluster does so with a value it has not had yet.
                if (["tuning-roll", "fault-during-roll", "killed-up", "clock-skew"].includes(step.kind)) {
                    assert.ok(step.snapshotCount! > snapshotCount, `${where}: snapshotCount ${step.snapshotCount} after ${snapshotCount}`);
                    snapshotCount = step.snapshotCount!;
                } else {
                    assert.strictEqual(step.snapshotCount, undefined, where);
                }
                size = step.to ?? size;
                placed = after;
                assert.strictEqual(placed.length, size, where);
                assert.ok([3, 5, 7].includes(size), `${where}: size ${size}`);
            }
        }
    });

    it("a list that upgrades deploys the release its upgrade starts from (minor or patch, both drawn); every other the newest", () => {
        const lists = seeds.map((seed) => ({ seed, steps: drawSteps(seed, 15) }));
        const upgrading = lists.filter((l) => l.steps.some((s) => s.kind === "upgrade"));
        assert.ok(upgrading.length > 20 && upgrading.length < lists.length - 20, `${upgrading.length} of ${lists.length}`);
        for (const l of lists) assert.strictEqual(startRelease(l.steps), !upgrading.includes(l) ? "3.6.16" : l.seed % 2 === 0 ? "3.6.15" : "3.5.35", `seed ${l.seed}`);
        const starts = new Set(upgrading.map((l) => startRelease(l.steps)));
        assert.deepStrictEqual([...starts].sort(), ["3.5.35", "3.6.15"]);
        assert.match(describeStep(upgrading.find((l) => l.seed % 2 === 0)!.steps.find((s) => s.kind === "upgrade")!), /3\.6\.15 -> 3\.6\.16 \(patch;/);
        assert.match(describeStep(upgrading.find((l) => l.seed % 2 === 1)!.steps.find((s) => s.kind === "upgrade")!), /3\.5\.35 -> 3\.6\.16 \(minor;/);
        assert.strictEqual(upgradeFrom(-3), "3.5.35");
    });

    it("every kind on the menu is drawn, in about its share of the weight", () => {
        const counts = new Map<string, number>();
        let total = 0;
        for (const seed of seeds) for (const step of drawSteps(seed, 15)) {
            counts.set(step.kind, (counts.get(step.kind) ?? 0) + 1);
            total++;
        }
        assert.deepStrictEqual([...counts.keys()].sort(), menu.map((m) => m.kind).sort());
        // Kinds possible at every size: their share is their weight over the menu's at that size
        // (between the share with both scale kinds possible and with one only).
        const all = menu.reduce((s, m) => s + m.weight, 0);
        for (const m of menu.filter((x) => !x.kind.startsWith("scale-") && x.kind !== "power-off-replace" && x.kind !== "upgrade")) {
            const share = counts.get(m.kind)! / total;
            assert.ok(share > (m.weight / all) * 0.75 && share < (m.weight / (all - 1.5)) * 1.25, `${m.kind}: ${(share * 100).toFixed(1)} % of ${total} steps`);
        }
    });

    it("every step is described in one line naming what it does", () => {
        const seen = new Set<string>();
        for (const seed of seeds) for (const step of drawSteps(seed, 15)) {
            const line = describeStep(step);
            assert.ok(!line.includes("\n") && !line.includes("undefined"), line);
            assert.ok(line.startsWith(step.kind), line);
            seen.add(step.kind);
        }
        const example: Step = { n: 1, kind: "fault-during-roll", from: 5, member: "lab-4", host: "lab4", fault: "partition", seconds: 12, snapshotCount: 10007 };
        assert.strictEqual(describeStep(example), "fault-during-roll on 5: tuning.snapshotCount = 10007, lab4 (lab-4) cut off the network for 12 s " +
            "as the first restart begins; then up until converged");
        const replace: Step = { n: 2, kind: "power-off-replace", from: 3, member: "lab-2", host: "lab2",
            after: [{ name: "lab-1", address: "10.213.0.11" }, { name: "lab-2", address: "10.213.0.14" }, { name: "lab-3", address: "10.213.0.13" }] };
        assert.strictEqual(describeStep(replace), "power-off-replace: lab2 (lab-2) powered off, lab-2 moved to lab4 in the stack, then up; lab2 back on and reinstalled");
        assert.strictEqual(seen.size, menu.length);
    });

    it("the generator: the same seed the same numbers, in [0, 1), spread over it", () => {
        const a = new Rng(5), b = new Rng(5);
        const xs = Array.from({ length: 1000 }, () => a.next());
        assert.deepStrictEqual(Array.from({ length: 1000 }, () => b.next()), xs);
        assert.ok(xs.every((x) => x >= 0 && x < 1));
        const deciles = new Array(10).fill(0);
        for (const x of xs) deciles[Math.floor(x * 10)]++;
        assert.ok(deciles.every((c) => c > 60 && c < 140), deciles.join(" "));
        assert.strictEqual(new Rng(9).weighted([["only", 1]] as const), "only");
    });
});
