/**
 * The GitHub workflows cannot run here; this checks what the design needs of them: previews of
 * every shared stack on pull requests, commented on the PR; `up` only on main, behind a GitHub
 * environment (its required reviewers are the approval); secrets only through `env`, never
 * spliced into a script.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { spawnSync } from "child_process";
import { previewStacks, stackNames } from "../../scripts/stackFiles";
import { planCluster, recordCluster } from "../../components/plan/plan";
import { planMarkdownEnv } from "../../components/plan/planResource";
import { renderPlanMarkdown } from "../../components/plan/renderPlan";
import { five, stack, three } from "./planFixtures";

const dir = path.join(__dirname, "..", "..", ".github", "workflows");
type Step = { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> };
type Workflow = { on: Record<string, any>; jobs: Record<string, { environment?: string; strategy?: any; steps: Step[]; env?: Record<string, string> }> };
const load = (f: string) => yaml.load(fs.readFileSync(path.join(dir, f), "utf8")) as Workflow;
const pulumiSteps = (w: Workflow) => Object.values(w.jobs).flatMap((j) => j.steps).filter((s) => s.uses?.startsWith("pulumi/actions@"));
const pulumiStep = (w: Workflow) => pulumiSteps(w)[0];
const repoRoot = path.join(__dirname, "..", "..");
/** The CLI version scripts/toolchain/pins.tsv pins (what the project and its policy pack are built and tested with). */
const pinnedCli = () => /^cli\s+\S+\s+(\S+)/m.exec(fs.readFileSync(path.join(repoRoot, "scripts/toolchain/pins.tsv"), "utf8"))![1];

describe("GitHub workflows (.github/workflows)", () => {
    it("previews on every pull request the stacks the stacks job lists", () => {
        const w = load("preview.yml");
        assert.ok(w.on.pull_request, "runs on pull_request");
        // The matrix is not written in the workflow: it is what scripts/stackFiles.ts prints when it runs.
        assert.equal(w.jobs.preview.strategy.matrix.stack, "${{ fromJSON(needs.stacks.outputs.stacks) }}");
        assert.deepEqual((w.jobs.preview as { needs?: unknown }).needs, "stacks");
        assert.equal((w.jobs.preview as { if?: unknown }).if, "needs.stacks.outputs.stacks != '[]'", "no stack to preview: the job is skipped, not an empty matrix");
        const list = w.jobs.stacks.steps.find((s) => /scripts\/stackFiles\.ts/.test(s.run ?? ""));
        assert.ok(list, "the stacks job runs scripts/stackFiles.ts");
        assert.match(list.run!, /^echo "stacks=\$\(TS_NODE_TRANSPILE_ONLY=1 npx ts-node scripts\/stackFiles\.ts\)" >> "\$GITHUB_OUTPUT"$/);
        assert.equal((w.jobs.stacks as { outputs?: Record<string, string> }).outputs?.stacks, "${{ steps.list.outputs.stacks }}");
        assert.equal((list as { id?: string }).id, "list");
        const step = pulumiStep(w)!;
        assert.equal(step.with?.command, "preview");
        assert.equal(step.with?.["stack-name"], "${{ matrix.stack }}");
    });

    it("comments the etcd plan first, then Pulumi's preview (issue 28): the preview writes the plan's Markdown where the comment step reads it", () => {
        const w = load("preview.yml");
        const steps = w.jobs.preview.steps as Array<Step & { id?: string; if?: string }>;
        const at = steps.findIndex((s) => s.uses?.startsWith("pulumi/actions@"));
        const step = steps[at];
        assert.equal(step.id, "preview");
        assert.equal(step.with?.["comment-on-pr"], false, "the action's own comment would hold Pulumi's diff alone");
        const markdown = step.env?.[planMarkdownEnv];
        assert.equal(markdown, "${{ runner.temp }}/etcd-plan.md");
        const comment = steps[at + 1];
        assert.ok(comment, "a step after the preview comments");
        assert.equal(comment.if, "always() && steps.preview.outcome != 'skipped'", "a refused plan fails the preview: the comment still runs");
        assert.equal(comment.env?.PLAN, markdown);
        assert.equal(comment.env?.PREVIEW, "${{ steps.preview.outputs.output }}");
        assert.equal(comment.env?.OUTCOME, "${{ steps.preview.outcome }}");
        assert.equal(comment.env?.GH_TOKEN, "${{ secrets.GITHUB_TOKEN }}");
        assert.equal(comment.env?.PR, "${{ github.event.pull_request.number }}");
        assert.deepEqual(comment.run!.trim().split("\n"), [
            'bash scripts/previewComment.sh > "$RUNNER_TEMP/comment.md"',
            'gh pr comment "$PR" --body-file "$RUNNER_TEMP/comment.md"',
        ]);
    });

    describe("scripts/previewComment.sh: the comment's text", () => {
        const script = path.join(repoRoot, "scripts/previewComment.sh");
        const plan = renderPlanMarkdown(planCluster(recordCluster(stack(three)), stack(five)));
        const run = (env: Record<string, string>) => {
            const r = spawnSync("bash", [script], { encoding: "utf8", env: { PATH: process.env.PATH ?? "", STACK: "staging", ...env } });
            assert.equal(r.status, 0, r.stderr);
            return r.stdout;
        };
        let tmp = "";
        before(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-comment-")); });
        after(() => fs.rmSync(tmp, { recursive: true, force: true }));

        it("the plan's Markdown first, as written, then Pulumi's output folded", () => {
            fs.writeFileSync(path.join(tmp, "plan.md"), plan);
            const out = run({ PLAN: path.join(tmp, "plan.md"), OUTCOME: "success", PREVIEW: "Previewing update (staging):\n ~ etcd-plan-record update" });
            assert.ok(out.startsWith("## etcd-stack preview: `staging`\n\n" + plan + "\n<details>"), out);
            assert.ok(out.indexOf("### etcd plan: lab: 3 voting members (quorum 2) → 5 voting members (quorum 3)") < out.indexOf("etcd-plan-record update"));
            assert.ok(out.trimEnd().endsWith("```\n</details>"));
            assert.doesNotMatch(out, /preview failed/);
        });

        it("a failed preview: said so under the plan (a refused plan), or in its place when the plan's check did not run", () => {
            fs.writeFileSync(path.join(tmp, "plan.md"), plan);
            assert.match(run({ PLAN: path.join(tmp, "plan.md"), OUTCOME: "failure", PREVIEW: "" }), /### etcd plan: [^]*\*\*The preview failed\*\* \(failure\)/);
            const none = run({ PLAN: path.join(tmp, "absent.md"), OUTCOME: "failure", PREVIEW: "error: preflight" });
            assert.match(none, /^## etcd-stack preview: `staging`\n\n_No etcd plan: the preview stopped before the plan's check ran/);
        });

        // 120 000: an environment variable holds at most 128 KiB (Linux MAX_ARG_STRLEN): a longer preview output fails the comment step (preview.yml says so).
        it("keeps the comment under GitHub's 65536 characters: Pulumi's output is cut, the plan is not", () => {
            fs.writeFileSync(path.join(tmp, "plan.md"), plan);
            const out = run({ PLAN: path.join(tmp, "plan.md"), OUTCOME: "success", PREVIEW: "x".repeat(120_000) });
            assert.ok(out.length < 65536, `${out.length}`);
            assert.ok(out.includes(plan));
        });
    });

    it("the stacks job's command prints, as JSON, exactly the stack files that download the release, not a local tarball (dev, lab)", () => {
        const root = path.join(dir, "../..");
        const r = spawnSync("npx", ["ts-node", "scripts/stackFiles.ts"], { cwd: root, encoding: "utf8", env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "1" } });
        assert.equal(r.status, 0, r.stderr);
        const stacksDir = path.join(root, "stacks");
        const downloaded = fs.readdirSync(stacksDir).filter((f) => /^Pulumi\.[a-z0-9-]+\.yaml$/.test(f)).filter((f) => {
            const binary = (yaml.load(fs.readFileSync(path.join(stacksDir, f), "utf8")) as { config: Record<string, any> }).config["etcd:binary"];
            return binary?.url !== undefined && binary?.localTarball === undefined;
        }).map((f) => f.split(".")[1]).sort();
        assert.deepEqual(JSON.parse(r.stdout), downloaded);
        assert.ok(downloaded.length > 0);
    });

    it("a new stacks/Pulumi.<env>.yaml is previewed with no edit to the workflow; one with a local tarball is not", () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stacks-matrix-"));
        try {
            for (const env of stackNames()) fs.copyFileSync(path.join(dir, "../../stacks", `Pulumi.${env}.yaml`), path.join(tmp, `Pulumi.${env}.yaml`));
            fs.writeFileSync(path.join(tmp, "Pulumi.qa.yaml"), "config:\n  etcd:binary:\n    url: https://example.com/etcd-v{version}-linux-{arch}.tar.gz\n");
            fs.writeFileSync(path.join(tmp, "Pulumi.laptop.yaml"), "config:\n  etcd:binary:\n    localTarball: etcd.tar.gz\n");
            assert.deepEqual(previewStacks(tmp), [...new Set([...previewStacks(), "qa"])].sort());
            assert.ok(!previewStacks(tmp).includes("laptop"));
        } finally {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    });

    it("runs `pulumi up` only from main, behind the target environment's approval", () => {
        const w = load("deploy.yml");
        assert.deepEqual(w.on.push.branches, ["main"]);
        assert.ok(!w.on.pull_request, "never deploys from a pull request");
        // Each stack deployed by hand is a GitHub environment with its reviewers, so the choice is
        // written here; every choice must be a stack file (a new stack file blocks nothing).
        for (const env of w.on.workflow_dispatch.inputs.stack.options) assert.ok(stackNames().includes(env), `${env}: no stacks/Pulumi.${env}.yaml`);
        assert.ok(stackNames().includes(w.on.workflow_dispatch.inputs.stack.default));
        assert.equal(w.jobs.up.environment, "${{ inputs.stack || 'staging' }}");
        const steps = pulumiSteps(w);
        assert.deepEqual(steps.map((s) => s.with?.command), ["preview", "up"], "a preview of the same stack, then the up");
        for (const step of steps) assert.equal(step.with?.["stack-name"], "${{ inputs.stack || 'staging' }}");
    });

    describe("the policy pack runs in both workflows (`--policy-pack policy`)", () => {
        // pulumi/actions turns each line of `policyPacks` into `--policy-pack <line>` (the Automation API's policyPacks).
        const packs = (step: Step) => String(step.with?.policyPacks ?? "").split("\n").map((l) => l.trim()).filter((l) => l !== "");
        for (const f of ["preview.yml", "deploy.yml"]) {
            it(`${f}: every pulumi/actions step runs the pack in policy/, with the pinned CLI, after npm ci installed @pulumi/policy`, () => {
                const w = load(f);
                const steps = pulumiSteps(w);
                assert.ok(steps.length > 0);
                for (const step of steps) {
                    assert.deepEqual(packs(step), ["policy"], `${f}: ${step.with?.command} without --policy-pack policy`);
                    assert.equal(String(step.with?.["pulumi-version"]), pinnedCli(), `${f}: ${step.with?.command}'s CLI is not the pinned one`);
                    const job = Object.values(w.jobs).find((j) => j.steps.includes(step))!;
                    const npmCi = job.steps.findIndex((s) => /^npm ci( |$)/.test(s.run ?? ""));
                    assert.ok(npmCi >= 0 && npmCi < job.steps.indexOf(step), `${f}: npm ci must come before ${step.with?.command}`);
                    assert.doesNotMatch(job.steps[npmCi].run!, /--omit[= ]dev|--production/, "@pulumi/policy is a devDependency");
                }
            });
        }

        it("the pack is where the workflows name it: policy/ holds a Node.js policy pack whose @pulumi/policy npm ci installs", () => {
            assert.match(fs.readFileSync(path.join(repoRoot, "policy", "PulumiPolicy.yaml"), "utf8"), /^runtime: nodejs$/m);
            const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8"));
            assert.ok(pkg.devDependencies["@pulumi/policy"] ?? pkg.dependencies["@pulumi/policy"], "@pulumi/policy in package.json");
            assert.match(fs.readFileSync(path.join(repoRoot, "policy", "index.ts"), "utf8"), /new PolicyPack\(/);
        });

        it("deploy.yml previews with the pack before the up (the action's up skips its preview, where stack policies would run only at the end)", () => {
            const steps = load("deploy.yml").jobs.up.steps;
            const preview = steps.findIndex((s) => s.uses?.startsWith("pulumi/actions@") && s.with?.command === "preview");
            const up = steps.findIndex((s) => s.uses?.startsWith("pulumi/actions@") && s.with?.command === "up");
            assert.ok(preview >= 0 && preview < up, "preview with the pack before up");
            assert.deepEqual(packs(steps[preview]), ["policy"]);
        });
    });

    describe("expiry.yml: every stack's certificates checked daily (issue 29)", () => {
        const w = () => load("expiry.yml");
        const check = () => w().jobs.check as Workflow["jobs"][string] & { needs?: unknown; if?: unknown };

        it("runs on a daily schedule (and by hand)", () => {
            const schedule = w().on.schedule as Array<{ cron: string }>;
            assert.equal(schedule.length, 1);
            // minute hour day-of-month month day-of-week: a fixed minute and hour, every day.
            assert.match(schedule[0].cron, /^\d{1,2} \d{1,2} \* \* \*$/);
            assert.ok("workflow_dispatch" in w().on);
            assert.ok(!w().on.pull_request && !w().on.push, "a check, not a deploy: nothing else starts it");
        });

        it("checks every stack the stacks job lists, the preview's list, with scripts/certExpiry.sh", () => {
            assert.deepEqual(w().jobs.stacks, load("preview.yml").jobs.stacks, "the same stacks job as preview.yml");
            assert.equal(check().strategy.matrix.stack, "${{ fromJSON(needs.stacks.outputs.stacks) }}");
            assert.equal(check().strategy["fail-fast"], false, "one stack's failure does not hide another's");
            assert.equal(check().needs, "stacks");
            assert.equal(check().if, "needs.stacks.outputs.stacks != '[]'");
            const steps = check().steps;
            const run = steps.filter((s) => /certExpiry/.test(s.run ?? ""));
            assert.equal(run.length, 1);
            assert.equal(run[0].run!.trim(), 'bash scripts/certExpiry.sh "$STACK"');
            assert.equal(run[0].env?.STACK, "${{ matrix.stack }}");
            assert.ok(!/--now|\|\||; *true|continue-on-error/.test(JSON.stringify(run[0])), "a certificate in its window fails the run");
            assert.ok(fs.existsSync(path.join(repoRoot, "scripts/certExpiry.sh")));
        });

        it("with the pinned CLI, installed after npm ci (ts-node for the check), and no environment, SSH key or host", () => {
            const steps = check().steps;
            const install = steps.findIndex((s) => s.uses?.startsWith("pulumi/actions@"));
            assert.ok(install >= 0);
            assert.equal(String(steps[install].with?.["pulumi-version"]), pinnedCli());
            assert.equal(steps[install].with?.command, undefined, "the action only installs the CLI");
            const npmCi = steps.findIndex((s) => /^npm ci( |$)/.test(s.run ?? ""));
            const run = steps.findIndex((s) => /certExpiry/.test(s.run ?? ""));
            assert.ok(npmCi >= 0 && npmCi < run && install < run);
            assert.equal(check().environment, undefined, "no environment: no daily approval for prod");
            assert.doesNotMatch(fs.readFileSync(path.join(dir, "expiry.yml"), "utf8"), /ETCD_SSH_PRIVATE_KEY|ETCD_KNOWN_HOSTS/);
        });

        it("passes its secrets through the job's env only", () => {
            const text = fs.readFileSync(path.join(dir, "expiry.yml"), "utf8");
            for (const step of Object.values(w().jobs).flatMap((j) => j.steps)) {
                assert.doesNotMatch(step.run ?? "", /\$\{\{\s*secrets\./, "a secret spliced into a run script");
                assert.doesNotMatch(JSON.stringify(step.with ?? {}), /secrets\./, "a secret in an action's inputs");
            }
            assert.deepEqual(check().env, {
                PULUMI_BACKEND_URL: "${{ secrets.PULUMI_BACKEND_URL }}",
                PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}",
                PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
            });
            assert.equal((text.match(/secrets\./g) ?? []).length, 3, "no other secret");
        });
    });

    it("passes secrets through env only, and names every secret docs/ci.md documents", () => {
        const page = fs.readFileSync(path.join(dir, "..", "..", "docs", "ci.md"), "utf8");
        for (const f of ["preview.yml", "deploy.yml"]) {
            const text = fs.readFileSync(path.join(dir, f), "utf8");
            const w = load(f);
            for (const step of Object.values(w.jobs).flatMap((j) => j.steps)) {
                assert.doesNotMatch(step.run ?? "", /\$\{\{\s*secrets\./, `${f}: a secret spliced into a run script`);
            }
            for (const secret of ["PULUMI_BACKEND_URL", "PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE", "ETCD_SSH_PRIVATE_KEY", "ETCD_KNOWN_HOSTS"]) {
                assert.match(text, new RegExp(`secrets\\.${secret}\\b`), `${f} lacks ${secret}`);
                assert.match(page, new RegExp(`^\\| \`${secret}\` \\|`, "m"), `docs/ci.md does not document ${secret}`);
            }
        }
    });
});
