/**
 * The plan a reviewer reads (issue 28), as the pull request shows it and as the lab reads it:
 * the whole comment scripts/previewComment.sh writes for a fixed 3 → 5 plan and a fixed Pulumi
 * output, against a golden file; docs/ci.md's picture of that plan; and the lab's parser of the plan's text (tests/lab/planCheck.ts)
 * against every golden plan, so that a rendering it does not understand fails here, not in a
 * 10-minute lab run.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { planCluster, recordCluster } from "../../../components/plan/plan";
import { renderPlanMarkdown, renderPlanText } from "../../../components/plan/renderPlan";
import { noRecordNote, planText } from "../../../components/plan/planResource";
import { parsePlanText } from "../../lab/planCheck";
import { five, stack, three } from "../planFixtures";
import { golden } from "../golden";

const repoRoot = path.join(__dirname, "..", "..", "..");
const goldenDir = path.join(__dirname, "..", "..", "golden", "plan");

/** What `pulumi preview` prints for that edit, cut short (the workflow passes the real one). */
const fakePreview = [
    "Previewing update (staging):",
    "     Type                              Name            Plan       Info",
    "     pulumi:pulumi:Stack               etcd-stack-staging",
    " +   ├─ etcd:index:EtcdMember           lab-4           create",
    " +   ├─ etcd:index:EtcdMember           lab-5           create",
    " ~   └─ pulumi-nodejs:dynamic/etcd:Plan etcd-plan-record update",
    "",
    "Resources:",
    "    + 40 to create",
    "    ~ 6 to update",
].join("\n");

describe("the pull request's comment for a 3 → 5 plan (scripts/previewComment.sh)", () => {
    let tmp = "";
    before(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-comment-golden-")); });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("the plan's Markdown is the golden 3 → 5 one, and the whole comment is its golden file", () => {
        const markdown = renderPlanMarkdown(planCluster(recordCluster(stack(three)), stack(five)));
        assert.equal(markdown, fs.readFileSync(path.join(goldenDir, "plan-scale-3-to-5.md"), "utf8"));
        const planFile = path.join(tmp, "plan.md");
        fs.writeFileSync(planFile, markdown);
        const r = spawnSync("bash", [path.join(repoRoot, "scripts/previewComment.sh")], {
            encoding: "utf8", env: { PATH: process.env.PATH ?? "", STACK: "staging", OUTCOME: "success", PLAN: planFile, PREVIEW: fakePreview },
        });
        assert.equal(r.status, 0, r.stderr);
        golden("plan/preview-comment-scale-3-to-5.md", r.stdout);
    });
});

describe("docs/ci.md's picture of the plan", () => {
    it("is the 3 → 5 plan's Markdown (the golden file, which the lab's preview wrote byte for byte), quoted", () => {
        const page = fs.readFileSync(path.join(repoRoot, "docs", "ci.md"), "utf8");
        const markdown = fs.readFileSync(path.join(goldenDir, "plan-scale-3-to-5.md"), "utf8");
        const quoted = markdown.trimEnd().split("\n").map((l) => (l === "" ? ">" : `> ${l}`)).join("\n") + "\n";
        assert.match(page, /^## The plan a reviewer reads/m, "docs/ci.md has no section on the plan");
        assert.ok(page.includes(quoted), `docs/ci.md's plan is not the golden 3 → 5 Markdown:\n${quoted}`);
    });
});

describe("the lab's plan parser (tests/lab/planCheck.ts) reads every golden plan", () => {
    for (const file of fs.readdirSync(goldenDir).filter((f) => /^plan-.*\.txt$/.test(f))) {
        it(file, () => {
            const text = fs.readFileSync(path.join(goldenDir, file), "utf8");
            const plan = parsePlanText(text);
            assert.equal(plan.actions.length, (text.match(/^\d+\. /gm) ?? []).length);
            assert.equal(plan.refusals.length, (text.match(/^ {2}- /gm) ?? []).length);
        });
    }

    it("a 3 → 5 plan: the members file on the three, then lab-4 and lab-5 join in that order", () => {
        const plan = parsePlanText(renderPlanText(planCluster(recordCluster(stack(three)), stack(five))));
        assert.deepEqual(plan.actions.map((a) => [a.kind, a.members]), [["files", ["lab-1", "lab-2", "lab-3"]], ["join", ["lab-4"]], ["join", ["lab-5"]]]);
    });

    it("a 5 → 3 plan: two removals in the plan's order, then the clean-up of both hosts", () => {
        const plan = parsePlanText(renderPlanText(planCluster(recordCluster(stack(five)), stack(three))));
        assert.deepEqual(plan.actions.map((a) => [a.kind, a.members]), [["files", ["lab-1", "lab-2", "lab-3"]], ["remove", ["lab-4"]], ["remove", ["lab-5"]], ["clean", ["lab-4", "lab-5"]]]);
    });

    it("a plan without a record: the note is no action; a summary it does not know fails", () => {
        const p = planCluster(undefined, stack(three));
        const plan = parsePlanText(planText(p, null));
        assert.deepEqual(plan.actions.map((a) => a.kind), ["bootstrap"]);
        assert.ok(plan.text.includes(noRecordNote));
        assert.throws(() => parsePlanText("etcd plan for lab: x\n1. reticulate splines on lab-1\n"), /an action this parser does not know/);
    });
});
