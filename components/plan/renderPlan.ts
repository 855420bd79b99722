/**
 * Pure renderers for the plan (plan.ts): plain text for the preview's diagnostic message, and
 * Markdown for the first section of the pull request's comment, above Pulumi's own diff. Both say
 * the same things in the same order: the refusals first (what the policy refuses, and that `up`
 * would change nothing or stop there), then each action with the voters and the quorum before and
 * after (and while it runs, when fewer vote), its facts, and a mark on an action that would run with
 * fewer than a quorum healthy.
 */
import { Plan, PlanAction, Votes } from "./plan";

/** "3 voters, quorum 2" or "3 → 4 voters, quorum 2 → 3". */
function votesLine(a: PlanAction): string {
    const span = (f: (v: Votes) => number) => (f(a.before) === f(a.after) ? `${f(a.after)}` : `${f(a.before)} → ${f(a.after)}`);
    const during = a.during ? `; while ${a.members.length > 1 ? "each" : "it"} runs: ${a.during.voters} voting, quorum ${a.during.quorum}` : "";
    return `voters ${span((v) => v.voters)}, quorum ${span((v) => v.quorum)}${during}`;
}

/** The cluster before and after the whole plan. */
function headline(plan: Plan): string {
    const first = plan.actions[0];
    const last = plan.actions[plan.actions.length - 1];
    if (!first || !last) return `${plan.clusterName}: refused, nothing changes`;
    const start = plan.existing ? `${first.before.voters} voting members (quorum ${first.before.quorum})` : "a new cluster";
    const same = plan.existing && first.before.voters === last.after.voters;
    return `${plan.clusterName}: ${start}${same ? ", unchanged in number" : ` → ${last.after.voters} voting members (quorum ${last.after.quorum})`}`;
}

/** Whether live health was counted, and how to count it. */
function healthLine(plan: Plan): string {
    if (!plan.live) return "Live health not counted: pulumi preview --refresh marks actions that would run with fewer than a quorum healthy.";
    const h = plan.liveHealth;
    const at = h?.readAt ? `, read at ${h.readAt.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC")}` : "";
    const now = h ? ` Not serving: ${h.unhealthy.length > 0 ? h.unhealthy.join(", ") : "none"}${h.leader ? `; leader: ${h.leader}` : ""}.` : "";
    return `Live health counted (pulumi preview --refresh${at}): members the cluster reports unhealthy are marked.${now}`;
}

function refusalLead(plan: Plan): string {
    return plan.actions.length === 0
        ? "REFUSED: pulumi up changes nothing; the policy refuses this plan:"
        : "REFUSED: the policy refuses this plan (pulumi up would stop at the first refusing step):";
}

/** The plan as plain text, for the preview's diagnostic message. */
export function renderPlanText(plan: Plan): string {
    const lines = [`etcd plan for ${headline(plan)}`];
    if (plan.refusals.length > 0) {
        lines.push(refusalLead(plan));
        for (const r of plan.refusals) lines.push(`  - ${r.kind}: ${r.reason}`);
    }
    plan.actions.forEach((a, i) => {
        lines.push(`${i + 1}. ${a.summary}`);
        lines.push(`   ${votesLine(a)}`);
        for (const d of a.details) lines.push(`   - ${d}`);
        for (const b of a.belowQuorum) lines.push(`   ! below quorum: ${b}`);
    });
    lines.push(healthLine(plan));
    return lines.join("\n") + "\n";
}

/** Text as Markdown: no HTML (`<time>`), no emphasis or table characters taken as markup. */
function md(text: string): string {
    return text.replace(/\\/g, "\\\\").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/([*_`|[\]])/g, "\\$1");
}

/** The plan as Markdown, the first section of the pull request's comment. */
export function renderPlanMarkdown(plan: Plan): string {
    const lines = [`### etcd plan: ${md(headline(plan))}`, ""];
    if (plan.refusals.length > 0) {
        lines.push(`> **${md(refusalLead(plan))}**`, ">");
        for (const r of plan.refusals) lines.push(`> - **${md(r.kind)}**: ${md(r.reason)}`);
        lines.push("");
    }
    plan.actions.forEach((a, i) => {
        lines.push(`${i + 1}. **${md(a.summary)}**  `);
        lines.push(`   ${md(votesLine(a))}`);
        for (const d of a.details) lines.push(`   - ${md(d)}`);
        for (const b of a.belowQuorum) lines.push(`   - ⚠️ **below quorum**: ${md(b)}`);
    });
    if (plan.actions.length > 0) lines.push("");
    lines.push(`_${md(healthLine(plan))}_`);
    return lines.join("\n") + "\n";
}
