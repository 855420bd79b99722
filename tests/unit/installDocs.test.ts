/**
 * docs/install.md (a machine with internet) and docs/development.md (the offline build) against
 * what they describe: the pinned CLI is pins.tsv's, the Node.js version is package.json's engines
 * and the workflows', the README's first commands and links point at things that exist, and the
 * offline toolchain's text lives in one place.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";

const root = path.join(__dirname, "..", "..");
const read = (f: string) => fs.readFileSync(path.join(root, f), "utf8");
const pinnedCli = () => /^cli\s+\S+\s+(\S+)/m.exec(read("scripts/toolchain/pins.tsv"))![1];
const engines = () => (JSON.parse(read("package.json")) as { engines?: { node?: string } }).engines?.node ?? "";
/** The lowest major a `>=N` range admits. */
const lowestMajor = (range: string) => Number(/^>=(\d+)(\.\d+){0,2}$/.exec(range)?.[1] ?? NaN);

describe("install docs (docs/install.md, docs/development.md)", () => {
    it("install.md installs exactly the CLI version scripts/toolchain/pins.tsv pins", () => {
        const commands = read("docs/install.md").match(/curl -fsSL https:\/\/get\.pulumi\.com \| sh -s -- --version (\S+)/g) ?? [];
        assert.deepEqual(commands, [`curl -fsSL https://get.pulumi.com | sh -s -- --version ${pinnedCli()}`]);
        assert.match(read("docs/install.md"), new RegExp(`pulumi version\\s+# v${pinnedCli().replace(/\./g, "\\.")}`));
    });

    it("package.json's engines admit the Node.js running these tests and the one each workflow sets up, which install.md names", () => {
        const lowest = lowestMajor(engines());
        assert.ok(Number.isInteger(lowest), `engines.node "${engines()}" is not a >=N range`);
        assert.ok(Number(process.versions.node.split(".")[0]) >= lowest, `this machine's node ${process.version} is outside ${engines()}`);
        const install = read("docs/install.md");
        for (const f of ["preview.yml", "deploy.yml"]) {
            const w = yaml.load(read(`.github/workflows/${f}`)) as { jobs: Record<string, { steps: { uses?: string; with?: Record<string, unknown> }[] }> };
            for (const step of Object.values(w.jobs).flatMap((j) => j.steps).filter((s) => s.uses?.startsWith("actions/setup-node@"))) {
                const v = Number(step.with?.["node-version"]);
                assert.ok(v >= lowest, `${f}: node ${v} outside engines ${engines()}`);
                assert.match(install, new RegExp(`Node\\.js ${v}\\b`), `install.md does not name the workflows' Node.js ${v}`);
            }
        }
        assert.ok(install.includes(`"node":\n">=${lowest}"`) || install.includes(`"node": ">=${lowest}"`), "install.md quotes the engines range");
    });

    it("the README keeps its two commands for a fresh machine, whose scripts exist, and links the docs pages, which exist", () => {
        const readme = read("README.md");
        const first = /```bash\n([\s\S]*?)```/.exec(readme)![1].split("\n").filter((l) => l.trim() !== "").map((l) => l.split(/\s+#/)[0].trim());
        assert.deepEqual(first, ["bash scripts/demo.sh", "npm test"]);
        assert.ok(fs.existsSync(path.join(root, "scripts/demo.sh")));
        const test = (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts.test;
        assert.equal(test, "bash scripts/test.sh");
        assert.ok(fs.existsSync(path.join(root, "scripts/test.sh")));
        for (const page of ["docs/install.md", "docs/config.md", "docs/development.md"]) {
            assert.ok(readme.includes(`](${page})`), `README does not link ${page}`);
            assert.ok(fs.existsSync(path.join(root, page)), `${page} missing`);
        }
    });

    it("the offline toolchain is described in development.md, not also in the README", () => {
        const marker = "Everything is built from source into `${ETCD_STACK_CACHE:-~/.cache/etcd-stack}/pulumi`";
        assert.ok(read("docs/development.md").includes(marker));
        assert.ok(!read("README.md").includes(marker));
        assert.match(read("docs/development.md"), /\| Pulumi CLI v3\.259\.0 \|/);
    });
});
