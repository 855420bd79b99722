/**
 * The GitHub workflows cannot run here; this checks what the design needs of them: previews of
 * every shared stack on pull requests, commented on the PR; `up` only on main, behind a GitHub
 * environment (its required reviewers are the approval); secrets only through `env`, never
 * spliced into a script.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";

const dir = path.join(__dirname, "..", "..", ".github", "workflows");
type Step = { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> };
type Workflow = { on: Record<string, any>; jobs: Record<string, { environment?: string; strategy?: any; steps: Step[]; env?: Record<string, string> }> };
const load = (f: string) => yaml.load(fs.readFileSync(path.join(dir, f), "utf8")) as Workflow;
const pulumiStep = (w: Workflow) => Object.values(w.jobs).flatMap((j) => j.steps).find((s) => s.uses?.startsWith("pulumi/actions@"));

describe("GitHub workflows (.github/workflows)", () => {
    it("previews staging and prod on every pull request and comments the diff", () => {
        const w = load("preview.yml");
        assert.ok(w.on.pull_request, "runs on pull_request");
        assert.deepEqual(w.jobs.preview.strategy.matrix.stack, ["staging", "prod"]);
        const step = pulumiStep(w)!;
        assert.equal(step.with?.command, "preview");
        assert.equal(step.with?.["comment-on-pr"], true);
        assert.equal(step.with?.["stack-name"], "${{ matrix.stack }}");
        for (const s of ["staging", "prod"]) assert.ok(fs.existsSync(path.join(dir, "../../stacks", `Pulumi.${s}.yaml`)));
    });

    it("previews exactly the stacks a runner can reach: those that download the release, not a local tarball (dev, lab)", () => {
        const stacksDir = path.join(dir, "../../stacks");
        const downloaded = fs.readdirSync(stacksDir).filter((f) => /^Pulumi\.[a-z0-9-]+\.yaml$/.test(f)).filter((f) => {
            const binary = (yaml.load(fs.readFileSync(path.join(stacksDir, f), "utf8")) as { config: Record<string, any> }).config["etcd:binary"];
            return binary?.url !== undefined && binary?.localTarball === undefined;
        }).map((f) => f.split(".")[1]).sort();
        assert.deepEqual([...load("preview.yml").jobs.preview.strategy.matrix.stack].sort(), downloaded);
    });

    it("runs `pulumi up` only from main, behind the target environment's approval", () => {
        const w = load("deploy.yml");
        assert.deepEqual(w.on.push.branches, ["main"]);
        assert.ok(!w.on.pull_request, "never deploys from a pull request");
        assert.deepEqual(w.on.workflow_dispatch.inputs.stack.options, ["staging", "prod"]);
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
