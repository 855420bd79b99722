/** Member count: 3, 5 and 7 pass, every other count is refused with its reason, per cluster. */
import { strict as assert } from "assert";
import { memberCountFix, memberCountProblem, memberCountProblems } from "../../../policy/memberCount";
import { resource } from "./stackResources";

describe("policy: member count", () => {
    it("accepts 3, 5 and 7 and refuses 0 to 9 otherwise", () => {
        const accepted = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].filter((n) => memberCountProblem(n) === undefined);
        assert.deepEqual(accepted, [3, 5, 7]);
    });

    it("says why: outside 3 to 7, or even", () => {
        assert.match(memberCountProblem(1)!, /^1 member, outside 3 to 7/);
        assert.match(memberCountProblem(9)!, /^9 members, outside 3 to 7/);
        assert.match(memberCountProblem(4)!, /^4 members, an even count \(it tolerates no more failures than 3\)/);
    });

    it("accepts 4 and 6 too when its config allows even counts, never 2 or 8", () => {
        const accepted = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].filter((n) => memberCountProblem(n, { allowEvenMembers: true }) === undefined);
        assert.deepEqual(accepted, [3, 4, 5, 6, 7]);
        assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].filter((n) => memberCountProblem(n, { allowEvenMembers: false }) === undefined), [3, 5, 7]);
    });

    it("names the knob only where it would help (4 or 6)", () => {
        assert.match(memberCountFix(4), /allowEvenMembers: true in this policy's config \(etcd-member-count\) and etcd:allowEvenMembers: true/);
        assert.match(memberCountFix(6), /allowEvenMembers/);
        assert.equal(memberCountFix(2), "list 3, 5 or 7 members in etcd:members");
        assert.equal(memberCountFix(8), "list 3, 5 or 7 members in etcd:members");
    });

    it("counts the EtcdMember components below each cluster, at any depth", () => {
        const good = resource("etcd:index:Cluster", "good");
        const bad = resource("etcd:index:Cluster", "bad");
        const wrapper = resource("etcd:index:Group", "wrapper", bad);
        const resources = [good, bad, wrapper,
            ...[1, 2, 3].map((i) => resource("etcd:index:EtcdMember", `g${i}`, good)),
            ...[1, 2].map((i) => resource("etcd:index:EtcdMember", `b${i}`, bad)),
            ...[3, 4].map((i) => resource("etcd:index:EtcdMember", `b${i}`, wrapper)),
            resource("etcd:index:HostFile", "not-a-member", good)];
        const found = memberCountProblems(resources);
        assert.deepEqual(found.map((f) => [f.cluster.name, f.count, f.problem.split(",")[0]]), [["bad", 4, "4 members"]]);
        assert.deepEqual(memberCountProblems(resources, { allowEvenMembers: true }), []);
    });
});
