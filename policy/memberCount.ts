/** Policy: an etcd cluster has 3, 5 or 7 members. */
import { StackValidationPolicy } from "@pulumi/policy";
import { StackResource, isWithin, types } from "./resources";

/** Why a cluster of `count` members is refused, or undefined when it is not. */
export function memberCountProblem(count: number): string | undefined {
    if (count < 3 || count > 7) {
        return `${count} member${count === 1 ? "" : "s"}, outside 3 to 7 (fewer cannot survive a failure, more slow every write)`;
    }
    if (count % 2 === 0) return `${count} members, an even count (it tolerates no more failures than ${count - 1})`;
    return undefined;
}

/** Each cluster with the problem of its member count (the EtcdMember components below it). */
export function memberCountProblems(resources: StackResource[]): Array<{ cluster: StackResource; problem: string }> {
    const found: Array<{ cluster: StackResource; problem: string }> = [];
    for (const cluster of resources.filter((r) => r.type === types.cluster)) {
        const count = resources.filter((r) => r.type === types.member && isWithin(r, cluster)).length;
        const problem = memberCountProblem(count);
        if (problem) found.push({ cluster, problem });
    }
    return found;
}

export const memberCount: StackValidationPolicy = {
    name: "etcd-member-count",
    description: "An etcd cluster has 3, 5 or 7 members.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const { cluster, problem } of memberCountProblems(args.resources)) {
            reportViolation(`cluster ${cluster.name}: ${problem}; list 3, 5 or 7 members in etcd:members`, cluster.urn);
        }
    },
};
