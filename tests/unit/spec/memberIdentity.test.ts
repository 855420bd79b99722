/**
 * A member's identity is its name and its host (memberIdentity.ts): edits that change one without
 * the other for a live member are refused by the removal check's `check`, which the engine runs in
 * every preview before anything reaches a host. Called directly here, as the engine calls it.
 */
import { strict as assert } from "assert";
import { identityProblems, peerHost } from "../../../components/spec/memberIdentity";
import { removalCheckProvider } from "../../../components/plan/removalCheck";

const url = (ip: string) => `https://${ip}:2380`;
const three = { "lab-1": url("10.213.0.11"), "lab-2": url("10.213.0.12"), "lab-3": url("10.213.0.13") };
const ssh = (members: Record<string, string>, over: Record<string, string> = {}) =>
    Object.fromEntries(Object.entries(members).map(([n, u]) => [n, { host: over[n] ?? peerHost(u), port: 22 }]));
const places = (members: Record<string, string>, sshOver: Record<string, string> = {}) => ({ members, connections: ssh(members, sshOver) });

describe("member identity: name and host stay together", () => {
    it("refuses a rename at the same address, naming both members, the address and the safe recipe", () => {
        const renamed = { "lab-1": three["lab-1"], "lab-2b": three["lab-2"], "lab-3": three["lab-3"] };
        const problems = identityProblems(places(three), places(renamed));
        assert.equal(problems.length, 1);
        assert.match(problems[0], /lab-2b would take over lab-2's address 10\.213\.0\.12 while lab-2 is a member/);
        assert.match(problems[0], /remove lab-2 from etcd:members and run pulumi up, then add lab-2b/);
        assert.match(problems[0], /Replacing a failed host/);
    });

    it("refuses every member renamed at once, one problem per member", () => {
        const renamed = { a: three["lab-1"], b: three["lab-2"], c: three["lab-3"] };
        assert.equal(identityProblems(places(three), places(renamed)).length, 3);
    });

    it("refuses two members swapping addresses", () => {
        const swapped = { "lab-1": three["lab-2"], "lab-2": three["lab-1"], "lab-3": three["lab-3"] };
        const problems = identityProblems(places(three), places(swapped));
        assert.equal(problems.length, 2);
        assert.match(problems.join("\n"), /lab-1 would take over lab-2's address 10\.213\.0\.12 while lab-2 moves to 10\.213\.0\.11 \(members swapping addresses\)/);
    });

    it("refuses a new name reached at the SSH endpoint of a member that leaves, even at another peer address", () => {
        const news = { "lab-1": three["lab-1"], "lab-2": three["lab-2"], "lab-9": url("10.213.0.19") };
        const problems = identityProblems(places(three), places(news, { "lab-9": "10.213.0.13" }));
        assert.equal(problems.length, 1);
        assert.match(problems[0], /lab-9 would be reached at lab-3's SSH endpoint 10\.213\.0\.13:22/);
    });

    it("sees the same IPv6 address however it is written", () => {
        const olds = { "v-1": "https://[2001:db8:0:0::1]:2380" };
        const problems = identityProblems({ members: olds }, { members: { "v-2": "https://[2001:DB8::1]:2380" } });
        assert.equal(problems.length, 1);
    });

    it("allows what keeps identities: a new stack, no change, scale up and down, a replace at a new address, a new SSH route to the same machine", () => {
        const five = { ...three, "lab-4": url("10.213.0.14"), "lab-5": url("10.213.0.15") };
        const replaced = { ...three, "lab-3": url("10.213.0.16") };
        assert.deepEqual(identityProblems({ members: {} }, places(three)), []);
        assert.deepEqual(identityProblems(places(three), places(three)), []);
        assert.deepEqual(identityProblems(places(three), places(five)), []);
        assert.deepEqual(identityProblems(places(five), places(three)), []);
        assert.deepEqual(identityProblems(places(three), places(replaced)), []);
        assert.deepEqual(identityProblems(places(three), places(three, { "lab-2": "lab2.example" })), []);
        // A member removed in an earlier run frees its address for a new name.
        const two = { "lab-1": three["lab-1"], "lab-2": three["lab-2"] };
        assert.deepEqual(identityProblems(places(two), places({ ...two, "lab-3b": three["lab-3"] })), []);
    });
});

describe("removal check provider: check (called directly)", () => {
    const check = removalCheckProvider.check!;
    const inputs = (members: Record<string, string>) => ({
        members, order: Object.keys(members), connections: ssh(members), script: "#!/bin/sh\n", run: "r",
    });

    it("fails a rename at the same address on the members property, saying nothing was changed", async () => {
        const news = inputs({ "lab-1": three["lab-1"], "lab-2b": three["lab-2"], "lab-3": three["lab-3"] });
        const r = await check(inputs(three), news);
        assert.equal(r.failures?.length, 1);
        assert.equal(r.failures![0].property, "members");
        assert.match(r.failures![0].reason, /lab-2b would take over lab-2's address.*nothing was changed$/);
        assert.deepEqual(r.inputs, news);
    });

    it("passes the inputs through unchanged for a new stack and for a scale-up", async () => {
        for (const [olds, news] of [[{}, inputs(three)], [inputs(three), inputs({ ...three, "lab-4": url("10.213.0.14") })]] as const) {
            const r = await check(olds, news);
            assert.deepEqual(r.failures, []);
            assert.deepEqual(r.inputs, news);
        }
    });

    it("still checks addresses when the connections are not known yet (a preview)", async () => {
        const news = { ...inputs({ "lab-2b": three["lab-2"] }), connections: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" as unknown as Record<string, never> };
        const r = await check(inputs(three), news);
        assert.equal(r.failures?.length, 1);
    });
});
