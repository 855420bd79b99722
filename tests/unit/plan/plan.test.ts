import { strict as assert } from "assert";
import { LiveHealth, Plan, RecordedCluster, planCluster, planRecorded, quorumOf, recordCluster, versionProblem } from "../../../components/plan/plan";
import { ClusterSpec } from "../../../components/spec/types";
import { fixtureHostKeys, five, moreHostKeys, stack, three, threeWithLab3Moved, threeWithLab3Renamed } from "../planFixtures";

/** An action as the tests compare it: kind, members in order, voters and quorum before → after (and while it runs). */
const shape = (p: Plan) => p.actions.map((a) => [a.kind, a.members.join(","), `${a.before.voters}/${a.before.quorum}->${a.after.voters}/${a.after.quorum}` + (a.during ? ` during ${a.during.voters}/${a.during.quorum}` : "")]);
const marks = (p: Plan) => p.actions.flatMap((a) => a.belowQuorum.map((b) => `${a.kind} ${a.members.join(",")}: ${b}`));

const base = stack(three);
const rec = (s: ClusterSpec): RecordedCluster => recordCluster(s);
const tuned = stack(three, { tuning: { heartbeatIntervalMs: 200, electionTimeoutMs: 2000 } });
const v35 = stack(three, { version: "3.5.32" });
const v36 = stack(three, { version: "3.6.16" });

interface Case { name: string; previous: RecordedCluster | undefined; next: ClusterSpec; live?: LiveHealth; actions: string[][]; marks?: string[]; refusals?: string[] }

const cases: Case[] = [
    { name: "a new stack: every member starts together", previous: undefined, next: base,
        actions: [["bootstrap", "lab-1,lab-2,lab-3", "0/0->3/2"]] },
    { name: "no change: nothing", previous: rec(base), next: base,
        actions: [["nothing", "", "3/2->3/2"]] },
    { name: "a tuning change on 3: a roll in the stack's order", previous: rec(base), next: tuned,
        actions: [["restart", "lab-1,lab-2,lab-3", "3/2->3/2 during 2/2"]] },
    { name: "a SAN added on lab-3: only lab-3 restarts", previous: rec(base), next: stack([three[0], three[1], { ...three[2], extraSans: ["etcd.example.internal"] }]),
        actions: [["restart", "lab-3", "3/2->3/2 during 2/2"]] },
    { name: "3 → 5: members file on the three, then one learner at a time", previous: rec(base), next: stack(five),
        actions: [["files", "lab-1,lab-2,lab-3", "3/2->3/2"], ["join", "lab-4", "3/2->4/3"], ["join", "lab-5", "4/3->5/3"]] },
    { name: "5 → 3: members file, removals one at a time, hosts cleaned last", previous: rec(stack(five)), next: base,
        actions: [["files", "lab-1,lab-2,lab-3", "5/3->5/3"], ["remove", "lab-4", "5/3->4/3"], ["remove", "lab-5", "4/3->3/2"], ["clean", "lab-4,lab-5", "3/2->3/2"]] },
    { name: "5 → 3 from a stack that listed lab-5 before lab-4: removals in name order, as the reconcile script does them", previous: rec(stack([...three, five[4], five[3]])), next: base,
        actions: [["files", "lab-1,lab-2,lab-3", "5/3->5/3"], ["remove", "lab-4", "5/3->4/3"], ["remove", "lab-5", "4/3->3/2"], ["clean", "lab-4,lab-5", "3/2->3/2"]] },
    { name: "5 → 3 with lab-5 down: the down member leaves first", previous: rec(stack(five)), next: base, live: { unhealthy: ["lab-5"] },
        actions: [["files", "lab-1,lab-2,lab-3", "5/3->5/3"], ["remove", "lab-5", "5/3->4/3"], ["remove", "lab-4", "4/3->3/2"], ["clean", "lab-4,lab-5", "3/2->3/2"]] },
    { name: "5 → 3 with two that stay down: every removal marked", previous: rec(stack(five)), next: base, live: { unhealthy: ["lab-1", "lab-2"] },
        actions: [["files", "lab-1,lab-2,lab-3", "5/3->5/3"], ["remove", "lab-4", "5/3->4/3"], ["remove", "lab-5", "4/3->3/2"], ["clean", "lab-4,lab-5", "3/2->3/2"]],
        marks: ["remove lab-4: removing lab-4: 1 of the 3 voters that stay are healthy (quorum 2)", "remove lab-5: removing lab-5: 1 of the 3 voters that stay are healthy (quorum 2)"],
        refusals: ["quorum", "quorum"] },
    { name: "replace lab-3: the others' members file, then lab-3 in its turn", previous: rec(base), next: stack(threeWithLab3Moved),
        actions: [["files", "lab-1,lab-2", "3/2->3/2"], ["replace", "lab-3", "3/2->3/2 during 2/2"]] },
    { name: "upgrade 3.5.32 → 3.6.16: a roll with a snapshot before each", previous: rec(v35), next: v36,
        actions: [["upgrade", "lab-1,lab-2,lab-3", "3/2->3/2 during 2/2"]] },
    { name: "a rename at the same address: refused, nothing done", previous: rec(base), next: stack(threeWithLab3Renamed),
        actions: [], refusals: ["identity"] },
    { name: "a peer port edit: every registration changes, refused", previous: rec(base), next: stack(three, { ports: { peer: 2390 } }),
        actions: [], refusals: ["quorum"] },
    { name: "a tuning roll with lab-2 down: lab-1 and lab-3 would leave one voter up", previous: rec(base), next: tuned, live: { unhealthy: ["lab-2"] },
        actions: [["restart", "lab-1,lab-2,lab-3", "3/2->3/2 during 2/2"]],
        marks: ["restart lab-1,lab-2,lab-3: with lab-1 stopped, 1 of its 3 voters would be up (quorum 2)", "restart lab-1,lab-2,lab-3: with lab-3 stopped, 1 of its 3 voters would be up (quorum 2)"],
        refusals: ["quorum", "quorum"] },
    { name: "3 → 5 with two members down: no quorum to join", previous: rec(base), next: stack(five), live: { unhealthy: ["lab-2", "lab-3"] },
        actions: [["files", "lab-1,lab-2,lab-3", "3/2->3/2"], ["join", "lab-4", "3/2->4/3"], ["join", "lab-5", "4/3->5/3"]],
        marks: ["join lab-4: adding lab-4: 1 of 3 voters healthy (quorum 2): no quorum to join", "join lab-5: adding lab-5: 2 of 4 voters healthy (quorum 3): no quorum to join"],
        refusals: ["quorum", "quorum"] },
    { name: "3 → 5 with one member down: joins keep a quorum", previous: rec(base), next: stack(five), live: { unhealthy: ["lab-2"] },
        actions: [["files", "lab-1,lab-2,lab-3", "3/2->3/2"], ["join", "lab-4", "3/2->4/3"], ["join", "lab-5", "4/3->5/3"]] },
    { name: "replace lab-3 while lab-2 is down: the old registration's removal would leave 1 of 2", previous: rec(base), next: stack(threeWithLab3Moved), live: { unhealthy: ["lab-2"] },
        actions: [["files", "lab-1,lab-2", "3/2->3/2"], ["replace", "lab-3", "3/2->3/2 during 2/2"]],
        marks: ["replace lab-3: replacing lab-3: 1 of the 2 other voters healthy (quorum 2)"], refusals: ["quorum"] },
    { name: "replace lab-3 while lab-3 (the old host) is down: allowed", previous: rec(base), next: stack(threeWithLab3Moved), live: { unhealthy: ["lab-3"] },
        actions: [["files", "lab-1,lab-2", "3/2->3/2"], ["replace", "lab-3", "3/2->3/2 during 2/2"]] },
    { name: "an upgrade with a member down: the guard refuses", previous: rec(v35), next: v36, live: { unhealthy: ["lab-3"] },
        actions: [["upgrade", "lab-1,lab-2,lab-3", "3/2->3/2 during 2/2"]],
        marks: [
            "upgrade lab-1,lab-2,lab-3: with lab-1 stopped, 1 of its 3 voters would be up (quorum 2)",
            "upgrade lab-1,lab-2,lab-3: upgrading lab-1: the install step's guard refuses while a member is unhealthy (lab-3)",
            "upgrade lab-1,lab-2,lab-3: with lab-2 stopped, 1 of its 3 voters would be up (quorum 2)",
            "upgrade lab-1,lab-2,lab-3: upgrading lab-2: the install step's guard refuses while a member is unhealthy (lab-3)",
            "upgrade lab-1,lab-2,lab-3: upgrading lab-3: the install step's guard refuses while a member is unhealthy (lab-3)",
        ],
        refusals: ["quorum", "quorum", "quorum", "quorum", "quorum"] },
    { name: "upgrade from 3.5.20: the install step's guard refuses", previous: rec(stack(three, { version: "3.5.20" })), next: v36,
        actions: [["upgrade", "lab-1,lab-2,lab-3", "3/2->3/2 during 2/2"]], refusals: ["version", "version", "version"] },
    { name: "tuning and 3 → 5 at once: the roll restarts the three, then the joins", previous: rec(base), next: stack(five, { tuning: { heartbeatIntervalMs: 200, electionTimeoutMs: 2000 } }),
        actions: [["restart", "lab-1,lab-2,lab-3", "3/2->3/2 during 2/2"], ["join", "lab-4", "3/2->4/3"], ["join", "lab-5", "4/3->5/3"]] },
    { name: "snapshots turned on: timers written, nothing restarts", previous: rec(base), next: stack(three, { snapshots: { onCalendar: "hourly" } }),
        actions: [["files", "lab-1,lab-2,lab-3", "3/2->3/2"]] },
    { name: "a new SSH port: nothing at etcd level", previous: rec(base), next: stack(three.map((m) => ({ ...m, sshPort: 2222 }))),
        actions: [["nothing", "", "3/2->3/2"]] },
    { name: "a first run adopting an etcd: a roll, the adopted member first", previous: undefined,
        next: stack([{ ...three[0], adopt: { unit: "etcd.service", dataDir: "/var/lib/etcd/default.etcd" } } as typeof three[0], three[1], three[2]]),
        actions: [["adopt", "lab-1", "0/0->1/1"], ["join", "lab-2", "1/1->2/2"], ["join", "lab-3", "2/2->3/2"]] },
];

describe("plan: the etcd actions of an up, in its order", () => {
    for (const c of cases) {
        it(c.name, () => {
            const p = planCluster(c.previous, c.next, c.live);
            assert.deepEqual(shape(p), c.actions.length === 0 ? [] : c.actions);
            assert.deepEqual(marks(p), c.marks ?? []);
            assert.deepEqual(p.refusals.map((r) => r.kind), c.refusals ?? []);
            assert.equal(p.existing, c.previous !== undefined);
            assert.equal(p.live, c.live !== undefined);
        });
    }
});

describe("plan: the facts of each action", () => {
    it("a roll hands leadership to the last voter, which hands it back to the one before", () => {
        const [roll] = planCluster(rec(base), tuned).actions;
        assert.match(roll.summary, /^restart lab-1 → lab-2 → lab-3, one at a time, leader last \(config changed\)$/);
        assert.ok(roll.details.some((d) => /to lab-3 \(the voter the roll reaches last\); lab-3 hands it to lab-2/.test(d)), roll.details.join("\n"));
        assert.equal(roll.mirrors, "renderRestartScript in the roll (cluster.ts), handoffOrder");
    });
    it("a known leader is named: lab-1 hands to lab-3, lab-3 to lab-2", () => {
        const [roll] = planCluster(rec(base), tuned, { unhealthy: [], leader: "lab-1" }).actions;
        assert.deepEqual(roll.details[0], "lab-1 leads: at its turn it hands leadership to lab-3, which hands it to lab-2 at its own turn");
        const [last] = planCluster(rec(base), tuned, { unhealthy: [], leader: "lab-3" }).actions;
        assert.deepEqual(last.details[0], "lab-3 leads: at its turn it hands leadership to lab-2");
    });
    it("tuning with 3 → 5: the hand-off goes to the last voter at the time (lab-3), not a learner to come", () => {
        const [roll] = planCluster(rec(base), stack(five, { tuning: { heartbeatIntervalMs: 200, electionTimeoutMs: 2000 } })).actions;
        assert.ok(roll.details.some((d) => /to lab-3 \(the voter the roll reaches last\); lab-3 hands it to lab-2/.test(d)));
    });
    it("a leaving leader: leadership moves first, to the first stack member that answers", () => {
        const p = planCluster(rec(stack(five)), base, { unhealthy: ["lab-1"], leader: "lab-5" });
        const removals = p.actions.filter((a) => a.kind === "remove").map((a) => a.summary);
        assert.deepEqual(removals, ["remove lab-4 (if it leads, leadership moves first, to lab-2)", "remove lab-5 (it leads: leadership moves first, to lab-2)"]);
    });
    it("the removed hosts' data: kept, or deleted under the old destroy policy", () => {
        const clean = (p: Plan) => p.actions.find((a) => a.kind === "clean")!.summary;
        assert.equal(clean(planCluster(rec(stack(five)), base)), "stop etcd on lab-4, lab-5 and clean their hosts (data kept)");
        assert.equal(clean(planCluster(rec(stack(five, { purgeDataOnDestroy: true })), base)), "stop etcd on lab-4, lab-5 and clean their hosts (data deleted)");
    });
    it("replace says which address goes and which comes; a rebuilt machine at the same address too", () => {
        const moved = planCluster(rec(base), stack(threeWithLab3Moved)).actions.find((a) => a.kind === "replace")!;
        assert.equal(moved.summary, "replace lab-3: remove 10.213.0.13, add 10.213.0.16 as a learner → start → promote");
        const rebuilt = stack([three[0], three[1], { ...three[2], hostKey: threeWithLab3Moved[2].hostKey }]);
        const same = planCluster(rec(base), rebuilt).actions.find((a) => a.kind === "replace")!;
        assert.equal(same.summary, "replace lab-3 (a new machine at 10.213.0.13): remove its registration, add it again as a learner → start → promote");
    });
    it("an upgrade names the snapshot and the versions", () => {
        const [up] = planCluster(rec(v35), v36).actions;
        assert.equal(up.summary, "upgrade etcd 3.5.32 → 3.6.16 on lab-1 → lab-2 → lab-3, one at a time, leader last: snapshot, binaries, restart");
        assert.ok(up.details.some((d) => d.includes("/var/backups/etcd/pre-upgrade-3.5.32-to-3.6.16-<time>.db")));
    });
    it("files only: which files", () => {
        assert.equal(planCluster(rec(base), stack(five)).actions[0].summary, "write files only on lab-1, lab-2, lab-3 (no restart): members file");
        assert.equal(planCluster(rec(base), stack(three, { snapshots: { onCalendar: "hourly" } })).actions[0].summary,
            "write files only on lab-1, lab-2, lab-3 (no restart): snapshot timer");
    });
    it("a rename's refusal is memberIdentity's own sentence", () => {
        const p = planCluster(rec(base), stack(threeWithLab3Renamed));
        assert.equal(p.refusals.length, 1);
        assert.match(p.refusals[0].reason, /^lab-9 would take over lab-3's address 10\.213\.0\.13 while lab-3 is a member of the cluster \(a rename at the same address\)/);
    });
    it("a restore declared anew: every member, nothing counted against the running cluster", () => {
        const restored: ClusterSpec = { ...base, restore: { snapshotPath: "/tmp/s.db", sha256: "ab".repeat(32), id: "abababababab" } };
        assert.deepEqual(shape(planCluster(rec(base), restored)), [["restore", "lab-1,lab-2,lab-3", "3/2->3/2"]]);
        assert.deepEqual(shape(planCluster(rec(restored), restored)), [["nothing", "", "3/2->3/2"]]);
    });
    it("a new stack with a restore: installed, not started, then the restore starts them", () => {
        const restored: ClusterSpec = { ...base, restore: { snapshotPath: "/tmp/s.db", sha256: "ab".repeat(32), id: "abababababab" } };
        const p = planCluster(undefined, restored);
        assert.deepEqual(shape(p), [["bootstrap", "lab-1,lab-2,lab-3", "0/0->3/2"], ["restore", "lab-1,lab-2,lab-3", "0/0->3/2"]]);
        assert.equal(p.actions[0].summary, "install lab-1, lab-2, lab-3: not started, the restore below builds their data and starts them together");
    });
    describe("disaster recovery: three of five hosts lost, their members moved to new hosts beside a restore", () => {
        const lost: ClusterSpec = stack(five);
        const moved = (n: number, address: string, key: string) => ({ ...five[n], address, hostKey: key });
        const dr = (restore?: boolean): ClusterSpec => {
            // lab-3's host rebuilt (a new key at its address), lab-4 and lab-5 on new machines.
            const s = stack([five[0], five[1], moved(2, "10.213.0.13", moreHostKeys[2]), moved(3, "10.213.0.16", fixtureHostKeys[0]), moved(4, "10.213.0.17", fixtureHostKeys[1])]);
            return restore ? { ...s, restore: { snapshotPath: "/tmp/s.db", sha256: "ab".repeat(32), id: "abababababab" } } : s;
        };
        const down = { unhealthy: ["lab-3", "lab-4", "lab-5"] };
        it("without a restore: every move is marked below quorum and refused", () => {
            const p = planCluster(rec(lost), dr(false), down);
            assert.deepEqual(p.refusals.map((r) => r.kind), ["quorum", "quorum", "quorum"]);
        });
        it("with the restore: the moved members installed (not started), the restore, no refusal, no member add", () => {
            const p = planCluster(rec(lost), dr(true), down);
            assert.deepEqual(shape(p), [
                ["replace", "lab-3", "5/3->5/3"], ["replace", "lab-4", "5/3->5/3"], ["replace", "lab-5", "5/3->5/3"],
                ["files", "lab-1,lab-2", "5/3->5/3"], ["restore", "lab-1,lab-2,lab-3,lab-4,lab-5", "5/3->5/3"],
            ]);
            assert.deepEqual(p.refusals, []);
            assert.deepEqual(marks(p), []);
            assert.equal(p.actions[0].summary, "install lab-3 on 10.213.0.13 (a new machine): not started, the restore builds its data");
            assert.equal(p.actions[1].summary, "install lab-4 on 10.213.0.16 (was 10.213.0.14, not contacted): not started, the restore builds its data");
            assert.equal(p.actions[4].details[1], "lab-3, lab-4, lab-5 start for the first time here, from the snapshot");
            // Without a refresh, nothing is known of the running cluster: no refusal either.
            assert.deepEqual(planCluster(rec(lost), dr(true)).refusals, []);
        });
        it("with the restore while the running cluster still serves (a refresh saw a quorum): refused, as the removal check would", () => {
            const p = planCluster(rec(lost), dr(true), { unhealthy: ["lab-4", "lab-5"] });
            assert.equal(p.refusals.length, 1);
            assert.match(p.refusals[0].reason, /^lab-3, lab-4, lab-5 moved or added beside the restore of snapshot abababababab, while the running cluster serves \(3 of 5 voters healthy, quorum 3\): restore first/);
        });
    });
    it("two records alone give the same plan (what a policy can compute from a resource's properties)", () => {
        for (const c of cases) assert.deepEqual(planRecorded(c.previous, recordCluster(c.next), c.live), planCluster(c.previous, c.next, c.live), c.name);
    });
    it("a record survives JSON (a resource's state): the same plan from it", () => {
        for (const c of cases) {
            const stored = c.previous && JSON.parse(JSON.stringify(c.previous));
            assert.deepEqual(planCluster(stored, c.next, c.live), planCluster(c.previous, c.next, c.live), c.name);
        }
    });
    it("every action names the code it mirrors", () => {
        for (const c of cases) for (const a of planCluster(c.previous, c.next, c.live).actions) assert.ok(a.mirrors.length > 0, `${c.name}: ${a.kind}`);
    });
});

describe("plan: quorum and versions", () => {
    for (const [v, q] of [[0, 0], [1, 1], [2, 2], [3, 2], [4, 3], [5, 3], [6, 4], [7, 4]]) {
        it(`${v} voters: quorum ${q}`, () => assert.equal(quorumOf(v), q));
    }
    for (const [from, to, problem] of [
        ["3.5.32", "3.6.16", undefined],
        ["3.6.16", "3.6.16", undefined],
        ["3.6.1", "3.6.16", undefined],
        ["3.6.16", "3.6.1", /downgrade/],
        ["3.6.16", "3.5.32", /downgrade/],
        ["3.5.31", "3.6.16", /3\.5\.32 or later before 3\.6/],
        ["3.4.30", "3.6.16", /one minor at a time \(to 3\.5 first\)/],
    ] as const) {
        it(`${from} → ${to}: ${problem ?? "allowed"}`, () => {
            const got = versionProblem(from, to);
            if (problem === undefined) assert.equal(got, undefined);
            else assert.match(got ?? "", problem);
        });
    }
});
