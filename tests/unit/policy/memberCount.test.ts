/** Member count: 3, 5 and 7 pass, every other count is refused with its reason, per cluster. */
import { strict as assert } from "assert";
import { memberCountProblem, memberCountProblems } from "../../../policy/memberCount";
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
        assert.deepEqual(found.map((f) => [f.cluster.name, f.problem.split(",")[0]]), [["bad", "4 members"]]);
    });
});
