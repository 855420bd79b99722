/**
 * The plan a reviewer reads (issue 28) on the real engine (components/plan/planResource.ts): a preview
 * of a new stack of the real program prints the plan as a diagnostic of the plan's record at the
 * end, and writes its Markdown to $ETCD_PLAN_MARKDOWN (the PR workflow's). Then the record's own
 * life, with a program that declares the plan alone (the real program's record waits for the
 * whole cluster, so a `--target`ed up cannot create it without hosts): an up records the
 * cluster; a preview with no edit plans nothing and changes nothing; an edit previews as the
 * record's update with the plan from the last up; a refused edit fails the preview in the plan's
 * words; an identity change is left to the removal check. Every member address is TEST-NET
 * (192.0.2.0/24): no preview or up here connects to a host.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DiagnosticEvent } from "@pulumi/pulumi/automation";
import { planCluster, recordCluster } from "../../components/plan/plan";
import { noRecordNote, planMarkdown, planMarkdownEnv, planText } from "../../components/plan/planResource";
import { renderPlanText } from "../../components/plan/renderPlan";
import { parseClusterSpec } from "../../components/spec/parse";
import { ClusterSpec } from "../../components/spec/types";
import { ScratchStack, StepLog, engineUnavailable, scratchStack, useFixtureProgram } from "./engine";
import { fixtureHostKeys } from "../unit/fixtures";
import { moreHostKeys } from "../unit/planFixtures";
import { skipIf } from "../skip";

/** The program's config for `n` TEST-NET members (keys without `etcd:`). */
function config(keyPath: string, n: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const keys = [...fixtureHostKeys, ...moreHostKeys];
    return {
        clusterName: "prod",
        version: "3.6.16",
        members: Array.from({ length: n }, (_, i) => ({ name: `prod-${i + 1}`, address: `192.0.2.${11 + i}`, hostKey: keys[i] })),
        sshPrivateKeyPath: keyPath,
        binary: { url: "https://mirror.example/etcd-v{version}-linux-{arch}.tar.gz", sha256: { amd64: "a".repeat(64) } },
        ...overrides,
    };
}

/** The spec the program reads from that config. */
function specOf(c: Record<string, unknown>): ClusterSpec {
    const { sshPrivateKeyPath: _key, ...raw } = c;
    return parseClusterSpec({ ...raw, hasSshKey: true });
}

/** What one preview showed: its changes, the plan's diagnostics, its output, the Markdown written. */
interface PlanPreview {
    failed: boolean;
    log: StepLog;
    /** Info diagnostics of the plan's record. */
    plans: string[];
    output: string;
    markdown: string | undefined;
}

describe("engine: the plan printed by a real preview (issue 28)", function () {
    this.timeout(300_000);
    let dir = "";
    let keyPath = "";
    let markdownFile = "";

    before(function () {
        skipIf(this, engineUnavailable());
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-plan-"));
        keyPath = path.join(dir, "id");
        markdownFile = path.join(dir, "plan.md");
        fs.writeFileSync(keyPath, "not used: no host is reached\n", { mode: 0o600 });
    });

    after(() => {
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    async function withStack(name: string, c: Record<string, unknown>, body: (s: ScratchStack) => Promise<void>, fixture?: string): Promise<void> {
        const scratch = await scratchStack(name, c, { env: { [planMarkdownEnv]: markdownFile } });
        try {
            if (fixture !== undefined) useFixtureProgram(scratch, fixture);
            await body(scratch);
        } finally {
            await scratch.dispose();
        }
    }

    async function preview(scratch: ScratchStack): Promise<PlanPreview> {
        fs.rmSync(markdownFile, { force: true });
        const log = new StepLog();
        const diagnostics: DiagnosticEvent[] = [];
        let failed = false;
        try {
            await scratch.stack.preview({
                onEvent: (e) => { log.onEvent(e); if (e.diagnosticEvent) diagnostics.push(e.diagnosticEvent); },
                onOutput: log.onOutput,
            });
        } catch (e) {
            failed = true;
            log.lines.push(String(e));
        }
        const plans = diagnostics.filter((d) => d.severity === "info" && d.urn?.endsWith("::etcd-plan-record")).map((d) => d.message);
        return { failed, log, plans, output: log.output, markdown: fs.existsSync(markdownFile) ? fs.readFileSync(markdownFile, "utf8") : undefined };
    }

    it("a new stack's preview prints the plan once, under Diagnostics at the end, and writes its Markdown", async () => {
        const c = config(keyPath, 3);
        await withStack("prod", c, async (scratch) => {
            const p = await preview(scratch);
            assert.ok(!p.failed, p.output);
            const plan = planCluster(undefined, specOf(c));
            assert.deepStrictEqual(p.plans, [planText(plan, null)]);
            assert.match(p.plans[0], /^etcd plan for prod: a new cluster → 3 voting members \(quorum 2\)\n1\. bootstrap a new cluster: prod-1, prod-2, prod-3 start together\n/);
            assert.ok(p.plans[0].endsWith(noRecordNote + "\n"));
            assert.strictEqual(p.markdown, planMarkdown(plan, null));
            // Printed after every step of the preview, in the Diagnostics section, under the record.
            const at = p.output.indexOf("Diagnostics:\n  pulumi-nodejs:dynamic/etcd:Plan (etcd-plan-record):\n    etcd plan for prod: a new cluster");
            assert.ok(at > 0, p.output);
            assert.ok(at > p.output.lastIndexOf(" create \n"), "after the last step");
            assert.strictEqual(p.log.ops.get("etcd-plan-record"), "create");
            // The record runs in the cluster's provider instance: no Node.js process of its own.
            assert.strictEqual(p.log.ops.get("etcd-plan-provider"), undefined);
            assert.strictEqual(p.log.ops.get("etcd-host-files"), "create");
        });
    });

    it("the record's life: up records, no edit plans nothing, an edit plans from the last up, a refused edit fails the preview in the plan's words", async () => {
        const three = config(keyPath, 3);
        const five = config(keyPath, 5);
        await withStack("plan", three, async (scratch) => {
            assert.strictEqual((await scratch.stack.up()).summary.result, "succeeded");

            const same = await preview(scratch);
            assert.ok(!same.failed, same.output);
            assert.deepStrictEqual(same.log.changed(), [], "no edit: the record is a same step");
            assert.deepStrictEqual(same.plans, [renderPlanText(planCluster(recordCluster(specOf(three)), specOf(three)))]);
            assert.match(same.plans[0], /^1\. nothing: no member restarts, joins or leaves/m);

            scratch.setConfig({ members: five.members });
            const grow = await preview(scratch);
            assert.ok(!grow.failed, grow.output);
            assert.deepStrictEqual(grow.log.changed(), ["etcd-plan-record"]);
            assert.strictEqual(grow.log.ops.get("etcd-plan-record"), "update");
            const growPlan = planCluster(recordCluster(specOf(three)), specOf(five));
            assert.deepStrictEqual(grow.plans, [renderPlanText(growPlan)]);
            assert.deepStrictEqual(growPlan.actions.map((a) => a.summary).filter((s) => /^add /.test(s)),
                ["add prod-4 as a learner → start → promote", "add prod-5 as a learner → start → promote"]);
            assert.strictEqual(grow.markdown, planMarkdown(growPlan, recordCluster(specOf(three))));

            // Refused: a downgrade, every member moved at once. The preview fails at the record's check.
            const refused: Array<[Record<string, unknown>, RegExp]> = [
                [{ members: three.members, version: "3.5.32" }, /- version: prod-1: etcd 3\.6\.16 → 3\.5\.32 is a downgrade, which is not supported/],
                [{ members: (three.members as Array<Record<string, unknown>>).map((m, i) => ({ ...m, address: `192.0.2.${31 + i}` })), version: "3.6.16" },
                    /- quorum: every member's registration changes at once \(prod-1, prod-2, prod-3 leave, none stays\)/],
            ];
            for (const [edit, reason] of refused) {
                scratch.setConfig(edit);
                const r = await preview(scratch);
                assert.ok(r.failed, `refused: ${reason}`);
                assert.match(r.output, /REFUSED: /);
                assert.match(r.output, reason);
                assert.match(r.output, /nothing was changed/);
                assert.deepStrictEqual(r.plans, [], "nothing logged: the check failed first");
                assert.match(r.markdown ?? "", /REFUSED/, "the PR comment's Markdown says it too");
            }

            // A rename at the same address: left to the removal check (absent from this program), so
            // this preview passes and the plan it prints says REFUSED in the removal check's words.
            scratch.setConfig({ members: (three.members as Array<Record<string, unknown>>).map((m, i) => (i === 2 ? { ...m, name: "prod-9" } : m)) });
            const rename = await preview(scratch);
            assert.ok(!rename.failed, rename.output);
            assert.match(rename.plans[0] ?? "", /^REFUSED: pulumi up changes nothing; the policy refuses this plan:\n {2}- identity: prod-9 would take over prod-3's address 192\.0\.2\.13/m);

            // An up of the 5 members advances the record: the next preview plans nothing.
            scratch.setConfig({ members: five.members });
            assert.strictEqual((await scratch.stack.up()).summary.result, "succeeded");
            const after = await preview(scratch);
            assert.deepStrictEqual(after.log.changed(), []);
            assert.match(after.plans[0] ?? "", /^etcd plan for prod: 5 voting members \(quorum 3\), unchanged in number\n1\. nothing:/);
        }, "planOnly.ts");
    });
});
