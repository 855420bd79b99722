/**
 * Policy: an etcd cluster has 3, 5 or 7 members; 4 or 6 only where the pack's config allows them.
 *
 * A policy sees the resources and its own config (`--policy-pack-config`), not the stack's `etcd:*`
 * config: `etcd:allowEvenMembers` lets the program accept 4 or 6 members, and this policy, the
 * guard of whoever owns the pack, still refuses them unless its own `allowEvenMembers` is true.
 */
import { StackValidationPolicy } from "@pulumi/policy";
import { StackResource, isWithin, types } from "./resources";

/** The policy's config (`{"etcd-member-count": {"allowEvenMembers": true}}`). */
export interface MemberCountConfig {
    /** Accept 4 or 6 members (never 2 or 8). */
    allowEvenMembers?: boolean;
}

/** Why a cluster of `count` members is refused, or undefined when it is not. */
export function memberCountProblem(count: number, config: MemberCountConfig = {}): string | undefined {
    if (count < 3 || count > 7) {
        return `${count} member${count === 1 ? "" : "s"}, outside 3 to 7 (fewer cannot survive a failure, more slow every write)`;
    }
    if (count % 2 === 0 && !config.allowEvenMembers) {
        return `${count} members, an even count (it tolerates no more failures than ${count - 1})`;
    }
    return undefined;
}

/** What to do about `count` members: list an odd count, or (4 or 6) allow even counts in the pack's config. */
export function memberCountFix(count: number): string {
    const fix = "list 3, 5 or 7 members in etcd:members";
    return count === 4 || count === 6 ? `${fix}, or set allowEvenMembers: true in this policy's config (etcd-member-count) and etcd:allowEvenMembers: true in the stack` : fix;
}

/** Each cluster with the problem of its member count (the EtcdMember components below it). */
export function memberCountProblems(resources: StackResource[], config: MemberCountConfig = {}): Array<{ cluster: StackResource; count: number; problem: string }> {
    const found: Array<{ cluster: StackResource; count: number; problem: string }> = [];
    for (const cluster of resources.filter((r) => r.type === types.cluster)) {
        const count = resources.filter((r) => r.type === types.member && isWithin(r, cluster)).length;
        const problem = memberCountProblem(count, config);
        if (problem) found.push({ cluster, count, problem });
    }
    return found;
}

export const memberCount: StackValidationPolicy = {
    name: "etcd-member-count",
    description: "An etcd cluster has 3, 5 or 7 members (4 or 6 too with etcd-member-count.allowEvenMembers).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            allowEvenMembers: { type: "boolean", default: false },
        },
    },
    validateStack: (args, reportViolation) => {
        for (const { cluster, count, problem } of memberCountProblems(args.resources, args.getConfig<MemberCountConfig>())) {
            reportViolation(`cluster ${cluster.name}: ${problem}; ${memberCountFix(count)}`, cluster.urn);
        }
    },
};
