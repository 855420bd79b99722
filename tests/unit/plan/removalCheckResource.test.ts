/**
 * The removal check as declared (removalCheck.ts `RemovalCheck`; mocked engine): its inputs are
 * the stack's members by name with their peer URLs and their order, its connections stay a
 * secret output, and its `run` (unique to each run of the program) is ignored as a change, so a
 * later `up` does not update it for that alone and `newStack` stays false then.
 */
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { RemovalCheck } from "../../../components/plan/removalCheck";
import { installMocks, resolve } from "../mocks";
import { spec } from "../fixtures";

describe("removal check resource: inputs and options as declared (mocked engine)", () => {
    it("members by name → peer URL in the stack's order, connections secret, `run` changes ignored (beside those given)", async () => {
        const recorded = installMocks();
        const seen: { opts?: pulumi.CustomResourceOptions } = {};
        const s = spec();
        const connections = Object.fromEntries(s.members.map((m) => [m.name, { host: m.address, user: "root", privateKey: pulumi.secret("KEY") }]));
        const check = new RemovalCheck("etcd-removal-check", { spec: s, connections }, {
            ignoreChanges: ["script"],
            transformations: [(a) => { if (a.name === "etcd-removal-check") seen.opts = a.opts as pulumi.CustomResourceOptions; return undefined; }],
        });
        await resolve(check.newStack);
        const r = recorded.find((x) => x.name === "etcd-removal-check");
        assert.ok(r);
        assert.deepEqual(r.inputs.members, {
            "lab-1": "https://10.213.0.11:2380", "lab-2": "https://10.213.0.12:2380", "lab-3": "https://10.213.0.13:2380",
        });
        assert.deepEqual(r.inputs.order, ["lab-1", "lab-2", "lab-3"]);
        assert.equal(typeof r.inputs.run, "string");
        assert.ok(seen.opts);
        assert.deepEqual(seen.opts.additionalSecretOutputs, ["connections"]);
        assert.deepEqual(seen.opts.ignoreChanges, ["script", "run"]);
        // An earlier run created it (the mocks' later-run answer): not a new stack.
        assert.equal(await resolve(check.newStack), false);
    });
});
