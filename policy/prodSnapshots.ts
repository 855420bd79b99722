/** Policy: a production stack takes scheduled snapshots of its cluster. */
import * as pulumi from "@pulumi/pulumi";
import { StackValidationPolicy } from "@pulumi/policy";
import { StackResource, isWithin, types } from "./resources";

/** Stacks treated as production unless the pack's config names others. */
export const defaultProductionStacks = ["prod"];

/** The clusters with no ScheduledSnapshots component below them. */
export function clustersWithoutSnapshots(resources: StackResource[]): StackResource[] {
    return resources.filter((r) => r.type === types.cluster)
        .filter((cluster) => !resources.some((r) => r.type === types.snapshots && isWithin(r, cluster)));
}

export const prodSnapshots: StackValidationPolicy = {
    name: "etcd-prod-snapshots",
    description: "A production stack (etcd-prod-snapshots.productionStacks, default [\"prod\"]) takes scheduled snapshots.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            productionStacks: { type: "array", items: { type: "string" }, default: defaultProductionStacks },
        },
    },
    validateStack: (args, reportViolation) => {
        const stack = pulumi.getStack();
        const productionStacks = args.getConfig<{ productionStacks?: string[] }>().productionStacks ?? defaultProductionStacks;
        if (!productionStacks.includes(stack)) args.notApplicable(`stack ${stack} is not a production stack`);
        for (const cluster of clustersWithoutSnapshots(args.resources)) {
            reportViolation(`stack ${stack} is a production stack and cluster ${cluster.name} takes no scheduled snapshots: ` +
                "set etcd:snapshots (e.g. { onCalendar: hourly, keep: 48, maxAgeDays: 7 }) and leave enabled true", cluster.urn);
        }
    },
};
