/**
 * The plan policy (policy/planRefusals.ts): from a plan record's inputs alone it refuses what the
 * plan refuses (quorum, identity, downgrade), in the plan's words, and passes a plan that refuses
 * nothing; values not known yet (a preview) pass.
 */
import { strict as assert } from "assert";
import { unknownCheckingProxy } from "@pulumi/policy";
import { planRecordType } from "../../../components/plan/planResource";
import { recordCluster } from "../../../components/plan/plan";
import { planRefusals, planRefused } from "../../../policy/planRefusals";
import { types } from "../../../policy/resources";
import { five, stack, three, threeWithLab3Renamed } from "../planFixtures";

/** What the policy reports for a record with these inputs (validateResource called as the engine does). */
function violations(type: string, props: Record<string, unknown>): string[] {
    const found: string[] = [];
    (planRefused.validateResource as (args: unknown, report: (m: string) => void) => void)({ type, props }, (m) => found.push(m));
    return found;
}

describe("policy: the plan (etcd-plan)", () => {
    const threeRecorded = recordCluster(stack(three));

    it("watches the plan's record, by the type the record registers", () => {
        assert.equal(types.planRecord, planRecordType);
        assert.equal(planRefused.enforcementLevel, "mandatory");
    });

    it("passes a plan that refuses nothing: a new stack, no edit, a scale-up one learner at a time", () => {
        assert.deepEqual(violations(types.planRecord, { recorded: threeRecorded, previous: null, live: null }), []);
        assert.deepEqual(violations(types.planRecord, { recorded: threeRecorded, previous: threeRecorded, live: null }), []);
        assert.deepEqual(violations(types.planRecord, { recorded: recordCluster(stack(five)), previous: threeRecorded, live: null }), []);
    });

    it("refuses a rename at the same address in the plan's words, naming the cluster", () => {
        const got = violations(types.planRecord, { recorded: recordCluster(stack(threeWithLab3Renamed)), previous: threeRecorded });
        assert.equal(got.length, 1, got.join("\n"));
        assert.match(got[0], /^cluster lab: identity: lab-9 would take over lab-3's address 10\.213\.0\.13.*; nothing was changed$/);
    });

    it("refuses a downgrade, and every member moved at once (no quorum stays)", () => {
        assert.deepEqual(planRefusals({ recorded: recordCluster(stack(three, { version: "3.5.35" })), previous: threeRecorded }).map((r) => r.split(":")[0]), ["version", "version", "version"]);
        const moved = three.map((m, i) => ({ ...m, address: `10.213.0.${21 + i}` }));
        const got = planRefusals({ recorded: recordCluster(stack(moved)), previous: threeRecorded });
        assert.equal(got.length, 1);
        assert.match(got[0], /^quorum: every member's registration changes at once \(lab-1, lab-2, lab-3 leave, none stays\)/);
    });

    it("counts the live health a refresh read: a roll of three with lab-3 down is refused at each restart that would leave one voter up", () => {
        const tuned = recordCluster(stack(three, { tuning: { snapshotCount: 20000 } }));
        assert.deepEqual(planRefusals({ recorded: tuned, previous: threeRecorded, live: { unhealthy: [] } }), []);
        const lab3Down = planRefusals({ recorded: tuned, previous: threeRecorded, live: { unhealthy: ["lab-3"] } });
        assert.deepEqual(lab3Down.map((r) => /^quorum: restart .*: with (lab-\d) stopped, 1 of its 3 voters would be up \(quorum 2\)$/.exec(r)?.[1]), ["lab-1", "lab-2"], lab3Down.join("\n"));
    });

    it("leaves other resources alone, and a record whose values are not known yet", () => {
        assert.deepEqual(violations("etcd:index:Cluster", { recorded: recordCluster(stack(threeWithLab3Renamed)), previous: threeRecorded }), []);
        // As the engine hands a preview's props over: reading an unknown value throws.
        const { unknownObjectValue } = require("@pulumi/policy/proxy") as { unknownObjectValue: string };
        assert.deepEqual(planRefusals(unknownCheckingProxy({ recorded: unknownObjectValue, previous: threeRecorded })), []);
    });
});
