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

const dir = path.join(__dirname, "..", "..", ".github", "workflows");
type Step = { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> };
type Workflow = { on: Record<string, any>; jobs: Record<string, { environment?: string; strategy?: any; steps: Step[]; env?: Record<string, string> }> };
const load = (f: string) => yaml.load(fs.readFileSync(path.join(dir, f), "utf8")) as Workflow;
const pulumiStep = (w: Workflow) => Object.values(w.jobs).flatMap((j) => j.steps).find((s) => s.uses?.startsWith("pulumi/actions@"));

describe("GitHub workflows (.github/workflows)", () => {
    it("previews on every pull request the stacks the stacks job lists, and comments the diff", () => {
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
        assert.equal(step.with?.["comment-on-pr"], true);
        assert.equal(step.with?.["stack-name"], "${{ matrix.stack }}");
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
        assert.equal(pulumiStep(w)!.with?.command, "up");
    });

    it("passes secrets through env only, and names every secret the README documents", () => {
        for (const f of ["preview.yml", "deploy.yml"]) {
            const text = fs.readFileSync(path.join(dir, f), "utf8");
            const w = load(f);
            for (const step of Object.values(w.jobs).flatMap((j) => j.steps)) {
                assert.doesNotMatch(step.run ?? "", /\$\{\{\s*secrets\./, `${f}: a secret spliced into a run script`);
            }
            for (const secret of ["PULUMI_BACKEND_URL", "PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE", "ETCD_SSH_PRIVATE_KEY", "ETCD_KNOWN_HOSTS"]) {
                assert.match(text, new RegExp(`secrets\\.${secret}\\b`), `${f} lacks ${secret}`);
            }
        }
    });
});
