import { strict as assert } from "assert";
import { Plan, planCluster, recordCluster } from "../../../components/plan/plan";
import { renderPlanMarkdown, renderPlanText } from "../../../components/plan/renderPlan";
import { fixtureHostKeys, five, moreHostKeys, stack, three, threeWithLab3Moved, threeWithLab3Renamed } from "../planFixtures";
import { golden } from "../golden";


const base = stack(three);
const plans: [string, Plan][] = [
    ["noop", planCluster(recordCluster(base), base)],
    ["tuning-3", planCluster(recordCluster(base), stack(three, { tuning: { heartbeatIntervalMs: 200, electionTimeoutMs: 2000 } }))],
    ["scale-3-to-5", planCluster(recordCluster(base), stack(five))],
    ["scale-5-to-3-leader-leaves", planCluster(recordCluster(stack(five)), base, { unhealthy: [], leader: "lab-5" })],
    ["replace", planCluster(recordCluster(base), stack(threeWithLab3Moved))],
    ["upgrade-3.5-to-3.6", planCluster(recordCluster(stack(three, { version: "3.5.32" })), stack(three, { version: "3.6.16" }))],
    ["rename-refused", planCluster(recordCluster(base), stack(threeWithLab3Renamed))],
    // Three of five hosts lost for good: lab-3's rebuilt (a new key), lab-4 and lab-5 on new machines, beside a restore.
    ["disaster-recovery", planCluster(recordCluster(stack(five)), {
        ...stack([five[0], five[1], { ...five[2], hostKey: moreHostKeys[2] }, { ...five[3], address: "10.213.0.16", hostKey: fixtureHostKeys[0] }, { ...five[4], address: "10.213.0.17", hostKey: fixtureHostKeys[1] }]),
        restore: { snapshotPath: "/tmp/etcd-2026-12-06.db", sha256: "ab".repeat(32), id: "abababababab" },
    }, { unhealthy: ["lab-3", "lab-4", "lab-5"] })],
];

describe("renderPlan: golden files", () => {
    for (const [name, plan] of plans) {
        it(`${name}: text`, () => golden(`plan/plan-${name}.txt`, renderPlanText(plan)));
        it(`${name}: Markdown`, () => golden(`plan/plan-${name}.md`, renderPlanMarkdown(plan)));
    }
});

describe("renderPlan: what every rendering says", () => {
    it("a mark and a refusal appear in both forms", () => {
        const p = planCluster(recordCluster(base), stack(five), { unhealthy: ["lab-2", "lab-3"] });
        const text = renderPlanText(p);
        assert.match(text, /^REFUSED: the policy refuses this plan/m);
        assert.match(text, /^ {3}! below quorum: adding lab-4: 1 of 3 voters healthy \(quorum 2\): no quorum to join$/m);
        assert.match(text, /^Live health counted/m);
        const markdown = renderPlanMarkdown(p);
        assert.match(markdown, /^> - \*\*quorum\*\*: add lab-4 as a learner → start → promote: adding lab-4/m);
        assert.match(markdown, /⚠️ \*\*below quorum\*\*: adding lab-4/);
    });
    it("Markdown leaves no HTML or markup in the text: <time>, backslashes, stars", () => {
        const markdown = renderPlanMarkdown(plans[5][1]);
        assert.ok(markdown.includes("pre-upgrade-3.5.32-to-3.6.16-&lt;time&gt;.db"));
        assert.ok(!/<time>/.test(markdown));
        // Every character Markdown would take as markup, escaped; a backslash doubled first (else it would escape the next).
        const odd: Plan = { clusterName: "c", existing: true, actions: [], live: false, refusals: [{ kind: "identity", reason: "a\\b *x* _y_ `z` [l] |t| <h>" }] };
        assert.match(renderPlanMarkdown(odd), /^> - \*\*identity\*\*: a\\\\b \\\*x\\\* \\_y\\_ \\`z\\` \\\[l\\\] \\\|t\\\| &lt;h&gt;$/m);
    });
    it("a new stack's headline says so", () => {
        assert.match(renderPlanText(planCluster(undefined, base)), /^etcd plan for lab: a new cluster → 3 voting members \(quorum 2\)$/m);
    });
    it("the actions are numbered in the order up takes them", () => {
        const text = renderPlanText(plans[3][1]);
        const numbered = text.split("\n").filter((l) => /^\d+\. /.test(l));
        assert.deepEqual(numbered.map((l) => l.split(" ").slice(0, 3).join(" ")), ["1. write files", "2. remove lab-4", "3. remove lab-5", "4. stop etcd"]);
    });
});
