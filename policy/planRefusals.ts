/**
 * Policy: the plan a reviewer reads (components/plan/plan.ts) is refused where it would lose quorum, add
 * two voters in one step, change a member's identity in place (a rename at the same address, two
 * members swapping addresses) or downgrade etcd, with the reason in the plan's own words.
 *
 * The plan's record (components/plan/planResource.ts) carries what the plan is made from: this run's
 * cluster (`recorded`), the last up's (`previous`, set by the record's check) and, after
 * `--refresh`, the live health (`live`). This policy computes the plan from those inputs alone, as
 * the record's check and the removal check do: the owner of the pack holds the same rule even
 * where a program leaves the record out, or a provider's check is changed. The engine runs a
 * resource's policies after its check, also when the check failed, so both reasons are reported.
 */
import { ResourceValidationPolicy } from "@pulumi/policy";
import { isLiveHealth, isRecordedCluster, planRecorded } from "../components/plan/plan";
import { known, types } from "./resources";

/** The refusals of the plan made from a record's inputs, as "<kind>: <reason>"; none when its values are not known yet. */
export function planRefusals(props: Record<string, unknown>): string[] {
    const recorded = known(props, "recorded");
    if (!isRecordedCluster(recorded)) return [];
    const previous = known(props, "previous");
    const live = known(props, "live");
    const plan = planRecorded(isRecordedCluster(previous) ? previous : undefined, recorded, isLiveHealth(live) ? live : undefined);
    return plan.refusals.map((r) => `${r.kind}: ${r.reason}`);
}

export const planRefused: ResourceValidationPolicy = {
    name: "etcd-plan",
    description: "The plan refuses no action: none loses quorum, adds two voters at once, changes a member's identity in place or downgrades etcd.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        if (args.type !== types.planRecord) return;
        for (const refusal of planRefusals(args.props)) reportViolation(`cluster ${String((args.props.recorded as { clusterName?: unknown }).clusterName)}: ${refusal}; nothing was changed`);
    },
};
